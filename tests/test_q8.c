/*
 * Int8 quantization and the int8 reference kernels (quant.c,
 * kernels_q8_ref.c, kernels_q8.c):
 *  - the fixed-point arithmetic against independent formulations of the
 *    documented semantics (floor division and remainders instead of shifts
 *    and masks), and against double precision within the documented bounds;
 *  - every kernel against "dequantize, compute in double, quantize" within
 *    one quantization step (and within the rounding bound each op implies),
 *    on awkward shapes, with saturation, and against a plain integer
 *    reference exactly; every int8 conv table entry exactly against the
 *    reference;
 *  - that uint8 models run as int8 (q - 128) give uint8 results - 128 exactly;
 *  - bad parameters: a clear message, no crash.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backbone/backbone.h"
#include "check.h"

/* xorshift64*: a fixed sequence on every platform. */
typedef struct rng { uint64_t s; } rng;

static uint32_t rng_u32(rng *r)
{
    r->s ^= r->s >> 12, r->s ^= r->s << 25, r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 2685821657736338717ull) >> 32);
}

static int rng_int(rng *r, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rng_u32(r) % (uint32_t)(hi - lo + 1));
}

static double rng_unit(rng *r) /* [0, 1) */
{
    return rng_u32(r) / 4294967296.0;
}

/* ------------------------------------------------------------------------ */
/* The semantics, written independently of quant.c                          */
/* ------------------------------------------------------------------------ */

/* floor(n / d) for d > 0, from C's truncating division */
static int64_t floor_div(int64_t n, int64_t d)
{
    int64_t q = n / d;
    if (n % d != 0 && n < 0)
        q--;
    return q;
}

/* a * b / 2^31, nearest, ties towards +infinity; INT32_MIN^2 saturates */
static int32_t spec_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    const int64_t n = (int64_t)a * b, d = INT64_C(1) << 31;
    int64_t q = floor_div(n, d);
    const int64_t rem = n - q * d; /* [0, d) */
    if (2 * rem >= d)
        q++;
    return (int32_t)q;
}

/* x / 2^e, nearest, ties away from zero */
static int32_t spec_rounding_shift(int32_t x, int e)
{
    if (e == 0)
        return x;
    const int64_t d = INT64_C(1) << e;
    int64_t q = floor_div(x, d);
    const int64_t rem = (int64_t)x - q * d;
    if (2 * rem > d || (2 * rem == d && x > 0))
        q++;
    return (int32_t)q;
}

static int32_t spec_multiply(int32_t x, qmultiplier m)
{
    int64_t shifted = (int64_t)x * (INT64_C(1) << (m.shift > 0 ? m.shift : 0));
    shifted = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : shifted;
    return spec_rounding_shift(spec_srdhm((int32_t)shifted, m.multiplier), m.shift < 0 ? -m.shift : 0);
}

static int32_t clamp_i32(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

static double multiplier_value(qmultiplier m)
{
    return ldexp((double)m.multiplier, m.shift - 31);
}

/* The bound quant_multiply's two roundings keep to: half a step, plus half
 * of the first rounding's step seen after the right shift. */
static double rounding_bound(qmultiplier m)
{
    return 0.5 + (m.shift < 0 ? ldexp(0.5, m.shift) : 0.0);
}

/* ------------------------------------------------------------------------ */
/* Arithmetic                                                                */
/* ------------------------------------------------------------------------ */

static void test_multiplier_from_double(rng *r)
{
    struct { double real; int32_t m; int shift; int rc; } edge[] = {
        {0.0, 0, 0, 0},
        {0.5, 1 << 30, 0, 0},
        {1.0, 1 << 30, 1, 0},
        {0.75, 3 << 29, 0, 0},
        {1.0 - ldexp(1.0, -40), 1 << 30, 1, 0},  /* rounds up to 2^31: renormalized */
        {ldexp(1.0, -32), 1 << 30, -31, 0},      /* the smallest kept */
        {ldexp(1.0, -33), 0, 0, 0},              /* flushed to 0 */
        {ldexp(1.0, 30) * (1.0 - ldexp(1.0, -20)), (int32_t)(2147483648.0 * (1.0 - ldexp(1.0, -20))), 30, 0},
        {ldexp(1.0, 30), 0, 0, MNV_EINVAL},      /* shift 31 */
        {-0.25, 0, 0, MNV_EINVAL},
        {NAN, 0, 0, MNV_EINVAL},
        {INFINITY, 0, 0, MNV_EINVAL},
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        qmultiplier m = {12345, 7};
        int rc = quant_multiplier_from_double(edge[i].real, &m);
        CHECK(rc == edge[i].rc && m.multiplier == edge[i].m && m.shift == edge[i].shift,
              "multiplier of %.17g: rc %d, %d * 2^(%d - 31); want rc %d, %d, %d", edge[i].real, rc,
              (int)m.multiplier, m.shift, edge[i].rc, (int)edge[i].m, edge[i].shift);
    }
    /* TFLite rounds the 31-bit mantissa half away from zero: 1 + 2^-31 lies
     * exactly between two multipliers */
    qmultiplier m;
    quant_multiplier_from_double(0.5 + ldexp(1.0, -32), &m);
    CHECK(m.multiplier == (1 << 30) + 1 && m.shift == 0, "tie: %d, %d", (int)m.multiplier, m.shift);

    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        const double real = ldexp(1.0 + rng_unit(r), rng_int(r, -33, 29));
        int rc = quant_multiplier_from_double(real, &m);
        if (rc != 0) {
            bad++;
            continue;
        }
        if (real < ldexp(1.0, -32)) {
            bad += m.multiplier != 0 || m.shift != 0;
            continue;
        }
        /* the mantissa is in [2^30, 2^31) and the nearest one: within half
         * of its last place */
        const double err = fabs(multiplier_value(m) - real);
        if (m.multiplier < (1 << 30) || m.shift < -31 || m.shift > 30 ||
            err > ldexp(0.5, m.shift - 31)) {
            if (bad < 3)
                fprintf(stderr, "multiplier of %.17g: %d * 2^(%d - 31), off by %g\n", real,
                        (int)m.multiplier, m.shift, err);
            bad++;
        }
    }
    CHECK(bad == 0, "%d random multipliers wrong", bad);
}

static const int32_t edge_ints[] = {
    INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -65536, -3, -2, -1, 0, 1, 2, 3,
    65535, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX,
};
#define N_EDGE_INTS (int)(sizeof edge_ints / sizeof edge_ints[0])

static int32_t random_i32(rng *r)
{
    /* every magnitude equally often, not just huge ones */
    int bits = rng_int(r, 0, 31);
    int32_t v = (int32_t)(rng_u32(r) >> (31 - bits));
    return rng_u32(r) & 1 ? -v : v;
}

static void test_srdhm_and_shift(rng *r)
{
    /* the documented rounding on hand-made cases */
    struct { int32_t a, b, want; } srdhm[] = {
        {1 << 30, 1, 1},            /* 0.5 -> 1 */
        {-(1 << 30), 1, 0},         /* -0.5 -> 0: ties towards +infinity */
        {3, 1 << 30, 2},            /* 1.5 -> 2 */
        {-3, 1 << 30, -1},          /* -1.5 -> -1 */
        {5, 3 << 28, 2},            /* 1.875 -> 2 */
        {INT32_MIN, INT32_MIN, INT32_MAX},
        {INT32_MIN, INT32_MAX, INT32_MIN + 1},
        {INT32_MAX, INT32_MAX, INT32_MAX - 1},
    };
    for (size_t i = 0; i < sizeof srdhm / sizeof srdhm[0]; i++) {
        int32_t got = quant_srdhm(srdhm[i].a, srdhm[i].b);
        CHECK(got == srdhm[i].want, "srdhm(%d, %d) = %d, want %d", (int)srdhm[i].a, (int)srdhm[i].b,
              (int)got, (int)srdhm[i].want);
    }
    struct { int32_t x; int e; int32_t want; } shift[] = {
        {5, 1, 3}, {-5, 1, -3}, {3, 1, 2}, {-3, 1, -2}, {4, 2, 1}, {6, 2, 2}, {-6, 2, -2},
        {-7, 2, -2}, {7, 0, 7}, {INT32_MIN, 31, -1}, {INT32_MAX, 31, 1}, {1 << 30, 31, 1},
        {-(1 << 30), 31, -1}, {(1 << 30) - 1, 31, 0},
    };
    for (size_t i = 0; i < sizeof shift / sizeof shift[0]; i++) {
        int32_t got = quant_rounding_shift(shift[i].x, shift[i].e);
        CHECK(got == shift[i].want, "rounding_shift(%d, %d) = %d, want %d", (int)shift[i].x,
              shift[i].e, (int)got, (int)shift[i].want);
    }

    int bad_mul = 0, bad_shift = 0;
    for (int i = 0; i < N_EDGE_INTS; i++)
        for (int j = 0; j < N_EDGE_INTS; j++)
            bad_mul += quant_srdhm(edge_ints[i], edge_ints[j]) != spec_srdhm(edge_ints[i], edge_ints[j]);
    for (int i = 0; i < N_EDGE_INTS; i++)
        for (int e = 0; e <= 31; e++)
            bad_shift += quant_rounding_shift(edge_ints[i], e) != spec_rounding_shift(edge_ints[i], e);
    for (int i = 0; i < 1000000; i++) {
        int32_t a = random_i32(r), b = random_i32(r);
        int e = rng_int(r, 0, 31);
        bad_mul += quant_srdhm(a, b) != spec_srdhm(a, b);
        bad_shift += quant_rounding_shift(a, e) != spec_rounding_shift(a, e);
        /* ties, which random values rarely hit */
        if (e > 0 && e < 21) {
            int32_t tie = (int32_t)((int64_t)rng_int(r, -1000, 1000) * (INT64_C(1) << e) +
                                    (INT64_C(1) << (e - 1)));
            bad_shift += quant_rounding_shift(tie, e) != spec_rounding_shift(tie, e);
        }
    }
    CHECK(bad_mul == 0, "srdhm differs from its definition in %d cases", bad_mul);
    CHECK(bad_shift == 0, "rounding_shift differs from its definition in %d cases", bad_shift);
}

static void test_multiply(rng *r)
{
    /* the documented double-rounding example, and its single-rounding neighbour */
    qmultiplier quarter = {1 << 30, -1};
    CHECK(quant_multiply(5, quarter) == 2, "5 * 0.25 = %d, want 2 (TFLite's double rounding)",
          (int)quant_multiply(5, quarter));
    CHECK(quant_multiply(-5, quarter) == -1, "-5 * 0.25 = %d, want -1", (int)quant_multiply(-5, quarter));
    CHECK(quant_multiply(6, quarter) == 2, "6 * 0.25 = %d, want 2", (int)quant_multiply(6, quarter));
    CHECK(quant_multiply(-6, quarter) == -2, "-6 * 0.25 = %d, want -2 (tie away from zero)",
          (int)quant_multiply(-6, quarter));
    qmultiplier half = {1 << 30, 0};
    CHECK(quant_multiply(-3, half) == -1, "-3 * 0.5 = %d, want -1 (one rounding: ties up)",
          (int)quant_multiply(-3, half));
    /* a left shift past int32 saturates before the multiply */
    qmultiplier four = {1 << 30, 3};
    CHECK(quant_multiply(INT32_MAX, four) == (1 << 30), "INT32_MAX * 4 = %d, want 2^30 (saturated first)",
          (int)quant_multiply(INT32_MAX, four));
    CHECK(quant_multiply(-(1 << 28), four) == -(1 << 30), "-2^28 * 4 = %d",
          (int)quant_multiply(-(1 << 28), four));
    qmultiplier zero = {0, 0};
    CHECK(quant_multiply(INT32_MAX, zero) == 0, "x * 0 = %d", (int)quant_multiply(INT32_MAX, zero));
    qmultiplier tiny = {INT32_MAX, -31};
    CHECK(quant_multiply(INT32_MIN, tiny) == -1 && quant_multiply(INT32_MAX, tiny) == 1,
          "smallest multiplier: %d, %d", (int)quant_multiply(INT32_MIN, tiny),
          (int)quant_multiply(INT32_MAX, tiny));

    int bad_spec = 0, bad_bound = 0, double_rounded = 0, bad_double = 0, bad_single = 0;
    for (int i = 0; i < 500000; i++) {
        qmultiplier m;
        /* the multipliers of real layers lie around 2^-12 .. 2^-4; cover more */
        quant_multiplier_from_double(ldexp(1.0 + rng_unit(r), rng_int(r, -31, 4)), &m);
        int32_t x = random_i32(r);
        if (m.shift > 0) /* keep clear of the saturation tested above */
            x /= 1 << m.shift;
        int32_t got = quant_multiply(x, m);
        bad_spec += got != spec_multiply(x, m);
        /* x * multiplier has up to 62 bits: y carries a relative error of
         * 2^-53, which tol covers */
        const double y = (double)x * multiplier_value(m);
        const double tol = 1e-9 + 1e-15 * fabs(y);
        if (!(fabs(got - y) <= rounding_bound(m) + tol)) {
            if (bad_bound < 3)
                fprintf(stderr, "%d * %d * 2^(%d - 31) = %d, exact %.6f\n", (int)x, (int)m.multiplier,
                        m.shift, (int)got, y);
            bad_bound++;
        }
        /* where it differs from a single rounding (ties away from zero), the
         * exact value must lie within the first rounding's reach of a tie */
        const double single = y >= 0 ? floor(y + 0.5) : -floor(-y + 0.5);
        if (got != single) {
            double_rounded++;
            if (m.shift >= 0 && !(fabs(y - floor(y) - 0.5) <= tol))
                bad_single++;
            if (m.shift < 0 && !(fabs(y - floor(y) - 0.5) <= ldexp(0.5, m.shift) + tol))
                bad_double++;
        }
    }
    CHECK(bad_spec == 0, "quant_multiply differs from its definition in %d cases", bad_spec);
    CHECK(bad_bound == 0, "quant_multiply off its rounding bound in %d cases", bad_bound);
    CHECK(bad_double == 0 && bad_single == 0,
          "%d double-rounded results away from a tie (%d with one rounding only)", bad_double, bad_single);
    printf("quant_multiply: %d of 500000 random products differ from one correct rounding "
           "(TFLite's double rounding, each next to a tie)\n", double_rounded);

    /* requantization clamps */
    qmultiplier m;
    quant_multiplier_from_double(0.01, &m);
    CHECK(quant_requantize(100000, m, 5, -128, 127) == 127, "saturation high");
    CHECK(quant_requantize(-100000, m, 5, -128, 127) == -128, "saturation low");
    CHECK(quant_requantize(1000, m, 5, -128, 127) == 15, "1000 * 0.01 + 5 = %d",
          (int)quant_requantize(1000, m, 5, -128, 127));
    CHECK(quant_requantize(-1000, m, 5, 0, 6) == 0 && quant_requantize(1000, m, 5, 0, 6) == 6,
          "activation clamp");
    CHECK(quant_requantize(INT32_MAX, m, 127, -128, 127) == 127 &&
          quant_requantize(INT32_MIN, m, -128, -128, 127) == -128, "extremes");
}

