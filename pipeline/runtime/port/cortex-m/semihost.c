/* ARM semihosting (bkpt 0xab): text output and an exit code QEMU returns to the shell. */
#include <stdint.h>

static int32_t semihost(int32_t op, const void *arg) {
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void nn_print(const char *s) { semihost(0x04, s); /* SYS_WRITE0 */ }

void nn_semihost_exit(int code) {
    /* SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit: QEMU exits with `code`. */
    uint32_t block[2] = {0x20026u, (uint32_t)code};
    semihost(0x20, block);
    for (;;) {}
}
