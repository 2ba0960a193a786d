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
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3, OP_OPTIONS = 4, OP_CUSTOM_OPTIONS = 5 };

typedef struct fb {
    const uint8_t *b;
    size_t n;
    char *err;
    size_t errlen;
} fb;

typedef struct table {
    size_t pos;               /* the table's start (its soffset to the vtable) */
    size_t vt;                /* the vtable */
    size_t vt_size, size;     /* vtable bytes, table bytes */
} table;

static int corrupt(fb *f, const char *what, long a, long b)
{
    char msg[160];
    snprintf(msg, sizeof msg, what, a, b);
    return mnv_error(f->err, f->errlen, MNV_EFORMAT, "truncated or corrupt: %s", msg);
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

static uint16_t rd_u16(const fb *f, size_t pos)
{
    uint16_t v;
    memcpy(&v, f->b + pos, 2);
    return v;
}

/* Follow the uoffset stored at pos. */
static int follow(fb *f, size_t pos, size_t *target)
{
    *target = 0;
    if (!has(f, pos, 4))
        return corrupt(f, "offset at %ld past the end of %ld bytes", (long)pos, (long)f->n);
    size_t t = pos + rd_u32(f, pos);
    if (t < pos || t >= f->n)
        return corrupt(f, "offset at %ld points past the end (%ld)", (long)pos, (long)t);
    *target = t;
    return 0;
}

static int open_table(fb *f, size_t pos, table *t)
{
    if (!has(f, pos, 4))
        return corrupt(f, "table at %ld past the end of %ld bytes", (long)pos, (long)f->n);
    int32_t soff;
    memcpy(&soff, f->b + pos, 4);
    long long vt = (long long)pos - soff;
    if (vt < 0 || !has(f, (size_t)vt, 4))
        return corrupt(f, "vtable of table at %ld out of range (%ld)", (long)pos, (long)vt);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_size = rd_u16(f, t->vt);
    t->size = rd_u16(f, t->vt + 2);
    if (t->vt_size < 4 || (t->vt_size & 1) || !has(f, t->vt, t->vt_size))
        return corrupt(f, "vtable at %ld has bad size %ld", (long)t->vt, (long)t->vt_size);
    if (t->size < 4 || !has(f, pos, t->size))
        return corrupt(f, "table at %ld has bad size %ld", (long)pos, (long)t->size);
    return 0;
}

/* Where field id of t lives (width bytes), 0 when absent; -1 on corruption. */
static long field(fb *f, const table *t, int id, size_t width)
{
    size_t slot = 4 + 2 * (size_t)id;
    if (slot + 2 > t->vt_size)
        return 0;
    size_t off = rd_u16(f, t->vt + slot);
    if (off == 0)
        return 0;
    if (off < 4 || off + width > t->size)
        return corrupt(f, "field %ld of table at %ld lies outside it", id, (long)t->pos), -1;
    return (long)(t->pos + off);
}

static int get_i32(fb *f, const table *t, int id, int32_t def, int32_t *out)
{
    long p = field(f, t, id, 4);
    if (p < 0)
        return MNV_EFORMAT;
    if (p == 0) {
        *out = def;
    } else {
        uint32_t u = rd_u32(f, (size_t)p);
        memcpy(out, &u, 4);
    }
    return 0;
}

static int get_u64(fb *f, const table *t, int id, uint64_t *out)
{
    long p = field(f, t, id, 8);
    if (p < 0)
        return MNV_EFORMAT;
    *out = 0;
    if (p)
        memcpy(out, f->b + p, 8);
    return 0;
}

static int get_i8(fb *f, const table *t, int id, int def, int *out)
{
    long p = field(f, t, id, 1);
    if (p < 0)
        return MNV_EFORMAT;
    *out = p ? (int)(int8_t)f->b[p] : def;
    return 0;
}

static int get_u8(fb *f, const table *t, int id, int def, int *out)
{
    long p = field(f, t, id, 1);
    if (p < 0)
        return MNV_EFORMAT;
    *out = p ? (int)f->b[p] : def;
    return 0;
}

static int get_f32(fb *f, const table *t, int id, float def, float *out)
{
    long p = field(f, t, id, 4);
    if (p < 0)
        return MNV_EFORMAT;
    if (p == 0)
        *out = def;
    else
        memcpy(out, f->b + p, 4);
    return 0;
}

/* A vector field: *count elements of elem bytes at *data; count 0 when the
 * field is absent. */
static int get_vector(fb *f, const table *t, int id, size_t elem, uint32_t *count, size_t *data)
{
    *count = 0;
    *data = 0;
    long p = field(f, t, id, 4);
    if (p < 0)
        return MNV_EFORMAT;
    if (p == 0)
        return 0;
    size_t v = 0;
    if (follow(f, (size_t)p, &v))
        return MNV_EFORMAT;
    if (!has(f, v, 4))
        return corrupt(f, "vector at %ld past the end (%ld bytes)", (long)v, (long)f->n);
    uint32_t len = rd_u32(f, v);
    if ((f->n - v - 4) / elem < len)
        return corrupt(f, "vector at %ld claims %ld elements, past the end", (long)v, (long)len);
    *count = len;
    *data = v + 4;
    return 0;
}

static int get_subtable(fb *f, const table *t, int id, table *sub, int *present)
{
    *present = 0;
    long p = field(f, t, id, 4);
    if (p < 0)
        return MNV_EFORMAT;
    if (p == 0)
        return 0;
    size_t target = 0;
    if (follow(f, (size_t)p, &target) || open_table(f, target, sub))
        return MNV_EFORMAT;
    *present = 1;
    return 0;
}

/* Element i of a vector of tables starting at data. */
static int vector_table(fb *f, size_t data, uint32_t i, table *out)
{
    size_t target = 0;
    if (follow(f, data + 4 * (size_t)i, &target))
        return MNV_EFORMAT;
    return open_table(f, target, out);
}

/* A string field copied NUL-terminated ("" when absent). */
static int get_string(fb *f, const table *t, int id, char **out)
{
    uint32_t len;
    size_t data;
    *out = NULL;
    if (get_vector(f, t, id, 1, &len, &data))
        return MNV_EFORMAT;
    if (len > 0 && (!has(f, data, (size_t)len + 1) || f->b[data + len] != 0))
        return corrupt(f, "string at %ld (%ld bytes) is not terminated", (long)data, (long)len);
    *out = malloc((size_t)len + 1);
    if (!*out)
        return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    if (len)
        memcpy(*out, f->b + data, len);
    (*out)[len] = 0;
    return 0;
}

/* A vector of int32 tensor indices, each in [lo, n_tensors). */
static int get_indices(fb *f, const table *t, int id, int lo, int n_tensors, int **out, int *count,
                       const char *what, int owner)
{
    uint32_t len;
    size_t data;
    *out = NULL;
    *count = 0;
    if (get_vector(f, t, id, 4, &len, &data))
        return MNV_EFORMAT;
    *out = malloc(len ? len * sizeof(int) : sizeof(int));
    if (!*out)
        return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < len; i++) {
        int32_t v;
        uint32_t u = rd_u32(f, data + 4 * (size_t)i);
        memcpy(&v, &u, 4);
        if (v < lo || v >= n_tensors) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s %d: tensor index %d out of range (%d tensors)", what, owner,
                     (int)v, n_tensors);
            free(*out);
            *out = NULL;
            return mnv_error(f->err, f->errlen, MNV_EFORMAT, "truncated or corrupt: %s", msg);
        }
        (*out)[i] = v;
    }
    *count = (int)len;
    return 0;
}