/* m with its low j bits cleared, j the fewest that give it the 32-bit
 * form for |x| <= bound (quant_narrow_exact), or m unchanged (0) when none
 * does */
static int narrow_multiplier(qmultiplier *m, int64_t bound)
{
    for (int j = 0; j <= 30; j++) {
        qmultiplier t = *m;
        t.multiplier &= ~(int32_t)((UINT32_C(1) << j) - 1);
        if (t.multiplier != 0 && quant_narrow_exact(t, bound)) {
            *m = t;
            return 1;
        }
    }
    return 0;
}

/* The 32-bit form (quant_narrow_*): equal to quant_multiply's definition
 * wherever quant_narrow_exact says so, exhaustively over small bounds and
 * at random and at the bounds' ends over large ones, each 32-bit step
 * inside int32; and refused where a step could leave it. */
static void test_narrow(rng *r)
{
    int bad = 0, bad_range = 0, forms = 0, refused = 0;
    long values = 0;
    for (int i = 0; i < 4000; i++) {
        qmultiplier m;
        quant_multiplier_from_double(ldexp(1.0 + rng_unit(r), rng_int(r, -31, 6)), &m);
        const int64_t bound = i < 400 ? rng_int(r, 1, 1 << 12) : (int64_t)rng_int(r, 1, 1 << rng_int(r, 1, 30));
        if (!narrow_multiplier(&m, bound))
            continue;
        forms++;
        qnarrow n;
        quant_narrow_form(m, &n);
        const int64_t lo = -bound, hi = bound;
        for (int64_t x = lo; x <= hi; x += i < 400 ? 1 : (hi - lo) / 997 + 1) {
            const int64_t y = x + rng_int(r, 0, 996);
            int32_t xs[3] = {(int32_t)x, (int32_t)(y < hi ? y : hi), (int32_t)(x == lo ? hi : x)};
            for (int k = 0; k < 3; k++) {
                const int64_t p = (int64_t)xs[k] * n.mult;
                const int64_t sum = p + n.add - (p < n.below ? n.corr : 0);
                bad_range += p < INT32_MIN || p > INT32_MAX || sum < INT32_MIN || sum > INT32_MAX ||
                             n.shift < 0 || n.shift > 31;
                bad += quant_narrow_apply(xs[k], &n) != spec_multiply(xs[k], m);
                values++;
            }
        }
    }
    /* full 31-bit multipliers over large bounds have no exact form */
    for (int i = 0; i < 1000; i++) {
        qmultiplier m;
        quant_multiplier_from_double(ldexp(1.0 + rng_unit(r), rng_int(r, -20, 0)), &m);
        m.multiplier |= 1;
        refused += !quant_narrow_exact(m, 1 << 20);
    }
    qmultiplier left = {1 << 30, 3}, zero = {0, 0};
    qnarrow n;
    CHECK(quant_narrow_exact(left, 1 << 20) && !quant_narrow_exact(left, 1 << 29),
          "a left shift of 3: exact up to 2^28 only");
    CHECK(quant_narrow_exact(zero, INT32_MAX) && quant_narrow_form(zero, &n) &&
          quant_narrow_apply(INT32_MIN, &n) == 0, "a multiplier of 0");
    CHECK(forms > 2000, "only %d multipliers got the form", forms);
    CHECK(refused == 1000, "%d of 1000 odd multipliers over 2^20 said exact", 1000 - refused);
    CHECK(bad == 0, "the 32-bit form differs from quant_multiply in %d of %ld values", bad, values);
    CHECK(bad_range == 0, "a 32-bit step left int32 in %d of %ld values", bad_range, values);
    printf("quant_narrow: %d multipliers, %ld values against quant_multiply\n", forms, values);
}

static void test_activation_range(void)
{
    struct { act_kind act; float scale; int32_t zp, lo, hi; } c[] = {
        {ACT_NONE, 0.05f, -10, -128, 127},
        {ACT_RELU, 0.05f, -10, -10, 127},
        {ACT_RELU6, 0.05f, -10, -10, 110},
        {ACT_RELU6, 6.0f / 255.0f, -128, -128, 127},
        {ACT_RELU6, 4.0f, 0, 0, 2},          /* 6 / 4 = 1.5: the tie goes away from zero */
        {ACT_RELU6, 12.0f, -3, -3, -2},      /* 6 / 12 = 0.5: away from zero, not to even */
        {ACT_RELU, 0.1f, -200, -128, 127},   /* a zero point below the range clamps */
        {ACT_RELU6, 0.01f, 127, 127, 127},
        {ACT_RELU6, 1e-30f, 0, 0, 127},      /* 6 / scale overflows float */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int32_t lo, hi;
        quant_activation_range(c[i].act, (qparams){c[i].scale, c[i].zp}, &lo, &hi);
        CHECK(lo == c[i].lo && hi == c[i].hi, "activation %d, scale %g, zp %d: [%d, %d], want [%d, %d]",
              (int)c[i].act, (double)c[i].scale, (int)c[i].zp, (int)lo, (int)hi, (int)c[i].lo,
              (int)c[i].hi);
    }
}

static void test_quantize(rng *r)
{
    const qparams q = {0.5f, 3};
    const float x[] = {0.0f, 1.25f, -1.25f, 0.74f, 63.0f, 63.75f, 1e30f, -1e30f, INFINITY, -INFINITY,
                       NAN, -65.5f, -65.75f};
    const int8_t want[] = {3, 6, 0, 4, 127, 127, 127, -128, 127, -128, 3, -128, -128};
    int8_t got[sizeof x / sizeof x[0]];
    quant_quantize_f32(x, got, sizeof x / sizeof x[0], q);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        CHECK(got[i] == want[i], "quantize(%g) = %d, want %d", (double)x[i], got[i], want[i]);

    /* round trips: every int8 value back to itself; random floats within
     * half a step when inside the range */
    int8_t all[256], back[256];
    float f[256];
    for (int i = 0; i < 256; i++)
        all[i] = (int8_t)(i - 128);
    int bad = 0;
    for (int t = 0; t < 50; t++) {
        qparams p = {(float)ldexp(1.0 + rng_unit(r), rng_int(r, -12, 3)), rng_int(r, -128, 127)};
        quant_dequantize_f32(all, f, 256, p);
        quant_quantize_f32(f, back, 256, p);
        bad += memcmp(all, back, 256) != 0;
        for (int i = 0; i < 256; i++) {
            float exact = (float)((double)p.scale * (double)(all[i] - p.zero_point));
            bad += f[i] != exact;
        }
        for (int i = 0; i < 1000; i++) {
            float v = (float)((rng_unit(r) * 255.0 - 127.5) * p.scale);
            int8_t qv;
            quant_quantize_f32(&v, &qv, 1, p);
            double real = (double)v / p.scale + p.zero_point;
            if (real >= -128.0 && real <= 127.0)
                bad += !(fabs(qv - real) <= 0.5 + 1e-5);
            else
                bad += qv != (real < 0 ? -128 : 127);
        }
    }
    CHECK(bad == 0, "%d quantize/dequantize round trips wrong", bad);

    uint8_t u[4] = {0, 128, 255, 7};
    int8_t s[4];
    quant_u8_to_s8(u, s, 4);
    CHECK(s[0] == -128 && s[1] == 0 && s[2] == 127 && s[3] == -121, "u8 -> s8: %d %d %d %d", s[0], s[1],
          s[2], s[3]);
    qparams up = quant_params_u8_to_s8((qparams){0.1f, 131});
    CHECK(up.zero_point == 3 && up.scale == 0.1f, "u8 -> s8 params: %d", (int)up.zero_point);
}

/* ------------------------------------------------------------------------ */
/* Convolutions                                                              */
/* ------------------------------------------------------------------------ */

typedef struct shape {
    const char *what;
    int in_h, in_w, in_c, out_c;
    int k_h, k_w, stride, dil, padding;
    int depthwise, dm;
} shape;

typedef struct config {
    act_kind act;
    int per_channel;
    int32_t in_zp, out_zp, w_zp;
    int saturate;             /* output scale small enough that many outputs clamp */
    int extreme;              /* inputs only -128 and 127, weights only the int8 ends */
    int amplify;              /* 1: output scale below input x weight scale, multipliers above 1;
                               * 2: just above the largest, multipliers up to 0.83 (no right
                               * shift for some channels) */
    int w_min128;             /* weights of -128 with a zero point of 0 (outside the int8 spec) */
    int narrow;               /* multipliers cut to quant_narrow's 32-bit form where they have
                               * one (narrow_multiplier), as the quantizer makes them */
} config;

static conv_desc make_desc(const shape *s, act_kind act)
{
    conv_desc d = {0};
    d.in_h = s->in_h, d.in_w = s->in_w, d.in_c = s->in_c;
    d.k_h = s->k_h, d.k_w = s->k_w;
    d.stride_h = d.stride_w = s->stride;
    d.dil_h = d.dil_w = s->dil;
    d.out_h = conv_out_size(s->in_h, s->k_h, s->stride, s->dil, s->padding);
    d.out_w = conv_out_size(s->in_w, s->k_w, s->stride, s->dil, s->padding);
    d.pad_top = conv_pad_before(s->in_h, s->k_h, s->stride, s->dil, s->padding);
    d.pad_left = conv_pad_before(s->in_w, s->k_w, s->stride, s->dil, s->padding);
    d.depthwise = s->depthwise;
    d.depth_multiplier = s->depthwise ? s->dm : 1;
    d.out_c = s->depthwise ? s->in_c * s->dm : s->out_c;
    d.act = act;
    return d;
}

static size_t weight_count(const conv_desc *d)
{
    return d->depthwise ? (size_t)d->k_h * d->k_w * d->out_c
                        : (size_t)d->out_c * d->k_h * d->k_w * d->in_c;
}

/* The integer accumulator of one output, written out tap by tap: bias plus
 * (w - w_zp) * (in - in_zp) over the taps inside the input. */
static int64_t plain_acc(const conv_desc *d, const int8_t *in, const int8_t *w, const int32_t *bias,
                         int32_t izp, int32_t wzp, int oy, int ox, int oc)
{
    int64_t acc = bias ? bias[oc] : 0;
    for (int ky = 0; ky < d->k_h; ky++)
        for (int kx = 0; kx < d->k_w; kx++) {
            const int iy = oy * d->stride_h + ky * d->dil_h - d->pad_top;
            const int ix = ox * d->stride_w + kx * d->dil_w - d->pad_left;
            if (iy < 0 || ix < 0 || iy >= d->in_h || ix >= d->in_w)
                continue;
            if (d->depthwise) {
                const int ic = oc / d->depth_multiplier;
                acc += (int64_t)(w[(ky * d->k_w + kx) * d->out_c + oc] - wzp) *
                       (in[(iy * d->in_w + ix) * d->in_c + ic] - izp);
            } else {
                for (int ic = 0; ic < d->in_c; ic++)
                    acc += (int64_t)(w[((oc * d->k_h + ky) * d->k_w + kx) * d->in_c + ic] - wzp) *
                           (in[(iy * d->in_w + ix) * d->in_c + ic] - izp);
            }
        }
    return acc;
}

