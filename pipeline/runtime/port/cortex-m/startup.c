/* Minimal Cortex-M start-up for the generated test image: vector table, .data/.bss set-up,
 * FPU enable, main(), then a semihosting exit with main's return value. No libc. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void nn_semihost_exit(int code);

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11. */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb");
#endif
    nn_semihost_exit(main());
    for (;;) {}
}

void Default_Handler(void) {
    nn_semihost_exit(70);
    for (;;) {}
}

__attribute__((section(".isr_vector"), used)) void (*const nn_vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, Default_Handler,
};

/* The compiler may turn loops into calls to these even in freestanding mode. */
void *memset(void *d, int c, unsigned int n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned int n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}