static size_t type_size(int type)
{
    switch (type) {
    case TFL_TYPE_FLOAT32: case TFL_TYPE_INT32: case 15 /* UINT32 */: return 4;
    case TFL_TYPE_FLOAT16: case 7 /* INT16 */: case 16 /* UINT16 */: return 2;
    case TFL_TYPE_UINT8: case TFL_TYPE_INT8: case 6 /* BOOL */: return 1;
    case TFL_TYPE_INT64: case 10 /* FLOAT64 */: case 12 /* UINT64 */: case 8 /* COMPLEX64 */: return 8;
    default: return 0; /* strings, resources, 4-bit: size not checked */
    }
}

typedef struct buffer_ref { const uint8_t *data; size_t size; } buffer_ref;

static int read_buffers(fb *f, const table *model, buffer_ref **out, uint32_t *count)
{
    size_t data;
    *out = NULL;
    if (get_vector(f, model, MODEL_BUFFERS, 4, count, &data))
        return MNV_EFORMAT;
    *out = calloc(*count ? *count : 1, sizeof **out);
    if (!*out)
        return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < *count; i++) {
        table bt;
        uint32_t len;
        size_t bytes;
        uint64_t off, size;
        if (vector_table(f, data, i, &bt) || get_vector(f, &bt, BUFFER_DATA, 1, &len, &bytes) ||
            get_u64(f, &bt, BUFFER_OFFSET, &off) || get_u64(f, &bt, BUFFER_SIZE, &size))
            return MNV_EFORMAT;
        if (len) {
            (*out)[i] = (buffer_ref){f->b + bytes, len};
        } else if (off > 1 && size > 0) {
            /* large models keep data after the flatbuffer, at file offsets */
            if (off > f->n || size > f->n - off)
                return corrupt(f, "buffer %ld lies outside the file (offset %ld)", (long)i, (long)off);
            (*out)[i] = (buffer_ref){f->b + off, (size_t)size};
        }
    }
    return 0;
}

