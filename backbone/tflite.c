/*
 * TFLite model reader: the flatbuffer is walked by hand (no flatbuffers
 * library, no generated code) and every offset, length and index is checked
 * against the file before it is followed, because a model file is input like
 * any other. Scalars are read with memcpy: flatbuffers promise alignment
 * only to writers that honour it.
 *
 * Only subgraph 0 is read, and only the operator options that the network
 * executes; everything else a model may carry is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backbone/backbone.h"

/* Field numbers in the TFLite schema's tables. */
enum { MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED = 0, OPCODE_CUSTOM = 1, OPCODE_VERSION = 2, OPCODE_BUILTIN = 3 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3, TENSOR_QUANTIZATION = 4 };
/* QuantizationParameters: min and max (0, 1) only record the training
 * ranges; the details union takes ids 4 (type) and 5 (value). */
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DETAILS_TYPE = 4, QUANT_DIMENSION = 6 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum {
    OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3, OP_OPTIONS = 4,
    OP_CUSTOM_OPTIONS = 5, OP_LARGE_CUSTOM_OFFSET = 9, OP_LARGE_CUSTOM_SIZE = 10,
};

/* BuiltinOptions union members of the options we decode. */
enum { OPT_CONV_2D = 1, OPT_DEPTHWISE_CONV_2D = 2, OPT_SOFTMAX = 9, OPT_CONCATENATION = 10, OPT_ADD = 11 };

/* Generous caps that keep every count in an int; a real file is bounded far
 * below them by its size anyway. */
#define MAX_OBJECTS (1u << 24)

typedef struct fb {
    const uint8_t *b;
    size_t n;
    char *err;
    size_t errlen;
    char where[64];           /* the object being read, for messages */
} fb;

typedef struct table {
    size_t pos;               /* the table's start (its soffset to the vtable) */
    size_t vt;                /* the vtable */
    size_t vt_size, size;     /* vtable bytes, table bytes (both checked inside the file) */
} table;

