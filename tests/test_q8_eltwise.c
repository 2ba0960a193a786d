/*
 * The elementwise int8 variants (backbone/eltwise_q8.h) against their
 * references, byte for byte: ADD (add_qs8_ref) on every pair of int8
 * operands under many parameter sets, and QUANTIZE float -> int8
 * (quant_quantize_f32) on ties, huge values, infinities, NaNs, subnormals
 * and random bit patterns under several scales; both over awkward lengths
 * and unaligned starts, with guard bytes past the end. A variant this CPU
 * cannot run (or that MNV2DET_ISA caps away) is reported SKIPPED, never
 * passed. Arguments run=NAME / skip=NAME: that variant must have run / must
 * be skipped (the emulated Arm runs name what each CPU model must do).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "backbone/eltwise_q8.h"
#include "check.h"

#define MAX_VARIANTS 16
#define GUARD 64
#define GUARD_BYTE 0x5a

static const size_t lengths[] = {0, 1, 15, 17, 31, 33, 63, 65, 1000003};

typedef struct rng { uint64_t s; } rng;
static uint32_t rng_u32(rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 32);
}

/* Whether this variant runs here: the CPU has its ISA and MNV2DET_ISA
 * (isa_select) does not cap it away, so that MNV2DET_ISA=avx2 tests what a
 * CPU without AVX-512 would choose. */
static int variant_runs(mnv_isa isa)
{
    return cpu_supports(isa) && isa <= isa_select();
}

static int add_runs[MAX_VARIANTS], quantize_runs[MAX_VARIANTS];

/* ---- ADD ---- */

static qadd_params add_params(float sa, int za, float sb, int zb, float so, int zo, act_kind act)
{
    qadd_params p;
    char err[256];
    qparams a = {sa, za}, b = {sb, zb}, o = {so, zo};
    const int rc = qadd_params_init(&p, a, b, o, act, err, sizeof err);
    CHECK(rc == 0, "qadd_params_init: %s", err);
    return p;
}

static void print_add_params(const qadd_params *p)
{
    fprintf(stderr, "  params: zp %d %d -> %d, left %d, a %d/%d, b %d/%d, out %d/%d, act [%d, %d]\n",
            p->a_zero_point, p->b_zero_point, p->out_zero_point, p->left_shift, p->a_mult.multiplier,
            p->a_mult.shift, p->b_mult.multiplier, p->b_mult.shift, p->out_mult.multiplier, p->out_mult.shift,
            p->act_min, p->act_max);
}

/* out (n values, GUARD bytes after) against want; the guard untouched */
static int same_bytes(const char *what, const char *name, const int8_t *got, const int8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            CHECK(0, "%s %s: value %zu of %zu is %d, the reference %d", what, name, i, n, got[i], want[i]);
            return 0;
        }
    for (size_t i = n; i < n + GUARD; i++)
        if ((uint8_t)got[i] != GUARD_BYTE) {
            CHECK(0, "%s %s: wrote past the end (%zu values)", what, name, n);
            return 0;
        }
    CHECK(1, "matched");
    return 1;
}

/* every variant on a, b (n values) against the reference */
static void add_case(const qadd_params *p, const int8_t *a, const int8_t *b, size_t n)
{
    int8_t *want = xmalloc(n + GUARD), *got = xmalloc(n + GUARD);
    add_qs8_ref(p, a, b, want, n);
    int i = 0;
    for (const qadd_kernel *const *k = qadd_kernels_all(); *k; k++, i++) {
        if (!variant_runs((*k)->isa) || ((*k)->isa != MNV_ISA_REF && !qadd_simd_supports(p)))
            continue;
        memset(got, GUARD_BYTE, n + GUARD);
        (*k)->run(p, a, b, got, n);
        if (same_bytes("add", (*k)->name, got, want, n))
            add_runs[i]++;
        else
            print_add_params(p);
    }
    /* the dispatcher, threads and all, at the best ISA allowed and at ref */
    for (int isa = 0; isa < 2; isa++) {
        memset(got, GUARD_BYTE, n + GUARD);
        add_qs8(p, a, b, got, n, isa ? isa_select() : MNV_ISA_REF);
        same_bytes("add_qs8 dispatch", isa ? isa_name(isa_select()) : "ref", got, want, n);
    }
    free(want);
    free(got);
}

/* all 256 x 256 operand pairs, starting one byte off alignment */
static void add_all_pairs(const qadd_params *p)
{
    const size_t n = 65536;
    int8_t *a = xmalloc(n + 1), *b = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        a[i + 1] = (int8_t)((int)(i & 255) - 128);
        b[i + 1] = (int8_t)((int)(i >> 8) - 128);
    }
    add_case(p, a + 1, b + 1, n);
    free(a);
    free(b);
}

