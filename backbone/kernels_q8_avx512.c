/* The int8 template (kernels_q8_simd.inc) over AVX-512 with VNNI: 16 int32
 * lanes. The GEMM (1x1 and other regular convolutions) feeds vpdpbusd (unsigned x signed bytes, four
 * products summed into each int32 lane without saturation) the inputs as
 * x + 128 in [0, 255] against the int8 weights; the -(128 + in_zp) * sum(w)
 * this adds is folded into the bias at pack time. Weights with a zero point
 * (uint8 models) would leave int8, so this GEMM refuses them. A 6 x 64
 * register tile: 24 accumulators, 4 weight vectors and a broadcast of the 32
 * zmm registers. The depthwise kernels use vpdpwssd (int16 pairs; the high
 * half of each weight lane is 0). Compiled with -mavx512f -mavx512bw
 * -mavx512vl -mavx512vnni; only run after cpu_has_features(AVX512_VNNI). */
#if defined(MNV_X86_VARIANTS)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "backbone/backbone.h"

typedef __m512i vi;
#define VL 16

#define VOP(name) _mm512_##name
#define VSI(name) _mm512_##name##_si512
static inline vi v_set1_64(int64_t x) { return _mm512_set1_epi64(x); }
static inline vi v_odd_blend(vi e, vi o) { return _mm512_mask_blend_epi32(0xaaaa, e, o); }
static inline vi v_eq(vi a, vi b)
{
    return _mm512_maskz_mov_epi32(_mm512_cmpeq_epi32_mask(a, b), _mm512_set1_epi32(-1));
}

static inline vi v_load_s8(const int8_t *p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }
static inline vi v_load_s8_n(const int8_t *p, int n)
{
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1u), p));
}
static inline void v_store_s8(int8_t *p, vi v) { _mm_storeu_si128((__m128i *)p, _mm512_cvtsepi32_epi8(v)); }
static inline void v_store_s8_n(int8_t *p, vi v, int n)
{
    _mm512_mask_cvtsepi32_storeu_epi8(p, (__mmask16)((1u << n) - 1u), v);
}
static inline vi v_madd16(vi acc, vi x, vi w) { return _mm512_dpwssd_epi32(acc, x, w); }

/* quant_multiply's srdhm and rounding right shift as one 64-bit shift: with
 * P = x * m (|P| < 2^62), srdhm is Q = floor((P + 2^30) / 2^31) and the
 * shift floor((Q + 2^(e-1) - [Q < 0]) / 2^e) (ties away from zero; e = 0
 * leaves Q). Nested floors of integers merge, floor((floor(X / A) + h) / B)
 * = floor((X + h * A) / (A * B)), and Q < 0 exactly where P + 2^30 < 0, so
 * the result is (P + 2^30 + 2^(30+e) - [P < -2^30] * 2^31) >> (31 + e),
 * arithmetic (both 2^(30+e) and the 2^31 left out for e = 0): per half of
 * the lanes a multiply, an add, a compare, a masked subtract and a shift,
 * the sums below 2^63. Terms: the multipliers (even lanes, odd lanes moved
 * down), then per half the added constant, the subtracted one, the shift.
 *
 * A left shift s (multipliers of 1 or more; the right shift e is then 0)
 * merges in too where the packing proved that x * 2^s cannot saturate
 * (qconv_left_shift_exact): floor((x * 2^s * m + 2^30) / 2^31) is
 * floor((P + 2^(30-s)) / 2^(31-s)), the same three operations with the
 * constant 2^(30-s) and the shift 31 - s (v_mul_terms takes the left
 * shifts, 0 where they stay a step of their own). */
#define V_MUL_SHIFT 1
#define ALWAYS_INLINE_X static inline __attribute__((always_inline))
#define Q8_MUL_TERMS 8
static inline void v_mul_terms(vi mult, vi left, vi right, vi *t)
{
    const vi one = v_set1_64(1), low = v_set1_64(0xffffffff);
    t[0] = mult;
    t[1] = _mm512_srli_epi64(mult, 32);
    for (int i = 0; i < 2; i++) {
        const vi e = i ? _mm512_srli_epi64(right, 32) : _mm512_and_si512(right, low);
        const vi s = i ? _mm512_srli_epi64(left, 32) : _mm512_and_si512(left, low);
        const vi h = _mm512_srli_epi64(_mm512_sllv_epi64(one, e), 1); /* 2^(e-1), 0 for e = 0 */
        /* 2^(30-s) + 2^(30+e) with one of s and e 0 (and 2^(30+e) 0 for e = 0) */
        t[2 + i] = _mm512_add_epi64(_mm512_srlv_epi64(v_set1_64(INT64_C(1) << 30), s),
                                    _mm512_slli_epi64(h, 31));
        t[4 + i] = _mm512_slli_epi64(_mm512_min_epu64(e, one), 31);
        t[6 + i] = _mm512_sub_epi64(_mm512_add_epi64(e, v_set1_64(31)), s);
    }
}