/* A problem found in the object named by f->where. */
static int corrupt(fb *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int corrupt(fb *f, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mnv_error(f->err, f->errlen, MNV_EFORMAT, "truncated or corrupt: %s: %s", f->where, msg);
}

static int no_memory(fb *f)
{
    return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory reading %s", f->where);
}

static void set_where(fb *f, const char *what, uint32_t index)
{
    snprintf(f->where, sizeof f->where, "%s %u", what, (unsigned)index);
}

static int has(const fb *f, size_t pos, size_t len)
{
    return pos <= f->n && len <= f->n - pos;
}

static uint32_t rd_u32(const fb *f, size_t pos)
{
    uint32_t v;
    memcpy(&v, f->b + pos, 4);
    return v;
}

static int32_t rd_i32(const fb *f, size_t pos)
{
    int32_t v;
    memcpy(&v, f->b + pos, 4);
    return v;
}

static uint16_t rd_u16(const fb *f, size_t pos)
{
    uint16_t v;
    memcpy(&v, f->b + pos, 2);
    return v;
}

/* Follow the uoffset stored at pos to what it points to (which must start
 * inside the file; its own length is the caller's to check). */
static int follow(fb *f, size_t pos, size_t *target)
{
    *target = 0;
    if (!has(f, pos, 4))
        return corrupt(f, "offset at %zu past the end of the file (%zu bytes)", pos, f->n);
    uint32_t off = rd_u32(f, pos);
    if (off == 0)
        return corrupt(f, "offset at %zu is zero", pos);
    if (off >= f->n - pos)
        return corrupt(f, "offset at %zu points past the end (+%u, %zu bytes)", pos, (unsigned)off, f->n);
    *target = pos + off;
    return 0;
}

static int open_table(fb *f, size_t pos, table *t)
{
    if (!has(f, pos, 4))
        return corrupt(f, "table at %zu past the end of the file (%zu bytes)", pos, f->n);
    /* The vtable lies at pos - soffset: before the table when the soffset is
     * positive, after it when negative. */
    long long vt = (long long)pos - (long long)rd_i32(f, pos);
    if (vt < 0 || (unsigned long long)vt > f->n || !has(f, (size_t)vt, 4))
        return corrupt(f, "vtable of the table at %zu out of range (%lld, %zu bytes)", pos, vt, f->n);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_size = rd_u16(f, t->vt);
    t->size = rd_u16(f, t->vt + 2);
    if (t->vt_size < 4 || (t->vt_size & 1) || !has(f, t->vt, t->vt_size))
        return corrupt(f, "vtable at %zu has a bad size (%zu)", t->vt, t->vt_size);
    if (t->size < 4 || !has(f, pos, t->size))
        return corrupt(f, "table at %zu has a bad size (%zu)", pos, t->size);
    return 0;
}

/* Where field id of t (width bytes) lives in *at; 0 when the field is absent. */
static int field(fb *f, const table *t, int id, size_t width, size_t *at)
{
    size_t slot = 4 + 2 * (size_t)id;
    *at = 0;
    if (slot + 2 > t->vt_size)
        return 0;
    size_t off = rd_u16(f, t->vt + slot);
    if (off == 0)
        return 0;
    if (off < 4 || off + width > t->size)
        return corrupt(f, "field %d of the table at %zu lies outside it (offset %zu, size %zu)", id,
                       t->pos, off, t->size);
    *at = t->pos + off;
    return 0;
}

static int get_i32(fb *f, const table *t, int id, int32_t def, int32_t *out)
{
    size_t at;
    int rc = field(f, t, id, 4, &at);
    *out = at ? rd_i32(f, at) : def;
    return rc;
}

static int get_u32(fb *f, const table *t, int id, uint32_t *out)
{
    size_t at;
    int rc = field(f, t, id, 4, &at);
    *out = at ? rd_u32(f, at) : 0;
    return rc;
}

static int get_u64(fb *f, const table *t, int id, uint64_t *out)
{
    size_t at;
    int rc = field(f, t, id, 8, &at);
    *out = 0;
    if (at)
        memcpy(out, f->b + at, 8);
    return rc;
}

static int get_i8(fb *f, const table *t, int id, int def, int *out)
{
    size_t at;
    int rc = field(f, t, id, 1, &at);
    *out = at ? (int)(int8_t)f->b[at] : def;
    return rc;
}

static int get_u8(fb *f, const table *t, int id, int *out)
{
    size_t at;
    int rc = field(f, t, id, 1, &at);
    *out = at ? (int)f->b[at] : 0;
    return rc;
}

static int get_f32(fb *f, const table *t, int id, float def, float *out)
{
    size_t at;
    int rc = field(f, t, id, 4, &at);
    *out = def;
    if (at)
        memcpy(out, f->b + at, 4);
    return rc;
}

/* A vector field: *count elements of elem bytes at *data, all inside the
 * file; count 0 when the field is absent. */
static int get_vector(fb *f, const table *t, int id, size_t elem, uint32_t *count, size_t *data)
{
    size_t at, v;
    *count = 0;
    *data = 0;
    int rc = field(f, t, id, 4, &at);
    if (rc || !at)
        return rc;
    if ((rc = follow(f, at, &v)) != 0)
        return rc;
    if (!has(f, v, 4))
        return corrupt(f, "vector at %zu past the end of the file (%zu bytes)", v, f->n);
    uint32_t len = rd_u32(f, v);
    if (len > (f->n - v - 4) / elem)
        return corrupt(f, "vector at %zu claims %u elements, past the end", v, (unsigned)len);
    *count = len;
    *data = v + 4;
    return 0;
}

static int get_subtable(fb *f, const table *t, int id, table *sub, int *present)
{
    size_t at, target;
    *present = 0;
    int rc = field(f, t, id, 4, &at);
    if (rc || !at)
        return rc;
    if ((rc = follow(f, at, &target)) != 0 || (rc = open_table(f, target, sub)) != 0)
        return rc;
    *present = 1;
    return 0;
}

/* Element i of a vector of tables whose (checked) elements start at data. */
static int vector_table(fb *f, size_t data, uint32_t i, table *out)
{
    size_t target;
    int rc = follow(f, data + 4 * (size_t)i, &target);
    return rc ? rc : open_table(f, target, out);
}

/* A string field copied NUL-terminated ("" when absent), control
 * characters as '?'. */
static int get_string(fb *f, const table *t, int id, char **out)
{
    uint32_t len;
    size_t data;
    *out = NULL;
    int rc = get_vector(f, t, id, 1, &len, &data);
    if (rc)
        return rc;
    /* get_vector leaves len <= n - data, so len + 1 cannot overflow */
    if (data && (!has(f, data, (size_t)len + 1) || f->b[data + len] != 0))
        return corrupt(f, "string at %zu (%u bytes) is not NUL-terminated", data, (unsigned)len);
    *out = malloc((size_t)len + 1);
    if (!*out)
        return no_memory(f);
    /* Names and custom codes go into one-line messages and reports: a
     * control character (a newline in a custom code, found by fuzzing)
     * becomes '?'. */
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = f->b[data + i];
        (*out)[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    (*out)[len] = 0;
    return 0;
}

/* A vector of int32 tensor indices, each in [lo, n_tensors) (lo is -1 where
 * an optional input may be absent). what names the vector in messages. */
static int get_indices(fb *f, const table *t, int id, int lo, int n_tensors, const char *what,
                       int **out, int *count)
{
    uint32_t len;
    size_t data;
    *out = NULL;
    *count = 0;
    int rc = get_vector(f, t, id, 4, &len, &data);
    if (rc)
        return rc;
    if (len > MAX_OBJECTS)
        return corrupt(f, "%u %s", (unsigned)len, what);
    *out = malloc(len ? len * sizeof(int) : sizeof(int));
    if (!*out)
        return no_memory(f);
    for (uint32_t i = 0; i < len; i++) {
        int32_t v = rd_i32(f, data + 4 * (size_t)i);
        if (v < lo || v >= n_tensors) {
            free(*out);
            *out = NULL;
            return corrupt(f, "%s %u: tensor index %d out of range (%d tensors)", what, (unsigned)i, (int)v,
                           n_tensors);
        }
        (*out)[i] = v;
    }
    *count = (int)len;
    return 0;
}

/* Bytes per element of the types whose constant size we check; 0 for the
 * others (strings, resources, packed 4-bit). */
static size_t type_size(int type)
{
    switch (type) {
    case TFL_TYPE_FLOAT32: case TFL_TYPE_INT32: case 15 /* UINT32 */: return 4;
    case TFL_TYPE_FLOAT16: case 7 /* INT16 */: case 16 /* UINT16 */: return 2;
    case TFL_TYPE_UINT8: case TFL_TYPE_INT8: case 6 /* BOOL */: return 1;
    case TFL_TYPE_INT64: case 10 /* FLOAT64 */: case 12 /* UINT64 */: case 8 /* COMPLEX64 */: return 8;
    case 11 /* COMPLEX128 */: return 16;
    default: return 0;
    }
}

/* The zero points a tensor of this type may have: int8 and uint8 per the
 * type; TFLite keeps int32 biases and int16 activations symmetric (0); the
 * rest at least fit our int32. */
static void zero_point_range(int type, int64_t *lo, int64_t *hi)
{
    switch (type) {
    case TFL_TYPE_INT8: *lo = -128, *hi = 127; break;
    case TFL_TYPE_UINT8: *lo = 0, *hi = 255; break;
    case TFL_TYPE_INT32: case TFL_TYPE_INT16: *lo = *hi = 0; break;
    default: *lo = INT32_MIN, *hi = INT32_MAX; break;
    }
}

/* The tensor's QuantizationParameters into t (read after its shape, type
 * and name). A table without scales leaves the tensor unquantized. */
static int read_quantization(fb *f, const table *tt, tfl_tensor *t)
{
    table qt;
    int present, rc;
    uint32_t n_scale, n_zp;
    size_t scales, zps;
    int32_t dim;
    if ((rc = get_subtable(f, tt, TENSOR_QUANTIZATION, &qt, &present)) != 0 || !present)
        return rc;
    if ((rc = get_vector(f, &qt, QUANT_SCALE, 4, &n_scale, &scales)) != 0 ||
        (rc = get_vector(f, &qt, QUANT_ZERO_POINT, 8, &n_zp, &zps)) != 0 ||
        (rc = get_u8(f, &qt, QUANT_DETAILS_TYPE, &t->quant_details)) != 0 ||
        (rc = get_i32(f, &qt, QUANT_DIMENSION, 0, &dim)) != 0)
        return rc;
    if (n_scale == 0)
        return 0;
    if (n_zp != n_scale)
        return corrupt(f, "'%s' has %u quantization scales but %u zero points", t->name, (unsigned)n_scale,
                       (unsigned)n_zp);
    if (n_scale > 1) {
        if (dim < 0 || dim >= t->rank)
            return corrupt(f, "'%s' is quantized along dimension %d of a rank %d tensor", t->name, (int)dim,
                           t->rank);
        if ((uint32_t)t->shape[dim] != n_scale)
            return corrupt(f, "'%s' has %u quantization scales for the %d entries of its dimension %d", t->name,
                           (unsigned)n_scale, t->shape[dim], (int)dim);
    }
    /* n_scale is a dimension's size (an int) or 1 */
    t->scale = malloc(n_scale * sizeof *t->scale);
    t->zero_point = malloc(n_scale * sizeof *t->zero_point);
    if (!t->scale || !t->zero_point)
        return no_memory(f);
    int64_t lo, hi;
    zero_point_range(t->type, &lo, &hi);
    for (uint32_t i = 0; i < n_scale; i++) {
        float s;
        int64_t z;
        memcpy(&s, f->b + scales + 4 * (size_t)i, 4);
        memcpy(&z, f->b + zps + 8 * (size_t)i, 8);
        if (!(s > 0.0f) || !isfinite(s))
            return corrupt(f, "'%s' has quantization scale %g (entry %u), not finite and above 0", t->name,
                           (double)s, (unsigned)i);
        if (z < lo || z > hi) {
            char tb[32];
            return corrupt(f, "'%s' has zero point %lld (entry %u), outside [%lld, %lld] for %s", t->name,
                           (long long)z, (unsigned)i, (long long)lo, (long long)hi,
                           tfl_type_name(t->type, tb, sizeof tb));
        }
        t->scale[i] = s;
        t->zero_point[i] = (int32_t)z;
    }
    t->n_quant = (int)n_scale;
    t->quant_dim = dim;
    return 0;
}

typedef struct buffer_ref { const uint8_t *data; size_t size; } buffer_ref;

/* The payload of one Buffer: its data vector, or (models past 2 GB) a byte
 * range of the file outside the flatbuffer given by offset and size. */
static int read_buffer(fb *f, const table *bt, buffer_ref *out)
{
    uint32_t len;
    size_t bytes;
    uint64_t off, size;
    int rc;
    if ((rc = get_vector(f, bt, BUFFER_DATA, 1, &len, &bytes)) != 0 ||
        (rc = get_u64(f, bt, BUFFER_OFFSET, &off)) != 0 || (rc = get_u64(f, bt, BUFFER_SIZE, &size)) != 0)
        return rc;
    if (len) {
        *out = (buffer_ref){f->b + bytes, len};
    } else if (off > 1 && size > 0) { /* the schema: the offset is only valid if > 1 */
        if (off > f->n || size > f->n - off)
            return corrupt(f, "data at offset %llu (%llu bytes) lies outside the file (%zu bytes)",
                           (unsigned long long)off, (unsigned long long)size, f->n);
        *out = (buffer_ref){f->b + off, (size_t)size};
    }
    return 0;
}

static int read_buffers(fb *f, const table *model, buffer_ref **out, uint32_t *count)
{
    size_t data;
    *out = NULL;
    snprintf(f->where, sizeof f->where, "model buffers");
    int rc = get_vector(f, model, MODEL_BUFFERS, 4, count, &data);
    if (rc)
        return rc;
    *out = calloc(*count ? *count : 1, sizeof **out);
    if (!*out)
        return no_memory(f);
    for (uint32_t i = 0; i < *count; i++) {
        table bt;
        set_where(f, "buffer", i);
        if ((rc = vector_table(f, data, i, &bt)) != 0 || (rc = read_buffer(f, &bt, &(*out)[i])) != 0)
            return rc;
    }
    return 0;
}

static int read_tensor(fb *f, const table *tt, uint32_t index, const buffer_ref *bufs, uint32_t n_bufs,
                       tfl_tensor *t)
{
    uint32_t rank, buffer;
    size_t shape;
    int rc;
    if ((rc = get_vector(f, tt, TENSOR_SHAPE, 4, &rank, &shape)) != 0 ||
        (rc = get_i8(f, tt, TENSOR_TYPE, TFL_TYPE_FLOAT32, &t->type)) != 0 ||
        (rc = get_u32(f, tt, TENSOR_BUFFER, &buffer)) != 0 || (rc = get_string(f, tt, TENSOR_NAME, &t->name)) != 0)
        return rc;
    if (rank > TFL_MAX_RANK)
        return corrupt(f, "rank %u exceeds %d", (unsigned)rank, TFL_MAX_RANK);
    t->rank = (int)rank;
    /* elems * 16 (the widest element) must fit in a size_t */
    size_t elems = 1;
    for (uint32_t d = 0; d < rank; d++) {
        int32_t v = rd_i32(f, shape + 4 * (size_t)d);
        if (v < 0)
            return corrupt(f, "dimension %u is negative (%d)", (unsigned)d, (int)v);
        t->shape[d] = v;
        if (v && elems > SIZE_MAX / 16 / (size_t)v)
            return corrupt(f, "shape too large");
        elems *= (size_t)v;
    }
    /* Buffer 0 is the schema's empty sentinel, so a file without buffers
     * may still name it. */
    if (buffer >= n_bufs && buffer != 0)
        return mnv_error(f->err, f->errlen, MNV_EFORMAT,
                         "truncated or corrupt: tensor %u buffer index %u out of range (%u buffers)",
                         (unsigned)index, (unsigned)buffer, (unsigned)n_bufs);
    if (buffer < n_bufs && bufs[buffer].size) {
        size_t es = type_size(t->type);
        if (es && bufs[buffer].size != elems * es)
            return corrupt(f, "'%s' holds %zu bytes of data, its shape needs %zu", t->name, bufs[buffer].size,
                           elems * es);
        t->data = bufs[buffer].data;
        t->size = bufs[buffer].size;
    }
    return read_quantization(f, tt, t);
}

/* The union member that carries the options of builtin, or 0 when we do not
 * decode them. */
static int options_type(int builtin)
{
    switch (builtin) {
    case TFL_OP_CONV_2D: return OPT_CONV_2D;
    case TFL_OP_DEPTHWISE_CONV_2D: return OPT_DEPTHWISE_CONV_2D;
    case TFL_OP_ADD: return OPT_ADD;
    case TFL_OP_CONCATENATION: return OPT_CONCATENATION;
    case TFL_OP_SOFTMAX: return OPT_SOFTMAX;
    default: return 0;
    }
}

/* Fields absent from an options table take the schema's defaults. The
 * getters fail only on a field outside its table (MNV_EFORMAT, message
 * written), so one || chain per operator is enough. */
static int read_options(fb *f, const table *ot, tfl_op *op)
{
    int bad = 0;
    switch (op->builtin) {
    case TFL_OP_CONV_2D:
        bad = get_i8(f, ot, 0, TFL_PAD_SAME, &op->padding) || get_i32(f, ot, 1, 0, &op->stride_w) ||
              get_i32(f, ot, 2, 0, &op->stride_h) || get_i8(f, ot, 3, TFL_ACT_NONE, &op->activation) ||
              get_i32(f, ot, 4, 1, &op->dilation_w) || get_i32(f, ot, 5, 1, &op->dilation_h);
        break;
    case TFL_OP_DEPTHWISE_CONV_2D:
        bad = get_i8(f, ot, 0, TFL_PAD_SAME, &op->padding) || get_i32(f, ot, 1, 0, &op->stride_w) ||
              get_i32(f, ot, 2, 0, &op->stride_h) || get_i32(f, ot, 3, 0, &op->depth_multiplier) ||
              get_i8(f, ot, 4, TFL_ACT_NONE, &op->activation) || get_i32(f, ot, 5, 1, &op->dilation_w) ||
              get_i32(f, ot, 6, 1, &op->dilation_h);
        break;
    case TFL_OP_ADD:
        bad = get_i8(f, ot, 0, TFL_ACT_NONE, &op->activation);
        break;
    case TFL_OP_CONCATENATION:
        bad = get_i32(f, ot, 0, 0, &op->axis) || get_i8(f, ot, 1, TFL_ACT_NONE, &op->activation);
        break;
    case TFL_OP_SOFTMAX:
        bad = get_f32(f, ot, 0, 0.0f, &op->beta);
        break;
    default:
        break;
    }
    return bad ? MNV_EFORMAT : 0;
}

typedef struct opcode { int builtin, version; char *custom; } opcode;

static char *copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

/* Custom options: the flatbuffer's vector, or (models past 2 GB) a byte
 * range of the file given by the large_custom_options fields. */
static int read_custom_options(fb *f, const table *ot, tfl_op *op)
{
    uint32_t len;
    size_t data;
    uint64_t off, size;
    int rc;
    if ((rc = get_vector(f, ot, OP_CUSTOM_OPTIONS, 1, &len, &data)) != 0 ||
        (rc = get_u64(f, ot, OP_LARGE_CUSTOM_OFFSET, &off)) != 0 ||
        (rc = get_u64(f, ot, OP_LARGE_CUSTOM_SIZE, &size)) != 0)
        return rc;
    if (len) {
        op->custom_options = f->b + data;
        op->custom_options_size = len;
    } else if (off > 1 && size > 0) {
        if (off > f->n || size > f->n - off)
            return corrupt(f, "custom options at offset %llu (%llu bytes) lie outside the file (%zu bytes)",
                           (unsigned long long)off, (unsigned long long)size, f->n);
        op->custom_options = f->b + off;
        op->custom_options_size = (size_t)size;
    }
    return 0;
}

static int read_operator(fb *f, const table *ot, const opcode *codes, uint32_t n_codes,
                         int n_tensors, tfl_op *op)
{
    uint32_t code;
    int rc;
    if ((rc = get_u32(f, ot, OP_OPCODE, &code)) != 0)
        return rc;
    if (code >= n_codes)
        return corrupt(f, "opcode index %u out of range (%u operator codes)", (unsigned)code, (unsigned)n_codes);
    op->builtin = codes[code].builtin;
    op->version = codes[code].version;
    /* What an operator without an options table means: a plain stride-1,
     * undilated op (TFLite's converter always writes the table). */
    op->padding = TFL_PAD_SAME;
    op->stride_w = op->stride_h = 1;
    op->dilation_w = op->dilation_h = 1;
    op->depth_multiplier = 1;
    op->beta = 1.0f;
    if (codes[code].custom && !(op->custom_code = copy_string(codes[code].custom)))
        return no_memory(f);
    if ((rc = get_indices(f, ot, OP_INPUTS, -1, n_tensors, "input", &op->inputs, &op->n_inputs)) != 0 ||
        (rc = get_indices(f, ot, OP_OUTPUTS, 0, n_tensors, "output", &op->outputs, &op->n_outputs)) != 0)
        return rc;
    table opt;
    int present, type;
    if ((rc = get_u8(f, ot, OP_OPTIONS_TYPE, &type)) != 0 ||
        (rc = get_subtable(f, ot, OP_OPTIONS, &opt, &present)) != 0)
        return rc;
    int want = options_type(op->builtin);
    if (present && want) {
        /* options of another operator would be misread as ours */
        if (type != want) {
            char name[32];
            return corrupt(f, "%s has options of union type %d, expected %d",
                           tfl_op_name(op->builtin, name, sizeof name), type, want);
        }
        if ((rc = read_options(f, &opt, op)) != 0)
            return rc;
    }
    return read_custom_options(f, ot, op);
}

static int read_opcodes(fb *f, const table *model, opcode **out, uint32_t *count)
{
    size_t data;
    *out = NULL;
    snprintf(f->where, sizeof f->where, "model operator codes");
    int rc = get_vector(f, model, MODEL_OPCODES, 4, count, &data);
    if (rc)
        return rc;
    *out = calloc(*count ? *count : 1, sizeof **out);
    if (!*out)
        return no_memory(f);
    for (uint32_t i = 0; i < *count; i++) {
        table ct;
        int dep;
        int32_t builtin, version;
        opcode *c = &(*out)[i];
        set_where(f, "operator code", i);
        if ((rc = vector_table(f, data, i, &ct)) != 0 || (rc = get_i8(f, &ct, OPCODE_DEPRECATED, 0, &dep)) != 0 ||
            (rc = get_i32(f, &ct, OPCODE_BUILTIN, 0, &builtin)) != 0 ||
            (rc = get_i32(f, &ct, OPCODE_VERSION, 1, &version)) != 0)
            return rc;
        /* Codes past 127 live only in builtin_code; older files fill only
         * the deprecated byte. The schema says to take the larger. */
        c->builtin = dep > builtin ? dep : builtin;
        c->version = version;
        if (c->builtin < 0)
            return corrupt(f, "builtin code %d is negative", c->builtin);
        if (c->builtin == TFL_OP_CUSTOM && (rc = get_string(f, &ct, OPCODE_CUSTOM, &c->custom)) != 0)
            return rc;
    }
    return 0;
}

static void free_opcodes(opcode *codes, uint32_t n)
{
    for (uint32_t i = 0; codes && i < n; i++)
        free(codes[i].custom);
    free(codes);
}

/* Subgraph 0 into m, given the model's operator codes and buffers. */
static int read_subgraph(fb *f, const table *sg, const opcode *codes, uint32_t n_codes,
                         const buffer_ref *bufs, uint32_t n_bufs, tfl_model *m)
{
    uint32_t n;
    size_t data;
    snprintf(f->where, sizeof f->where, "subgraph 0 tensors");
    int rc = get_vector(f, sg, SG_TENSORS, 4, &n, &data);
    if (!rc && n > MAX_OBJECTS)
        rc = corrupt(f, "%u tensors", (unsigned)n);
    if (rc)
        return rc;
    if (!(m->tensors = calloc(n ? n : 1, sizeof *m->tensors)))
        return no_memory(f);
    m->n_tensors = (int)n;
    for (uint32_t i = 0; i < n; i++) {
        table tt;
        set_where(f, "tensor", i);
        if ((rc = vector_table(f, data, i, &tt)) != 0 ||
            (rc = read_tensor(f, &tt, i, bufs, n_bufs, &m->tensors[i])) != 0)
            return rc;
    }
    snprintf(f->where, sizeof f->where, "subgraph 0");
    if ((rc = get_indices(f, sg, SG_INPUTS, 0, m->n_tensors, "input", &m->inputs, &m->n_inputs)) != 0 ||
        (rc = get_indices(f, sg, SG_OUTPUTS, 0, m->n_tensors, "output", &m->outputs, &m->n_outputs)) != 0)
        return rc;

    snprintf(f->where, sizeof f->where, "subgraph 0 operators");
    rc = get_vector(f, sg, SG_OPERATORS, 4, &n, &data);
    if (!rc && n > MAX_OBJECTS)
        rc = corrupt(f, "%u operators", (unsigned)n);
    if (rc)
        return rc;
    if (!(m->ops = calloc(n ? n : 1, sizeof *m->ops)))
        return no_memory(f);
    m->n_ops = (int)n;
    for (uint32_t i = 0; i < n; i++) {
        table ot;
        set_where(f, "operator", i);
        if ((rc = vector_table(f, data, i, &ot)) != 0 ||
            (rc = read_operator(f, &ot, codes, n_codes, m->n_tensors, &m->ops[i])) != 0)
            return rc;
    }
    return 0;
}

static int parse(tfl_model *m, fb *f)
{
    if (f->n < 8)
        return mnv_error(f->err, f->errlen, MNV_EFORMAT, "not a TFLite file (%zu bytes)", f->n);
    if (memcmp(f->b + 4, "TFL3", 4) != 0)
        return mnv_error(f->err, f->errlen, MNV_EFORMAT, "not a TFLite file (no TFL3 identifier)");
    size_t root;
    table model, sg;
    snprintf(f->where, sizeof f->where, "model");
    int rc = follow(f, 0, &root);
    if (!rc)
        rc = open_table(f, root, &model);
    if (rc)
        return rc;

    opcode *codes = NULL;
    buffer_ref *bufs = NULL;
    uint32_t n_codes = 0, n_bufs = 0, n_sg = 0;
    size_t data = 0;
    rc = read_opcodes(f, &model, &codes, &n_codes);
    if (!rc)
        rc = read_buffers(f, &model, &bufs, &n_bufs);
    if (!rc) {
        snprintf(f->where, sizeof f->where, "model subgraphs");
        rc = get_vector(f, &model, MODEL_SUBGRAPHS, 4, &n_sg, &data);
    }
    if (!rc && n_sg == 0)
        rc = corrupt(f, "the model has no subgraph");
    if (!rc)
        rc = vector_table(f, data, 0, &sg);
    if (!rc)
        rc = read_subgraph(f, &sg, codes, n_codes, bufs, n_bufs, m);
    free_opcodes(codes, n_codes);
    free(bufs);
    return rc;
}

void tfl_close(tfl_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->tensors && i < m->n_tensors; i++) {
        free(m->tensors[i].name);
        free(m->tensors[i].scale);
        free(m->tensors[i].zero_point);
    }
    for (int i = 0; m->ops && i < m->n_ops; i++) {
        free(m->ops[i].custom_code);
        free(m->ops[i].inputs);
        free(m->ops[i].outputs);
    }
    free(m->tensors);
    free(m->ops);
    free(m->inputs);
    free(m->outputs);
    if (m->mapped && m->buf)
        munmap((void *)m->buf, m->size);
    memset(m, 0, sizeof *m);
}

int tfl_parse(tfl_model *m, const uint8_t *buf, size_t size, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (!buf && size)
        return mnv_error(err, errlen, MNV_EINVAL, "no buffer to parse");
    fb f = {buf, size, err, errlen, ""};
    m->buf = buf;
    m->size = size;
    int rc = parse(m, &f);
    if (rc)
        tfl_close(m);
    return rc;
}

int tfl_open(tfl_model *m, const char *path, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mnv_error(err, errlen, MNV_EIO, "%s: not a regular file", path);
    }
    if (st.st_size < 8) {
        close(fd);
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: not a TFLite file (%lld bytes)", path,
                         (long long)st.st_size);
    }
    if ((unsigned long long)st.st_size > SIZE_MAX) {
        close(fd);
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: too large to map (%lld bytes)", path,
                         (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return mnv_error(err, errlen, MNV_EIO, "%s: cannot map: %s", path, strerror(e));
    char why[256] = "";
    int rc = tfl_parse(m, map, size, why, sizeof why);
    if (rc) {
        munmap(map, size);
        return mnv_error(err, errlen, rc, "%s: %s", path, why);
    }
    m->mapped = 1;
    return 0;
}

/* The schema's BuiltinOperator names, by code. */
static const char *const op_names[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
    "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN",
    "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG",
    "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
    "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
    "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
    "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
    "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
    "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
    "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM",
    "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN",
    "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD",
    "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE",
    "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION",
    "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND",
    "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE",
    "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL",
    "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER",
    "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW",
};

const char *tfl_op_name(int builtin, char *buf, size_t buflen)
{
    if (builtin >= 0 && (size_t)builtin < sizeof op_names / sizeof *op_names)
        return op_names[builtin];
    snprintf(buf, buflen, "op#%d", builtin);
    return buf;
}

static const char *const type_names[] = {
    "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
    "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
};

const char *tfl_type_name(int type, char *buf, size_t buflen)
{
    if (type >= 0 && (size_t)type < sizeof type_names / sizeof *type_names)
        return type_names[type];
    snprintf(buf, buflen, "type#%d", type);
    return buf;
}