static void add_lengths(const qadd_params *p, rng *r)
{
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const size_t n = lengths[li];
        int8_t *a = xmalloc(n + 3), *b = xmalloc(n + 3);
        for (size_t i = 0; i < n + 3; i++) {
            a[i] = (int8_t)rng_u32(r);
            b[i] = (int8_t)rng_u32(r);
        }
        add_case(p, a + 3, b + 1, n);
        free(a);
        free(b);
    }
}

/* qadd_scale32: an operand's scaling in 32-bit steps equals
 * quant_multiply((q - zp) << L, m) for every x = q - zp in [-255, 255],
 * where it is offered; TFLite's parameters (L = 20, shifts <= 0) get it. */
static void test_scale32(void)
{
    rng r = {4242};
    int offered = 0, bad = 0;
    for (int t = 0; t < 3000; t++) {
        const int left = 9 + (int)(rng_u32(&r) % 15); /* 9..23 */
        qmultiplier m = {(int32_t)((1u << 30) + rng_u32(&r) % (1u << 30)), -(int)(rng_u32(&r) % 32)};
        if (t % 10 == 0)
            m.multiplier = (int32_t)(rng_u32(&r) % 4096); /* small, and 0 */
        if (t % 10 == 1)
            m.multiplier = INT32_MAX;
        qadd_scale32 s;
        if (!qadd_scale32_make(m, left, &s))
            continue;
        offered++;
        for (int32_t x = -255; x <= 255; x++) {
            const int32_t want = quant_multiply(x * (INT32_C(1) << left), m);
            if (qadd_scale32_apply(&s, x) != want && bad++ < 5)
                fprintf(stderr, "  scale32 M %d shift %d L %d, x %d: %d, want %d\n", (int)m.multiplier,
                        m.shift, left, (int)x, (int)qadd_scale32_apply(&s, x), (int)want);
        }
    }
    CHECK(bad == 0, "%d values of the 32-bit scaling wrong", bad);
    CHECK(offered > 2500, "the 32-bit scaling offered for %d of 3000 multipliers", offered);
    qadd_scale32 s;
    const qmultiplier half = {1 << 30, -1};
    CHECK(qadd_scale32_make(half, 20, &s) && !qadd_scale32_make(half, 8, &s) &&
              !qadd_scale32_make((qmultiplier){1 << 30, 1}, 20, &s),
          "the 32-bit scaling's domain");
    printf("32-bit operand scaling: %d multipliers, exact on all 511 inputs each\n", offered);
}