static int read_tensor(fb *f, const table *tt, int index, const buffer_ref *bufs, uint32_t n_bufs,
                       tfl_tensor *t)
{
    uint32_t rank;
    size_t shape;
    int32_t buffer;
    if (get_vector(f, tt, TENSOR_SHAPE, 4, &rank, &shape) || get_i8(f, tt, TENSOR_TYPE, 0, &t->type) ||
        get_i32(f, tt, TENSOR_BUFFER, 0, &buffer) || get_string(f, tt, TENSOR_NAME, &t->name))
        return MNV_EFORMAT;
    if (rank > TFL_MAX_RANK)
        return corrupt(f, "tensor %ld has rank %ld", index, (long)rank);
    t->rank = (int)rank;
    size_t elems = 1;
    for (uint32_t d = 0; d < rank; d++) {
        int32_t v;
        uint32_t u = rd_u32(f, shape + 4 * (size_t)d);
        memcpy(&v, &u, 4);
        if (v < 0)
            return corrupt(f, "tensor %ld has a negative dimension %ld", index, (long)v);
        t->shape[d] = v;
        if (v && elems > SIZE_MAX / 8 / (size_t)v)
            return corrupt(f, "tensor %ld is impossibly large", index, 0);
        elems *= (size_t)v;
    }
    if ((uint32_t)buffer >= n_bufs && !(buffer == 0 && n_bufs == 0))
        return corrupt(f, "tensor %ld buffer index %ld out of range", index, (long)(uint32_t)buffer);
    if (n_bufs && bufs[buffer].size) {
        size_t es = type_size(t->type);
        if (es && bufs[buffer].size != elems * es) {
            char msg[160];
            snprintf(msg, sizeof msg, "tensor %d ('%s') holds %zu bytes, its shape needs %zu", index,
                     t->name, bufs[buffer].size, elems * es);
            return mnv_error(f->err, f->errlen, MNV_EFORMAT, "truncated or corrupt: %s", msg);
        }
        t->data = bufs[buffer].data;
        t->size = bufs[buffer].size;
    }
    return 0;
}

