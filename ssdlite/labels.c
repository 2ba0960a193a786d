/*
 * The label map: line i of a text file names class i. Empty lines are kept
 * (as empty names) so that the numbering never shifts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssdlite/ssdlite.h"

/* Far beyond any label map; keeps a wrong path (a model, a device) from
 * being read whole into memory. */
#define LABELS_MAX_BYTES (16u << 20)

/* The whole file, NUL-terminated; *size excludes the terminator. */
static int read_text(const char *path, char **text, size_t *size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        if (cap > LABELS_MAX_BYTES) {
            rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: larger than %u bytes, not a label map",
                           path, LABELS_MAX_BYTES);
            break;
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    else if (rc == 0 && ferror(f))
        rc = mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *size = n;
    return 0;
}

int labels_load(labels *l, const char *path, char *err, size_t errlen)
{
    l->names = NULL;
    l->count = 0;
    char *text = NULL;
    size_t size = 0;
    int rc = read_text(path, &text, &size, err, errlen);
    if (rc)
        return rc;

    /* A final line without '\n' still counts; a final '\n' adds no line. */
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '\0') {
            free(text);
            return mnv_error(err, errlen, MNV_EFORMAT, "%s:%zu: NUL byte: not a text file", path,
                             lines + 1);
        }
        lines += text[i] == '\n';
    }
    if (size > 0 && text[size - 1] != '\n')
        lines++;
    if (lines > (size_t)INT_MAX) { /* guards the count's int, whatever the size cap */
        free(text);
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: too many lines", path);
    }

    char **names = calloc(lines ? lines : 1, sizeof *names);
    if (!names) {
        free(text);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    }
    size_t count = 0;
    for (char *p = text; count < lines; count++) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *next = nl ? nl + 1 : p + len;
        while (len > 0 && p[len - 1] == '\r')
            len--;
        names[count] = malloc(len + 1);
        if (!names[count])
            break;
        memcpy(names[count], p, len);
        names[count][len] = '\0';
        p = next;
    }
    free(text);
    l->names = names;
    l->count = (int)count;
    if (count < lines) {
        labels_free(l);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    }
    return 0;
}

void labels_free(labels *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

const char *labels_get(const labels *l, int id)
{
    if (!l || id < 0 || id >= l->count)
        return NULL;
    return l->names[id];
}