static void test_add(void)
{
    rng r = {12345};
    qadd_params sets[32];
    int ns = 0;
    /* a MobileNetV2 residual (activation scales near 0.02 to 0.4) */
    sets[ns++] = add_params(0.118f, -3, 0.087f, 11, 0.153f, -6, ACT_NONE);
    sets[ns++] = add_params(0.02f, 0, 0.05f, -20, 0.04f, 4, ACT_RELU);
    sets[ns++] = add_params(0.05f, -128, 0.05f, -128, 0.03f, -128, ACT_RELU6);
    sets[ns++] = add_params(0.01f, 127, 0.3f, -128, 0.25f, 127, ACT_RELU6);
    sets[ns++] = add_params(0.4f, 127, 0.4f, 127, 0.001f, -128, ACT_NONE); /* saturates most sums */
    sets[ns++] = add_params(1.0f, -128, 1e-6f, 127, 1e-5f, 0, ACT_RELU);
    sets[ns++] = add_params(3e-5f, 5, 2e-5f, -7, 1e-4f, 100, ACT_RELU6);
    /* the output multiplier as large as qadd_params_init allows: real
     * 2^-20 * 2 * max / out just below 1 */
    sets[ns++] = add_params(0.5f, 1, 0.25f, -1, 1.0000001f / 1048576.0f, 3, ACT_NONE);
    /* hand-made: multipliers of 1 and above (shift > 0), left shifts of 0,
     * 8 and 23, a zero multiplier, left shifts that saturate (the other
     * operand 0, so that the reference's int32 sum does not overflow) */
    qadd_params h = sets[0];
    h.out_mult = (qmultiplier){1 << 30, 1}; /* exactly 1 */
    h.a_mult = (qmultiplier){1 << 30, -5};
    h.b_mult = (qmultiplier){1518500250, -3};
    sets[ns++] = h;
    h = sets[1];
    h.left_shift = 0;
    h.a_mult = (qmultiplier){2147483647, 3};
    h.b_mult = (qmultiplier){1073741825, 5};
    h.out_mult = (qmultiplier){1431655765, 2};
    sets[ns++] = h;
    h = sets[2];
    h.left_shift = 8;
    h.out_mult = (qmultiplier){1717986918, -1};
    sets[ns++] = h;
    h = sets[3];
    h.left_shift = 23;
    h.a_mult = (qmultiplier){1073741824, -1};
    h.b_mult = (qmultiplier){2147483647, -31};
    h.out_mult = (qmultiplier){1288490189, -24};
    sets[ns++] = h;
    h = sets[0];
    h.a_mult = (qmultiplier){1518500250, 4}; /* 255 * 2^24 saturates */
    h.b_mult = (qmultiplier){0, 0};
    h.out_mult = (qmultiplier){1073741824, -23};
    sets[ns++] = h;
    h = sets[0];
    h.a_mult = (qmultiplier){0, 0};
    h.b_mult = (qmultiplier){2147483647, 30}; /* saturates for every nonzero b - zp */
    h.out_mult = (qmultiplier){2147483647, 1}; /* and again on the output */
    sets[ns++] = h;
    h = sets[4];
    h.out_mult = (qmultiplier){1073741824, -31};
    h.act_min = 10;
    h.act_max = 10; /* a one-value range */
    sets[ns++] = h;
    for (int s = 0; s < ns; s++) {
        add_all_pairs(&sets[s]);
        add_lengths(&sets[s], &r);
    }
    /* random parameters through qadd_params_init */
    const act_kind acts[3] = {ACT_NONE, ACT_RELU, ACT_RELU6};
    for (int t = 0; t < 40; t++) {
        qadd_params p;
        char err[256];
        const qparams a = {ldexpf(1.0f + (float)(rng_u32(&r) % 1000) / 1000.0f, -(int)(rng_u32(&r) % 12)),
                           (int)(rng_u32(&r) % 256) - 128};
        const qparams b = {ldexpf(1.0f + (float)(rng_u32(&r) % 1000) / 1000.0f, -(int)(rng_u32(&r) % 12)),
                           (int)(rng_u32(&r) % 256) - 128};
        const qparams o = {ldexpf(1.0f + (float)(rng_u32(&r) % 1000) / 1000.0f, -(int)(rng_u32(&r) % 14)),
                           (int)(rng_u32(&r) % 256) - 128};
        if (qadd_params_init(&p, a, b, o, acts[t % 3], err, sizeof err) != 0)
            continue;
        add_all_pairs(&p);
    }
}

/* ---- QUANTIZE ---- */

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void quantize_case(const float *in, size_t n, qparams q)
{
    int8_t *want = xmalloc(n + GUARD), *got = xmalloc(n + GUARD);
    quant_quantize_f32(in, want, n, q);
    int i = 0;
    for (const quantize_kernel *const *k = quantize_kernels_all(); *k; k++, i++) {
        if (!variant_runs((*k)->isa))
            continue;
        memset(got, GUARD_BYTE, n + GUARD);
        (*k)->run(in, got, n, q);
        if (same_bytes("quantize", (*k)->name, got, want, n))
            quantize_runs[i]++;
        else
            fprintf(stderr, "  scale %a, zero point %d\n", (double)q.scale, q.zero_point);
    }
    for (int isa = 0; isa < 2; isa++) {
        memset(got, GUARD_BYTE, n + GUARD);
        quantize_qs8(in, got, n, q, isa ? isa_select() : MNV_ISA_REF);
        same_bytes("quantize_qs8 dispatch", isa ? isa_name(isa_select()) : "ref", got, want, n);
    }
    free(want);
    free(got);
}

/* the values that test the rounding and the special cases, for scale s */
static size_t special_values(float *v, float s)
{
    size_t n = 0;
    for (int k = -400; k <= 400; k++) {
        const float tie = (float)k + 0.5f; /* exact ties of x / s where s is a power of two */
        v[n++] = tie * s;
        v[n++] = nextafterf(tie, INFINITY) * s;
        v[n++] = nextafterf(tie, -INFINITY) * s;
        v[n++] = (float)k * s;
        v[n++] = nextafterf((float)k * s, 0.0f);
    }
    const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN,
                              FLT_TRUE_MIN, -FLT_TRUE_MIN, bits_float(0x007fffff), bits_float(0x807fffff),
                              bits_float(0x7fa00000) /* signalling NaN */, bits_float(0xffc00001),
                              0.49999997f, -0.49999997f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f,
                              127.5f, -128.5f, 511.5f, 512.5f, -512.5f, 8388607.5f, 8388608.0f, 16777217.0f,
                              2147483648.0f, -2147483904.0f, 1e20f, -1e20f, 1e-20f};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        v[n++] = specials[i];
        v[n++] = specials[i] * s;
    }
    return n;
}