static int read_options(fb *f, const table *ot, tfl_op *op)
{
    switch (op->builtin) {
    case TFL_OP_CONV_2D:
        return get_i8(f, ot, 0, 0, &op->padding) || get_i32(f, ot, 1, 0, &op->stride_w) ||
               get_i32(f, ot, 2, 0, &op->stride_h) || get_i8(f, ot, 3, 0, &op->activation) ||
               get_i32(f, ot, 4, 1, &op->dilation_w) || get_i32(f, ot, 5, 1, &op->dilation_h);
    case TFL_OP_DEPTHWISE_CONV_2D:
        return get_i8(f, ot, 0, 0, &op->padding) || get_i32(f, ot, 1, 0, &op->stride_w) ||
               get_i32(f, ot, 2, 0, &op->stride_h) || get_i32(f, ot, 3, 0, &op->depth_multiplier) ||
               get_i8(f, ot, 4, 0, &op->activation) || get_i32(f, ot, 5, 1, &op->dilation_w) ||
               get_i32(f, ot, 6, 1, &op->dilation_h);
    case TFL_OP_ADD:
        return get_i8(f, ot, 0, 0, &op->activation);
    case TFL_OP_CONCATENATION:
        return get_i32(f, ot, 0, 0, &op->axis) || get_i8(f, ot, 1, 0, &op->activation);
    case TFL_OP_SOFTMAX:
        return get_f32(f, ot, 0, 1.0f, &op->beta);
    default:
        return 0;
    }
}

typedef struct opcode { int builtin, version; char *custom; } opcode;

static int read_operator(fb *f, const table *ot, int index, const opcode *codes, uint32_t n_codes,
                         int n_tensors, tfl_op *op)
{
    int32_t code;
    if (get_i32(f, ot, OP_OPCODE, 0, &code))
        return MNV_EFORMAT;
    if (code < 0 || (uint32_t)code >= n_codes)
        return corrupt(f, "operator %ld opcode index %ld out of range", index, (long)code);
    op->builtin = codes[code].builtin;
    op->version = codes[code].version;
    op->stride_w = op->stride_h = 1;
    op->dilation_w = op->dilation_h = 1;
    op->depth_multiplier = 1;
    op->beta = 1.0f;
    if (codes[code].custom) {
        op->custom_code = malloc(strlen(codes[code].custom) + 1);
        if (!op->custom_code)
            return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
        strcpy(op->custom_code, codes[code].custom);
    }
    if (get_indices(f, ot, OP_INPUTS, -1, n_tensors, &op->inputs, &op->n_inputs, "operator", index) ||
        get_indices(f, ot, OP_OUTPUTS, 0, n_tensors, &op->outputs, &op->n_outputs, "operator", index))
        return MNV_EFORMAT;
    table opt;
    int present, type;
    if (get_u8(f, ot, OP_OPTIONS_TYPE, 0, &type) || get_subtable(f, ot, OP_OPTIONS, &opt, &present))
        return MNV_EFORMAT;
    if (present && read_options(f, &opt, op))
        return MNV_EFORMAT;
    uint32_t clen;
    size_t cdata;
    if (get_vector(f, ot, OP_CUSTOM_OPTIONS, 1, &clen, &cdata))
        return MNV_EFORMAT;
    if (clen) {
        op->custom_options = f->b + cdata;
        op->custom_options_size = clen;
    }
    return 0;
}

static int read_opcodes(fb *f, const table *model, opcode **out, uint32_t *count)
{
    size_t data;
    *out = NULL;
    if (get_vector(f, model, MODEL_OPCODES, 4, count, &data))
        return MNV_EFORMAT;
    *out = calloc(*count ? *count : 1, sizeof **out);
    if (!*out)
        return mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < *count; i++) {
        table ct;
        int dep;
        int32_t builtin, version;
        opcode *c = &(*out)[i];
        if (vector_table(f, data, i, &ct) || get_i8(f, &ct, OPCODE_DEPRECATED, 0, &dep) ||
            get_i32(f, &ct, OPCODE_BUILTIN, 0, &builtin) || get_i32(f, &ct, OPCODE_VERSION, 1, &version))
            return MNV_EFORMAT;
        /* Codes past 127 live only in builtin_code; older files only fill
         * the deprecated byte. The schema says to take the larger. */
        c->builtin = dep > builtin ? dep : builtin;
        c->version = version;
        if (c->builtin == TFL_OP_CUSTOM && get_string(f, &ct, OPCODE_CUSTOM, &c->custom))
            return MNV_EFORMAT;
    }
    return 0;
}

