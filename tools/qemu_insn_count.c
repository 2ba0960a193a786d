/*
 * A QEMU TCG plugin that counts the guest instructions a program executes,
 * per translation block: for every block its address, its number of
 * instructions, how many of them are fused multiply-adds and how many
 * load or store, and how often it ran; then, for the int8 kernels, how many
 * are dot products (sdot/udot) and how many other SIMD integer multiplies
 * (smull, smlal, mul, sqrdmulh, ...: the A72's F0 and the A76's V0 pipe),
 * and how many AArch64 instructions other than loads and stores have a SIMD&FP
 * register operand (they share the two FP/ASIMD pipes).
 * The two int8 columns come after the first six, so readers of the first six
 * are unaffected. scripts/count-instructions maps the
 * blocks to the program's functions and those to layer types.
 *
 *   qemu-aarch64 -plugin ./qemu_insn_count.so,out=FILE PROGRAM ARGS...
 *
 * Debian packages no qemu-plugin.h, so the few entry points of QEMU's
 * plugin API (version 1, QEMU 7.2) used here are declared below from its
 * documentation; QEMU resolves them when it loads the plugin. One vCPU
 * thread is assumed (run the program with one thread): the inline counters
 * are plain adds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

#define EXPORT __attribute__((visibility("default")))
EXPORT extern const int qemu_plugin_version;
EXPORT const int qemu_plugin_version = 1;
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

/* One translated block. Blocks live in fixed chunks because QEMU keeps a
 * pointer to each counter. */
typedef struct block {
    uint64_t vaddr, executions;
    uint32_t insns, fma, loads, stores, dot, imul, fpsimd;
} block;

#define CHUNK 8192
typedef struct chunk {
    struct chunk *next;
    int used;
    block b[CHUNK];
} chunk;

typedef struct counter_state {
    chunk *chunks;
    char out[4096];
} counter_state;

static counter_state state; /* the plugin API passes no user data to the translation callback */

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A SIMD integer multiply (AArch64 operands are v registers; AArch32 ones
 * vmul/vmla/vqdmulh... with an integer type). Scalar mul/madd are not. */
static int simd_int_multiply(const char *text)
{
    static const char *const a64[] = {"smull", "umull", "smlal", "umlal", "smlsl", "umlsl", "mul ",
                                      "mla ",  "mls ",  "sqdmulh", "sqrdmulh", "sqdmull", "sqdmlal"};
    for (size_t i = 0; i < sizeof a64 / sizeof a64[0]; i++)
        if (starts_with(text, a64[i])) {
            const char *ops = text + strcspn(text, " \t");
            ops += strspn(ops, " \t");
            return *ops == 'v';
        }
    if (starts_with(text, "vmull.s") || starts_with(text, "vmull.u") || starts_with(text, "vmlal.") ||
        starts_with(text, "vmlsl.") || starts_with(text, "vqdmulh") || starts_with(text, "vqrdmulh") ||
        starts_with(text, "vmul.i") || starts_with(text, "vmla.i") || starts_with(text, "vmls.i"))
        return 1;
    return 0;
}

/* An AArch64 instruction with a SIMD&FP register operand (b0..b31, h, s, d,
 * q or v): it issues to the FP/ASIMD pipes (two on the A72 and on the A76). */
static int fp_simd_operand(const char *text)
{
    const char *p = text + strcspn(text, " \t");
    for (; *p; p++)
        if ((p[-1] == ' ' || p[-1] == ',' || p[-1] == '{') && strchr("bhsdqv", *p) && p[1] >= '0' && p[1] <= '9')
            return 1;
    return 0;
}

/* SDOT/UDOT by their AArch64 encoding (vector, and by element): Debian's
 * QEMU disassembles them as ".byte ...", as its disassembler predates the
 * dot product. */
static int aarch64_dot(uint32_t w)
{
    return (w & 0x9FE0FC00u) == 0x0E809400u || (w & 0x9FC0F400u) == 0x0F80E000u;
}

/* Classifies by mnemonic (AArch64 and AArch32 spellings). */
static void classify(const char *text, uint32_t word, block *b)
{
    while (*text == ' ' || *text == '\t')
        text++;
    int memory = starts_with(text, "ld") || starts_with(text, "st") || starts_with(text, "vld") ||
                 starts_with(text, "vst") || starts_with(text, "pop") || starts_with(text, "push") ||
                 starts_with(text, "vpop") || starts_with(text, "vpush");
    if (!memory && fp_simd_operand(text))
        b->fpsimd++;
    if (starts_with(text, "sdot") || starts_with(text, "udot") || starts_with(text, "vsdot") ||
        starts_with(text, "vudot") || (starts_with(text, ".byte") && aarch64_dot(word))) {
        b->dot++;
        if (!fp_simd_operand(text))
            b->fpsimd++; /* (the undecoded ones) */
    }
    else if (simd_int_multiply(text))
        b->imul++;
    else if (starts_with(text, "fmla") || starts_with(text, "fmls") || starts_with(text, "fmadd") ||
             starts_with(text, "fmsub") || starts_with(text, "vfma") || starts_with(text, "vfms"))
        b->fma++;
    else if (starts_with(text, "ld") || starts_with(text, "vld") || starts_with(text, "pop") ||
             starts_with(text, "vpop"))
        b->loads++;
    else if (starts_with(text, "st") || starts_with(text, "vst") || starts_with(text, "push") ||
             starts_with(text, "vpush"))
        b->stores++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    if (!state.chunks || state.chunks->used == CHUNK) {
        chunk *c = calloc(1, sizeof *c);
        if (!c)
            return; /* out of memory: this block goes uncounted */
        c->next = state.chunks;
        state.chunks = c;
    }
    block *b = &state.chunks->b[state.chunks->used++];
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    b->insns = (uint32_t)qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < b->insns; i++) {
        const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint32_t word = 0;
        if (qemu_plugin_insn_size(insn) == 4)
            memcpy(&word, qemu_plugin_insn_data(insn), 4); /* little-endian guest on a little-endian host */
        char *text = qemu_plugin_insn_disas(insn);
        if (text) {
            classify(text, word, b);
            free(text);
        }
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->executions, 1);
}

static void write_counts(qemu_plugin_id_t id, void *userdata)
{
    (void)id, (void)userdata;
    FILE *f = fopen(state.out, "w");
    if (!f) {
        fprintf(stderr, "qemu_insn_count: cannot write %s\n", state.out);
        return;
    }
    fprintf(f, "# vaddr insns fma loads stores executions dot imul fpsimd\n");
    for (chunk *c = state.chunks; c; c = c->next)
        for (int i = 0; i < c->used; i++) {
            const block *b = &c->b[i];
            if (b->executions)
                fprintf(f, "%llx %u %u %u %u %llu %u %u %u\n", (unsigned long long)b->vaddr, b->insns, b->fma,
                        b->loads, b->stores, (unsigned long long)b->executions, b->dot, b->imul,
                        b->fpsimd);
        }
    fclose(f);
}

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    snprintf(state.out, sizeof state.out, "insn-count.txt");
    for (int i = 0; i < argc; i++)
        if (starts_with(argv[i], "out="))
            snprintf(state.out, sizeof state.out, "%s", argv[i] + 4);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, write_counts, NULL);
    return 0;
}
