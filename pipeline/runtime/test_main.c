/* Test runner of a generated project: runs the model on the stored input, checks every
 * layer's checksum and the output against the Swift engine's, prints one line per layer,
 * returns 0 when everything matches. Host builds print with stdio; Cortex-M builds through
 * semihosting. */
#include <stdint.h>
#include "model.h"

extern const uint8_t nn_test_input[NN_INPUT_BYTES];
extern const uint8_t nn_test_expected[NN_OUTPUT_BYTES];
extern const uint32_t nn_test_checksums[NN_LAYERS];
extern const char *const nn_layer_names[NN_LAYERS];

#ifdef NN_HOST
#include <stdio.h>
static void nn_print(const char *s) { fputs(s, stdout); }
#else
void nn_print(const char *s);
#endif

static uint32_t seen[NN_LAYERS];
static uint8_t output[NN_OUTPUT_BYTES];

static uint32_t fnv1a(const uint8_t *d, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; ++i) h = (h ^ d[i]) * 16777619u;
    return h;
}

/* Marks the end of the hook for QEMU's per-layer instruction count (qemu/icount.c). */
__attribute__((noinline, used)) void nn_count_resume(void) { __asm__ volatile(""); }

void nn_layer_done(int32_t index, const uint8_t *data, uint32_t bytes) {
    if (index >= 0 && index < NN_LAYERS) seen[index] = fnv1a(data, bytes);
    nn_count_resume();
}

static void print_hex(uint32_t v) {
    char b[11] = "0x00000000";
    for (int i = 0; i < 8; ++i) b[9 - i] = "0123456789abcdef"[(v >> (4 * i)) & 15u];
    nn_print(b);
}

int main(void) {
    int fails = 0;
    for (int32_t r = 0; r < NN_REPEAT; ++r) NN_MODEL_RUN(nn_test_input, output);
    for (int32_t i = 0; i < NN_LAYERS; ++i) {
        const int ok = seen[i] == nn_test_checksums[i];
        fails += !ok;
        nn_print(ok ? "OK   " : "FAIL ");
        print_hex(seen[i]);
        nn_print(" ");
        nn_print(nn_layer_names[i]);
        nn_print("\n");
    }
    for (int32_t i = 0; i < NN_OUTPUT_BYTES; ++i) fails += output[i] != nn_test_expected[i];
    nn_print(fails ? "RESULT FAIL\n" : "RESULT OK bit-exact\n");
    return fails ? 1 : 0;
}