static void free_opcodes(opcode *codes, uint32_t n)
{
    for (uint32_t i = 0; codes && i < n; i++)
        free(codes[i].custom);
    free(codes);
}

static int parse(tfl_model *m, fb *f)
{
    if (f->n < 8)
        return mnv_error(f->err, f->errlen, MNV_EFORMAT, "not a TFLite file (%zu bytes)", f->n);
    if (memcmp(f->b + 4, "TFL3", 4) != 0)
        return mnv_error(f->err, f->errlen, MNV_EFORMAT, "not a TFLite file (no TFL3 identifier)");
    size_t root = 0;
    table model, sg;
    if (follow(f, 0, &root) || open_table(f, root, &model))
        return MNV_EFORMAT;

    opcode *codes = NULL;
    buffer_ref *bufs = NULL;
    uint32_t n_codes = 0, n_bufs = 0, n_sg, n;
    size_t data;
    int rc = read_opcodes(f, &model, &codes, &n_codes);
    if (!rc)
        rc = read_buffers(f, &model, &bufs, &n_bufs);
    if (!rc)
        rc = get_vector(f, &model, MODEL_SUBGRAPHS, 4, &n_sg, &data);
    if (!rc && n_sg == 0)
        rc = mnv_error(f->err, f->errlen, MNV_EFORMAT, "the model has no subgraph");
    if (!rc)
        rc = vector_table(f, data, 0, &sg);

    if (!rc)
        rc = get_vector(f, &sg, SG_TENSORS, 4, &n, &data);
    if (!rc && n > (1u << 24))
        rc = corrupt(f, "%ld tensors", (long)n, 0);
    if (!rc) {
        m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
        m->n_tensors = (int)n;
        if (!m->tensors)
            rc = mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; !rc && i < n; i++) {
        table tt;
        rc = vector_table(f, data, i, &tt);
        if (!rc)
            rc = read_tensor(f, &tt, (int)i, bufs, n_bufs, &m->tensors[i]);
    }
    if (!rc)
        rc = get_indices(f, &sg, SG_INPUTS, 0, m->n_tensors, &m->inputs, &m->n_inputs, "graph input", 0);
    if (!rc)
        rc = get_indices(f, &sg, SG_OUTPUTS, 0, m->n_tensors, &m->outputs, &m->n_outputs, "graph output", 0);
    if (!rc)
        rc = get_vector(f, &sg, SG_OPERATORS, 4, &n, &data);
    if (!rc && n > (1u << 24))
        rc = corrupt(f, "%ld operators", (long)n, 0);
    if (!rc) {
        m->ops = calloc(n ? n : 1, sizeof *m->ops);
        m->n_ops = (int)n;
        if (!m->ops)
            rc = mnv_error(f->err, f->errlen, MNV_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; !rc && i < n; i++) {
        table ot;
        rc = vector_table(f, data, i, &ot);
        if (!rc)
            rc = read_operator(f, &ot, (int)i, codes, n_codes, m->n_tensors, &m->ops[i]);
    }
    free_opcodes(codes, n_codes);
    free(bufs);
    return rc ? (rc < 0 ? rc : MNV_EFORMAT) : 0;
}

void tfl_close(tfl_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->tensors && i < m->n_tensors; i++)
        free(m->tensors[i].name);
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
    fb f = {buf, size, err, errlen};
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
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return mnv_error(err, errlen, MNV_EIO, "%s: cannot map: %s", path, strerror(e));
    char why[256] = "";
    int rc = tfl_parse(m, map, (size_t)st.st_size, why, sizeof why);
    if (rc) {
        munmap(map, (size_t)st.st_size);
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