static void test_quantize(void)
{
    rng r = {777};
    const float scales[] = {1.0f, 0.5f, 0.25f, 2.0f, 1.0f / 128, 0.0078125f, 0.1f, 1.0f / 255, 0.017f, 3.0f,
                            1e-30f, FLT_MIN, FLT_TRUE_MIN, 1e30f, FLT_MAX};
    const int zps[] = {0, -128, 127, 5, -1};
    float *v = xmalloc(8192 * sizeof *v);
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        const size_t n = special_values(v, scales[si]);
        for (size_t zi = 0; zi < sizeof zps / sizeof zps[0]; zi++) {
            const qparams q = {scales[si], zps[zi]};
            quantize_case(v, n, q);
            quantize_case(v + 1, n - 1, q); /* shifted against the vectors */
        }
    }
    /* scales of all 24 bits: floats next to the ties k + 0.5 of x / scale,
     * where a variant that multiplies by 1 / scale must divide after all */
    for (int t = 0; t < 200; t++) {
        const float s = ldexpf(1.0f + (float)(rng_u32(&r) & 0x7fffff) / 8388608.0f, (int)(rng_u32(&r) % 20) - 10);
        size_t n = 0;
        for (int k = -300; k <= 300 && n + 7 <= 8192; k += 1 + (int)(rng_u32(&r) % 3)) {
            float x = (float)(((double)k + 0.5) * (double)s);
            for (int u = 0; u < 3; u++)
                x = nextafterf(x, -INFINITY);
            for (int u = 0; u < 7; u++, x = nextafterf(x, INFINITY))
                v[n++] = x;
        }
        quantize_case(v, n, (qparams){s, zps[t % 5]});
    }
    free(v);
    /* the lengths: random bit patterns (every class of float) and values
     * around the int8 range, one float off alignment */
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const size_t n = lengths[li];
        float *in = xmalloc((n + 1) * sizeof *in);
        for (size_t i = 0; i < n + 1; i++)
            in[i] = i % 3 == 0 ? bits_float(rng_u32(&r))
                               : ((float)(rng_u32(&r) % 2000001) - 1000000.0f) / 3000.0f;
        for (int s = 0; s < 3; s++) {
            const qparams q = {s == 0 ? 1.0f : s == 1 ? 0.017f : 2.5f, zps[(li + (size_t)s) % 5]};
            quantize_case(in + 1, n, q);
        }
        free(in);
    }
}

/* ---- report ---- */

static void report(const char *what, int i, const char *name, mnv_isa isa, const int *runs)
{
    (void)what;
    if (!cpu_supports(isa)) {
        printf("  %-28s SKIPPED: this CPU lacks %s\n", name, isa_name(isa));
        return;
    }
    if (!variant_runs(isa)) {
        printf("  %-28s SKIPPED: above MNV2DET_ISA=%s\n", name, isa_name(isa_select()));
        return;
    }
    printf("  %-28s exact on %d cases\n", name, runs[i]);
    CHECK(runs[i] > 0, "%s ran on no case", name);
}

static int find_run(const char *name, int *ran, int *here)
{
    int i = 0;
    for (const qadd_kernel *const *k = qadd_kernels_all(); *k; k++, i++)
        if (strcmp((*k)->name, name) == 0) {
            *ran = add_runs[i];
            *here = cpu_supports((*k)->isa);
            return 1;
        }
    i = 0;
    for (const quantize_kernel *const *k = quantize_kernels_all(); *k; k++, i++)
        if (strcmp((*k)->name, name) == 0) {
            *ran = quantize_runs[i];
            *here = cpu_supports((*k)->isa);
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    printf("isa: %s\n", isa_name(isa_select()));
    test_scale32();
    test_add();
    test_quantize();
    printf("int8 ADD variants:\n");
    int i = 0;
    for (const qadd_kernel *const *k = qadd_kernels_all(); *k; k++, i++)
        report("add", i, (*k)->name, (*k)->isa, add_runs);
    printf("int8 QUANTIZE variants:\n");
    i = 0;
    for (const quantize_kernel *const *k = quantize_kernels_all(); *k; k++, i++)
        report("quantize", i, (*k)->name, (*k)->isa, quantize_runs);
    for (int a = 1; a < argc; a++) {
        const int run = strncmp(argv[a], "run=", 4) == 0, skip = strncmp(argv[a], "skip=", 5) == 0;
        CHECK(run || skip, "argument %s: run=VARIANT or skip=VARIANT expected", argv[a]);
        if (!run && !skip)
            continue;
        const char *name = argv[a] + (run ? 4 : 5);
        int ran = 0, here = 0;
        CHECK(find_run(name, &ran, &here), "%s: no such variant", name);
        if (run)
            CHECK(ran > 0 && here, "%s was expected to run on this CPU", name);
        else
            CHECK(ran == 0 && !here, "%s was expected to be skipped on this CPU", name);
    }
    return check_finish("test_q8_eltwise");
}
