/* The convolution template (kernels_simd.inc) over AArch64 Advanced SIMD:
 * 4 lanes and an 8 x 8 GEMM register tile (16 accumulators, 2 weight
 * vectors and the 8 broadcast scalars fit the 32 q registers; 12 rows
 * spilled). NEON has no lane masks, so the channel tails go through a small
 * buffer. */
#if defined(MNV_NEON_VARIANTS)
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

typedef float32x4_t vf;
#define VL 4
#define GEMM_MR 8

static inline vf v_set1(float x) { return vdupq_n_f32(x); }
static inline vf v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vf v_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf v_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf v_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf v_fma(vf acc, vf a, vf b) { return vfmaq_f32(acc, a, b); }

static inline vf v_load_n(const float *p, int n)
{
    float buf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(buf, p, (size_t)n * sizeof(float));
    return vld1q_f32(buf);
}

static inline void v_store_n(float *p, vf v, int n)
{
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, (size_t)n * sizeof(float));
}

static inline vf v_load_h(const uint16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

#define KERNEL_ISA MNV_ISA_NEON
#define KERNEL_SYM(base) base##_neon
#define KERNEL_STR(base) #base "_neon"

#include "backbone/kernels_simd.inc"
#endif