static void run_reference(const conv_desc *d, const qconv_params *q, const int8_t *in,
                          const int8_t *w, const int32_t *bias, int8_t *out)
{
    if (d->depthwise)
        dwconv2d_qs8_nhwc_ref(d, q, in, w, bias, out);
    else
        conv2d_qs8_nhwc_ref(d, q, in, w, bias, out);
}

#define GUARD 64
#define GUARD_BYTE 0x5a

/* A copy of the n bytes at src that ends where an inaccessible page
 * begins, so that a kernel reading past its input stops with SIGSEGV (QEMU
 * user mode keeps page protections too). *map and *map_len are for
 * munmap. */
static int8_t *copy_before_guard_page(const int8_t *src, size_t n, void **map, size_t *map_len)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data = (n + page - 1) / page * page;
    *map_len = data + page;
    *map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED || mprotect((char *)*map + data, page, PROT_NONE) != 0) {
        fprintf(stderr, "mmap or mprotect failed\n");
        exit(1);
    }
    int8_t *copy = (int8_t *)*map + (data - n);
    memcpy(copy, src, n);
    return copy;
}

/* Pack for table entry k (in 64-byte aligned memory, as the executor
 * gives it) and run it into out, filled with the guard byte first; the
 * input copied to end at an inaccessible page, so that a read past it
 * faults. */
static void run_variant(const qconv_kernel *k, const conv_desc *d, const qconv_params *q,
                        const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out, size_t n_out)
{
    void *packed = aligned_alloc(64, (k->packed_size(d) + 63) / 64 * 64 + 64);
    if (!packed) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    void *map;
    size_t map_len;
    const int8_t *guarded = copy_before_guard_page(in, (size_t)d->in_h * d->in_w * d->in_c, &map, &map_len);
    k->pack(d, q, w, bias, packed);
    memset(out, GUARD_BYTE, n_out);
    k->run(d, q, packed, guarded, out);
    free(packed);
    munmap(map, map_len);
}

#define MAX_VARIANTS 64

typedef struct case_totals {
    int cases, outputs, off_by_one, saturated, variant_runs, narrow;
    int runs[MAX_VARIANTS];   /* per table entry, the runs that matched the reference */
} case_totals;

/* Whether the table entry k runs here: this CPU runs it and MNV2DET_ISA
 * (isa_select) does not cap it away, so that a run with MNV2DET_ISA=avx2
 * tests what an older CPU would choose. */
static int variant_runs(const qconv_kernel *k)
{
    return qconv_kernel_runs_here(k) && k->isa <= isa_select();
}

/* The extreme draws: either end of the range. */
static int8_t rng_end(rng *r, int lo, int hi)
{
    return (int8_t)(rng_u32(r) & 1 ? hi : lo);
}

/* Every table entry that runs here and supports d with q against the
 * reference's output want (n_out values), exactly; runs (may be NULL)
 * counts the matches per entry. Returns how many entries ran. */
static int check_all_variants(const conv_desc *d, const qconv_params *q, const int8_t *in, const int8_t *w,
                              const int32_t *bias, const int8_t *want, size_t n_out, const char *what, int *runs)
{
    int8_t *got = xmalloc(n_out);
    int i = 0, ran = 0;
    for (const qconv_kernel *const *k = qconv_kernels_all(); *k; k++, i++) {
        if (!(*k)->supports(d, q) || !variant_runs(*k))
            continue;
        run_variant(*k, d, q, in, w, bias, got, n_out);
        const int same = memcmp(want, got, n_out) == 0;
        CHECK(same, "%s on %s: differs from the reference", (*k)->name, what);
        ran++;
        if (same && runs && i < MAX_VARIANTS)
            runs[i]++;
    }
    free(got);
    return ran;
}

static void conv_case(rng *r, const shape *s, const config *c, case_totals *tot)
{
    const conv_desc d = make_desc(s, c->act);
    const size_t n_in = (size_t)d.in_h * d.in_w * d.in_c, n_w = weight_count(&d);
    const size_t n_out = (size_t)d.out_h * d.out_w * d.out_c;
    int8_t *in = xmalloc(n_in), *w = xmalloc(n_w), *out = xmalloc(n_out + GUARD);
    int8_t *out2 = xmalloc(n_out);
    int32_t *bias = xmalloc((size_t)d.out_c * sizeof(int32_t));
    float *w_scales = xmalloc((size_t)d.out_c * sizeof(float));
    double *y = xmalloc(n_out * sizeof(double));
    int64_t *acc = xmalloc(n_out * sizeof(int64_t));
    qmultiplier *requant = xmalloc((size_t)d.out_c * sizeof(qmultiplier));
    char what[200];
    snprintf(what, sizeof what, "%s, act %d, %s, zero points in %d w %d out %d%s%s%s", s->what, (int)c->act,
             c->per_channel ? "per channel" : "per tensor", (int)c->in_zp, (int)c->w_zp, (int)c->out_zp,
             c->saturate ? ", saturating" : "", c->extreme ? ", extreme values" : "",
             c->amplify == 1 ? ", multipliers above 1" : c->amplify == 2 ? ", multipliers near 1"
             : c->w_min128 ? ", weights of -128" : "");

    for (size_t i = 0; i < n_in; i++)
        in[i] = c->extreme ? rng_end(r, -128, 127) : (int8_t)rng_int(r, -128, 127);
    const int w_min = c->w_zp || c->w_min128 ? -128 : -127;
    for (size_t i = 0; i < n_w; i++)
        w[i] = c->extreme ? rng_end(r, w_min, 127) : (int8_t)rng_int(r, w_min, 127);
    const qparams in_q = {(float)(0.01 + 0.05 * rng_unit(r)), c->in_zp};
    const int n_scales = c->per_channel ? d.out_c : 1;
    for (int k = 0; k < n_scales; k++)
        w_scales[k] = (float)(0.002 + 0.02 * rng_unit(r));
    for (int oc = 0; oc < d.out_c; oc++) {
        const double bias_scale = (double)in_q.scale * w_scales[c->per_channel ? oc : 0];
        bias[oc] = (int32_t)lround((rng_unit(r) * 6.0 - 3.0) / bias_scale);
    }
    /* the exact real outputs before the activation, from the integer sums */
    double max_abs = 0.0;
    for (int oy = 0; oy < d.out_h; oy++)
        for (int ox = 0; ox < d.out_w; ox++)
            for (int oc = 0; oc < d.out_c; oc++) {
                const size_t o = ((size_t)oy * d.out_w + ox) * d.out_c + oc;
                acc[o] = plain_acc(&d, in, w, bias, c->in_zp, c->w_zp, oy, ox, oc);
                y[o] = (double)in_q.scale * w_scales[c->per_channel ? oc : 0] * (double)acc[o];
                max_abs = fmax(max_abs, fabs(y[o]));
            }
    qparams out_q = {(float)(max_abs > 0 ? max_abs / (c->saturate ? 400.0 : 120.0) : 1.0), c->out_zp};
    if (c->amplify) {
        float min_ws = w_scales[0], max_ws = w_scales[0];
        for (int k = 1; k < n_scales; k++) {
            min_ws = w_scales[k] < min_ws ? w_scales[k] : min_ws;
            max_ws = w_scales[k] > max_ws ? w_scales[k] : max_ws;
        }
        out_q.scale = c->amplify == 1 ? in_q.scale * min_ws / 3.0f : in_q.scale * max_ws * 1.2f;
    }

    qconv_params q;
    char err[200] = "";
    int rc = qconv_params_init(&q, requant, &d, in_q, w_scales, n_scales, c->w_zp, out_q, err, sizeof err);
    CHECK(rc == 0, "%s: qconv_params_init: %s", what, err);
    if (rc != 0)
        goto done;
    CHECK(qconv_acc_fits(&d, &q, w, bias), "%s: accumulator said to overflow", what);
    if (c->narrow) {
        int cut = 0;
        for (int oc = 0; oc < d.out_c; oc++) {
            /* the inputs' farthest from their zero point (qconv_narrow_exact's
             * bound, which the extreme values reach) */
            const int64_t span = c->in_zp + 128 > 127 - c->in_zp ? c->in_zp + 128 : 127 - c->in_zp;
            int64_t bound = bias[oc] < 0 ? -(int64_t)bias[oc] : bias[oc];
            for (size_t i = 0; i < n_w; i++)
                if ((int)(d.depthwise ? i % (size_t)d.out_c : i / (n_w / (size_t)d.out_c)) == oc)
                    bound += (int64_t)abs(w[i] - c->w_zp) * span;
            cut += narrow_multiplier(&requant[oc], bound);
        }
        CHECK(qconv_narrow_exact(&d, &q, w, bias) == (cut == d.out_c), "%s: %d of %d multipliers cut, "
              "qconv_narrow_exact disagrees", what, cut, d.out_c);
        tot->narrow += cut == d.out_c;
    }
    int32_t lo, hi;
    quant_activation_range(c->act, out_q, &lo, &hi);
    CHECK(q.act_min == lo && q.act_max == hi && q.in_zero_point == c->in_zp &&
          q.out_zero_point == c->out_zp && q.w_zero_point == c->w_zp, "%s: parameters not kept", what);

    memset(out, GUARD_BYTE, n_out + GUARD);
    omp_set_num_threads(2);
    run_reference(&d, &q, in, w, bias, out);
    omp_set_num_threads(1);
    run_reference(&d, &q, in, w, bias, out2);
    omp_set_num_threads(2);
    CHECK(memcmp(out, out2, n_out) == 0, "%s: 1 and 2 threads differ", what);
    int guard_ok = 1;
    for (size_t i = n_out; i < n_out + GUARD; i++)
        guard_ok &= out[i] == (int8_t)GUARD_BYTE;
    CHECK(guard_ok, "%s: wrote past the output", what);

    int bad_exact = 0, bad_float = 0, bad_step = 0;
    for (size_t o = 0; o < n_out; o++) {
        const int oc = (int)(o % (size_t)d.out_c);
        qmultiplier m;
        const double real = (double)in_q.scale * w_scales[c->per_channel ? oc : 0] / out_q.scale;
        quant_multiplier_from_double(real, &m);
        if (c->narrow) /* cut below the scales' ratio: the reference takes requant as it is */
            m = q.requant[oc];
        if (m.multiplier != q.requant[oc].multiplier || m.shift != q.requant[oc].shift)
            bad_exact++;
        /* the plain integer reference: exactly */
        const int32_t sat = acc[o] > INT32_MAX ? INT32_MAX : acc[o] < INT32_MIN ? INT32_MIN : (int32_t)acc[o];
        const int32_t want = clamp_i32((int64_t)spec_multiply(sat, m) + c->out_zp, lo, hi);
        if (out[o] != want) {
            if (bad_exact < 3)
                fprintf(stderr, "%s: out[%zu] = %d, integer reference %d\n", what, o, out[o], (int)want);
            bad_exact++;
        }
        /* dequantize, compute, quantize: within the rounding bound, and
         * one step of the nearest */
        double v = y[o];
        if (c->act == ACT_RELU || c->act == ACT_RELU6)
            v = fmax(v, 0.0);
        if (c->act == ACT_RELU6)
            v = fmin(v, 6.0);
        double yq = v / out_q.scale + c->out_zp;
        const int clamped = yq < -128.0 || yq > 127.0;
        yq = fmin(fmax(yq, -128.0), 127.0);
        if (c->narrow)
            continue;
        if (!(fabs(out[o] - yq) <= rounding_bound(q.requant[oc]) + 1e-6 * (1.0 + fabs(yq)))) {
            if (bad_float < 3)
                fprintf(stderr, "%s: out[%zu] = %d, real %.4f steps\n", what, o, out[o], yq);
            bad_float++;
        }
        bad_step += !(fabs(out[o] - round(yq)) <= 1.0);
        tot->off_by_one += out[o] != (int)round(yq);
        tot->saturated += clamped;
    }
    CHECK(bad_exact == 0, "%s: %d outputs differ from the integer reference", what, bad_exact);
    CHECK(bad_float == 0, "%s: %d outputs off the float result by more than the rounding bound", what,
          bad_float);
    CHECK(bad_step == 0, "%s: %d outputs more than one step off", what, bad_step);
    tot->cases++;
    tot->outputs += (int)n_out;

    /* every table entry for this operation: exactly the reference */
    for (const qconv_kernel *const *k = qconv_kernels_all(); *k; k++) {
        if (!(*k)->supports(&d, &q) || !variant_runs(*k))
            continue;
        CHECK((*k)->op == (d.depthwise ? KERNEL_DWCONV2D : KERNEL_CONV2D), "%s claims %s", (*k)->name,
              what);
        run_variant(*k, &d, &q, in, w, bias, out2, n_out);
        const int same = memcmp(out, out2, n_out) == 0;
        CHECK(same, "%s on %s: differs from the reference", (*k)->name, what);
        tot->variant_runs++;
        if (same && k - qconv_kernels_all() < MAX_VARIANTS)
            tot->runs[k - qconv_kernels_all()]++;
    }
done:
    free(in), free(w), free(out), free(out2), free(bias), free(w_scales), free(y), free(acc), free(requant);
}

