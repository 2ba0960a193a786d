/* Golden file readers. The JSON reader knows only the fixed layout that
 * make_golden.py writes: a "detections" array of flat objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_data.h"

float *golden_read_f32(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = size > 0 ? malloc((size_t)size) : NULL;
    if (!v || fread(v, 1, (size_t)size, f) != (size_t)size) {
        free(v);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *n = (size_t)size / sizeof(float);
    return v;
}

static int number_after(const char *obj, const char *end, const char *key, float *out)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(obj, pat);
    if (!p || p > end)
        return -1;
    *out = strtof(p + strlen(pat), NULL);
    return 0;
}

int golden_read_detections(const char *path, golden_det *out, int max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    const char *p = strstr(buf, "\"detections\"");
    if (!p)
        return -1;
    int n = 0;
    while ((p = strchr(p, '{')) != NULL && n < max) {
        const char *end = strchr(p, '}');
        if (!end)
            return -1;
        float cls;
        golden_det *d = &out[n];
        if (number_after(p, end, "class_id", &cls) || number_after(p, end, "score", &d->score) ||
            number_after(p, end, "ymin", &d->ymin) || number_after(p, end, "xmin", &d->xmin) ||
            number_after(p, end, "ymax", &d->ymax) || number_after(p, end, "xmax", &d->xmax))
            return -1;
        d->class_id = (int)cls;
        n++;
        p = end + 1;
    }
    return n;
}
