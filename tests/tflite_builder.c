/* TFLite writer for tests; see tflite_builder.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "tflite_builder.h"

/* Union type numbers of BuiltinOptions in the TFLite schema. */
enum {
    OPT_CONV2D = 1, OPT_DEPTHWISE = 2, OPT_SOFTMAX = 9, OPT_CONCAT = 10, OPT_ADD = 11,
};

typedef struct wr { uint8_t *b; size_t n, cap; int failed; } wr;

static size_t put(wr *w, size_t size, size_t align)
{
    size_t pos = (w->n + align - 1) & ~(align - 1);
    if (pos + size > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < pos + size)
            cap *= 2;
        uint8_t *b = realloc(w->b, cap);
        if (!b) {
            w->failed = 1;
            return 0;
        }
        memset(b + w->cap, 0, cap - w->cap);
        w->b = b;
        w->cap = cap;
    }
    w->n = pos + size;
    return pos;
}

static void set_u32(wr *w, size_t at, uint32_t v) { if (!w->failed) memcpy(w->b + at, &v, 4); }
static void set_u16(wr *w, size_t at, uint16_t v) { if (!w->failed) memcpy(w->b + at, &v, 2); }

/* The uoffset stored at `at` points to target (which must come later). */
static void link(wr *w, size_t at, size_t target) { set_u32(w, at, (uint32_t)(target - at)); }

/* A table whose fields have the given byte sizes (0 = absent). Writes the
 * vtable, then the table; pos[i] gets each present field's position. */
static size_t table(wr *w, int nfields, const size_t *sizes, size_t *pos)
{
    size_t vt_size = 4 + 2 * (size_t)nfields;
    size_t vt = put(w, vt_size, 2);
    /* the table: soffset, then fields each aligned to its size */
    size_t off = 4, offs[16] = {0};
    for (int i = 0; i < nfields; i++) {
        if (!sizes[i])
            continue;
        off = (off + sizes[i] - 1) & ~(sizes[i] - 1);
        offs[i] = off;
        off += sizes[i];
    }
    size_t tab = put(w, off, 8);
    set_u16(w, vt, (uint16_t)vt_size);
    set_u16(w, vt + 2, (uint16_t)off);
    int32_t soff = (int32_t)(tab - vt);
    if (!w->failed)
        memcpy(w->b + tab, &soff, 4);
    for (int i = 0; i < nfields; i++) {
        set_u16(w, vt + 4 + 2 * (size_t)i, (uint16_t)offs[i]);
        pos[i] = sizes[i] ? tab + offs[i] : 0;
    }
    return tab;
}

/* A vector whose elements (after the 4-byte length) start on an `align`
 * boundary (align >= 4, a power of two). */
static size_t vector(wr *w, size_t count, size_t elem, size_t align)
{
    size_t start = (w->n + 4 + align - 1) & ~(align - 1);
    put(w, start - 4 - w->n, 1);
    size_t at = put(w, 4 + count * elem, 1);
    set_u32(w, at, (uint32_t)count);
    return at;
}

static size_t string(wr *w, const char *s)
{
    size_t len = strlen(s);
    size_t at = vector(w, len + 1, 1, 4);
    if (!w->failed) {
        memcpy(w->b + at + 4, s, len);
        set_u32(w, at, (uint32_t)len);
    }
    return at;
}

static size_t int_vector(wr *w, const int *v, int n)
{
    size_t at = vector(w, (size_t)n, 4, 4);
    for (int i = 0; i < n; i++)
        set_u32(w, at + 4 + 4 * (size_t)i, (uint32_t)v[i]);
    return at;
}