static void report_variants(const int *runs);

static void test_convolutions(rng *r, int *runs_out)
{
    static const shape shapes[] = {
        {"pointwise 5x7x17 -> 33", 5, 7, 17, 33, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise on a 1x1 map", 1, 1, 33, 5, 1, 1, 1, 1, TFL_PAD_VALID, 0, 1},
        {"3x3 on a 1x1 map", 1, 1, 5, 3, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1},
        {"stem 3x3 s2 on 9x11x3", 9, 11, 3, 5, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"stem 3x3 s2 on 8x8x3", 8, 8, 3, 16, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s1 valid", 7, 6, 5, 3, 3, 3, 1, 1, TFL_PAD_VALID, 0, 1},
        {"5x5 dilation 2", 9, 9, 3, 4, 5, 5, 1, 2, TFL_PAD_SAME, 0, 1},
        {"2x3 s2 valid", 6, 5, 4, 7, 2, 3, 2, 1, TFL_PAD_VALID, 0, 1},
        {"3x3 s2 on 3x3x1", 3, 3, 1, 1, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"depthwise 3x3 s1 on 7x9x3", 7, 9, 3, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 7x9x5", 7, 9, 5, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 8x8x17", 8, 8, 17, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 on 1x1x33", 1, 1, 33, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 1x1x5", 1, 1, 5, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 valid on 3x5x16", 3, 5, 16, 0, 3, 3, 2, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise multiplier 2", 6, 6, 8, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 2},
        {"depthwise 5x5 dilation 2", 9, 8, 3, 0, 5, 5, 1, 2, TFL_PAD_SAME, 1, 1},
        /* the SIMD variants' edges: channels off the vector widths (8, 16,
         * 64-channel panels) and the k groups (2, 4), pixel counts off the
         * register tiles' rows (5, 6), odd sizes at stride 2, one column */
        {"pointwise 3x7x40 -> 70", 3, 7, 40, 70, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 4x4x7 -> 144", 4, 4, 7, 144, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 9x5x66 -> 24", 9, 5, 66, 24, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 1x13x130 -> 130", 1, 13, 130, 130, 1, 1, 1, 1, TFL_PAD_VALID, 0, 1},
        {"pointwise 2x3x1 -> 1", 2, 3, 1, 1, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 2x2x1000 -> 20", 2, 2, 1000, 20, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise stride 2 (not a GEMM)", 5, 5, 8, 8, 1, 1, 2, 1, TFL_PAD_SAME, 0, 1},
        {"depthwise 3x3 s1 on 6x5x40", 6, 5, 40, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 9x7x24", 9, 7, 24, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 10x12x48", 10, 12, 48, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 valid on 5x6x19", 5, 6, 19, 0, 3, 3, 1, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise 3x3 s2 valid on 8x9x33", 8, 9, 33, 0, 3, 3, 2, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise 3x3 s2 on 2x2x7", 2, 2, 7, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 on 4x1x1", 4, 1, 1, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        /* the optimized variants' edges: tiles of pixels and channels that
         * do not divide the layer, inputs past a block of 16, no full
         * block, odd sizes with stride 2, maps without an interior, and
         * layers big enough to be split between two threads */
        {"pointwise 9x7x40 -> 27", 9, 7, 40, 27, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 4x4x16 -> 8 (whole tiles)", 4, 4, 16, 8, 1, 1, 1, 1, TFL_PAD_VALID, 0, 1},
        {"pointwise 3x1x3 -> 13", 3, 1, 3, 13, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 2x5x100 -> 37", 2, 5, 100, 37, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 20x20x40 -> 20 (two threads)", 20, 20, 40, 20, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 6x5x45 -> 12", 6, 5, 45, 12, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 1x9x10 -> 9", 1, 9, 10, 9, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 4x6x24 -> 16", 4, 6, 24, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"1x1 stride 2", 5, 5, 8, 4, 1, 1, 2, 1, TFL_PAD_SAME, 0, 1},
        {"depthwise 3x3 s1 on 5x6x24", 5, 6, 24, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 9x7x13", 9, 7, 13, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 6x6x8", 6, 6, 8, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 valid on 4x5x9", 4, 5, 9, 0, 3, 3, 1, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise 3x3 s2 valid on 7x8x8", 7, 8, 8, 0, 3, 3, 2, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise 3x3 s1 on 2x2x16", 2, 2, 16, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 on 1x7x8", 1, 7, 8, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 on 40x40x24 (two threads)", 40, 40, 24, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 63x65x40 (two threads)", 63, 65, 40, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 on 6x7x32", 6, 7, 32, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 9x11x48", 9, 11, 48, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 10x10x16", 10, 10, 16, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 valid on 5x4x16", 5, 4, 16, 0, 3, 3, 1, 1, TFL_PAD_VALID, 1, 1},
        {"depthwise 3x3 s1 on 41x39x32 (two threads)", 41, 39, 32, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 65x63x48 (two threads)", 65, 63, 48, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        /* the general GEMM's gather (Arm): the stem on odd sizes (a padded
         * last row and column, 3 of its 8 or 3 pixels in a tile), rows of
         * K off the blocks of 16 (27, 360: a tail above and at 8), 1x1
         * stride 2 (gathered, not a 1x1 GEMM), dilation with stride */
        {"stem 3x3 s2 on 15x13x3 -> 32", 15, 13, 3, 32, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"stem 3x3 s2 valid on 7x9x3 -> 8", 7, 9, 3, 8, 3, 3, 2, 1, TFL_PAD_VALID, 0, 1},
        {"3x3 s2 on 6x7x40 -> 21", 6, 7, 40, 21, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s1 on 4x5x16 -> 12", 4, 5, 16, 12, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1},
        {"1x1 s2 on 7x6x24 -> 17", 7, 6, 24, 17, 1, 1, 2, 1, TFL_PAD_SAME, 0, 1},
        {"5x5 dilation 2 s2 on 11x10x20 -> 19", 11, 10, 20, 19, 5, 5, 2, 2, TFL_PAD_SAME, 0, 1},
        {"3x3 dilation 3 valid on 9x8x6 -> 5", 9, 8, 6, 5, 3, 3, 1, 3, TFL_PAD_VALID, 0, 1},
        /* the stem's form (3x3, few input channels, stride 2, SAME padding
         * of 0 before and 1 after for even sizes): the GEMM's gather of
         * whole kernel rows, at odd and even widths, and its neighbours */
        {"stem 3x3 s2 on 9x11x3 -> 32", 9, 11, 3, 32, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"stem 3x3 s2 on 10x12x3 -> 16", 10, 12, 3, 16, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"stem 3x3 s2 on 13x1x3 -> 8", 13, 1, 3, 8, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s1 on 7x9x3 -> 20", 7, 9, 3, 20, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s2 valid on 9x10x5 -> 24", 9, 10, 5, 24, 3, 3, 2, 1, TFL_PAD_VALID, 0, 1},
        {"3x3 s2 on 8x7x4 -> 33", 8, 7, 4, 33, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s1 on 5x6x16 -> 64", 5, 6, 16, 64, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s2 on 40x42x3 -> 32 (two threads)", 40, 42, 3, 32, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        /* the AVX-512 GEMM's packed output bytes: panels of 4 and 2 whole
         * vectors (64, 32 channels) in their packed column order, beside
         * panels of 1 and 3 vectors and a last part vector that keep the
         * per vector stores; small K (8 to 32), pixel counts off the 6-row
         * tiles (the last tile through the buffer) and on them */
        {"pointwise 5x7x16 -> 96", 5, 7, 16, 96, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 7x5x24 -> 144", 7, 5, 24, 144, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 3x5x8 -> 64", 3, 5, 8, 64, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 2x3x32 -> 32 (whole tiles)", 2, 3, 32, 32, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 1x11x32 -> 32", 1, 11, 32, 32, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 3x3x16 -> 48", 3, 3, 16, 48, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 5x5x24 -> 16", 5, 5, 24, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 4x3x8 -> 128 (whole tiles)", 4, 3, 8, 128, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 3x7x16 -> 104", 3, 7, 16, 104, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 13x11x16 -> 96 (two threads)", 13, 11, 16, 96, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s2 on 9x7x3 -> 96", 9, 7, 3, 96, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        /* panels of 2 and 4 vectors whose channels end inside the last
         * vector (masked byte stores): project layers' 24, 120 = 64 + 56 */
        {"pointwise 7x5x96 -> 24", 7, 5, 96, 24, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 2x3x144 -> 24 (whole tiles)", 2, 3, 144, 24, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 5x3x16 -> 120", 5, 3, 16, 120, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 3x3x24 -> 17", 3, 3, 24, 17, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        /* one vector of channels or fewer: tiles stacked GEMM_NV high (24
         * rows on AVX-512, 12 or 10 on AVX2), the last stack part full */
        {"pointwise 7x9x32 -> 16 (stacked tiles)", 7, 9, 32, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 5x11x8 -> 3 (stacked tiles)", 5, 11, 8, 3, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 4x6x16 -> 16 (one stack)", 4, 6, 16, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s1 on 9x7x8 -> 12 (gathered, stacked tiles)", 9, 7, 8, 12, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1},
        {"pointwise 40x41x32 -> 16 (stacked tiles, two threads)", 40, 41, 32, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
    };
    /* SSD's widest general layers, and rows of exactly 4608 (the Arm
     * gather's bound): large, so under three configurations only (zero
     * points at the ends; the largest products; weights of -128) */
    static const shape big_shapes[] = {
        {"SSD 3x3 s2 on 10x10x256 -> 512", 10, 10, 256, 512, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"SSD 3x3 s2 valid on 10x10x256 -> 512", 10, 10, 256, 512, 3, 3, 2, 1, TFL_PAD_VALID, 0, 1},
        {"3x3 s2 on 5x5x512 -> 24", 5, 5, 512, 24, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    };
    static const size_t big_configs[] = {0, 9, 10};
    static const config configs[] = {
        {ACT_NONE, 1, -128, 5, 0, 0, 0, 0, 0, 0},
        {ACT_RELU6, 1, 7, -128, 0, 0, 0, 0, 0, 0},
        {ACT_RELU, 0, 127, -20, -3, 0, 0, 0, 0, 0},   /* per tensor, a weight zero point: a uint8 model */
        {ACT_NONE, 1, 0, 30, 0, 1, 0, 0, 0, 0},
        {ACT_RELU6, 0, -50, -128, 0, 1, 0, 0, 0, 0},
        {ACT_NONE, 1, 100, 0, 0, 0, 1, 0, 0, 0},      /* the largest products, both signs */
        {ACT_NONE, 0, -128, 0, 77, 0, 1, 0, 0, 0},    /* the same with w - w_zp down to -205 */
        {ACT_RELU, 1, -3, 10, 0, 0, 0, 1, 0, 0},      /* left shifts */
        {ACT_NONE, 1, 3, -7, 0, 0, 0, 2, 0, 0},       /* right shifts of 0 */
        /* the largest products: pairs of (-127) * (-128) fill int16 */
        {ACT_NONE, 1, 127, -3, 0, 0, 1, 0, 0, 0},
        /* -128 * -128: a pair no longer fits int16 */
        {ACT_RELU, 1, -128, 0, 0, 0, 1, 0, 1, 0},
        {ACT_NONE, 1, 3, 0, 0, 1, 0, 0, 1, 0},
        /* ReLU and ReLU6 outputs (lower bound at or above the zero point:
         * the requantization's shortcut for them) at zero points -128, 0
         * and 127, per channel and per tensor */
        {ACT_RELU6, 1, -128, -128, 0, 0, 0, 0, 0, 0},
        {ACT_RELU6, 0, 5, 0, 0, 0, 0, 0, 0, 0},
        {ACT_RELU, 1, -7, 0, 0, 0, 1, 0, 0, 0},
        {ACT_RELU, 1, 60, 127, 0, 0, 0, 0, 0, 0},
        {ACT_RELU6, 1, 0, 127, 0, 0, 0, 0, 0, 0},
        /* multipliers with quant_narrow's 32-bit form: ReLU6 and linear
         * outputs, per tensor with a weight zero point, the largest
         * products, left shifts and right shifts of 0 */
        {ACT_RELU6, 1, -128, -128, 0, 0, 0, 0, 0, 1},
        {ACT_NONE, 1, 5, 3, 0, 0, 0, 0, 0, 1},
        {ACT_RELU, 0, 127, -20, -3, 0, 0, 0, 0, 1},
        {ACT_NONE, 1, 100, 0, 0, 0, 1, 0, 0, 1},
        {ACT_NONE, 1, -1, 4, 0, 0, 1, 0, 0, 1},
        {ACT_RELU6, 1, -7, 10, 0, 1, 0, 0, 0, 1},
        {ACT_RELU, 1, -3, 10, 0, 0, 0, 1, 0, 1},
        {ACT_NONE, 1, 3, -7, 0, 0, 0, 2, 0, 1},
    };
    case_totals tot = {0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++)
            conv_case(r, &shapes[s], &configs[c], &tot);
    for (size_t s = 0; s < sizeof big_shapes / sizeof big_shapes[0]; s++)
        for (size_t c = 0; c < sizeof big_configs / sizeof big_configs[0]; c++)
            conv_case(r, &big_shapes[s], &configs[big_configs[c]], &tot);
    CHECK(tot.saturated > 0, "no output saturated: the saturating configurations did not");
    CHECK(tot.narrow >= 300, "only %d cases had every multiplier in the 32-bit form", tot.narrow);
    CHECK(tot.variant_runs >= tot.cases, "the kernel table ran on %d of %d cases", tot.variant_runs,
          tot.cases);
    printf("convolutions: %d cases (%d with 32-bit form multipliers), %d outputs, %d saturated, %d one "
           "step from the nearest (rounding of the nearest half), %d table runs\n",
           tot.cases, tot.narrow, tot.outputs, tot.saturated, tot.off_by_one, tot.variant_runs);
    report_variants(tot.runs);
    memcpy(runs_out, tot.runs, sizeof tot.runs);
}

/* run=NAME: NAME must have run (so a CPU model that should have an
 * extension did report it); skip=NAME: this CPU must lack it. The emulated
 * tests name the variants each QEMU CPU must run or lack. */
static void check_expectations(const int *runs, int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        const int run = strncmp(argv[a], "run=", 4) == 0, skip = strncmp(argv[a], "skip=", 5) == 0;
        CHECK(run || skip, "argument %s: run=VARIANT or skip=VARIANT expected", argv[a]);
        if (!run && !skip)
            continue;
        const char *name = argv[a] + (run ? 4 : 5);
        int pos = 0, found = 0;
        for (const qconv_kernel *const *k = qconv_kernels_all(); *k && pos < MAX_VARIANTS; k++, pos++) {
            if (strcmp((*k)->name, name) != 0)
                continue;
            found = 1;
            if (run)
                CHECK(runs[pos] > 0 && qconv_kernel_runs_here(*k), "%s was expected to run on this CPU", name);
            else
                CHECK(runs[pos] == 0 && !qconv_kernel_runs_here(*k), "%s was expected to be skipped on this CPU",
                      name);
        }
        CHECK(found, "%s: no such variant in the table", name);
    }
}

/* Each table entry: on how many cases it gave the reference's result
 * exactly, or SKIPPED where this CPU cannot run it (never a silent pass).
 * An entry this CPU runs must have matched somewhere (and its mismatches
 * are failed checks of their own). */
static void report_variants(const int *runs)
{
    int i = 0;
    for (const qconv_kernel *const *k = qconv_kernels_all(); *k; k++, i++) {
        if (!qconv_kernel_runs_here(*k)) {
            printf("  %-34s SKIPPED: this CPU lacks %s%s\n", (*k)->name, isa_name((*k)->isa),
                   (*k)->features & CPU_FEATURE_ARM_DOTPROD ? " with dotprod"
                   : (*k)->features ? " or its dot-product extension" : "");
            continue;
        }
        if (!variant_runs(*k)) {
            printf("  %-34s SKIPPED: above MNV2DET_ISA=%s\n", (*k)->name, isa_name(isa_select()));
            continue;
        }
        const int n = i < MAX_VARIANTS ? runs[i] : 0;
        printf("  %-34s exact on %d cases\n", (*k)->name, n);
        CHECK(n > 0, "%s ran on no case: the shapes miss it", (*k)->name);
    }
}

/* The kernel table: a reference per operation, chosen for every layer. */
static void test_table(void)
{
    int conv = 0, dw = 0;
    for (const qconv_kernel *const *k = qconv_kernels_all(); *k; k++) {
        conv += (*k)->isa == MNV_ISA_REF && (*k)->op == KERNEL_CONV2D;
        dw += (*k)->isa == MNV_ISA_REF && (*k)->op == KERNEL_DWCONV2D;
    }
    CHECK(conv == 1 && dw == 1, "%d conv and %d depthwise references in the table", conv, dw);
    const shape sc = {"", 5, 5, 3, 4, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1};
    const shape sd = {"", 5, 5, 3, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1};
    const conv_desc dc = make_desc(&sc, ACT_NONE), dd = make_desc(&sd, ACT_NONE);
    qmultiplier m[4];
    const float ws = 0.01f;
    const qparams io = {0.1f, 0};
    qconv_params qc, qd;
    char err[200] = "";
    CHECK(qconv_params_init(&qc, m, &dc, io, &ws, 1, 0, io, err, sizeof err) == 0 &&
          qconv_params_init(&qd, m, &dd, io, &ws, 1, 5, io, err, sizeof err) == 0, "init: %s", err);
    for (int isa = 0; isa < MNV_ISA_COUNT; isa++) {
        const qconv_kernel *kc = qconv_kernel_choose(&dc, &qc, (mnv_isa)isa);
        const qconv_kernel *kd = qconv_kernel_choose(&dd, &qd, (mnv_isa)isa);
        CHECK(kc && kc->op == KERNEL_CONV2D && (int)kc->isa <= isa, "conv at isa %d: %s", isa, kc ? kc->name : "none");
        /* the choice never takes a variant this CPU lacks (a 1x1 with SDOT
         * on a CPU without the dot product) */
        const shape s1 = {"", 5, 5, 16, 8, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1};
        const conv_desc d1 = make_desc(&s1, ACT_NONE);
        const qconv_kernel *k1 = qconv_kernel_choose(&d1, &qc, (mnv_isa)isa);
        CHECK(k1 && qconv_kernel_runs_here(k1) && k1->supports(&d1, &qc) && (int)k1->isa <= isa,
              "1x1 at isa %d: %s", isa, k1 ? k1->name : "none");
        if (isa == MNV_ISA_COUNT - 1)
            printf("chosen at the best ISA: %s for a 1x1, %s for a 3x3, %s for a depthwise 3x3\n",
                   k1 ? k1->name : "none", kc ? kc->name : "none", kd ? kd->name : "none");
        /* MNV2DET_ISA caps the int8 choice as it does the float one */
        const int forced = isa_parse(getenv("MNV2DET_ISA"));
        if (isa == MNV_ISA_COUNT - 1 && forced >= 0 && cpu_supports((mnv_isa)forced)) {
            const qconv_kernel *kf = qconv_kernel_choose(&d1, &qc, isa_select());
            CHECK(kf && (int)kf->isa <= forced, "MNV2DET_ISA=%s chose %s", isa_name((mnv_isa)forced),
                  kf ? kf->name : "none");
            printf("MNV2DET_ISA=%s: %s for a 1x1\n", isa_name((mnv_isa)forced), kf ? kf->name : "none");
        }
        CHECK(kd && kd->op == KERNEL_DWCONV2D && (int)kd->isa <= isa, "depthwise at isa %d: %s", isa,
              kd ? kd->name : "none");
    }
#if defined(MNV_X86_VARIANTS)
    /* where this CPU has AVX2, MobileNetV2's shapes get a SIMD variant at
     * the best ISA, and the reference once capped to it */
    if (cpu_supports(MNV_ISA_AVX2)) {
        const shape s1 = {"", 6, 6, 24, 40, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1};
        const shape s2 = {"", 7, 7, 24, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1};
        const conv_desc d1 = make_desc(&s1, ACT_RELU6), d2 = make_desc(&s2, ACT_RELU6);
        qmultiplier m40[40];
        qconv_params q1, q2;
        CHECK(qconv_params_init(&q1, m40, &d1, io, &ws, 1, 0, io, err, sizeof err) == 0 &&
              qconv_params_init(&q2, m40, &d2, io, &ws, 1, 0, io, err, sizeof err) == 0, "init: %s", err);
        const mnv_isa best = cpu_supports(MNV_ISA_AVX512) ? MNV_ISA_AVX512 : MNV_ISA_AVX2;
        const qconv_kernel *k1 = qconv_kernel_choose(&d1, &q1, best);
        const qconv_kernel *k2 = qconv_kernel_choose(&d2, &q2, best);
        CHECK(k1 && k1->isa != MNV_ISA_REF && k2 && k2->isa != MNV_ISA_REF, "at %s: %s and %s chosen",
              isa_name(best), k1 ? k1->name : "none", k2 ? k2->name : "none");
        k1 = qconv_kernel_choose(&d1, &q1, MNV_ISA_REF);
        CHECK(k1 && k1->isa == MNV_ISA_REF, "capped at ref: %s chosen", k1 ? k1->name : "none");
    }
#endif
}

/* Accumulators: the bound, and saturation where it fails. */
static void test_accumulator_bound(void)
{
    const shape s = {"", 1, 1, 60000, 1, 1, 1, 1, 1, TFL_PAD_VALID, 0, 1};
    conv_desc d = make_desc(&s, ACT_NONE);
    int8_t *w = xmalloc(70000), *in = xmalloc(70000);
    memset(w, 127, 70000);
    memset(in, -128, 70000);
    qmultiplier m[2];
    qconv_params q;
    char err[200];
    const float ws = 1.0f;
    int rc = qconv_params_init(&q, m, &d, (qparams){1.0f, 127}, &ws, 1, 0, (qparams){1e6f, 0}, err, sizeof err);
    CHECK(rc == 0, "init: %s", err);
    /* 60000 * 127 * 255 = 1.94e9 < 2^31 */
    CHECK(qconv_acc_fits(&d, &q, w, NULL), "60000 taps of 127 said to overflow");
    int32_t big_bias = 300000000;
    CHECK(!qconv_acc_fits(&d, &q, w, &big_bias), "a bias of 3e8 more said to fit");
    d.in_c = 70000;
    CHECK(!qconv_acc_fits(&d, &q, w, NULL), "70000 taps of 127 said to fit");
    /* the reference saturates: (-128 - 127) * 127 * 70000 < INT32_MIN */
    int8_t out;
    conv2d_qs8_nhwc_ref(&d, &q, in, w, NULL, &out);
    CHECK(out == quant_requantize(INT32_MIN, m[0], 0, -128, 127), "overflowing sum gave %d", out);

    /* a variant that takes these layers saturates as the reference: 70000
     * taps, and 60000 taps whose sum fits but not with the bias (a sum that
     * wrapped around instead would requantize to the other sign) */
    int ran = 0;
    const qparams unit = {1.0f, 0};
    rc = qconv_params_init(&q, m, &d, (qparams){1.0f, 127}, &ws, 1, 0, unit, err, sizeof err);
    CHECK(rc == 0, "init: %s", err);
    conv2d_qs8_nhwc_ref(&d, &q, in, w, NULL, &out);
    CHECK(out == -128, "70000 taps: %d", out);
    ran += check_all_variants(&d, &q, in, w, NULL, &out, 1, "70000 taps of 127 * -255", NULL);
    d.in_c = 60000;
    const int32_t low_bias = -300000000;
    conv2d_qs8_nhwc_ref(&d, &q, in, w, &low_bias, &out);
    ran += check_all_variants(&d, &q, in, w, &low_bias, &out, 1, "60000 taps of 127 * -255 and a bias of -3e8",
                              NULL);
    memset(in, 127, 70000);
    rc = qconv_params_init(&q, m, &d, (qparams){1.0f, -128}, &ws, 1, 0, (qparams){1e9f, 0}, err, sizeof err);
    const int32_t high_bias = 300000000;
    conv2d_qs8_nhwc_ref(&d, &q, in, w, &high_bias, &out);
    CHECK(rc == 0 && out == quant_requantize(INT32_MAX, m[0], 0, -128, 127), "high saturation: %d", out);
    ran += check_all_variants(&d, &q, in, w, &high_bias, &out, 1, "60000 taps of 127 * 255 and a bias of 3e8",
                              NULL);
    printf("accumulator bound: %d table runs on sums that saturate int32\n", ran);

    const shape sdw = {"", 3, 3, 2, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1};
    d = make_desc(&sdw, ACT_NONE);
    rc = qconv_params_init(&q, m, &d, (qparams){1.0f, 0}, &ws, 1, -128, (qparams){1.0f, 0}, err, sizeof err);
    int8_t wd[18];
    memset(wd, 127, sizeof wd);
    CHECK(rc == 0 && qconv_acc_fits(&d, &q, wd, NULL), "small depthwise said to overflow");
    int32_t b2[2] = {0, INT32_MAX - 255 * 255 * 9 + 1};
    CHECK(!qconv_acc_fits(&d, &q, wd, b2), "depthwise bias next to INT32_MAX said to fit");
    free(w), free(in);
}

/* qconv_left_shift_exact: per channel that shifts left, the accumulator
 * bound times 2^shift against 2^31; the variants that merge the shift into
 * their multiply (AVX-512) at that edge, where an accumulator that wrapped
 * would come out on the other int8 end. */
static void test_left_shift_bound(void)
{
    const shape s = {"", 1, 1, 16, 1, 1, 1, 1, 1, TFL_PAD_VALID, 0, 1};
    const conv_desc d = make_desc(&s, ACT_NONE);
    int8_t w[16], in[16], want;
    memset(in, 127, sizeof in);
    qmultiplier m[1];
    qconv_params q;
    char err[200] = "";
    const float ws = 6.0f; /* 1 * 6 / 1 = 0.75 * 2^3: a left shift of 3 */
    int rc = qconv_params_init(&q, m, &d, (qparams){1.0f, -128}, &ws, 1, 0, (qparams){1.0f, 0}, err, sizeof err);
    CHECK(rc == 0 && m[0].shift == 3, "init: %s, shift %d", err, m[0].shift);
    /* |bias| + 16 * 127 * 255 at (2^31 - 1) >> 3, with the inputs (x - zp
     * = 255) that make the sum reach it, of either sign */
    const int32_t edge = (INT32_MAX >> 3) - 16 * 127 * 255;
    int ran = 0;
    for (int sign = 1; sign >= -1; sign -= 2) {
        memset(w, sign > 0 ? 127 : -127, sizeof w);
        int32_t bias = sign * edge;
        CHECK(qconv_left_shift_exact(&d, &q, w, &bias), "bound * 8 = 2^31 - 8 said to saturate");
        conv2d_qs8_nhwc_ref(&d, &q, in, w, &bias, &want);
        CHECK(want == (sign > 0 ? 127 : -128), "edge of sign %d gave %d", sign, want);
        ran += check_all_variants(&d, &q, in, w, &bias, &want, 1, "a left shift of 3 at the int32 edge", NULL);
        bias += sign;
        CHECK(!qconv_left_shift_exact(&d, &q, w, &bias), "a bound * 8 past 2^31 said to fit");
    }
    int32_t bias = 0;
    m[0].shift = 31;
    CHECK(!qconv_left_shift_exact(&d, &q, w, &bias), "a left shift of 31 said to merge");
    /* right shifts do not count, whatever the bound */
    m[0].shift = -2;
    bias = INT32_MAX - 16 * 127 * 255;
    CHECK(qconv_left_shift_exact(&d, &q, w, &bias), "a right shift said to saturate");
    printf("left shift bound: %d table runs at the edge\n", ran);
}

/* A layer's random inputs and weights (only the int8 ends where extreme),
 * and room for the reference's output and a variant's. */
typedef struct layer_data {
    int8_t *in, *w, *ref, *out;
    size_t n_out;
} layer_data;

static layer_data layer_data_make(rng *r, const conv_desc *d, int extreme)
{
    const size_t n_in = (size_t)d->in_h * d->in_w * d->in_c, n_w = weight_count(d);
    layer_data l = {xmalloc(n_in), xmalloc(n_w), NULL, NULL, (size_t)d->out_h * d->out_w * d->out_c};
    l.ref = xmalloc(l.n_out);
    l.out = xmalloc(l.n_out);
    for (size_t i = 0; i < n_in; i++)
        l.in[i] = extreme ? rng_end(r, -128, 127) : (int8_t)rng_int(r, -128, 127);
    for (size_t i = 0; i < n_w; i++)
        l.w[i] = extreme ? rng_end(r, -127, 127) : (int8_t)rng_int(r, -127, 127);
    return l;
}

static void layer_data_free(layer_data *l)
{
    free(l->in), free(l->w), free(l->ref), free(l->out);
}

/* check_all_variants on a layer_data's input, weights and reference output. */
static void compare_variants(const conv_desc *d, const qconv_params *q, const int32_t *bias, layer_data *l,
                             const char *what, int *runs)
{
    check_all_variants(d, q, l->in, l->w, bias, l->ref, l->n_out, what, runs);
}

/* One of each kind of variant (1x1, general, depthwise s1 and s2, the
 * depthwise again with channels in whole blocks of 16, which the SDOT
 * variants need, and the stem form): small for the overflow tests, above the serial threshold
 * for the parallel ones. */
#define N_KIND_SHAPES 8
static const shape small_kinds[N_KIND_SHAPES] = {
    {"pointwise 3x5x20 -> 19, overflowing", 3, 5, 20, 19, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
    {"3x3 s2 on 5x5x4 -> 9, overflowing", 5, 5, 4, 9, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    {"depthwise 3x3 s1 on 5x6x20, overflowing", 5, 6, 20, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s2 on 7x7x20, overflowing", 7, 7, 20, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s1 on 5x5x32, overflowing", 5, 5, 32, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s2 on 7x6x16, overflowing", 7, 6, 16, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
    {"stem 3x3 s2 on 7x6x3 -> 10, overflowing", 7, 6, 3, 10, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    {"pointwise 5x7x24 -> 16 (stacked tiles), overflowing", 5, 7, 24, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
};
static const shape large_kinds[N_KIND_SHAPES] = {
    {"pointwise 41x37x64 -> 72", 41, 37, 64, 72, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
    {"3x3 s2 on 61x59x8 -> 40", 61, 59, 8, 40, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    {"depthwise 3x3 s1 on 47x45x72", 47, 45, 72, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s2 on 65x63x80", 65, 63, 80, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s1 on 45x43x64", 45, 43, 64, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
    {"depthwise 3x3 s2 on 61x57x48", 61, 57, 48, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
    {"stem 3x3 s2 on 63x61x3 -> 32", 63, 61, 3, 32, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    {"pointwise 47x43x32 -> 16 (stacked tiles)", 47, 43, 32, 16, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
};

/* Layers whose int32 accumulator overflows (biases next to the int32 ends)
 * with multipliers above and below 1: where qconv_acc_fits fails every
 * table entry must still saturate exactly as the reference does. */
static void test_overflowing_variants(rng *r)
{
    const shape *shapes = small_kinds;
    int runs[MAX_VARIANTS] = {0};
    for (size_t s = 0; s < N_KIND_SHAPES; s++) {
        const conv_desc d = make_desc(&shapes[s], ACT_NONE);
        layer_data l = layer_data_make(r, &d, 1);
        int32_t bias[32];
        qmultiplier requant[32];
        for (int c = 0; c < d.out_c; c++) {
            /* in turn: far above, far below, and an ordinary bias; the
             * multipliers 2^k * 0.75 for k from -3 to 3, and the largest
             * below 1, whose products of a saturated sum stay next to the
             * int32 ends (where adding the output zero point must not wrap) */
            const int kind = c % 3;
            bias[c] = kind == 0 ? INT32_MAX - rng_int(r, 0, 1000)
                    : kind == 1 ? INT32_MIN + rng_int(r, 0, 1000) : rng_int(r, -5000, 5000);
            requant[c] = c % 5 == 4 ? (qmultiplier){INT32_MAX, 0} : (qmultiplier){3 << 29, c % 7 - 3};
        }
        const int32_t out_zp = s % 2 ? 113 : -117;
        const qconv_params q = {rng_int(r, -128, 127), 0, out_zp, -128, 127, requant};
        CHECK(!qconv_acc_fits(&d, &q, l.w, bias), "%s: said to fit", shapes[s].what);
        run_reference(&d, &q, l.in, l.w, bias, l.ref);
        int clamped = 0;
        for (size_t i = 0; i < l.n_out; i++)
            clamped += l.ref[i] == -128 || l.ref[i] == 127;
        CHECK(clamped > 0, "%s: no output clamped", shapes[s].what);
        compare_variants(&d, &q, bias, &l, shapes[s].what, runs);
        layer_data_free(&l);
    }
    printf("overflowing accumulators:\n");
    report_variants(runs);
}

/* Layers large enough for the variants' parallel paths (small ones run on
 * the calling thread), at two threads with even shares and with the uneven
 * shares the executor's work split gives: every output written once, as
 * the reference writes it. */
static void test_parallel_variants(rng *r)
{
    const shape *shapes = large_kinds;
    int runs[MAX_VARIANTS] = {0};
    work_split uneven;
    const double share[2] = {0.7, 1.3};
    work_split_set(&uneven, share, 2);
    omp_set_num_threads(2);
    for (size_t s = 0; s < N_KIND_SHAPES; s++) {
        conv_desc d = make_desc(&shapes[s], ACT_RELU6);
        layer_data l = layer_data_make(r, &d, 0);
        int32_t bias[128];
        qmultiplier requant[128];
        for (int c = 0; c < d.out_c; c++) {
            bias[c] = rng_int(r, -20000, 20000);
            requant[c] = (qmultiplier){rng_int(r, 1 << 30, INT32_MAX), -rng_int(r, 6, 10)};
        }
        const qconv_params q = {rng_int(r, -128, 127), 0, -128, -128, 100, requant};
        run_reference(&d, &q, l.in, l.w, bias, l.ref);
        char what[200];
        snprintf(what, sizeof what, "%s, two threads, even shares", shapes[s].what);
        compare_variants(&d, &q, bias, &l, what, runs);
        d.split = &uneven;
        snprintf(what, sizeof what, "%s, two threads, uneven shares", shapes[s].what);
        compare_variants(&d, &q, bias, &l, what, NULL);
        layer_data_free(&l);
    }
    printf("two threads on larger layers:\n");
    report_variants(runs);
}

/* Layers without a bias (the kernels' packing takes NULL): every variant
 * that takes them, exactly as the reference. */
static void test_no_bias(rng *r)
{
    static const shape shapes[] = {
        {"pointwise 5x5x20 -> 12, no bias", 5, 5, 20, 12, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"depthwise 3x3 s1 on 6x6x16, no bias", 6, 6, 16, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s2 on 7x7x24, no bias", 7, 7, 24, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
    };
    int ran = 0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const conv_desc d = make_desc(&shapes[k], ACT_RELU6);
        const size_t n_in = (size_t)d.in_h * d.in_w * d.in_c, n_w = weight_count(&d);
        const size_t n_out = (size_t)d.out_h * d.out_w * d.out_c;
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w), *want = xmalloc(n_out);
        qmultiplier requant[32];
        const float ws = 0.01f;
        for (size_t i = 0; i < n_in; i++)
            in[i] = (int8_t)rng_int(r, -128, 127);
        for (size_t i = 0; i < n_w; i++)
            w[i] = (int8_t)rng_int(r, -127, 127);
        qconv_params q;
        char err[200] = "";
        const int rc = qconv_params_init(&q, requant, &d, (qparams){0.02f, -9}, &ws, 1, 0, (qparams){0.03f, 4},
                                         err, sizeof err);
        CHECK(rc == 0, "%s: %s", shapes[k].what, err);
        run_reference(&d, &q, in, w, NULL, want);
        ran += check_all_variants(&d, &q, in, w, NULL, want, n_out, shapes[k].what, NULL);
        free(in), free(w), free(want);
    }
    printf("no bias: %d table runs\n", ran);
}

/* ------------------------------------------------------------------------ */
/* ADD, QUANTIZE int8 -> int8, CONCATENATION, LOGISTIC                       */
/* ------------------------------------------------------------------------ */

static double activate(double v, act_kind act)
{
    if (act == ACT_RELU || act == ACT_RELU6)
        v = fmax(v, 0.0);
    if (act == ACT_RELU6)
        v = fmin(v, 6.0);
    return v;
}

/* Every pair of int8 values through ADD, against the real sum. */
static void test_add(void)
{
    struct { qparams a, b, out; act_kind act; } c[] = {
        {{0.05f, 0}, {0.05f, 0}, {0.1f, 0}, ACT_NONE},          /* equal scales */
        {{0.02f, -128}, {0.06f, 127}, {0.07f, -5}, ACT_NONE},   /* extreme zero points */
        {{0.1f, 10}, {1e-4f, -7}, {0.1f, 10}, ACT_NONE},        /* b hardly matters */
        {{0.03f, 3}, {0.04f, -3}, {0.02f, 0}, ACT_NONE},        /* saturating */
        {{0.05f, -20}, {0.03f, 40}, {6.0f / 255.0f, -128}, ACT_RELU6},
        {{0.04f, 0}, {0.04f, 0}, {0.03f, -128}, ACT_RELU},
    };
    int8_t *a = xmalloc(65536), *b = xmalloc(65536), *out = xmalloc(65536), *out1 = xmalloc(65536);
    for (int i = 0; i < 65536; i++) {
        a[i] = (int8_t)((i & 255) - 128);
        b[i] = (int8_t)((i >> 8) - 128);
    }
    int saturated = 0;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        qadd_params p;
        char err[200] = "";
        int rc = qadd_params_init(&p, c[k].a, c[k].b, c[k].out, c[k].act, err, sizeof err);
        CHECK(rc == 0, "add %zu: %s", k, err);
        if (rc)
            continue;
        CHECK(p.left_shift == 20, "left shift %d", p.left_shift);
        add_qs8_ref(&p, a, b, out, 65536);
        omp_set_num_threads(1);
        add_qs8_ref(&p, a, b, out1, 65536);
        omp_set_num_threads(2);
        CHECK(memcmp(out, out1, 65536) == 0, "add %zu: 1 and 2 threads differ", k);
        /* the two inputs' own roundings, seen at the output scale */
        const double in_err = 2.0 * multiplier_value(p.out_mult);
        int bad = 0, bad_step = 0, bad_exact = 0;
        for (int i = 0; i < 65536; i++) {
            const double real = activate(c[k].a.scale * (double)(a[i] - c[k].a.zero_point) +
                                         c[k].b.scale * (double)(b[i] - c[k].b.zero_point), c[k].act);
            double yq = real / c[k].out.scale + c[k].out.zero_point;
            saturated += yq < -128.0 || yq > 127.0;
            yq = fmin(fmax(yq, -128.0), 127.0);
            if (!(fabs(out[i] - yq) <= rounding_bound(p.out_mult) + in_err + 1e-6)) {
                if (bad < 3)
                    fprintf(stderr, "add %zu: %d + %d = %d, real %.4f steps\n", k, a[i], b[i], out[i], yq);
                bad++;
            }
            bad_step += !(fabs(out[i] - round(yq)) <= 1.0);
            /* the plain integer reference */
            const int32_t sa = spec_multiply((a[i] - c[k].a.zero_point) * (1 << 20), p.a_mult);
            const int32_t sb = spec_multiply((b[i] - c[k].b.zero_point) * (1 << 20), p.b_mult);
            const int32_t want = clamp_i32((int64_t)spec_multiply(sa + sb, p.out_mult) + c[k].out.zero_point,
                                           p.act_min, p.act_max);
            bad_exact += out[i] != want;
        }
        CHECK(bad == 0, "add %zu: %d sums off the real sum by more than the rounding bound", k, bad);
        CHECK(bad_step == 0, "add %zu: %d sums more than one step off", k, bad_step);
        CHECK(bad_exact == 0, "add %zu: %d sums differ from the integer reference", k, bad_exact);
        /* the multipliers add.cc's Prepare makes */
        const double twice_max = 2.0 * fmax(c[k].a.scale, c[k].b.scale);
        CHECK(fabs(multiplier_value(p.a_mult) - c[k].a.scale / twice_max) <= 1e-9 &&
              fabs(multiplier_value(p.b_mult) - c[k].b.scale / twice_max) <= 1e-9,
              "add %zu: input multipliers %g, %g", k, multiplier_value(p.a_mult), multiplier_value(p.b_mult));
    }
    CHECK(saturated > 0, "no sum saturated");
    free(a), free(b), free(out), free(out1);
}

static void test_requantize(rng *r)
{
    int8_t in[256], out[256];
    for (int i = 0; i < 256; i++)
        in[i] = (int8_t)(i - 128);
    int bad = 0, bad_exact = 0;
    for (int t = 0; t < 40; t++) {
        const qparams iq = {(float)(0.01 + 0.2 * rng_unit(r)), rng_int(r, -128, 127)};
        const qparams oq = {(float)(0.01 + 0.2 * rng_unit(r)), rng_int(r, -128, 127)};
        qmultiplier m;
        quant_multiplier_from_double((double)iq.scale / oq.scale, &m);
        requantize_qs8_ref(in, out, 256, iq.zero_point, m, oq.zero_point);
        for (int i = 0; i < 256; i++) {
            const double yq = fmin(fmax(iq.scale * (double)(in[i] - iq.zero_point) / oq.scale + oq.zero_point,
                                        -128.0), 127.0);
            bad += !(fabs(out[i] - yq) <= rounding_bound(m) + 1e-6);
            bad_exact += out[i] != clamp_i32((int64_t)spec_multiply(in[i] - iq.zero_point, m) + oq.zero_point,
                                             -128, 127);
        }
    }
    CHECK(bad == 0, "requantize: %d values off the real value by more than the rounding bound", bad);
    CHECK(bad_exact == 0, "requantize: %d values differ from the integer reference", bad_exact);
}

static void test_concat(rng *r)
{
    /* parts of 3, 5, 17 and 2 channels over 7 pixels (the last axis), then
     * the same parts as whole tensors (outer 1), then one value each (inner 1) */
    const size_t inner_sets[3][4] = {{3, 5, 17, 2}, {21, 35, 119, 14}, {1, 1, 1, 1}};
    const size_t outers[3] = {7, 1, 7};
    const qparams out_q = {0.05f, -10};
    const qparams part_q[4] = {
        {0.05f, -10},      /* as the output: copied */
        {0.02f, 37},       /* finer: requantized */
        {0.3f, -128},      /* coarser, beyond the output's range: saturates */
        {0.07f, -10},      /* the output's zero point, not its scale: requantized */
    };
    for (int set = 0; set < 3; set++) {
        const size_t outer = outers[set];
        const size_t *inner = inner_sets[set];
        int8_t *parts[4];
        size_t out_inner = 0;
        for (int k = 0; k < 4; k++) {
            parts[k] = xmalloc(outer * inner[k]);
            for (size_t i = 0; i < outer * inner[k]; i++)
                parts[k][i] = (int8_t)rng_int(r, -128, 127);
            out_inner += inner[k];
        }
        int8_t *out = xmalloc(outer * out_inner + GUARD);
        memset(out, GUARD_BYTE, outer * out_inner + GUARD);
        concat_qs8_ref(4, (const int8_t *const *)parts, part_q, inner, outer, out_q, out);
        int bad_copy = 0, bad = 0, bad_tflite = 0, saturated = 0;
        for (size_t o = 0; o < outer; o++) {
            size_t pos = 0;
            for (int k = 0; k < 4; k++) {
                for (size_t j = 0; j < inner[k]; j++) {
                    const int8_t q = parts[k][o * inner[k] + j];
                    const int8_t got = out[o * out_inner + pos + j];
                    if (k == 0) {
                        bad_copy += got != q;
                        continue;
                    }
                    double yq = part_q[k].scale * (double)(q - part_q[k].zero_point) / out_q.scale +
                                out_q.zero_point;
                    saturated += yq < -128.0 || yq > 127.0;
                    yq = fmin(fmax(yq, -128.0), 127.0);
                    bad += !(fabs(got - yq) <= 0.5 + 1e-4);
                    /* TFLite's uint8 formula, round(q * scale + bias) in the
                     * uint8 domain: at most float rounding apart */
                    const float scale = part_q[k].scale * (1.0f / out_q.scale);
                    const float bias = -(float)(part_q[k].zero_point + 128) * scale;
                    const int32_t tfl = clamp_i32((int64_t)roundf((float)(q + 128) * scale + bias) +
                                                  out_q.zero_point + 128, 0, 255) - 128;
                    bad_tflite += abs(got - tfl) > 1;
                }
                pos += inner[k];
            }
        }
        int guard_ok = 1;
        for (size_t i = outer * out_inner; i < outer * out_inner + GUARD; i++)
            guard_ok &= out[i] == (int8_t)GUARD_BYTE;
        CHECK(bad_copy == 0, "concat set %d: %d values of the part with the output's params changed", set,
              bad_copy);
        CHECK(bad == 0, "concat set %d: %d requantized values off by more than half a step", set, bad);
        CHECK(bad_tflite == 0, "concat set %d: %d values more than a step from TFLite's formula", set,
              bad_tflite);
        CHECK(guard_ok, "concat set %d: wrote past the output", set);
        CHECK(saturated > 0, "concat set %d: nothing saturated", set);
        for (int k = 0; k < 4; k++)
            free(parts[k]);
        free(out);
    }
}

static void test_logistic(void)
{
    const qparams out = {1.0f / 256.0f, -128};
    const qparams ins[] = {{0.1f, 0}, {0.05f, -128}, {0.5f, 20}, {1.0f / 16.0f, 127}, {0.02f, 5}};
    for (size_t k = 0; k < sizeof ins / sizeof ins[0]; k++) {
        int8_t table[256], in[256], got[256];
        logistic_qs8_table(ins[k], out, table);
        for (int i = 0; i < 256; i++)
            in[i] = (int8_t)(i - 128);
        lut_qs8_ref(table, in, got, 256);
        int bad = 0, monotone = 1;
        for (int i = 0; i < 256; i++) {
            const double x = ins[k].scale * (double)(in[i] - ins[k].zero_point);
            const double yq = fmin(fmax(256.0 / (1.0 + exp(-x)) - 128.0, -128.0), 127.0);
            if (!(fabs(got[i] - yq) <= 0.5 + 1e-3)) {
                if (bad < 3)
                    fprintf(stderr, "logistic %zu: q %d -> %d, real %.4f steps\n", k, in[i], got[i], yq);
                bad++;
            }
            if (i > 0 && got[i] < got[i - 1])
                monotone = 0;
        }
        CHECK(bad == 0, "logistic %zu: %d values off by more than half a step", k, bad);
        CHECK(monotone, "logistic %zu: not monotone", k);
        /* in place */
        lut_qs8_ref(table, in, in, 256);
        CHECK(memcmp(in, got, 256) == 0, "logistic %zu: in place differs", k);
    }
    /* saturation at both ends: x from -74 to 53.5 */
    int8_t table[256];
    logistic_qs8_table((qparams){0.5f, 20}, out, table);
    CHECK(table[0] == -128 && table[255] == 127, "logistic ends: %d, %d", table[0], table[255]);
    /* 0 maps to 1/2: 128 - 128 = 0 */
    logistic_qs8_table((qparams){0.1f, 0}, out, table);
    CHECK(table[128] == 0, "logistic(0) = %d", table[128]);
}

/* ------------------------------------------------------------------------ */
/* uint8 models as int8                                                      */
/* ------------------------------------------------------------------------ */

/* TFLite's uint8 activation range, written for uint8 */
static void u8_range(act_kind act, qparams out, int32_t *lo, int32_t *hi)
{
    *lo = 0, *hi = 255;
    if (act != ACT_NONE) {
        int32_t z = out.zero_point + (int32_t)roundf(0.0f / out.scale);
        *lo = z > 0 ? z : 0;
    }
    if (act == ACT_RELU6) {
        int32_t six = out.zero_point + (int32_t)roundf(6.0f / out.scale);
        *hi = six < 255 ? six : 255;
    }
}

/* A uint8 convolution computed in uint8 as TFLite does (per-tensor
 * asymmetric weights), against the int8 kernel on the converted tensors:
 * every output exactly 128 less. */
static void test_uint8_conv(rng *r, int depthwise)
{
    const shape s = {"", 7, 7, depthwise ? 5 : 3, 6, 3, 3, 2, 1, TFL_PAD_SAME, depthwise, 1};
    const conv_desc d = make_desc(&s, ACT_RELU6);
    const size_t n_in = (size_t)d.in_h * d.in_w * d.in_c, n_w = weight_count(&d);
    const size_t n_out = (size_t)d.out_h * d.out_w * d.out_c;
    uint8_t *in_u = xmalloc(n_in), *w_u = xmalloc(n_w), *out_u = xmalloc(n_out);
    int8_t *in_s = xmalloc(n_in), *w_s = xmalloc(n_w), *out_s = xmalloc(n_out);
    int32_t bias[64];
    for (size_t i = 0; i < n_in; i++)
        in_u[i] = (uint8_t)rng_int(r, 0, 255);
    for (size_t i = 0; i < n_w; i++)
        w_u[i] = (uint8_t)rng_int(r, 0, 255);
    for (int c = 0; c < d.out_c; c++)
        bias[c] = rng_int(r, -20000, 20000);
    const qparams in_q = {0.0078125f, 140}, out_q = {0.0235f, 2};
    const float w_scale = 0.0041f;
    const int32_t w_zp = 120;
    qmultiplier m;
    quant_multiplier_from_double((double)in_q.scale * w_scale / out_q.scale, &m);
    int32_t lo, hi;
    u8_range(ACT_RELU6, out_q, &lo, &hi);
    for (int oy = 0; oy < d.out_h; oy++)
        for (int ox = 0; ox < d.out_w; ox++)
            for (int oc = 0; oc < d.out_c; oc++) {
                /* plain_acc on the uint8 values, through int8 storage of q - 128
                 * would be circular: sum in uint8 directly */
                int64_t acc = bias[oc];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = oy * 2 + ky - d.pad_top, ix = ox * 2 + kx - d.pad_left;
                        if (iy < 0 || ix < 0 || iy >= d.in_h || ix >= d.in_w)
                            continue;
                        if (depthwise) {
                            acc += (int64_t)(w_u[(ky * 3 + kx) * d.out_c + oc] - w_zp) *
                                   (in_u[(iy * d.in_w + ix) * d.in_c + oc] - in_q.zero_point);
                        } else {
                            for (int ic = 0; ic < d.in_c; ic++)
                                acc += (int64_t)(w_u[((oc * 3 + ky) * 3 + kx) * d.in_c + ic] - w_zp) *
                                       (in_u[(iy * d.in_w + ix) * d.in_c + ic] - in_q.zero_point);
                        }
                    }
                out_u[((size_t)oy * d.out_w + ox) * d.out_c + oc] =
                    (uint8_t)clamp_i32((int64_t)spec_multiply((int32_t)acc, m) + out_q.zero_point, lo, hi);
            }
    quant_u8_to_s8(in_u, in_s, n_in);
    quant_u8_to_s8(w_u, w_s, n_w);
    qmultiplier requant[64];
    qconv_params q;
    char err[200] = "";
    int rc = qconv_params_init(&q, requant, &d, quant_params_u8_to_s8(in_q), &w_scale, 1, w_zp - 128,
                               quant_params_u8_to_s8(out_q), err, sizeof err);
    CHECK(rc == 0, "uint8 %s: %s", depthwise ? "depthwise" : "conv", err);
    run_reference(&d, &q, in_s, w_s, bias, out_s);
    int bad = 0, clamped = 0;
    for (size_t i = 0; i < n_out; i++) {
        bad += out_s[i] != out_u[i] - 128;
        clamped += out_u[i] == lo || out_u[i] == hi;
    }
    CHECK(bad == 0, "uint8 %s as int8: %d of %zu outputs not exactly 128 less", depthwise ? "depthwise" : "conv",
          bad, n_out);
    CHECK(clamped > 0 && clamped < (int)n_out, "uint8 %s: %d of %zu outputs at the clamps",
          depthwise ? "depthwise" : "conv", clamped, n_out);
    free(in_u), free(w_u), free(out_u), free(in_s), free(w_s), free(out_s);
}

/* ADD and LOGISTIC in uint8 as TFLite computes them, against int8 on the
 * converted values. */
static void test_uint8_elementwise(void)
{
    const qparams a = {0.03f, 130}, b = {0.045f, 101}, out = {0.06f, 128};
    qadd_params p;
    char err[200] = "";
    int rc = qadd_params_init(&p, quant_params_u8_to_s8(a), quant_params_u8_to_s8(b),
                              quant_params_u8_to_s8(out), ACT_RELU, err, sizeof err);
    CHECK(rc == 0, "uint8 add: %s", err);
    int32_t lo, hi;
    u8_range(ACT_RELU, out, &lo, &hi);
    uint8_t *au = xmalloc(65536), *bu = xmalloc(65536);
    int8_t *as = xmalloc(65536), *bs = xmalloc(65536), *os = xmalloc(65536);
    for (int i = 0; i < 65536; i++)
        au[i] = (uint8_t)(i & 255), bu[i] = (uint8_t)(i >> 8);
    quant_u8_to_s8(au, as, 65536);
    quant_u8_to_s8(bu, bs, 65536);
    add_qs8_ref(&p, as, bs, os, 65536);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        const int32_t sa = spec_multiply((au[i] - a.zero_point) * (1 << 20), p.a_mult);
        const int32_t sb = spec_multiply((bu[i] - b.zero_point) * (1 << 20), p.b_mult);
        const int32_t u = clamp_i32((int64_t)spec_multiply(sa + sb, p.out_mult) + out.zero_point, lo, hi);
        bad += os[i] != u - 128;
    }
    CHECK(bad == 0, "uint8 add as int8: %d of 65536 sums not exactly 128 less", bad);

    /* LOGISTIC: TFLite's uint8 table, index q, output (1/256, 0) */
    const qparams lin = {0.07f, 133}, lout = {1.0f / 256.0f, 0};
    int8_t table[256];
    logistic_qs8_table(quant_params_u8_to_s8(lin), quant_params_u8_to_s8(lout), table);
    bad = 0;
    for (int q = 0; q < 256; q++) {
        const float x = lin.scale * (float)(q - lin.zero_point);
        const float y = 1.0f / (1.0f + expf(-x));
        const int32_t u = clamp_i32((int64_t)roundf(y * (1.0f / lout.scale)) + lout.zero_point, 0, 255);
        bad += table[q] != u - 128; /* table index q - 128 + 128 */
    }
    CHECK(bad == 0, "uint8 logistic as int8: %d of 256 entries not exactly 128 less", bad);
    free(au), free(bu), free(as), free(bs), free(os);
}

/* ------------------------------------------------------------------------ */
/* Bad parameters                                                            */
/* ------------------------------------------------------------------------ */

static void expect_error(int rc, const char *err, const char *needle, const char *what)
{
    CHECK(rc == MNV_EINVAL, "%s: rc %d, want MNV_EINVAL", what, rc);
    CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" does not say \"%s\"", what, err, needle);
}

static void test_bad_params(void)
{
    const shape s = {"", 4, 4, 3, 5, 3, 3, 1, 1, TFL_PAD_SAME, 0, 1};
    const conv_desc d = make_desc(&s, ACT_NONE);
    const float ws[5] = {0.01f, 0.02f, 0.03f, INFINITY, 0.05f};
    const qparams ok = {0.1f, 0};
    qmultiplier m[5];
    qconv_params q;
    char err[200];

    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, (qparams){NAN, 0}, ws, 1, 0, ok, err, sizeof err), err,
                 "input: quantization scale", "NaN input scale");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, ok, ws, 1, 0, (qparams){0.0f, 0}, err, sizeof err), err,
                 "output: quantization scale", "zero output scale");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, (qparams){0.1f, 200}, ws, 1, 0, ok, err, sizeof err), err,
                 "zero point 200", "zero point 200");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, ok, ws, 2, 0, ok, err, sizeof err), err,
                 "2 quantization scales for 5 output channels", "2 scales");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, ok, ws, 5, 0, ok, err, sizeof err), err, "channel 3",
                 "infinite channel scale");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, ok, ws, 1, -129, ok, err, sizeof err), err,
                 "weights: zero point -129", "weight zero point");
    err[0] = 0;
    expect_error(qconv_params_init(&q, m, &d, (qparams){1e10f, 0}, ws, 1, 0, (qparams){1e-3f, 0}, err,
                                   sizeof err), err, "out of range", "huge multiplier");
    err[0] = 0;
    CHECK(qconv_params_init(&q, m, &d, ok, ws, 3, 0, ok, err, sizeof err) == MNV_EINVAL,
          "3 scales for 5 channels accepted");

    qadd_params p;
    err[0] = 0;
    expect_error(qadd_params_init(&p, (qparams){1.0f, 0}, (qparams){1.0f, 0}, (qparams){1e-7f, 0}, ACT_NONE,
                                  err, sizeof err), err, "too small", "tiny ADD output scale");
    err[0] = 0;
    expect_error(qadd_params_init(&p, ok, (qparams){-1.0f, 0}, ok, ACT_NONE, err, sizeof err), err,
                 "second input", "negative ADD scale");
    CHECK(quant_params_check(ok, "t", err, sizeof err) == 0, "good params refused: %s", err);
}

/* ------------------------------------------------------------------------ */
/* Benchmark: test_q8 bench                                                  */
/* ------------------------------------------------------------------------ */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* GMAC/s of every table entry on MobileNetV2's layer shapes, one thread,
 * each result checked against the reference. An estimate, not a test of
 * speed: under QEMU the figures say little. test_q8 bench RUNS SHAPE runs
 * each variant on shape SHAPE (0..6) RUNS times plus the check, untimed
 * loops of a known count for an instruction counter (QEMU's plugins,
 * tools/qemu_insn_count.c). */
static int bench(int runs, int only)
{
    static const shape shapes[] = {
        {"1x1 75x75x24 -> 144", 75, 75, 24, 144, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"1x1 38x38x192 -> 32", 38, 38, 192, 32, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"1x1 19x19x576 -> 96", 19, 19, 576, 96, 1, 1, 1, 1, TFL_PAD_SAME, 0, 1},
        {"depthwise 3x3 s2 150x150x96", 150, 150, 96, 0, 3, 3, 2, 1, TFL_PAD_SAME, 1, 1},
        {"depthwise 3x3 s1 38x38x192", 38, 38, 192, 0, 3, 3, 1, 1, TFL_PAD_SAME, 1, 1},
        {"stem 3x3 s2 300x300x3 -> 32", 300, 300, 3, 32, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
        {"3x3 s2 10x10x256 -> 512", 10, 10, 256, 512, 3, 3, 2, 1, TFL_PAD_SAME, 0, 1},
    };
    rng r = {0x2545f4914f6cdd1dull};
    omp_set_num_threads(1);
    printf("int8 convolutions, one thread, GMAC/s\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        if (only >= 0 && (size_t)only != si)
            continue;
        const conv_desc d = make_desc(&shapes[si], ACT_RELU6);
        const size_t n_in = (size_t)d.in_h * d.in_w * d.in_c, n_w = weight_count(&d);
        const size_t n_out = (size_t)d.out_h * d.out_w * d.out_c;
        const double macs = (double)n_out * d.k_h * d.k_w * (d.depthwise ? 1 : d.in_c);
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w), *want = xmalloc(n_out), *got = xmalloc(n_out);
        int32_t *bias = xmalloc((size_t)d.out_c * sizeof(int32_t));
        float *w_scales = xmalloc((size_t)d.out_c * sizeof(float));
        qmultiplier *requant = xmalloc((size_t)d.out_c * sizeof(qmultiplier));
        for (size_t i = 0; i < n_in; i++)
            in[i] = (int8_t)rng_int(&r, -128, 127);
        for (size_t i = 0; i < n_w; i++)
            w[i] = (int8_t)rng_int(&r, -127, 127);
        for (int c = 0; c < d.out_c; c++) {
            bias[c] = rng_int(&r, -5000, 5000);
            w_scales[c] = (float)(0.002 + 0.01 * rng_unit(&r));
        }
        qconv_params q;
        char err[200] = "";
        const double per_out = d.depthwise ? 9.0 : (double)d.in_c;
        int rc = qconv_params_init(&q, requant, &d, (qparams){0.02f, -5}, w_scales, d.out_c, 0,
                                   (qparams){(float)(0.02 * 0.007 * 40.0 * sqrt(per_out)), 3}, err, sizeof err);
        CHECK(rc == 0, "%s: %s", shapes[si].what, err);
        run_reference(&d, &q, in, w, bias, want);
        printf("%s (%.1f M multiply-adds):\n", shapes[si].what, macs * 1e-6);
        for (const qconv_kernel *const *k = qconv_kernels_all(); rc == 0 && *k; k++) {
            if (!(*k)->supports(&d, &q))
                continue;
            if (!qconv_kernel_runs_here(*k)) {
                printf("  %-28s SKIPPED: this CPU lacks it\n", (*k)->name);
                continue;
            }
            void *packed = aligned_alloc(64, ((*k)->packed_size(&d) + 63) / 64 * 64 + 64);
            if (!packed)
                return 1;
            (*k)->pack(&d, &q, w, bias, packed);
            (*k)->run(&d, &q, packed, in, got);
            CHECK(memcmp(got, want, n_out) == 0, "%s on %s: differs from the reference", (*k)->name,
                  shapes[si].what);
            int reps = 0;
            const double t0 = now_seconds();
            double t = t0;
            while (runs > 0 ? reps < runs : reps < 1 || (t - t0 < 0.5 && reps < 100)) {
                (*k)->run(&d, &q, packed, in, got);
                reps++;
                t = now_seconds();
            }
            printf("  %-28s %7.3f GMAC/s (%d runs)\n", (*k)->name, macs * reps / (t - t0) * 1e-9, reps);
            free(packed);
        }
        free(in), free(w), free(want), free(got), free(bias), free(w_scales), free(requant);
    }
    return check_finish("int8 kernel benchmark");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0)
        return bench(argc > 2 ? atoi(argv[2]) : 0, argc > 3 ? atoi(argv[3]) : -1);
    rng r = {0x9e3779b97f4a7c15ull};
    test_multiplier_from_double(&r);
    test_srdhm_and_shift(&r);
    test_multiply(&r);
    test_narrow(&r);
    test_activation_range();
    test_quantize(&r);
    test_table();
    int runs[MAX_VARIANTS] = {0};
    test_convolutions(&r, runs);
    check_expectations(runs, argc, argv);
    test_accumulator_bound();
    test_left_shift_bound();
    test_no_bias(&r);
    test_overflowing_variants(&r);
    test_parallel_variants(&r);
    test_add();
    test_requantize(&r);
    test_concat(&r);
    test_logistic();
    test_uint8_conv(&r, 0);
    test_uint8_conv(&r, 1);
    test_uint8_elementwise();
    test_bad_params();
    omp_set_num_threads(2);
    return check_finish("int8 quantization and kernels");
}