/* relu (a constant where inlined): the caller clamps the result to a lower
 * bound of 0 or more (lo - zp >= 0: ReLU and ReLU6 outputs), so the
 * correction for P < -2^30 can go. There the exact result is a rounding
 * shift of Q < 0, so <= 0; without the correction the sum is P + 2^30 +
 * 2^(30+e) < 2^(30+e), shifted right by 31 + e also <= 0. Both then clamp
 * to the same bound; for P >= -2^30 the correction is 0 anyway. */
ALWAYS_INLINE_X vi v_mul_shift_k(vi x, const vi *t, int relu)
{
    const vi below = _mm512_set1_epi64(-(INT64_C(1) << 30));
    vi r[2];
    for (int i = 0; i < 2; i++) {
        const vi p = _mm512_mul_epi32(i ? _mm512_srli_epi64(x, 32) : x, t[i]);
        vi s = _mm512_add_epi64(p, t[2 + i]);
        if (!relu)
            s = _mm512_mask_sub_epi64(s, _mm512_cmplt_epi64_mask(p, below), s, t[4 + i]);
        r[i] = _mm512_srav_epi64(s, t[6 + i]);
    }
    /* the odd lanes' results are in their qwords' low halves: swap them up */
    return _mm512_mask_shuffle_epi32(r[0], 0xaaaa, r[1], _MM_PERM_CDAB);
}

static inline vi v_mul_shift(vi x, const vi *t) { return v_mul_shift_k(x, t, 0); }

/* The template's v_narrow_k with the correction as a masked subtract */
#define V_NARROW 1
ALWAYS_INLINE_X vi v_narrow_k(vi x, const vi *t, int relu)
{
    const vi p = _mm512_mullo_epi32(x, t[0]);
    vi s = _mm512_add_epi32(p, t[1]);
    if (!relu)
        s = _mm512_mask_sub_epi32(s, _mm512_cmplt_epi32_mask(p, t[2]), s, t[3]);
    return _mm512_srav_epi32(s, t[4]);
}

/* The GEMM's input conversion (x + 128: the sign bit flipped): whole
 * 64-byte vectors, then a 32- and a 16-byte one where they fit, then one
 * masked to the rest (masked loads do not fault on the bytes left out, so
 * no read past x[n-1]). The small-k layers' 16-32 byte rows go as plain
 * stores: the tile's 4-byte broadcasts read them right away, and a load
 * is forwarded from a plain store but waits for a masked one to reach the
 * cache (bench_q8, 150x150 layers: 5-10% faster). */
#define V_FLIP_COPY 1
static inline void v_flip_copy(uint8_t *dst, const int8_t *x, int n)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (; n >= 64; n -= 64, x += 64, dst += 64)
        _mm512_storeu_si512(dst, _mm512_xor_si512(_mm512_loadu_si512(x), flip));
    if (n >= 32) {
        _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)x),
                                                             _mm512_castsi512_si256(flip)));
        n -= 32, x += 32, dst += 32;
    }
    if (n >= 16) {
        _mm_storeu_si128((__m128i *)dst,
                         _mm_xor_si128(_mm_loadu_si128((const __m128i *)x), _mm512_castsi512_si128(flip)));
        n -= 16, x += 16, dst += 16;
    }
    if (n > 0) {
        const __mmask64 m = (__mmask64)((UINT64_C(1) << n) - 1);
        _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x), flip));
    }
}

/* The GEMM's output bytes of 2 or 4 requantized vectors r (before the zero
 * point and clamp): as the depthwise kernel's dwv_store below, packssdw,
 * a saturating int16 add of the zero point, packsswb, then the bounds in
 * int8 (each saturation only moves a value already outside [-128, 127] to
 * the same side, where the clamp puts it anyway): 6 operations for 64
 * outputs where a vpmovsdb a vector took 2 uops each plus the int32 clamp
 * and add. The packs interleave 4-lane runs of the vectors within 128-bit
 * lanes, which the panel's packed column order (gemm_panel_chan) undoes;
 * for 2 vectors a qword permute joins the lanes' 8-byte halves.
 *
 * u8 (a constant where inlined): the zero point and the lower bound are
 * both -128 (ReLU and ReLU6 outputs calibrated from 0). Then the output
 * byte plus 128 is r saturated to [0, 255], which packuswb makes from the
 * int16 lanes; flipping the sign bit subtracts the 128 again, and only the
 * upper bound is left: 4 operations for 64 outputs where the add and the
 * lower bound took 6 (kernels are ALU-bound here, the depthwise ones and
 * the small-k GEMMs about an operation a cycle and lane group).
 * V_PACK_FULL: bounds of -128 and 127 (linear outputs), which packsswb's
 * saturation is already: no min or max. */
