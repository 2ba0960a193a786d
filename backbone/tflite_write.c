/*
 * TFLite flatbuffer writer (see tfw_build in backbone.h). Objects are written
 * front to back, each after the one that refers to it, so every uoffset is
 * positive as the format requires. The quantizer writes its models with it,
 * and the tests build theirs, including the layout variants of real files
 * that the reader must accept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"

/* BuiltinOptions union members in the TFLite schema. */
enum {
    OPT_CONV_2D = 1, OPT_DEPTHWISE_CONV_2D = 2, OPT_SOFTMAX = 9, OPT_CONCATENATION = 10, OPT_ADD = 11,
    OPT_RESHAPE = 17,
};

#define MAX_FIELDS 16

/* Bytes that go after the flatbuffer (external_data): the uint64 field at
 * offset_field gets their file offset once the flatbuffer is complete. */
typedef struct tail { size_t offset_field; const void *bytes; size_t size; } tail;

typedef struct wr {
    uint8_t *b;
    size_t n, cap;
    int failed;
    int vtables_after;
    int omit_defaults;
    tail *tails;
    int n_tails, cap_tails;
} wr;

/* Room for size bytes at the next multiple of align (a power of two),
 * zero-filled; returns their position (0 once anything failed). */
static size_t put(wr *w, size_t size, size_t align)
{
    if (w->failed)
        return 0;
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

/* Where table() says an absent field would be: writes there are dropped. */
#define NO_FIELD SIZE_MAX

static void set_bytes(wr *w, size_t at, const void *v, size_t len)
{
    if (!w->failed && at != NO_FIELD && len)
        memcpy(w->b + at, v, len);
}

static void set_u8(wr *w, size_t at, int v) { uint8_t x = (uint8_t)v; set_bytes(w, at, &x, 1); }
static void set_u16(wr *w, size_t at, size_t v) { uint16_t x = (uint16_t)v; set_bytes(w, at, &x, 2); }
static void set_u32(wr *w, size_t at, uint32_t v) { set_bytes(w, at, &v, 4); }
static void set_u64(wr *w, size_t at, uint64_t v) { set_bytes(w, at, &v, 8); }

/* The uoffset stored at `at` points to target (which must come later). */
static void link(wr *w, size_t at, size_t target) { set_u32(w, at, (uint32_t)(target - at)); }

/* A table whose fields have the given byte sizes (0 = absent), each aligned
 * to its size; pos[i] gets each field's position (NO_FIELD when absent).
 * The vtable goes before the table, or after it with vtables_after. */
static size_t table(wr *w, int nfields, const size_t *sizes, size_t *pos)
{
    size_t off = 4, offs[MAX_FIELDS] = {0};
    if (nfields > MAX_FIELDS) {
        w->failed = 1;
        return 0;
    }
    for (int i = 0; i < nfields; i++) {
        if (!sizes[i])
            continue;
        off = (off + sizes[i] - 1) & ~(sizes[i] - 1);
        offs[i] = off;
        off += sizes[i];
    }
    size_t vt_size = 4 + 2 * (size_t)nfields, vt, tab;
    if (w->vtables_after) {
        tab = put(w, off, 8);
        vt = put(w, vt_size, 2);
    } else {
        vt = put(w, vt_size, 2);
        tab = put(w, off, 8);
    }
    set_u16(w, vt, vt_size);
    set_u16(w, vt + 2, off);
    int32_t soff = (int32_t)((long long)tab - (long long)vt);
    set_bytes(w, tab, &soff, 4);
    for (int i = 0; i < nfields; i++) {
        set_u16(w, vt + 4 + 2 * (size_t)i, offs[i]);
        pos[i] = sizes[i] ? tab + offs[i] : NO_FIELD;
    }
    return tab;
}

/* A vector whose elements (after the 4-byte length) start on an `align`
 * boundary (align >= 4, a power of two); returns the length's position. */
static size_t vector(wr *w, size_t count, size_t elem, size_t align)
{
    size_t start = (w->n + 4 + align - 1) & ~(align - 1);
    put(w, start - w->n + count * elem, 1); /* padding, length, elements */
    set_u32(w, start - 4, (uint32_t)count);
    return start - 4;
}

static size_t bytes_vector(wr *w, const void *bytes, size_t size, size_t align)
{
    size_t at = vector(w, size, 1, align);
    set_bytes(w, at + 4, bytes, size);
    return at;
}

static size_t string(wr *w, const char *s)
{
    size_t len = strlen(s);
    size_t at = vector(w, len + 1, 1, 4); /* the terminating NUL is zero fill */
    set_bytes(w, at + 4, s, len);
    set_u32(w, at, (uint32_t)len);
    return at;
}

static size_t int_vector(wr *w, const int *v, int n)
{
    size_t at = vector(w, (size_t)n, 4, 4);
    for (int i = 0; i < n; i++)
        set_u32(w, at + 4 + 4 * (size_t)i, (uint32_t)v[i]);
    return at;
}

/* Bytes kept outside the flatbuffer: the uint64 pair at offset_field and
 * size_field describes them. */
static void external(wr *w, size_t offset_field, size_t size_field, const void *bytes, size_t size)
{
    if (w->n_tails == w->cap_tails) {
        int cap = w->cap_tails ? 2 * w->cap_tails : 16;
        tail *t = realloc(w->tails, (size_t)cap * sizeof *t);
        if (!t) {
            w->failed = 1;
            return;
        }
        w->tails = t;
        w->cap_tails = cap;
    }
    w->tails[w->n_tails++] = (tail){offset_field, bytes, size};
    set_u64(w, size_field, size);
}

/* The size to give a scalar field: 0 (absent) when omit_defaults is set
 * and it holds the schema's default. */
static size_t scalar(const wr *w, size_t size, long long value, long long def)
{
    return w->omit_defaults && value == def ? 0 : size;
}

static int options_type(const tfw_op *op)
{
    switch (op->builtin) {
    case TFL_OP_CONV_2D: return OPT_CONV_2D;
    case TFL_OP_DEPTHWISE_CONV_2D: return OPT_DEPTHWISE_CONV_2D;
    case TFL_OP_ADD: return OPT_ADD;
    case TFL_OP_CONCATENATION: return OPT_CONCATENATION;
    case TFL_OP_RESHAPE: return OPT_RESHAPE;
    case TFL_OP_SOFTMAX: return OPT_SOFTMAX;
    default: return 0;
    }
}

/* The options table of op (options_type(op) != 0); returns its position. */
static size_t write_options(wr *w, const tfw_op *op)
{
    size_t s[7] = {0}, p[7] = {0}, t = 0;
    switch (op->builtin) {
    case TFL_OP_CONV_2D: /* padding, stride_w, stride_h, activation, dilation_w, dilation_h */
        s[0] = scalar(w, 1, op->padding, 0), s[1] = scalar(w, 4, op->stride_w, 0);
        s[2] = scalar(w, 4, op->stride_h, 0), s[3] = scalar(w, 1, op->activation, 0);
        s[4] = scalar(w, 4, op->dilation_w, 1), s[5] = scalar(w, 4, op->dilation_h, 1);
        t = table(w, 6, s, p);
        set_u8(w, p[0], op->padding), set_u32(w, p[1], (uint32_t)op->stride_w);
        set_u32(w, p[2], (uint32_t)op->stride_h), set_u8(w, p[3], op->activation);
        set_u32(w, p[4], (uint32_t)op->dilation_w), set_u32(w, p[5], (uint32_t)op->dilation_h);
        break;
    case TFL_OP_DEPTHWISE_CONV_2D: /* ..., depth_multiplier at 3, activation at 4, dilations */
        s[0] = scalar(w, 1, op->padding, 0), s[1] = scalar(w, 4, op->stride_w, 0);
        s[2] = scalar(w, 4, op->stride_h, 0), s[3] = scalar(w, 4, op->depth_multiplier, 0);
        s[4] = scalar(w, 1, op->activation, 0);
        s[5] = scalar(w, 4, op->dilation_w, 1), s[6] = scalar(w, 4, op->dilation_h, 1);
        t = table(w, 7, s, p);
        set_u8(w, p[0], op->padding), set_u32(w, p[1], (uint32_t)op->stride_w);
        set_u32(w, p[2], (uint32_t)op->stride_h), set_u32(w, p[3], (uint32_t)op->depth_multiplier);
        set_u8(w, p[4], op->activation);
        set_u32(w, p[5], (uint32_t)op->dilation_w), set_u32(w, p[6], (uint32_t)op->dilation_h);
        break;
    case TFL_OP_ADD:
        s[0] = scalar(w, 1, op->activation, 0);
        t = table(w, 1, s, p);
        set_u8(w, p[0], op->activation);
        break;
    case TFL_OP_CONCATENATION:
        s[0] = scalar(w, 4, op->axis, 0), s[1] = scalar(w, 1, op->activation, 0);
        t = table(w, 2, s, p);
        set_u32(w, p[0], (uint32_t)op->axis), set_u8(w, p[1], op->activation);
        break;
    case TFL_OP_RESHAPE:
        s[0] = 4;
        t = table(w, 1, s, p);
        link(w, p[0], int_vector(w, op->new_shape, op->n_new_shape));
        break;
    case TFL_OP_SOFTMAX:
        s[0] = w->omit_defaults && op->beta == 0.0f ? 0 : 4;
        t = table(w, 1, s, p);
        set_bytes(w, p[0], &op->beta, 4);
        break;
    default:
        break;
    }
    return t;
}

static int same_code(const tfw_op *a, const tfw_op *b)
{
    if (a->builtin != b->builtin || a->version != b->version)
        return 0;
    if (!a->custom_code || !b->custom_code)
        return a->custom_code == b->custom_code;
    return strcmp(a->custom_code, b->custom_code) == 0;
}

/* The operator_codes vector at field `at`; code_of[i] gets operator i's code. */
static void write_opcodes(wr *w, const tfw_model *m, size_t at, int *code_of)
{
    int *first = malloc((size_t)(m->n_ops ? m->n_ops : 1) * sizeof *first), n = 0;
    if (!first) {
        w->failed = 1;
        return;
    }
    /* first[k]: the first operator of the k-th distinct code */
    for (int i = 0; i < m->n_ops; i++) {
        int k = 0;
        while (k < n && !same_code(&m->ops[first[k]], &m->ops[i]))
            k++;
        if (k == n)
            first[n++] = i;
        code_of[i] = k;
    }
    size_t codes = vector(w, (size_t)n, 4, 4);
    link(w, at, codes);
    for (int k = 0; k < n; k++) {
        const tfw_op *op = &m->ops[first[k]];
        /* deprecated_builtin_code, custom_code, version, builtin_code */
        int dep = op->builtin < 127 ? op->builtin : 127;
        size_t s[4] = {scalar(w, 1, dep, 0), op->custom_code ? 4 : 0, scalar(w, 4, op->version, 1),
                       m->legacy_opcodes ? 0 : scalar(w, 4, op->builtin, 0)}, p[4];
        size_t t = table(w, 4, s, p);
        link(w, codes + 4 + 4 * (size_t)k, t);
        set_u8(w, p[0], dep);
        set_u32(w, p[2], (uint32_t)op->version);
        set_u32(w, p[3], (uint32_t)op->builtin);
        if (op->custom_code)
            link(w, p[1], string(w, op->custom_code));
    }
    free(first);
}

/* A QuantizationParameters table: min, max (absent), scale, zero_point,
 * details_type, details (absent), quantized_dimension. */
static size_t write_quantization(wr *w, const tfw_tensor *t)
{
    size_t s[7] = {0, 0, t->n_scales ? 4 : 0, t->n_zero_points ? 4 : 0, t->quant_details ? 1 : 0, 0,
                   scalar(w, 4, t->quant_dim, 0)}, p[7];
    size_t qt = table(w, 7, s, p);
    set_u8(w, p[4], t->quant_details);
    set_u32(w, p[6], (uint32_t)t->quant_dim);
    if (t->n_scales) {
        size_t v = vector(w, (size_t)t->n_scales, 4, 4);
        link(w, p[2], v);
        set_bytes(w, v + 4, t->scales, (size_t)t->n_scales * 4);
    }
    if (t->n_zero_points) {
        size_t v = vector(w, (size_t)t->n_zero_points, 8, 8);
        link(w, p[3], v);
        set_bytes(w, v + 4, t->zero_points, (size_t)t->n_zero_points * 8);
    }
    return qt;
}

static void write_tensors(wr *w, const tfw_model *m, size_t at)
{
    size_t tensors = vector(w, (size_t)m->n_tensors, 4, 4);
    link(w, at, tensors);
    int next_buffer = 1;
    for (int i = 0; i < m->n_tensors; i++) {
        const tfw_tensor *t = &m->tensors[i];
        uint32_t buffer = t->data ? (uint32_t)next_buffer++ : 0;
        int quantized = t->n_scales || t->n_zero_points || t->quant_details;
        /* shape, type, buffer, name, quantization */
        size_t s[5] = {4, scalar(w, 1, t->type, 0), scalar(w, 4, buffer, 0), 4, quantized ? 4 : 0}, p[5];
        size_t tt = table(w, quantized ? 5 : 4, s, p);
        link(w, tensors + 4 + 4 * (size_t)i, tt);
        link(w, p[0], int_vector(w, t->shape, t->rank));
        set_u8(w, p[1], t->type);
        set_u32(w, p[2], buffer);
        link(w, p[3], string(w, t->name ? t->name : ""));
        if (quantized)
            link(w, p[4], write_quantization(w, t));
    }
}

static void write_operators(wr *w, const tfw_model *m, size_t at, const int *code_of)
{
    size_t ops = vector(w, (size_t)m->n_ops, 4, 4);
    link(w, at, ops);
    for (int i = 0; i < m->n_ops; i++) {
        const tfw_op *op = &m->ops[i];
        int opt = op->with_options ? options_type(op) : 0;
        int custom = op->custom_options != NULL, large = custom && m->external_data;
        /* opcode_index, inputs, outputs, builtin_options_type,
         * builtin_options, custom_options, (6..8 unused here),
         * large_custom_options_offset, large_custom_options_size */
        size_t s[11] = {scalar(w, 4, code_of[i], 0), 4, 4, opt ? 1 : 0, opt ? 4 : 0,
                        custom && !large ? 4 : 0, 0, 0, 0, large ? 8 : 0, large ? 8 : 0}, p[11];
        size_t ot = table(w, large ? 11 : 6, s, p);
        link(w, ops + 4 + 4 * (size_t)i, ot);
        set_u32(w, p[0], (uint32_t)code_of[i]);
        link(w, p[1], int_vector(w, op->in, op->n_in));
        link(w, p[2], int_vector(w, op->out, op->n_out));
        if (opt) {
            set_u8(w, p[3], opt);
            link(w, p[4], write_options(w, op));
        }
        if (large)
            external(w, p[9], p[10], op->custom_options, op->custom_options_size);
        else if (custom)
            link(w, p[5], bytes_vector(w, op->custom_options, op->custom_options_size, 4));
    }
}

/* Buffer 0 is the empty sentinel, then one per constant tensor in order. */
static void write_buffers(wr *w, const tfw_model *m, size_t at)
{
    int n = 1;
    for (int i = 0; i < m->n_tensors; i++)
        n += m->tensors[i].data != NULL;
    size_t bufs = vector(w, (size_t)n, 4, 4);
    link(w, at, bufs);
    size_t es[1] = {0}, ep[1];
    link(w, bufs + 4, table(w, 1, es, ep));
    for (int i = 0, b = 1; i < m->n_tensors; i++) {
        const tfw_tensor *t = &m->tensors[i];
        if (!t->data)
            continue;
        size_t s[3] = {m->external_data ? 0 : 4, m->external_data ? 8 : 0, m->external_data ? 8 : 0}, p[3];
        size_t bt = table(w, 3, s, p); /* data, offset, size */
        link(w, bufs + 4 + 4 * (size_t)b++, bt);
        if (m->external_data)
            external(w, p[1], p[2], t->data, t->size);
        else
            link(w, p[0], bytes_vector(w, t->data, t->size, 16));
    }
}

uint8_t *tfw_build(const tfw_model *m, size_t *size)
{
    wr *w = calloc(1, sizeof *w);
    int *code_of = malloc((size_t)(m->n_ops ? m->n_ops : 1) * sizeof *code_of);
    if (!w || !code_of) {
        free(w);
        free(code_of);
        return NULL;
    }
    w->vtables_after = m->vtables_after;
    w->omit_defaults = m->omit_defaults;
    size_t root = put(w, 8, 4);
    set_bytes(w, 4, "TFL3", 4);

    /* Model: version, operator_codes, subgraphs, description, buffers */
    size_t ms[5] = {4, 4, 4, 0, 4}, mp[5];
    size_t model = table(w, 5, ms, mp);
    link(w, root, model);
    set_u32(w, mp[0], 3);
    write_opcodes(w, m, mp[1], code_of);

    /* one subgraph: tensors, inputs, outputs, operators */
    size_t sgs = vector(w, 1, 4, 4);
    link(w, mp[2], sgs);
    size_t ss[4] = {4, 4, 4, 4}, sp[4];
    link(w, sgs + 4, table(w, 4, ss, sp));
    write_tensors(w, m, sp[0]);
    link(w, sp[1], int_vector(w, m->inputs, m->n_inputs));
    link(w, sp[2], int_vector(w, m->outputs, m->n_outputs));
    write_operators(w, m, sp[3], code_of);
    write_buffers(w, m, mp[4]);

    for (int i = 0; i < w->n_tails; i++) {
        size_t at = put(w, w->tails[i].size, 16);
        set_bytes(w, at, w->tails[i].bytes, w->tails[i].size);
        set_u64(w, w->tails[i].offset_field, at);
    }
    uint8_t *bytes = w->b;
    if (w->failed) {
        free(bytes);
        bytes = NULL;
    } else {
        *size = w->n;
    }
    free(w->tails);
    free(w);
    free(code_of);
    return bytes;
}

int tfw_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(bytes, 1, size, f) == size;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
