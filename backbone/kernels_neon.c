/* The convolution template (kernels_simd.inc) over Arm Advanced SIMD, in
 * its AArch64 form and its 32-bit ARMv7 form (NEON with VFPv4 and the
 * half-precision extension, e.g. Cortex-A7/A15/A53/A72 running a 32-bit OS).
 *
 * 4 lanes on both. The register tile follows the register file: AArch64 has
 * 32 q registers, so an 8 x 8 GEMM tile (16 accumulators, 2 weight vectors
 * and the 8 broadcast scalars); ARMv7 has 16, so a 6 x 8 tile (12
 * accumulators, 2 weight vectors, 1 broadcast) that does not spill in the
 * inner loop. NEON has no lane masks, so the channel tails go through a
 * small buffer.
 *
 * The layer uses only intrinsics that both forms have (vfmaq_f32 is VFMA on
 * ARMv7 with VFPv4, vcvt_f32_f16 is VCVT.F32.F16 with the half-precision
 * extension; no across-lane reductions, pairs or zips). On ARMv7 meson
 * compiles this file alone with -mfpu=neon-vfpv4 -mfp16-format=ieee, and
 * cpu.c runs it only where the kernel's HWCAP lists NEON, VFPv4 and HALF.
 * 32-bit NEON arithmetic always flushes subnormal floats to zero, which
 * moves a value by less than 2^-126, far inside the tests' tolerance (the
 * kernel tests, float16 subnormal weights included, run on both forms under
 * QEMU). */
#if defined(MNV_NEON_VARIANTS)
#if !defined(__ARM_NEON) || !defined(__ARM_FEATURE_FMA) || !(__ARM_FP & 2)
#error "kernels_neon.c needs NEON, fused multiply-add and float16 conversion (on ARMv7: -mfpu=neon-vfpv4 -mfp16-format=ieee)"
#endif
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

typedef float32x4_t vf;
#define VL 4
#if defined(__aarch64__)
#define GEMM_MR 8
#else
#define GEMM_MR 6
#endif

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