enum { V_PACK_CLAMP, V_PACK_U8, V_PACK_FULL };
#define GEMM_PACK 1

/* The shortcut a layer's output parameters allow (both the GEMM's and the
 * depthwise kernel's stores ask here) */
static inline int v_pack_mode(const qconv_params *q)
{
    if (q->out_zero_point == -128 && q->act_min == -128)
        return V_PACK_U8;
    return q->act_min == -128 && q->act_max == 127 ? V_PACK_FULL : V_PACK_CLAMP;
}

static inline __attribute__((always_inline)) vi v_pack_bytes(int nv, const vi *r, vi zp16, vi lo8, vi hi8,
                                                              int mode)
{
    const vi p01 = _mm512_packs_epi32(r[0], nv >= 2 ? r[1] : r[0]);
    const vi p23 = nv == 4 ? _mm512_packs_epi32(r[2], r[3]) : p01;
    if (mode == V_PACK_U8)
        return _mm512_min_epi8(_mm512_xor_si512(_mm512_packus_epi16(p01, p23), _mm512_set1_epi8((char)0x80)),
                               hi8);
    const vi q01 = _mm512_adds_epi16(p01, zp16), q23 = nv == 4 ? _mm512_adds_epi16(p23, zp16) : q01;
    const vi b = _mm512_packs_epi16(q01, q23);
    return mode == V_PACK_FULL ? b : _mm512_min_epi8(_mm512_max_epi8(b, lo8), hi8);
}

static inline __attribute__((always_inline)) void v_pack_store(int nv, int8_t *p, const vi *r, int n, vi zp16,
                                                               vi lo8, vi hi8, int mode)
{
    vi b = v_pack_bytes(nv, r, zp16, lo8, hi8, mode);
    if (nv == 4) {
        if (n >= 64)
            _mm512_storeu_si512(p, b);
        else
            _mm512_mask_storeu_epi8(p, (__mmask64)((UINT64_C(1) << n) - 1), b);
    } else {
        b = _mm512_permutexvar_epi64(_mm512_set_epi64(6, 4, 2, 0, 6, 4, 2, 0), b);
        if (n >= 32)
            _mm256_storeu_si256((__m256i *)p, _mm512_castsi512_si256(b));
        else
            _mm256_mask_storeu_epi8(p, (__mmask32)((1u << n) - 1u), _mm512_castsi512_si256(b));
    }
}

/* Four rows r[0..3] of exactly 16 channels each (one vector a row) that lie
 * one after another at p, as one 64-byte store: v_pack_bytes leaves 128-bit
 * lane l with the 4-byte groups of channels 4l..4l+3 of rows 0..3, which one
 * dword permute puts in row order (a layer's stacked tiles, gemm_tall_regs). */
static inline __attribute__((always_inline)) void v_pack_store_rows4(int8_t *p, const vi *r, vi zp16, vi lo8,
                                                                     vi hi8, int mode)
{
    const vi rows = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    _mm512_storeu_si512(p, _mm512_permutexvar_epi32(rows, v_pack_bytes(4, r, zp16, lo8, hi8, mode)));
}

#define GEMM_VNNI 1
#define GEMM_MR 6
#define GEMM_NV 4
static inline vi v_dot(vi acc, vi a, vi w) { return _mm512_dpbusd_epi32(acc, a, w); }

#define Q8_DEPTHWISE 1
#define Q8_DW_OWN 1
#define KERNEL_ISA MNV_ISA_AVX512
#define KERNEL_FEATURES CPU_FEATURE_AVX512_VNNI
#define KERNEL_SYM(base) base##_avx512vnni
#define KERNEL_STR(base) #base "_avx512vnni"

#include "backbone/kernels_q8_simd.inc"

/* ------------------------------------------------------------------------ */
/* Depthwise 3x3 with vpdpbusd: a column's three rows as one dword a channel */
/* ------------------------------------------------------------------------ */

