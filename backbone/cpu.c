/* Which SIMD code this CPU can run: cpuid + xgetbv on x86-64 (the OS must
 * save the wider registers too); on 32-bit Arm the kernel's HWCAP, since an
 * ARMv7 CPU may lack NEON (Tegra 2), fused multiply-add (Cortex-A8/A9, VFPv3)
 * or float16 conversion; compile-time on AArch64, where NEON and its float16
 * conversions are part of the base architecture (its optional extensions,
 * such as the dot product, from HWCAP: cpu_has_features). */
#include <stdlib.h>
#include <string.h>
#if defined(__arm__) || defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "backbone/backbone.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int x86_supports(mnv_isa isa)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx)
        return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    /* F16C: the kernels read float16-stored weights with it (every CPU
     * with AVX2 has it) */
    if (isa == MNV_ISA_AVX2)
        return avx2 && fma && f16c;
    if (isa == MNV_ISA_AVX512)
        return avx2 && fma && f16c && avx512f && (xcr0 & 0xe6) == 0xe6; /* opmask, ZMM state */
    return 0;
}

/* The int8 dot-product extensions, on top of the ISA level they extend. */
static int x86_has_feature(cpu_feature f)
{
    unsigned a, b, c, d;
    if (f == CPU_FEATURE_AVX512_VNNI) {
        if (!x86_supports(MNV_ISA_AVX512))
            return 0;
        __cpuid_count(7, 0, a, b, c, d);
        const int bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
        return bw && vl && vnni;
    }
    if (f == CPU_FEATURE_AVX_VNNI) {
        if (!x86_supports(MNV_ISA_AVX2))
            return 0;
        __cpuid_count(7, 0, a, b, c, d);
        if (a < 1) /* no subleaf 1 */
            return 0;
        __cpuid_count(7, 1, a, b, c, d);
        return (a >> 4) & 1;
    }
    return 0;
}
#endif

#if defined(__aarch64__) && defined(MNV_NEON_VARIANTS)
/* The kernel reports the dot product instructions (FEAT_DotProd) only when
 * the CPU has them: they are optional in ARMv8.2 (Cortex-A76 has them, the
 * A72 and A53 of the Pi 4 and 3 do not). */
static int arm_has_feature(cpu_feature f)
{
    return f == CPU_FEATURE_ARM_DOTPROD && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}
#endif

int cpu_has_features(unsigned features)
{
    for (unsigned bit = 1; bit != 0 && features != 0; bit <<= 1) {
        if (!(features & bit))
            continue;
        features &= ~bit;
#if defined(__x86_64__) && defined(MNV_X86_VARIANTS)
        if (!x86_has_feature((cpu_feature)bit))
            return 0;
#elif defined(__aarch64__) && defined(MNV_NEON_VARIANTS)
        if (!arm_has_feature((cpu_feature)bit))
            return 0;
#else
        return 0;
#endif
    }
    return 1;
}

int cpu_supports(mnv_isa isa)
{
    switch (isa) {
    case MNV_ISA_REF:
        return 1;
#if defined(__x86_64__) && defined(MNV_X86_VARIANTS)
    case MNV_ISA_AVX2:
    case MNV_ISA_AVX512:
        return x86_supports(isa);
#endif
#if defined(__aarch64__) && defined(MNV_NEON_VARIANTS)
    case MNV_ISA_NEON:
        return 1;
#endif
#if defined(__arm__) && defined(MNV_NEON_VARIANTS)
    case MNV_ISA_NEON: {
        /* what kernels_neon.c is compiled for: -mfpu=neon-vfpv4 (VFMA) and
         * VCVT.F32.F16 */
        const unsigned long need = HWCAP_ARM_NEON | HWCAP_ARM_VFPv4 | HWCAP_ARM_HALF;
        return (getauxval(AT_HWCAP) & need) == need;
    }
#endif
    default:
        return 0;
    }
}

static const char *const isa_names[MNV_ISA_COUNT] = {"ref", "avx2", "avx512", "neon"};

const char *isa_name(mnv_isa isa)
{
    return (unsigned)isa < MNV_ISA_COUNT ? isa_names[isa] : "?";
}

int isa_parse(const char *name)
{
    for (int i = 0; i < MNV_ISA_COUNT; i++)
        if (name && strcmp(name, isa_names[i]) == 0)
            return i;
    return -1;
}

mnv_isa isa_select(void)
{
    mnv_isa best = MNV_ISA_REF;
    for (int i = MNV_ISA_COUNT - 1; i > 0; i--)
        if (cpu_supports((mnv_isa)i)) {
            best = (mnv_isa)i;
            break;
        }
    int forced = isa_parse(getenv("MNV2DET_ISA"));
    if (forced >= 0 && cpu_supports((mnv_isa)forced))
        return (mnv_isa)forced;
    return best;
}
