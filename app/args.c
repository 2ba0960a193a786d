/* Strict parsing of command-line values: "12abc", "", "1e999" and
 * out-of-range values are all refused, so a typo never becomes a setting;
 * the same holds for the MNV2DET_ISA variable. */
#include <errno.h>
#include <stdlib.h>

#include "app/app.h"

int arg_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int arg_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = (float)v;
    return 0;
}

/* name as an ISA this machine runs; what names where it came from. */
static int isa_check(const char *name, const char *what, const char *sep, int *out, char *err,
                     size_t errlen)
{
    int isa = isa_parse(name);
    if (isa < 0)
        return mnv_error(err, errlen, MNV_EINVAL, "%s wants ref, avx2, avx512 or neon, not '%s'",
                         what, name);
    if (!cpu_supports((mnv_isa)isa))
        return mnv_error(err, errlen, MNV_EINVAL, "%s%s%s: this CPU or build cannot run it", what,
                         sep, name);
    *out = isa;
    return 0;
}

int memory_limit_from_env(size_t *bytes, char *err, size_t errlen)
{
    const char *env = getenv("MNV2DET_MAX_MEMORY_MB");
    int mib;
    *bytes = MNV_DEFAULT_MAX_MEMORY;
    if (!env || !*env)
        return 0;
    if (arg_int(env, 1, 1L << 20, &mib) != 0)
        return mnv_error(err, errlen, MNV_EINVAL,
                         "MNV2DET_MAX_MEMORY_MB wants a whole number of MiB from 1 to 1048576, not '%.40s'", env);
    *bytes = (size_t)mib << 20;
    return 0;
}

int isa_choose(const char *flag, mnv_isa *out, char *err, size_t errlen)
{
    const char *env = getenv("MNV2DET_ISA");
    int from_env = -1, from_flag = -1, rc;
    if (env && *env && (rc = isa_check(env, "MNV2DET_ISA", "=", &from_env, err, errlen)) != 0)
        return rc;
    if (flag && (rc = isa_check(flag, "--isa", " ", &from_flag, err, errlen)) != 0)
        return rc;
    if (from_flag >= 0)
        *out = (mnv_isa)from_flag;
    else if (from_env >= 0)
        *out = (mnv_isa)from_env;
    else
        *out = isa_select();
    return 0;
}
