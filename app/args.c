/* Strict parsing of numeric command-line values: "12abc", "", "1e999" and
 * out-of-range values are all refused, so a typo never becomes a setting. */
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