/*
 * The template's depthwise (one vpdpwssd of 16 sign-extended inputs a tap)
 * spends a load, a widening and a multiply-add on every 16 products. Here
 * vpdpbusd takes 4 bytes a lane: the bytes of one input column's three rows
 * (iy, iy + 1, iy + 2; a fourth, repeated, byte meets a zero weight), as
 * uint8 x + 128 against the int8 weights of that column (kx) of the kernel.
 * One such column vector serves the three outputs whose taps take it (stride
 * 1; two or one at stride 2), so building it (3 loads, 8 byte/word unpacks
 * for 64 channels) is paid once per input column, and an output costs 3
 * vpdpbusd a 16 channels.
 *
 * Exactness: sum w * (x + 128) over all 9 taps, with the padding taps read
 * as x = in_zp, is S + (in_zp + 128) * sum(w): the padding taps add w *
 * (in_zp + 128) each, which the correction takes out again as it does for
 * the others, so the borders need no code of their own. c1 holds -(in_zp +
 * 128) * sum(w) (and the bias, when the accumulator fits: q8_set_c1's
 * bound holds with |in_zp + 128| <= 255); the products are at most 255 *
 * 128 and the int32 adds wrap as the template's do. Weights must be int8 as
 * they are (w_zp 0, every int8 model); other layers take the template's
 * loops, chosen at pack time.
 *
 * Channel order: the unpacks interleave within 128-bit lanes, so a group of
 * 64 channels (16 per lane) comes out as 4 vectors where vector v, dword j
 * is channel 16 * (j / 4) + 4 * v + j % 4. The packed weights and per
 * channel terms are stored in that order, and packssdw / packsswb of the 4
 * requantized vectors put the bytes back in channel order with no permute.
 * The last channels go in groups of 32 or 16 (their bytes first spread to
 * one 8- or 4-byte run per lane, then the same unpacks): lane order 8 * (j
 * / 4) + 4 * v + j % 4 and 4 * (j / 4) + j % 4 = j.
 *
 * Requantization: q8_requant's arithmetic without its clamp; packssdw,
 * packsswb and a saturating int16 add of the zero point clamp to int8 on the
 * way (each saturation only moves values already outside [-128, 127] to
 * the same side), then the activation bounds in int8.
 *
 * DWV_FOLD: in the 32-bit form with a lower bound at or above the zero
 * point (ReLU, ReLU6: v_narrow_k without its correction), the result is
 * ((c1 + S) * mult + add) >> shift, and that sum is known to lie in int32
 * (qconv_narrow_exact). So S * mult + (c1 * mult + add) taken modulo 2^32
 * is the same value: the sums start from 0 instead of c1, and term 5 (unused
 * by the 32-bit form) holds c1 * mult + add. That drops a load from every 16
 * outputs: the kernel is bound by its loads (31 a 64 outputs before), and
 * 75x75x144 went from 0.072 to 0.065 ms (bench_q8 --narrow, Zen 5).
 */

typedef struct dwv_head {
    int32_t saturate, any_left, n_pad;
    int32_t fast;             /* 1: this layout; 0: the template's (q8_head's reserved[0]) */
    int32_t narrow;           /* the terms are quant_narrow's (v_narrow_k) */
    int32_t reserved[11];
} dwv_head;

/* Per 16 channel positions: c1, c2, the left shifts, the v_mul_terms. */
enum { DWV_C1, DWV_C2, DWV_LEFT, DWV_TERMS, DWV_VECS = DWV_TERMS + Q8_MUL_TERMS };

/* The group of channels from c: its vector count nv and how many channels
 * it has (fewer than 16 * nv only in the last group). */
static int dwv_group(int C, int c, int *nv)
{
    const int rem = C - c;
    *nv = rem >= 64 ? 4 : rem > 16 ? 2 : 1;
    return rem >= 64 ? 64 : rem >= 32 ? 32 : rem;
}

static size_t dwv_params_size(const conv_desc *d)
{
    return sizeof(dwv_head) + (size_t)q8_n_pad(d) / 16 * DWV_VECS * 16 * sizeof(int32_t);
}

static size_t dwv_packed_size(const conv_desc *d)
{
    const size_t own = dwv_params_size(d) + (size_t)3 * q8_n_pad(d) * sizeof(int32_t);
    const size_t old = dw_packed_size(d);
    return own > old ? own : old;
}