static void write_options(wr *w, const tfb_op *op, size_t at)
{
    size_t s[7] = {0}, p[7];
    size_t t;
    switch (op->builtin) {
    case TFL_OP_CONV_2D:
        s[0] = 1, s[1] = 4, s[2] = 4, s[3] = 1;
        t = table(w, 4, s, p);
        if (!w->failed)
            w->b[p[0]] = (uint8_t)op->padding, w->b[p[3]] = (uint8_t)op->activation;
        set_u32(w, p[1], (uint32_t)op->stride_w), set_u32(w, p[2], (uint32_t)op->stride_h);
        break;
    case TFL_OP_DEPTHWISE_CONV_2D:
        s[0] = 1, s[1] = 4, s[2] = 4, s[3] = 4, s[4] = 1;
        t = table(w, 5, s, p);
        if (!w->failed)
            w->b[p[0]] = (uint8_t)op->padding, w->b[p[4]] = (uint8_t)op->activation;
        set_u32(w, p[1], (uint32_t)op->stride_w), set_u32(w, p[2], (uint32_t)op->stride_h);
        set_u32(w, p[3], (uint32_t)op->depth_multiplier);
        break;
    case TFL_OP_ADD:
        s[0] = 1;
        t = table(w, 1, s, p);
        if (!w->failed)
            w->b[p[0]] = (uint8_t)op->activation;
        break;
    case TFL_OP_CONCATENATION:
        s[0] = 4, s[1] = 1;
        t = table(w, 2, s, p);
        set_u32(w, p[0], (uint32_t)op->axis);
        if (!w->failed)
            w->b[p[1]] = (uint8_t)op->activation;
        break;
    case TFL_OP_SOFTMAX:
        s[0] = 4;
        t = table(w, 1, s, p);
        if (!w->failed)
            memcpy(w->b + p[0], &op->beta, 4);
        break;
    default:
        s[0] = 0;
        t = table(w, 1, s, p); /* an empty options table */
        break;
    }
    link(w, at, t);
}

static int options_type(int builtin)
{
    switch (builtin) {
    case TFL_OP_CONV_2D: return OPT_CONV2D;
    case TFL_OP_DEPTHWISE_CONV_2D: return OPT_DEPTHWISE;
    case TFL_OP_ADD: return OPT_ADD;
    case TFL_OP_CONCATENATION: return OPT_CONCAT;
    case TFL_OP_SOFTMAX: return OPT_SOFTMAX;
    default: return 0;
    }
}

