/*
 * Just enough FlexBuffers to read a custom operator's options: the root must
 * be a map, and we look up numeric (int, uint, float, bool) values by key.
 * TFLite custom ops such as TFLite_Detection_PostProcess store their
 * settings this way. Every read is bounds-checked: the bytes come from the
 * model file.
 *
 * Layout reminders (FlexBuffers is built back to front):
 *  - last byte: the root's byte width; the byte before: its packed type
 *    (type << 2 | log2 of the child width); before that, the root value.
 *  - a map at p with width w: [keys offset][keys width][count] sit at
 *    p-3w, p-2w, p-w; count values of width w start at p, followed by one
 *    packed-type byte per value. The keys vector holds offsets to
 *    NUL-terminated strings, its count just before it.
 */
#include <string.h>

#include "backbone/backbone.h"

enum {
    FBT_NULL = 0, FBT_INT = 1, FBT_UINT = 2, FBT_FLOAT = 3, FBT_KEY = 4,
    FBT_INDIRECT_INT = 6, FBT_INDIRECT_UINT = 7, FBT_INDIRECT_FLOAT = 8,
    FBT_MAP = 9, FBT_BOOL = 26,
};

typedef struct fbuf { const uint8_t *b; size_t n; } fbuf;

static int read_uint(const fbuf *f, size_t pos, size_t w, uint64_t *out)
{
    if (w != 1 && w != 2 && w != 4 && w != 8)
        return -1;
    if (pos > f->n || w > f->n - pos)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++) /* little-endian */
        v |= (uint64_t)f->b[pos + i] << (8 * i);
    *out = v;
    return 0;
}

static int read_int(const fbuf *f, size_t pos, size_t w, int64_t *out)
{
    uint64_t u;
    if (read_uint(f, pos, w, &u))
        return -1;
    if (w < 8 && (u >> (8 * w - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * w); /* sign-extend */
    memcpy(out, &u, sizeof u);
    return 0;
}

static int read_float(const fbuf *f, size_t pos, size_t w, double *out)
{
    uint64_t u;
    if ((w != 4 && w != 8) || read_uint(f, pos, w, &u))
        return -1;
    if (w == 4) {
        uint32_t u32 = (uint32_t)u;
        float v;
        memcpy(&v, &u32, 4);
        *out = v;
    } else {
        memcpy(out, &u, 8);
    }
    return 0;
}

/* Follow an offset stored at pos (width w) backwards to its target. */
static int deref(const fbuf *f, size_t pos, size_t w, size_t *target)
{
    uint64_t off;
    if (read_uint(f, pos, w, &off) || off > pos)
        return -1;
    *target = pos - (size_t)off;
    return 0;
}

/* A scalar stored at pos with the parent's width w and packed type pt. */
static int scalar(const fbuf *f, size_t pos, size_t w, uint8_t pt, double *out)
{
    int type = pt >> 2;
    size_t cw = (size_t)1 << (pt & 3); /* width of an indirect value */
    size_t at;
    int64_t i;
    uint64_t u;
    switch (type) {
    case FBT_INT:
        if (read_int(f, pos, w, &i)) return -1;
        *out = (double)i;
        return 0;
    case FBT_UINT:
    case FBT_BOOL:
        if (read_uint(f, pos, w, &u)) return -1;
        *out = (double)u;
        return 0;
    case FBT_FLOAT:
        return read_float(f, pos, w, out);
    case FBT_INDIRECT_INT:
        if (deref(f, pos, w, &at) || read_int(f, at, cw, &i)) return -1;
        *out = (double)i;
        return 0;
    case FBT_INDIRECT_UINT:
        if (deref(f, pos, w, &at) || read_uint(f, at, cw, &u)) return -1;
        *out = (double)u;
        return 0;
    case FBT_INDIRECT_FLOAT:
        if (deref(f, pos, w, &at)) return -1;
        return read_float(f, at, cw, out);
    default:
        return -1;
    }
}

/* Compare the NUL-terminated key at pos with key, within the buffer. */
static int key_equals(const fbuf *f, size_t pos, const char *key)
{
    size_t len = strlen(key);
    if (pos > f->n || len + 1 > f->n - pos)
        return 0;
    return memcmp(f->b + pos, key, len) == 0 && f->b[pos + len] == 0;
}

int flexbuf_map_number(const uint8_t *buf, size_t size, const char *key, double *out)
{
    fbuf f = {buf, size};
    if (!buf || size < 3)
        return -1;
    size_t root_w = buf[size - 1];
    uint8_t root_pt = buf[size - 2];
    if (root_w == 0 || root_w > size - 2 || (root_pt >> 2) != FBT_MAP)
        return -1;
    size_t map, w = (size_t)1 << (root_pt & 3);
    if (deref(&f, size - 2 - root_w, root_w, &map))
        return -1;
    uint64_t count, keys_w;
    size_t keys;
    if (map < 3 * w || read_uint(&f, map - w, w, &count) || read_uint(&f, map - 2 * w, w, &keys_w) ||
        deref(&f, map - 3 * w, w, &keys))
        return -1;
    uint64_t nkeys;
    if (keys < keys_w || read_uint(&f, keys - keys_w, keys_w, &nkeys) || nkeys != count)
        return -1;
    /* values, then their types, must fit */
    if (count > (f.n - map) / (w + 1))
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        size_t kpos;
        if (deref(&f, keys + i * keys_w, keys_w, &kpos))
            return -1;
        if (!key_equals(&f, kpos, key))
            continue;
        uint8_t pt = buf[map + count * w + i];
        return scalar(&f, map + i * w, w, pt, out);
    }
    return -1;
}