static void dwv_pack(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                     void *packed)
{
    if (q->w_zero_point != 0) {
        dw_pack(d, q, w, bias, packed);
        return;
    }
    const int C = d->out_c, n_pad = q8_n_pad(d);
    dwv_head *h = packed;
    memset(h, 0, sizeof *h);
    h->n_pad = n_pad;
    h->fast = 1;
    h->saturate = !qconv_acc_fits(d, q, w, bias);
    for (int c = 0; c < C; c++)
        h->any_left |= q->requant[c].shift > 0;
    /* left shifts merged into the multiply's terms (v_mul_terms) */
    const int fold = h->any_left && qconv_left_shift_exact(d, q, w, bias);
    if (fold)
        h->any_left = 0;
    h->narrow = !h->saturate && !h->any_left && qconv_narrow_exact(d, q, w, bias);
    int32_t *prm = (int32_t *)(h + 1);
    int32_t *pw = (int32_t *)((char *)packed + dwv_params_size(d));
    for (int g0 = 0, nv; g0 < C; g0 += 16 * nv) {
        dwv_group(C, g0, &nv);
        for (int v = 0; v < nv; v++) {
            int32_t a[DWV_TERMS][16], mult[16], left[16], right[16], wk[3][16], nt[6][16];
            for (int j = 0; j < 16; j++) {
                const int ch = g0 + 4 * nv * (j / 4) + 4 * v + j % 4;
                a[DWV_C1][j] = a[DWV_C2][j] = a[DWV_LEFT][j] = mult[j] = left[j] = right[j] = 0;
                nt[0][j] = nt[1][j] = nt[3][j] = nt[4][j] = nt[5][j] = 0, nt[2][j] = INT32_MIN;
                wk[0][j] = wk[1][j] = wk[2][j] = 0;
                if (ch >= C)
                    continue;
                int64_t sum = 0;
                for (int t = 0; t < 9; t++)
                    sum += w[(size_t)t * C + ch];
                const int64_t b = bias ? bias[ch] : 0, corr = -(int64_t)(q->in_zero_point + 128) * sum;
                a[DWV_C1][j] = (int32_t)(h->saturate ? corr : b + corr);
                a[DWV_C2][j] = (int32_t)b;
                a[DWV_LEFT][j] = q->requant[ch].shift > 0 ? q->requant[ch].shift : 0;
                left[j] = fold ? a[DWV_LEFT][j] : 0;
                mult[j] = q->requant[ch].multiplier;
                right[j] = q->requant[ch].shift < 0 ? -q->requant[ch].shift : 0;
                qnarrow n;
                if (h->narrow && quant_narrow_form(q->requant[ch], &n)) {
                    nt[0][j] = n.mult, nt[1][j] = n.add, nt[2][j] = n.below;
                    nt[3][j] = n.corr, nt[4][j] = n.shift;
                    /* c1 * mult + add, wrapping (see DWV_FOLD) */
                    nt[5][j] = (int32_t)((uint32_t)a[DWV_C1][j] * (uint32_t)n.mult + (uint32_t)n.add);
                }
                for (int kx = 0; kx < 3; kx++)
                    wk[kx][j] = (int32_t)((uint32_t)(uint8_t)w[(size_t)kx * C + ch] |
                                          (uint32_t)(uint8_t)w[(size_t)(3 + kx) * C + ch] << 8 |
                                          (uint32_t)(uint8_t)w[(size_t)(6 + kx) * C + ch] << 16);
            }
            int32_t *p = prm + (size_t)(g0 / 16 + v) * DWV_VECS * 16;
            memcpy(p, a, sizeof a);
            vi t[Q8_MUL_TERMS];
            v_mul_terms(v_load(mult), v_load(left), v_load(right), t);
            for (int i = 0; i < Q8_MUL_TERMS; i++)
                VSI(storeu)((vi *)(p + (DWV_TERMS + i) * 16), h->narrow && i < 6 ? v_load(nt[i]) : t[i]);
            for (int kx = 0; kx < 3; kx++)
                memcpy(pw + 3 * (size_t)g0 + (size_t)(kx * nv + v) * 16, wk[kx], sizeof wk[kx]);
        }
    }
}

/* nv * 16 bytes of a row at p, spread as the unpacks want them: 64 as they
 * are, 32 as one 8-byte run a 128-bit lane, 16 as one 4-byte run a lane
 * (masked: only the first bits of m, no read past them). */
ALWAYS_INLINE vi dwv_load(int nv, const int8_t *p, __mmask64 m, int masked)
{
    if (nv == 4)
        return masked ? _mm512_maskz_loadu_epi8(m, p) : _mm512_loadu_si512(p);
    if (nv == 2) {
        const __m256i y = masked ? _mm256_maskz_loadu_epi8((__mmask32)m, p) : _mm256_loadu_si256((const __m256i *)p);
        return _mm512_permutexvar_epi64(_mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0), _mm512_zextsi256_si512(y));
    }
    const __m128i x = masked ? _mm_maskz_loadu_epi8((__mmask16)m, p) : _mm_loadu_si128((const __m128i *)p);
    return _mm512_permutexvar_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                                    _mm512_zextsi128_si512(x));
}

/* The column vectors of one input column: rows r[0..2] (NULL: a padding
 * row, read as pad; never when full) at offset off, as x + 128, into
 * t[0..nv). */
ALWAYS_INLINE void dwv_column(int nv, int full, const int8_t *const *r, ptrdiff_t off, __mmask64 m, int masked,
                              vi pad, vi *t)
{
    const vi flip = _mm512_set1_epi8((char)0x80);
    vi z[3];
    for (int k = 0; k < 3; k++)
        z[k] = full || r[k] ? _mm512_xor_si512(dwv_load(nv, r[k] + off, m, masked), flip) : pad;
    const vi a = _mm512_unpacklo_epi8(z[0], z[1]), c = _mm512_unpacklo_epi8(z[2], z[2]);
    t[0] = _mm512_unpacklo_epi16(a, c);
    if (nv >= 2)
        t[1] = _mm512_unpackhi_epi16(a, c);
    if (nv == 4) {
        const vi b = _mm512_unpackhi_epi8(z[0], z[1]), e = _mm512_unpackhi_epi8(z[2], z[2]);
        t[2] = _mm512_unpacklo_epi16(b, e);
        t[3] = _mm512_unpackhi_epi16(b, e);
    }
}

