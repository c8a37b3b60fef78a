/* A QEMU TCG plugin that counts executed guest instructions (QEMU 7.x plugin API version 1).
 * The few API functions are declared here, so no QEMU headers are needed. At exit it prints,
 * through qemu_plugin_outs (run QEMU with -d plugin -D FILE to capture it):
 *   insns: N       every instruction of the run
 * and, given the entry addresses start= (the model's run function), hook= (the per-layer
 * hook nn_layer_done) and resume= (nn_count_resume, called as the hook's last act):
 *   layer: K       per hook call, instructions since the previous hook returned (or since
 *                  start), i.e. one layer's kernel work without the test runner's checksum
 *   hook: H        instructions spent inside the hook, in total
 * These are instructions, not cycles: QEMU has no timing model. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, void (*cb)(unsigned int, void *), enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_LAYERS 4096
static uint64_t insns, start_addr = 1, hook_addr = 1, resume_addr = 1;
static uint64_t mark, hook_entered, hook_total, layers[MAX_LAYERS];
static int n_layers, started;

/* Callbacks run before the translation block's inline count is added (registered first), so
 * `insns` holds everything executed before the block. */
static void on_start(unsigned int vcpu, void *p) { (void)vcpu; (void)p; if (!started) { started = 1; mark = insns; } }
static void on_hook(unsigned int vcpu, void *p) {
    (void)vcpu; (void)p;
    if (n_layers < MAX_LAYERS) layers[n_layers++] = insns - mark;
    hook_entered = insns;
}
static void on_resume(unsigned int vcpu, void *p) { (void)vcpu; (void)p; hook_total += insns - hook_entered; mark = insns; }

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    const uint64_t pc = qemu_plugin_tb_vaddr(tb);
    if (pc == start_addr) qemu_plugin_register_vcpu_tb_exec_cb(tb, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == hook_addr) qemu_plugin_register_vcpu_tb_exec_cb(tb, on_hook, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == resume_addr) qemu_plugin_register_vcpu_tb_exec_cb(tb, on_resume, QEMU_PLUGIN_CB_NO_REGS, NULL);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, qemu_plugin_tb_n_insns(tb));
}

static void on_exit_cb(qemu_plugin_id_t id, void *p) {
    (void)id;
    (void)p;
    char buf[64];
    snprintf(buf, sizeof buf, "insns: %" PRIu64 "\n", insns);
    qemu_plugin_outs(buf);
    for (int i = 0; i < n_layers; ++i) {
        snprintf(buf, sizeof buf, "layer: %" PRIu64 "\n", layers[i]);
        qemu_plugin_outs(buf);
    }
    snprintf(buf, sizeof buf, "hook: %" PRIu64 "\n", hook_total);
    qemu_plugin_outs(buf);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; ++i) {
        /* Thumb symbols carry bit 0; translation blocks start at the even address. */
        if (strncmp(argv[i], "start=", 6) == 0) start_addr = strtoull(argv[i] + 6, NULL, 0) & ~1ull;
        if (strncmp(argv[i], "hook=", 5) == 0) hook_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
        if (strncmp(argv[i], "resume=", 7) == 0) resume_addr = strtoull(argv[i] + 7, NULL, 0) & ~1ull;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