uint8_t *tfb_build(const tfb_model *m, size_t *size)
{
    wr w = {0};
    size_t root = put(&w, 8, 4);
    if (!w.failed)
        memcpy(w.b + 4, "TFL3", 4);

    /* Model: version, operator_codes, subgraphs, description, buffers */
    size_t ms[5] = {4, 4, 4, 0, 4}, mp[5];
    size_t model = table(&w, 5, ms, mp);
    link(&w, root, model);
    set_u32(&w, mp[0], 3);

    /* one operator code per operator */
    size_t codes = vector(&w, (size_t)m->n_ops, 4, 4);
    link(&w, mp[1], codes);
    for (int i = 0; i < m->n_ops; i++) {
        const tfb_op *op = &m->ops[i];
        size_t cs[4] = {1, op->custom_code ? 4 : 0, 4, 4}, cp[4];
        size_t t = table(&w, 4, cs, cp);
        link(&w, codes + 4 + 4 * (size_t)i, t);
        if (!w.failed)
            w.b[cp[0]] = (uint8_t)(op->builtin < 127 ? op->builtin : 127);
        set_u32(&w, cp[2], 1);
        set_u32(&w, cp[3], (uint32_t)op->builtin);
        if (op->custom_code)
            link(&w, cp[1], string(&w, op->custom_code));
    }

    /* one subgraph */
    size_t sgs = vector(&w, 1, 4, 4);
    link(&w, mp[2], sgs);
    size_t ss[4] = {4, 4, 4, 4}, sp[4];
    size_t sg = table(&w, 4, ss, sp);
    link(&w, sgs + 4, sg);

    size_t tensors = vector(&w, (size_t)m->n_tensors, 4, 4);
    link(&w, sp[0], tensors);
    int next_buffer = 1;
    for (int i = 0; i < m->n_tensors; i++) {
        const tfb_tensor *t = &m->tensors[i];
        size_t ts[4] = {4, 1, 4, 4}, tp[4];
        size_t tt = table(&w, 4, ts, tp);
        link(&w, tensors + 4 + 4 * (size_t)i, tt);
        link(&w, tp[0], int_vector(&w, t->shape, t->rank));
        if (!w.failed)
            w.b[tp[1]] = (uint8_t)t->type;
        set_u32(&w, tp[2], t->data ? (uint32_t)next_buffer++ : 0);
        link(&w, tp[3], string(&w, t->name ? t->name : ""));
    }
    link(&w, sp[1], int_vector(&w, m->inputs, m->n_inputs));
    link(&w, sp[2], int_vector(&w, m->outputs, m->n_outputs));

    size_t ops = vector(&w, (size_t)m->n_ops, 4, 4);
    link(&w, sp[3], ops);
    for (int i = 0; i < m->n_ops; i++) {
        const tfb_op *op = &m->ops[i];
        size_t os[6] = {4, 4, 4, op->with_options ? 1 : 0, op->with_options ? 4 : 0,
                        op->custom_options ? 4 : 0}, opp[6];
        size_t ot = table(&w, 6, os, opp);
        link(&w, ops + 4 + 4 * (size_t)i, ot);
        set_u32(&w, opp[0], (uint32_t)i);
        link(&w, opp[1], int_vector(&w, op->in, op->n_in));
        link(&w, opp[2], int_vector(&w, op->out, op->n_out));
        if (op->with_options) {
            if (!w.failed)
                w.b[opp[3]] = (uint8_t)options_type(op->builtin);
            write_options(&w, op, opp[4]);
        }
        if (op->custom_options) {
            size_t v = vector(&w, op->custom_options_size, 1, 4);
            if (!w.failed)
                memcpy(w.b + v + 4, op->custom_options, op->custom_options_size);
            link(&w, opp[5], v);
        }
    }

    /* buffers: 0 is the empty one, then one per constant tensor */
    size_t bufs = vector(&w, (size_t)next_buffer, 4, 4);
    link(&w, mp[4], bufs);
    size_t es[1] = {0}, ep[1];
    link(&w, bufs + 4, table(&w, 1, es, ep));
    for (int i = 0, b = 1; i < m->n_tensors; i++) {
        const tfb_tensor *t = &m->tensors[i];
        if (!t->data)
            continue;
        size_t bs[1] = {4}, bp[1];
        size_t bt = table(&w, 1, bs, bp);
        link(&w, bufs + 4 + 4 * (size_t)b++, bt);
        size_t v = vector(&w, t->size, 1, 16);
        if (!w.failed)
            memcpy(w.b + v + 4, t->data, t->size);
        link(&w, bp[0], v);
    }
    if (w.failed) {
        free(w.b);
        return NULL;
    }
    *size = w.n;
    return w.b;
}

int tfb_add_tensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                   const void *data, size_t size)
{
    if (m->n_tensors >= TFB_MAX_TENSORS || rank > 6)
        return -1;
    tfb_tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->rank = rank;
    memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
    t->name = name;
    t->data = data;
    t->size = size;
    return m->n_tensors++;
}

tfb_op *tfb_add_op(tfb_model *m, int builtin, const int *in, int n_in, const int *out, int n_out)
{
    if (m->n_ops >= TFB_MAX_OPS || n_in > TFB_MAX_IO || n_out > TFB_MAX_IO)
        return NULL;
    tfb_op *op = &m->ops[m->n_ops++];
    memset(op, 0, sizeof *op);
    op->builtin = builtin;
    op->n_in = n_in;
    op->n_out = n_out;
    memcpy(op->in, in, (size_t)n_in * sizeof *in);
    memcpy(op->out, out, (size_t)n_out * sizeof *out);
    op->with_options = 1;
    op->padding = TFL_PAD_SAME;
    op->stride_w = op->stride_h = 1;
    op->depth_multiplier = 1;
    op->beta = 1.0f;
    return op;
}

int tfb_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(bytes, 1, size, f) == size;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