/* quant_multiply of the raw sums acc (c1 in) with the terms at p, before
 * the zero point and clamp; relu: the output's lower bound is at or above
 * its zero point, so v_mul_shift_k leaves out the negative correction (and
 * its terms are not loaded) */
ALWAYS_INLINE vi dwv_requant(const int32_t *p, vi acc, int saturate, int any_left, int relu, int narrow)
{
    vi t[Q8_MUL_TERMS];
    if (narrow && relu) {
        /* DWV_FOLD: acc has no c1, which the added term holds */
        const vi prod = _mm512_mullo_epi32(acc, v_load(p + DWV_TERMS * 16));
        return _mm512_srav_epi32(_mm512_add_epi32(prod, v_load(p + (DWV_TERMS + 5) * 16)),
                                 v_load(p + (DWV_TERMS + 4) * 16));
    }
    if (narrow) {
        for (int i = 0; i < 5; i++)
            t[i] = v_load(p + (DWV_TERMS + i) * 16);
        return v_narrow_k(acc, t, relu);
    }
    for (int i = 0; i < Q8_MUL_TERMS; i++)
        if (!relu || i < 4 || i >= 6)
            t[i] = v_load(p + (DWV_TERMS + i) * 16);
    if (saturate)
        acc = v_sat_add(acc, v_load(p + DWV_C2 * 16));
    if (any_left)
        acc = v_shl_sat(acc, v_load(p + DWV_LEFT * 16));
    return v_mul_shift_k(acc, t, relu);
}

/* The output's form, a constant in each copy of the row loop: DWV_RELU a
 * lower bound at or above the zero point (ReLU, ReLU6: the requantization's
 * shortcuts, DWV_FOLD), DWV_RELU_U8 that and v_pack_bytes' V_PACK_U8 store
 * (stride 1 only), DWV_LINEAR neither. */
enum { DWV_LINEAR, DWV_RELU, DWV_RELU_U8 };

/* The zero point (int16 lanes), the activation bounds (int8 lanes) */
typedef struct dwv_out {
    vi zp, lo, hi;
} dwv_out;

/* r[0..nv): requantized vectors of one output's group -> int8 at op (u8:
 * v_pack_bytes' shortcut for a zero point and lower bound of -128) */
ALWAYS_INLINE void dwv_store(int nv, int8_t *op, const vi *r, const dwv_out *o, __mmask64 m, int masked, int u8)
{
    vi b = v_pack_bytes(nv, r, o->zp, o->lo, o->hi, u8 ? V_PACK_U8 : V_PACK_CLAMP);
    if (nv == 4) {
        if (masked)
            _mm512_mask_storeu_epi8(op, m, b);
        else
            _mm512_storeu_si512(op, b);
    } else if (nv == 2) {
        b = _mm512_permutexvar_epi64(_mm512_set_epi64(6, 4, 2, 0, 6, 4, 2, 0), b);
        if (masked)
            _mm256_mask_storeu_epi8(op, (__mmask32)m, _mm512_castsi512_si256(b));
        else
            _mm256_storeu_si256((__m256i *)op, _mm512_castsi512_si256(b));
    } else {
        b = _mm512_permutexvar_epi32(_mm512_set_epi32(12, 8, 4, 0, 12, 8, 4, 0, 12, 8, 4, 0, 12, 8, 4, 0), b);
        if (masked)
            _mm_mask_storeu_epi8(op, (__mmask16)m, _mm512_castsi512_si128(b));
        else
            _mm_storeu_si128((__m128i *)op, _mm512_castsi512_si128(b));
    }
}

/* Output ox of one row's group: the column vectors ta, tb (taken over from
 * the last output) and tc, built here with the columns' range checked only
 * where check is set (the first and last outputs), and the rows' only where
 * full is not (the first and last rows). */
#define DWV_COLUMN(ix, t)                                                                   \
    do {                                                                                    \
        if (!check || (unsigned)(ix) < (unsigned)in_w)                                      \
            dwv_column(nv, full, r, (ptrdiff_t)(ix) * C, m, masked, pad, t);                \
        else                                                                                \
            for (int v_ = 0; v_ < nv; v_++)                                                 \
                (t)[v_] = pad;                                                              \
    } while (0)

