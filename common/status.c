/* One-line error messages into caller-provided buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"

/* A UTF-8 continuation byte: cutting before one would split a character. */
static int continues(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

int mnv_error(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (!err || !errlen)
        return code;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* Too long (a path of thousands of bytes): keep the start and the end,
     * which holds the reason, and drop the middle of the message instead
     * of its end. */
    if (n > 0 && (size_t)n >= errlen && errlen >= 16) {
        char *full = malloc((size_t)n + 1);
        if (full) {
            vsnprintf(full, (size_t)n + 1, fmt, again);
            size_t room = errlen - 1 - 3, head = room / 3, tail = room - head;
            while (head > 0 && continues(full[head]))
                head--;
            size_t from = (size_t)n - tail;
            while (from < (size_t)n && continues(full[from]))
                from++;
            snprintf(err, errlen, "%.*s...%s", (int)head, full, full + from);
            free(full);
        }
    }
    va_end(again);
    return code;
}