ALWAYS_INLINE void dwv_out1(int nv, int stride, int masked, int full, int check, int plain, int act, int narrow,
                            int C, int in_w, int ix, const int8_t *const *r, int8_t *op, const int32_t *prm,
                            const int32_t *pw, __mmask64 m, vi pad, const dwv_out *o, int saturate, int any_left,
                            vi *ta, vi *tb)
{
    const int relu = act != DWV_LINEAR;
    vi tc[4], acc[4];
    if (stride == 2)
        DWV_COLUMN(ix + 1, tb);
    /* the first two taps before tc is built: ta's registers are free again */
    for (int v = 0; v < nv; v++) {
        const vi c1 = narrow && relu ? _mm512_setzero_si512() : v_load(prm + (v * DWV_VECS + DWV_C1) * 16);
        acc[v] = _mm512_dpbusd_epi32(c1, ta[v], v_load(pw + v * 16));
        acc[v] = _mm512_dpbusd_epi32(acc[v], tb[v], v_load(pw + (nv + v) * 16));
    }
    DWV_COLUMN(ix + 2, tc);
    for (int v = 0; v < nv; v++) {
        acc[v] = _mm512_dpbusd_epi32(acc[v], tc[v], v_load(pw + (2 * nv + v) * 16));
        acc[v] = dwv_requant(prm + v * DWV_VECS * 16, acc[v], !plain && saturate, !plain && any_left, relu,
                             narrow);
    }
    dwv_store(nv, op, acc, o, m, masked, act == DWV_RELU_U8);
    for (int v = 0; v < nv; v++) {
        if (stride == 1) {
            ta[v] = tb[v];
            tb[v] = tc[v];
        } else {
            ta[v] = tc[v];
        }
    }
}

/* One output row's group of channels: r[0..2] the input rows (NULL:
 * padding; none when full) and op the output row, both at the group's
 * first channel; prm and pw the group's terms and weights. plain: no
 * saturating bias and no left shift (every real model), so that this copy
 * has no branch in its loop. */
ALWAYS_INLINE void dwv_row(int nv, int stride, int masked, int full, int plain, int act, int narrow,
                           const conv_desc *d,
                           const int8_t *const *r, int8_t *op, const int32_t *prm, const int32_t *pw,
                           __mmask64 m, vi pad, const dwv_out *o, int saturate, int any_left)
{
    const int C = d->out_c, in_w = d->in_w, out_w = d->out_w, pl = d->pad_left;
    vi ta[4], tb[4];
    int check = 1;
    DWV_COLUMN(-pl, ta);
    if (stride == 1)
        DWV_COLUMN(-pl + 1, tb);
    /* outputs [lo, hi) build only columns inside the input: ix + 1 >= 0 and
     * ix + 2 < in_w, ix = ox * stride - pl */
    int lo = 0, hi = out_w;
    while (lo < out_w && lo * stride - pl + 1 < 0)
        lo++;
    while (hi > lo && (hi - 1) * stride - pl + 2 >= in_w)
        hi--;
    int ox = 0;
    for (; ox < lo; ox++)
        dwv_out1(nv, stride, masked, full, 1, plain, act, narrow, C, in_w, ox * stride - pl, r,
                 op + (size_t)ox * C, prm, pw, m, pad, o, saturate, any_left, ta, tb);
    for (; ox < hi; ox++)
        dwv_out1(nv, stride, masked, full, 0, plain, act, narrow, C, in_w, ox * stride - pl, r,
                 op + (size_t)ox * C, prm, pw, m, pad, o, saturate, any_left, ta, tb);
    for (; ox < out_w; ox++)
        dwv_out1(nv, stride, masked, full, 1, plain, act, narrow, C, in_w, ox * stride - pl, r,
                 op + (size_t)ox * C, prm, pw, m, pad, o, saturate, any_left, ta, tb);
}
#undef DWV_COLUMN

/* One output row's group with nv, the masking, full and plain constants */
ALWAYS_INLINE void dwv_row_nv(int nv, int stride, int masked, const conv_desc *d, const int8_t *const *r,
                              int8_t *op, const int32_t *prm, const int32_t *pw, __mmask64 m, vi pad,
                              const dwv_out *o, int saturate, int any_left, int act, int narrow)
{
    const int full = r[0] && r[1] && r[2], plain = !saturate && !any_left;
    if (full && plain && narrow && act == DWV_RELU_U8)
        dwv_row(nv, stride, masked, 1, 1, DWV_RELU_U8, 1, d, r, op, prm, pw, m, pad, o, 0, 0);
    else if (full && plain && narrow && act == DWV_RELU)
        dwv_row(nv, stride, masked, 1, 1, DWV_RELU, 1, d, r, op, prm, pw, m, pad, o, 0, 0);
    else if (full && plain && narrow)
        dwv_row(nv, stride, masked, 1, 1, DWV_LINEAR, 1, d, r, op, prm, pw, m, pad, o, 0, 0);
    else if (full && plain && act != DWV_LINEAR)
        dwv_row(nv, stride, masked, 1, 1, DWV_RELU, 0, d, r, op, prm, pw, m, pad, o, 0, 0);
    else if (full && plain)
        dwv_row(nv, stride, masked, 1, 1, DWV_LINEAR, 0, d, r, op, prm, pw, m, pad, o, 0, 0);
    else if (narrow)
        dwv_row(nv, stride, masked, 0, 1, DWV_LINEAR, 1, d, r, op, prm, pw, m, pad, o, 0, 0);
    else
        dwv_row(nv, stride, masked, 0, 0, DWV_LINEAR, 0, d, r, op, prm, pw, m, pad, o, saturate, any_left);
}

/* Output rows [y0, y1) */
ALWAYS_INLINE void dwv_rows(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                            int8_t *out, int stride, int y0, int y1)
{
    const dwv_head *h = packed;
    const int C = d->out_c;
    const int32_t *prm = (const int32_t *)(h + 1);
    const int32_t *pw = (const int32_t *)((const char *)packed + dwv_params_size(d));
    const vi pad = _mm512_set1_epi8((char)(q->in_zero_point + 128));
    const dwv_out o = {_mm512_set1_epi16((short)q->out_zero_point), _mm512_set1_epi8((char)q->act_min),
                       _mm512_set1_epi8((char)q->act_max)};
    const ptrdiff_t row = (ptrdiff_t)d->in_w * C;
    const int act = stride == 1 && v_pack_mode(q) == V_PACK_U8 ? DWV_RELU_U8
                    : q->act_min >= q->out_zero_point           ? DWV_RELU
                                                                : DWV_LINEAR;
    for (int oy = y0; oy < y1; oy++) {
        const int iy0 = oy * stride - d->pad_top;
        int8_t *orow = out + (size_t)oy * d->out_w * C;
        for (int g0 = 0, nv; g0 < C; g0 += 16 * nv) {
            const int n = dwv_group(C, g0, &nv), masked = n < 16 * nv;
            const __mmask64 m = masked ? (((__mmask64)1 << n) - 1) : ~(__mmask64)0;
            const int8_t *r[3];
            for (int k = 0; k < 3; k++)
                r[k] = iy0 + k >= 0 && iy0 + k < d->in_h ? in + (iy0 + k) * row + g0 : NULL;
            const int32_t *pg = prm + (size_t)g0 / 16 * DWV_VECS * 16, *wg = pw + 3 * (size_t)g0;
            /* constant nv and masking in each call, so the row loop keeps its registers */
            if (nv == 4)
                dwv_row_nv(4, stride, 0, d, r, orow + g0, pg, wg, m, pad, &o, h->saturate, h->any_left, act,
                           h->narrow);
            else if (nv == 2 && !masked)
                dwv_row_nv(2, stride, 0, d, r, orow + g0, pg, wg, m, pad, &o, h->saturate, h->any_left, act,
                           h->narrow);
            else if (nv == 2)
                dwv_row_nv(2, stride, 1, d, r, orow + g0, pg, wg, m, pad, &o, h->saturate, h->any_left, act,
                           h->narrow);
            else if (!masked)
                dwv_row_nv(1, stride, 0, d, r, orow + g0, pg, wg, m, pad, &o, h->saturate, h->any_left, act,
                           h->narrow);
            else
                dwv_row_nv(1, stride, 1, d, r, orow + g0, pg, wg, m, pad, &o, h->saturate, h->any_left, act,
                           h->narrow);
        }
    }
}

static void dwv_rows_any(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                         int8_t *out, int stride, int y0, int y1)
{
    if (stride == 1)
        dwv_rows(d, q, packed, in, out, 1, y0, y1);
    else
        dwv_rows(d, q, packed, in, out, 2, y0, y1);
}

static void dwv_run(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                    int8_t *out, int stride)
{
    if (!((const dwv_head *)packed)->fast) {
        dw_run(d, q, packed, in, out, stride);
        return;
    }
    if (q8_serial((double)d->out_h * d->out_w * d->out_c * 9)) {
        dwv_rows_any(d, q, packed, in, out, stride, 0, d->out_h);
        return;
    }
    #pragma omp parallel
    {
        int y0, y1;
        work_split_range(d->split, d->out_h, omp_get_num_threads(), omp_get_thread_num(), &y0, &y1);
        dwv_rows_any(d, q, packed, in, out, stride, y0, y1);
    }
}

static void dwv_run_s1(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                       int8_t *out)
{
    dwv_run(d, q, packed, in, out, 1);
}

static void dwv_run_s2(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                       int8_t *out)
{
    dwv_run(d, q, packed, in, out, 2);
}

const qconv_kernel dwconv3x3s1_qs8_nhwc_avx512vnni = {
    "dwconv3x3s1_qs8_nhwc_avx512vnni", KERNEL_ISA, KERNEL_DWCONV2D, dw_supports_s1, dwv_packed_size,
    dwv_pack, dwv_run_s1, KERNEL_FEATURES,
};
const qconv_kernel dwconv3x3s2_qs8_nhwc_avx512vnni = {
    "dwconv3x3s2_qs8_nhwc_avx512vnni", KERNEL_ISA, KERNEL_DWCONV2D, dw_supports_s2, dwv_packed_size,
    dwv_pack, dwv_run_s2, KERNEL_FEATURES,
};
#endif
