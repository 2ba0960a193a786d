/*
 * The network: a TFLite graph imported once into a flat list of layers that
 * run in order over one planned activation arena.
 *
 * Import maps TFLite operators onto our own layer kinds:
 *   CONV_2D, DEPTHWISE_CONV_2D -> LAYER_CONV (a conv_kernel chosen per layer,
 *                                  weights packed once)
 *   ADD                        -> fused into the preceding conv as its residual
 *                                  when that conv feeds only the add, else LAYER_ADD
 *   DEQUANTIZE                 -> done at load (float16 constants to float32)
 *   RESHAPE                    -> no layer: the output aliases the input's bytes
 *                                  (NHWC is contiguous, so a reshape is free)
 *   CONCATENATION              -> LAYER_CONCAT (block copies)
 *   LOGISTIC, RELU, RELU6      -> elementwise layers
 * and rejects everything else with the operator's name and index. An
 * operator whose input is int8 or uint8 becomes the int8 layer of the same
 * kind (net_q8.c: LAYER_QCONV, ...; ADD stays a layer of its own, RELU and
 * RELU6 only fused); QUANTIZE and DEQUANTIZE of computed tensors become
 * layers, and so do the quantization of an int8 graph input from the float
 * input store and the dequantization of int8 outputs.
 *
 * The input file is unmapped once the layers hold their packed weights, so a
 * loaded network owns nothing but the arena, the packed weights and names.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backbone/backbone.h"
#include "backbone/net_internal.h"

/* Sides, strides and kernel extents beyond this are refused: far beyond any
 * model, and it keeps the kernels' int index arithmetic (a side plus a
 * stride plus a padding) from overflowing. */
#define MAX_GEOMETRY (1 << 24)

static void *xcalloc(size_t n, size_t size)
{
    return n ? calloc(n, size) : calloc(1, 1);
}

static char *xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

static const char *op_name(const tfl_op *op, char *buf, size_t len)
{
    return tfl_op_name(op->builtin, buf, len);
}

int imp_bad_type(importer *im, int t, int opi)
{
    char b1[32], b2[32];
    const tfl_tensor *tt = &im->m->tensors[t];
    return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                     "%s: tensor '%s' (index %d) of %s at index %d has unsupported type %s",
                     im->path, tt->name, t, op_name(&im->m->ops[opi], b1, sizeof b1), opi,
                     tfl_type_name(tt->type, b2, sizeof b2));
}

int imp_bad_shape(importer *im, int opi, const char *what)
{
    char b[32];
    return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: %s at index %d: %s", im->path,
                     op_name(&im->m->ops[opi], b, sizeof b), opi, what);
}

int imp_no_memory(importer *im)
{
    return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
}

/* what (e.g. "tensor 'x'") would take bytes, over the memory cap. */
static int over_limit(importer *im, const char *what, const char *name, size_t bytes)
{
    return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                     "%s: %s%s needs %zu MiB, more than the memory limit of %zu MiB", im->path, what, name,
                     mnv_mib(bytes), mnv_mib(im->max_memory));
}

/* A computed tensor of elem_size bytes per element must fit the kernels'
 * int indices and the memory cap (the reader already made sure elems * 16
 * fits in a size_t). */
static int check_tensor_size(importer *im, const tfl_tensor *t, size_t elem_size)
{
    size_t elems = tensor_elems(t);
    if (elems * elem_size > im->max_memory) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%.60s'", t->name);
        return over_limit(im, "tensor ", quoted, elems * elem_size);
    }
    if (elems > 0x7fffffff)
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                         "%s: tensor '%s' has %zu elements, more than the kernels index (2^31 - 1)", im->path,
                         t->name, elems);
    return 0;
}

/* The float32 contents of a constant tensor (float32 in the file, made by
 * a DEQUANTIZE at load, or an int8 or uint8 one dequantized: the anchors of
 * quantized detection models), copied to aligned memory because the file
 * gives no alignment guarantee. NULL with an error set when t is not such a
 * constant. */
static const float *const_f32(importer *im, int t, int opi)
{
    if (t < 0)
        return NULL;
    if (im->constf[t])
        return im->constf[t];
    const tfl_tensor *tt = &im->m->tensors[t];
    if (!tt->data) {
        imp_bad_shape(im, opi, "expects a constant weight or bias tensor");
        return NULL;
    }
    if (q8_type(tt->type))
        return im->constf[t] = q8_dequantize_const(im, t, opi);
    if (tt->type != TFL_TYPE_FLOAT32) {
        imp_bad_type(im, t, opi);
        return NULL;
    }
    size_t e = tensor_elems(tt);
    float *f = malloc(e ? e * sizeof *f : 1);
    if (!f) {
        imp_no_memory(im);
        return NULL;
    }
    memcpy(f, tt->data, e * sizeof *f);
    im->constf[t] = f;
    return f;
}

int imp_is_activation(importer *im, int t)
{
    return t >= 0 && im->tensor_store[t] >= 0;
}

static int check_activation(importer *im, int t, int opi)
{
    if (t < 0 || !imp_is_activation(im, t))
        return imp_bad_shape(im, opi, "input is not computed by an earlier operator");
    if (im->m->tensors[t].type != TFL_TYPE_FLOAT32)
        return imp_bad_type(im, t, opi);
    return 0;
}

/* 1 when operator opi runs as int8: its first input is int8 or uint8. */
static int op_is_q8(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    return op->n_inputs > 0 && op->inputs[0] >= 0 && q8_type(im->m->tensors[op->inputs[0]].type);
}

/* check_activation, or its int8 counterpart for an int8 operator. */
static int check_input(importer *im, int t, int q8, int opi)
{
    qparams unused;
    return q8 ? q8_activation(im, t, opi, &unused) : check_activation(im, t, opi);
}

static int new_store(importer *im, int type, size_t bytes, int step)
{
    net *n = im->n;
    if (n->n_stores == im->cap_stores) {
        int cap = im->cap_stores ? im->cap_stores * 2 : 64;
        store *s = realloc(n->stores, (size_t)cap * sizeof *s);
        if (!s)
            return -1;
        n->stores = s;
        im->cap_stores = cap;
    }
    n->stores[n->n_stores] = (store){type, bytes, step, step, 0};
    return n->n_stores++;
}

layer *imp_new_layer(importer *im, enum layer_kind kind, int out_tensor, int opi)
{
    const int type = im->m->tensors[out_tensor].type;
    if (layer_writes_int8(kind) ? !q8_type(type) : type != TFL_TYPE_FLOAT32) {
        im->layer_error = imp_bad_type(im, out_tensor, opi);
        return NULL;
    }
    return imp_add_layer(im, kind, out_tensor, layer_writes_int8(kind) ? TFL_TYPE_INT8 : TFL_TYPE_FLOAT32);
}

layer *imp_add_layer(importer *im, enum layer_kind kind, int out_tensor, int store_type)
{
    net *n = im->n;
    if (n->n_layers == im->cap_layers) {
        int cap = im->cap_layers ? im->cap_layers * 2 : 64;
        layer *l = realloc(n->layers, (size_t)cap * sizeof *l);
        if (!l) {
            im->layer_error = mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
            return NULL;
        }
        n->layers = l;
        im->cap_layers = cap;
    }
    const tfl_tensor *t = &im->m->tensors[out_tensor];
    const size_t elem_size = store_type == TFL_TYPE_INT8 ? 1 : sizeof(float);
    if ((im->layer_error = check_tensor_size(im, t, elem_size)) != 0)
        return NULL;
    int s = new_store(im, store_type, tensor_elems(t) * elem_size, n->n_layers);
    layer *l = &n->layers[n->n_layers];
    memset(l, 0, sizeof *l);
    l->name = xstrdup(t->name);
    if (s < 0 || !l->name) {
        free(l->name);
        im->layer_error = mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
        return NULL;
    }
    l->kind = kind;
    l->role = ROLE_OTHER;
    l->tensor = out_tensor;
    l->out = s;
    l->in0 = l->in1 = -1;
    l->count = tensor_elems(t);
    im->tensor_store[out_tensor] = s;
    im->tensor_layer[out_tensor] = n->n_layers;
    n->n_layers++;
    return l;
}

/* A layer reads store s: keep s alive until this step. */
void imp_use_store(importer *im, int s)
{
    if (s >= 0 && im->n->stores[s].last < im->n->n_layers - 1)
        im->n->stores[s].last = im->n->n_layers - 1;
}

int imp_map_act(importer *im, int opi, int fused, act_kind *out)
{
    switch (fused) {
    case TFL_ACT_NONE: *out = ACT_NONE; return 0;
    case TFL_ACT_RELU: *out = ACT_RELU; return 0;
    case TFL_ACT_RELU6: *out = ACT_RELU6; return 0;
    default: {
        char b[32];
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                         "%s: %s at index %d: unsupported fused activation %d", im->path,
                         op_name(&im->m->ops[opi], b, sizeof b), opi, fused);
    }
    }
}

static int import_dequantize(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs < 1 || op->n_outputs < 1 || op->inputs[0] < 0)
        return imp_bad_shape(im, opi, "needs one input and one output");
    int ti = op->inputs[0], to = op->outputs[0];
    const tfl_tensor *a = &im->m->tensors[ti], *b = &im->m->tensors[to];
    if (!a->data)
        return q8_import_dequantize(im, opi);
    if (a->type != TFL_TYPE_FLOAT16 && !q8_type(a->type))
        return imp_bad_type(im, ti, opi);
    if (b->type != TFL_TYPE_FLOAT32)
        return imp_bad_type(im, to, opi);
    size_t e = tensor_elems(a);
    if (tensor_elems(b) != e)
        return imp_bad_shape(im, opi, "input and output sizes differ");
    float *f = q8_type(a->type) ? q8_dequantize_const(im, ti, opi) : malloc(e ? e * sizeof *f : 1);
    if (!f)
        return q8_type(a->type) ? im->layer_error : imp_no_memory(im);
    for (size_t i = 0; i < e && a->type == TFL_TYPE_FLOAT16; i++) {
        uint16_t h;
        memcpy(&h, a->data + 2 * i, 2);
        f[i] = fp16_to_f32(h);
    }
    free(im->constf[to]);
    im->constf[to] = f;
    return 0;
}

/* Choose the layer's kernel and pack its weights now, so that the float
 * copies of the file's weights can go at once: load-time memory then peaks
 * near the packed size instead of twice it. */
static int pack_layer(importer *im, layer *l, const float *w, const float *bias)
{
    l->kernel = conv_kernel_choose(&l->desc, im->max_isa);
    if (!l->kernel)
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: no kernel for layer '%s'", im->path, l->name);
    int rc = imp_alloc_weights(im, l->kernel->packed_size(&l->desc), &l->packed);
    if (rc)
        return rc;
    l->kernel->pack(&l->desc, w, bias, l->packed);
    return 0;
}

int imp_alloc_weights(importer *im, size_t bytes, void **out)
{
    bytes = (bytes + 63) & ~(size_t)63;
    *out = NULL;
    if (bytes > im->max_memory - im->n->weight_bytes)
        return over_limit(im, "packing the weights", "", im->n->weight_bytes + bytes);
    *out = aligned_alloc(64, bytes ? bytes : 64);
    if (!*out)
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory for weights", im->path);
    im->n->weight_bytes += bytes;
    return 0;
}

/* One reader of constant t is done with it; free its float copy after the last. */
static void release_const(importer *im, int t)
{
    if (--im->tensor_uses[t] <= 0) {
        free(im->constf[t]);
        im->constf[t] = NULL;
    }
}

static int import_conv(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    int dw = op->builtin == TFL_OP_DEPTHWISE_CONV_2D;
    if (op->n_inputs < 2 || op->n_outputs < 1)
        return imp_bad_shape(im, opi, "needs input, weights and output");
    int ti = op->inputs[0], tw = op->inputs[1], tb = op->n_inputs > 2 ? op->inputs[2] : -1;
    int to = op->outputs[0];
    const int q8 = op_is_q8(im, opi);
    int rc = check_input(im, ti, q8, opi);
    if (rc)
        return rc;
    if (tw < 0) /* an absent optional input (-1) where the weights belong */
        return imp_bad_shape(im, opi, "expects a constant weight or bias tensor");
    const tfl_tensor *in = &im->m->tensors[ti], *w = &im->m->tensors[tw], *out = &im->m->tensors[to];
    if (!q8 && !im->constf[tw] && w->type != TFL_TYPE_FLOAT32)
        return imp_bad_type(im, tw, opi);
    if (!q8 && tb >= 0 && !im->constf[tb] && im->m->tensors[tb].type != TFL_TYPE_FLOAT32)
        return imp_bad_type(im, tb, opi);
    if (in->rank != 4 || in->shape[0] != 1)
        return imp_bad_shape(im, opi, "input must be 1xHxWxC");
    if (w->rank != 4)
        return imp_bad_shape(im, opi, "weights must have rank 4");
    conv_desc d = {0};
    d.in_h = in->shape[1], d.in_w = in->shape[2], d.in_c = in->shape[3];
    d.k_h = w->shape[1], d.k_w = w->shape[2];
    d.stride_h = op->stride_h, d.stride_w = op->stride_w;
    d.dil_h = op->dilation_h, d.dil_w = op->dilation_w;
    if (d.stride_h < 1 || d.stride_w < 1 || d.dil_h < 1 || d.dil_w < 1 || d.k_h < 1 || d.k_w < 1)
        return imp_bad_shape(im, opi, "stride, dilation and kernel size must be positive");
    if (d.in_h > MAX_GEOMETRY || d.in_w > MAX_GEOMETRY || d.stride_h > MAX_GEOMETRY ||
        d.stride_w > MAX_GEOMETRY || (long long)(d.k_h - 1) * d.dil_h >= MAX_GEOMETRY ||
        (long long)(d.k_w - 1) * d.dil_w >= MAX_GEOMETRY)
        return imp_bad_shape(im, opi, "a side, stride or dilated kernel larger than 16777216");
    if (op->padding != TFL_PAD_SAME && op->padding != TFL_PAD_VALID)
        return imp_bad_shape(im, opi, "unknown padding");
    if (dw) {
        d.depthwise = 1;
        d.depth_multiplier = op->depth_multiplier > 0 ? op->depth_multiplier : 1;
        d.out_c = w->shape[3];
        if (w->shape[0] != 1 || (long long)d.out_c != (long long)d.in_c * d.depth_multiplier)
            return imp_bad_shape(im, opi, "depthwise weights must be 1xKHxKWx(C*multiplier)");
    } else {
        d.out_c = w->shape[0];
        if (w->shape[3] != d.in_c)
            return imp_bad_shape(im, opi, "weights' input channels differ from the input's");
    }
    d.out_h = conv_out_size(d.in_h, d.k_h, d.stride_h, d.dil_h, op->padding);
    d.out_w = conv_out_size(d.in_w, d.k_w, d.stride_w, d.dil_w, op->padding);
    d.pad_top = conv_pad_before(d.in_h, d.k_h, d.stride_h, d.dil_h, op->padding);
    d.pad_left = conv_pad_before(d.in_w, d.k_w, d.stride_w, d.dil_w, op->padding);
    if (out->rank != 4 || out->shape[0] != 1 || out->shape[1] != d.out_h ||
        out->shape[2] != d.out_w || out->shape[3] != d.out_c)
        return imp_bad_shape(im, opi, "output shape does not match the convolution's");
    if (d.out_h < 1 || d.out_w < 1 || d.out_c < 1 || d.in_c < 1)
        return imp_bad_shape(im, opi, "empty tensor");
    if (tb >= 0) {
        const tfl_tensor *b = &im->m->tensors[tb];
        if (b->rank != 1 || b->shape[0] != d.out_c)
            return imp_bad_shape(im, opi, "bias must have one value per output channel");
    }
    rc = imp_map_act(im, opi, op->activation, &d.act);
    if (rc)
        return rc;
    const float *wf = q8 ? NULL : const_f32(im, tw, opi);
    const float *bf = !q8 && tb >= 0 ? const_f32(im, tb, opi) : NULL;
    if (!q8 && (!wf || (tb >= 0 && !bf)))
        return MNV_EUNSUPPORTED;

    int in_store = im->tensor_store[ti];
    layer *l = imp_new_layer(im, q8 ? LAYER_QCONV : LAYER_CONV, to, opi);
    if (!l)
        return im->layer_error;
    l->in0 = in_store;
    imp_use_store(im, in_store);
    l->desc = d;
    l->act = d.act;
    if (q8) {
        if ((rc = q8_conv_layer(im, l, opi, ti, tw, tb, to)) != 0)
            return rc;
    } else {
        if ((rc = pack_layer(im, l, wf, bf)) != 0)
            return rc;
        release_const(im, tw);
        if (tb >= 0)
            release_const(im, tb);
    }
    l->macs = (double)d.out_h * d.out_w * d.out_c * d.k_h * d.k_w * (dw ? 1 : d.in_c);
    return 0;
}

/* ADD of a conv's output that nothing else reads, with no activation of its
 * own: the conv adds the other operand in its epilogue and writes the sum. */
static int try_fuse_add(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->activation != TFL_ACT_NONE)
        return 0;
    for (int k = 0; k < 2; k++) {
        int ta = op->inputs[k], tb = op->inputs[1 - k];
        int la = im->tensor_layer[ta];
        if (la < 0 || la != im->n->n_layers - 1 || im->tensor_uses[ta] != 1)
            continue;
        layer *l = &im->n->layers[la];
        if (l->kind != LAYER_CONV || l->in1 >= 0 || im->tensor_store[ta] != l->out)
            continue;
        int sb = im->tensor_store[tb];
        if (sb == l->out)
            continue;
        l->in1 = sb;
        imp_use_store(im, sb);
        /* the sum is the conv's output store, renamed */
        im->tensor_store[op->outputs[0]] = l->out;
        im->tensor_layer[op->outputs[0]] = la;
        l->tensor = op->outputs[0];
        free(l->name);
        l->name = xstrdup(im->m->tensors[op->outputs[0]].name);
        return l->name ? 1 : mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
    }
    return 0;
}

static int same_shape(const tfl_tensor *a, const tfl_tensor *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

static int import_add(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs != 2 || op->n_outputs < 1)
        return imp_bad_shape(im, opi, "needs two inputs");
    const int q8 = op_is_q8(im, opi);
    for (int k = 0; k < 2; k++) {
        int rc = check_input(im, op->inputs[k], q8, opi);
        if (rc)
            return rc;
    }
    const tfl_tensor *a = &im->m->tensors[op->inputs[0]], *b = &im->m->tensors[op->inputs[1]];
    if (!same_shape(a, b) || !same_shape(a, &im->m->tensors[op->outputs[0]]))
        return imp_bad_shape(im, opi, "broadcasting is not supported");
    act_kind act = ACT_NONE;
    int rc = imp_map_act(im, opi, op->activation, &act);
    if (rc)
        return rc;
    rc = q8 || im->keep_tensors ? 0 : try_fuse_add(im, opi);
    if (rc)
        return rc < 0 ? rc : 0;
    int s0 = im->tensor_store[op->inputs[0]], s1 = im->tensor_store[op->inputs[1]];
    layer *l = imp_new_layer(im, q8 ? LAYER_QADD : LAYER_ADD, op->outputs[0], opi);
    if (!l)
        return im->layer_error;
    l->in0 = s0, l->in1 = s1, l->act = act;
    imp_use_store(im, s0);
    imp_use_store(im, s1);
    return q8 ? q8_add_layer(im, l, opi, act) : 0;
}

static int import_reshape(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs < 1 || op->n_outputs < 1)
        return imp_bad_shape(im, opi, "needs an input and an output");
    int ti = op->inputs[0], to = op->outputs[0];
    const int q8 = op_is_q8(im, opi);
    int rc = check_input(im, ti, q8, opi);
    if (rc)
        return rc;
    if (q8) {
        /* a view: the same bytes must mean the same values */
        qparams a, b;
        if ((rc = q8_tensor_params(im, ti, opi, &a)) != 0 || (rc = q8_tensor_params(im, to, opi, &b)) != 0)
            return rc;
        if (a.scale != b.scale || a.zero_point != b.zero_point)
            return imp_bad_shape(im, opi, "input and output quantization parameters differ");
    } else if (im->m->tensors[to].type != TFL_TYPE_FLOAT32) {
        return imp_bad_type(im, to, opi);
    }
    if (tensor_elems(&im->m->tensors[ti]) != tensor_elems(&im->m->tensors[to]))
        return imp_bad_shape(im, opi, "element counts of input and output differ");
    im->tensor_store[to] = im->tensor_store[ti];
    im->tensor_layer[to] = im->tensor_layer[ti];
    return 0;
}

static int import_concat(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs < 1 || op->n_outputs < 1)
        return imp_bad_shape(im, opi, "needs inputs and an output");
    const tfl_tensor *out = &im->m->tensors[op->outputs[0]];
    int axis = op->axis < 0 ? op->axis + out->rank : op->axis;
    if (axis < 0 || axis >= out->rank)
        return imp_bad_shape(im, opi, "axis out of range");
    if (op->activation != TFL_ACT_NONE)
        return imp_bad_shape(im, opi, "fused activation on a concatenation is not supported");
    size_t outer = 1, inner_unit = 1;
    for (int i = 0; i < axis; i++)
        outer *= (size_t)out->shape[i];
    for (int i = axis + 1; i < out->rank; i++)
        inner_unit *= (size_t)out->shape[i];
    long sum = 0;
    const int q8 = op_is_q8(im, opi);
    for (int k = 0; k < op->n_inputs; k++) {
        int t = op->inputs[k];
        int rc = check_input(im, t, q8, opi);
        if (rc)
            return rc;
        const tfl_tensor *in = &im->m->tensors[t];
        if (in->rank != out->rank)
            return imp_bad_shape(im, opi, "inputs differ in rank");
        for (int i = 0; i < out->rank; i++)
            if (i != axis && in->shape[i] != out->shape[i])
                return imp_bad_shape(im, opi, "inputs differ outside the concatenation axis");
        sum += in->shape[axis];
    }
    if (sum != out->shape[axis])
        return imp_bad_shape(im, opi, "output size along the axis is not the sum of the inputs'");
    int *parts = malloc((size_t)op->n_inputs * sizeof *parts);
    size_t *inner = malloc((size_t)op->n_inputs * sizeof *inner);
    if (!parts || !inner) {
        free(parts), free(inner);
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
    }
    for (int k = 0; k < op->n_inputs; k++) {
        parts[k] = im->tensor_store[op->inputs[k]];
        inner[k] = (size_t)im->m->tensors[op->inputs[k]].shape[axis] * inner_unit;
    }
    layer *l = imp_new_layer(im, q8 ? LAYER_QCONCAT : LAYER_CONCAT, op->outputs[0], opi);
    if (!l) {
        free(parts), free(inner);
        return im->layer_error;
    }
    l->n_parts = op->n_inputs;
    l->parts = parts;
    l->part_inner = inner;
    l->outer = outer;
    l->out_inner = (size_t)out->shape[axis] * inner_unit;
    for (int k = 0; k < op->n_inputs; k++)
        imp_use_store(im, parts[k]);
    return q8 ? q8_concat_layer(im, l, opi) : 0;
}

static int import_elementwise(importer *im, int opi, enum layer_kind kind)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs < 1 || op->n_outputs < 1)
        return imp_bad_shape(im, opi, "needs an input and an output");
    /* of the int8 elementwise operators only LOGISTIC runs (by table) */
    const int q8 = kind == LAYER_LOGISTIC && op_is_q8(im, opi);
    int rc = check_input(im, op->inputs[0], q8, opi);
    if (rc)
        return rc;
    if (!same_shape(&im->m->tensors[op->inputs[0]], &im->m->tensors[op->outputs[0]]))
        return imp_bad_shape(im, opi, "input and output shapes differ");
    int s = im->tensor_store[op->inputs[0]];
    layer *l = imp_new_layer(im, q8 ? LAYER_QLOGISTIC : kind, op->outputs[0], opi);
    if (!l)
        return im->layer_error;
    l->in0 = s;
    imp_use_store(im, s);
    return q8 ? q8_logistic_layer(im, l, opi) : 0;
}

/* Options of TFLite_Detection_PostProcess, with TFLite's defaults for the
 * optional ones. */
static int read_postprocess_options(importer *im, const tfl_op *op, net_postprocess *p)
{
    static const struct { const char *key; int required; } keys[] = {
        {"max_detections", 1}, {"max_classes_per_detection", 1}, {"num_classes", 1},
        {"nms_score_threshold", 1}, {"nms_iou_threshold", 1}, {"y_scale", 1}, {"x_scale", 1},
        {"h_scale", 1}, {"w_scale", 1}, {"detections_per_class", 0}, {"use_regular_nms", 0},
    };
    double v[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (flexbuf_map_number(op->custom_options, op->custom_options_size, keys[k].key, &v[k]) != 0 &&
            keys[k].required)
            return mnv_error(im->err, im->errlen, MNV_EFORMAT,
                             "%s: TFLite_Detection_PostProcess: option '%s' missing or malformed",
                             im->path, keys[k].key);
    /* Written so that NaN fails every test: the counts become ints and the
     * rest floats, and a value outside their range would make that
     * conversion undefined. */
    int bad = 0;
    for (int k = 0; k < 11; k++) {
        int count = k <= 2 || k == 9;
        if (count ? !(v[k] >= 1 && v[k] <= 100000) : !(fabs(v[k]) <= FLT_MAX))
            bad = 1;
    }
    if (bad || !(v[4] >= 0 && v[4] <= 1) || !(v[5] > 0 && v[6] > 0 && v[7] > 0 && v[8] > 0))
        return mnv_error(im->err, im->errlen, MNV_EFORMAT,
                         "%s: TFLite_Detection_PostProcess: options out of range", im->path);
    p->max_detections = (int)v[0];
    p->max_classes_per_detection = (int)v[1];
    p->num_classes = (int)v[2];
    p->nms_score_threshold = (float)v[3];
    p->nms_iou_threshold = (float)v[4];
    p->scales[0] = (float)v[5], p->scales[1] = (float)v[6];
    p->scales[2] = (float)v[7], p->scales[3] = (float)v[8];
    p->detections_per_class = (int)v[9];
    p->use_regular_nms = v[10] != 0;
    return 0;
}

/* The network stops before this operator; remember its inputs, options and
 * anchors for the detection stage. */
static int import_detection_postprocess(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (im->n->has_post)
        return imp_bad_shape(im, opi, "a second TFLite_Detection_PostProcess");
    if (op->n_inputs != 3)
        return imp_bad_shape(im, opi, "TFLite_Detection_PostProcess needs boxes, scores and anchors");
    int tb = op->inputs[0], tc = op->inputs[1], ta = op->inputs[2];
    int rc;
    /* int8 boxes and scores are dequantized for the detection stage (finish) */
    if ((rc = check_input(im, tb, tb >= 0 && q8_type(im->m->tensors[tb].type), opi)) ||
        (rc = check_input(im, tc, tc >= 0 && q8_type(im->m->tensors[tc].type), opi)))
        return rc;
    if (ta < 0) /* absent (-1): found by fuzzing, it was read as tensor -1 */
        return imp_bad_shape(im, opi, "anchors must be a constant [N,4] tensor");
    const tfl_tensor *b = &im->m->tensors[tb], *c = &im->m->tensors[tc], *a = &im->m->tensors[ta];
    if (b->rank != 3 || b->shape[0] != 1 || b->shape[2] != 4 || c->rank != 3 || c->shape[0] != 1 ||
        c->shape[1] != b->shape[1])
        return imp_bad_shape(im, opi, "boxes must be [1,N,4] and scores [1,N,C]");
    if (a->rank != 2 || a->shape[0] != b->shape[1] || a->shape[1] != 4)
        return imp_bad_shape(im, opi, "anchors must be a constant [N,4] tensor");
    const float *af = const_f32(im, ta, opi);
    if (!af)
        return MNV_EUNSUPPORTED;
    net_postprocess *p = &im->n->post;
    if ((rc = read_postprocess_options(im, op, p)) != 0)
        return rc;
    if (p->num_classes > c->shape[2])
        return imp_bad_shape(im, opi, "num_classes exceeds the score tensor's classes");
    size_t bytes = (size_t)a->shape[0] * 4 * sizeof(float);
    im->n->post_anchors = malloc(bytes);
    if (!im->n->post_anchors)
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
    memcpy(im->n->post_anchors, af, bytes);
    p->anchors = im->n->post_anchors;
    p->n_anchors = a->shape[0];
    im->n->has_post = 1;
    im->n->post_inputs[0] = tb;
    im->n->post_inputs[1] = tc;
    return 0;
}

static int import_op(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    for (int k = 0; k < op->n_outputs; k++)
        if (op->outputs[k] < 0)
            return imp_bad_shape(im, opi, "missing output tensor");
    switch (op->builtin) {
    case TFL_OP_DEQUANTIZE: return import_dequantize(im, opi);
    case TFL_OP_QUANTIZE: return q8_import_quantize(im, opi);
    case TFL_OP_CONV_2D:
    case TFL_OP_DEPTHWISE_CONV_2D: return import_conv(im, opi);
    case TFL_OP_ADD: return import_add(im, opi);
    case TFL_OP_RESHAPE: return import_reshape(im, opi);
    case TFL_OP_CONCATENATION: return import_concat(im, opi);
    case TFL_OP_LOGISTIC: return import_elementwise(im, opi, LAYER_LOGISTIC);
    case TFL_OP_RELU: return import_elementwise(im, opi, LAYER_RELU);
    case TFL_OP_RELU6: return import_elementwise(im, opi, LAYER_RELU6);
    case TFL_OP_CUSTOM:
        if (op->custom_code && strcmp(op->custom_code, "TFLite_Detection_PostProcess") == 0)
            return import_detection_postprocess(im, opi);
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                         "%s: unsupported custom operator '%s' at index %d", im->path,
                         op->custom_code ? op->custom_code : "", opi);
    default: {
        char b[32];
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                         "%s: unsupported operator %s at index %d", im->path,
                         op_name(op, b, sizeof b), opi);
    }
    }
}

/* The layer that computes layer li's values: li itself, or for a
 * DEQUANTIZE the int8 layer it reads (-1 if none). */
static int value_source(const net *n, int li)
{
    if (li < 0 || n->layers[li].kind != LAYER_DEQUANTIZE)
        return li;
    for (int j = li - 1; j >= 0; j--)
        if (n->layers[j].out == n->layers[li].in0)
            return j;
    return -1;
}

/* Describe an output that is a concatenation of conv results (through
 * reshapes and a DEQUANTIZE): one segment per conv, in order. */
static int describe_output(importer *im, int out_index, int t, int *seg_used, int seg_cap)
{
    net *n = im->n;
    net_output_info *o = &n->outputs[out_index];
    const tfl_tensor *tt = &im->m->tensors[t];
    int li = value_source(n, im->tensor_layer[t]);
    o->n_segments = 0;
    if (li < 0 || (n->layers[li].kind != LAYER_CONCAT && n->layers[li].kind != LAYER_QCONCAT) || tt->rank < 2)
        return 0;
    layer *cat = &n->layers[li];
    int last_dim = tt->shape[tt->rank - 1];
    if (cat->outer != 1 || last_dim <= 0)
        return 0;
    net_segment *segs = n->segments + *seg_used;
    int row = 0;
    for (int k = 0; k < cat->n_parts; k++) {
        /* find the conv that writes this part's store */
        int src = -1;
        for (int j = li - 1; j >= 0; j--)
            if (n->layers[j].out == cat->parts[k]) {
                src = value_source(n, j);
                break;
            }
        if (src < 0 || !layer_is_conv(n->layers[src].kind) || *seg_used + k >= seg_cap)
            return 0;
        const conv_desc *d = &n->layers[src].desc;
        size_t elems = (size_t)d->out_h * d->out_w * d->out_c;
        if (elems % (size_t)last_dim)
            return 0;
        segs[k] = (net_segment){row, (int)(elems / (size_t)last_dim), d->out_h, d->out_w, d->out_c};
        n->segment_layer[*seg_used + k] = src;
        row += segs[k].rows;
    }
    o->n_segments = cat->n_parts;
    o->segments = segs;
    *seg_used += cat->n_parts;
    return 0;
}

/* Layer roles, for the benchmark's breakdown. The backbone is everything the
 * second feature map depends on (SSD and SSDLite heads both take their first
 * two feature maps from MobileNetV2 itself, and TFLite interleaves the first
 * map's predictors with backbone layers, so this is a dependency walk, not an
 * index range); within it, roles follow the inverted-residual pattern. */
static int assign_roles(net *n)
{
    int *writer = malloc((size_t)n->n_stores * sizeof *writer);
    char *in_backbone = calloc((size_t)n->n_layers + 1, 1);
    if (!writer || !in_backbone) {
        free(writer), free(in_backbone);
        return MNV_ENOMEM;
    }
    for (int s = 0; s < n->n_stores; s++)
        writer[s] = -1;
    for (int i = 0; i < n->n_layers; i++)
        writer[n->layers[i].out] = i;

    int fm_layer = -1;
    for (int o = 0; o < n->n_outputs && fm_layer < 0; o++) {
        const net_output_info *out = &n->outputs[o];
        if (out->n_segments < 2)
            continue;
        /* segment 1's predictor reads feature map 1, maybe through a
         * depthwise stage (SSDLite predictors) */
        const layer *pred = &n->layers[n->segment_layer[out->segments - n->segments + 1]];
        int w = pred->in0 >= 0 ? writer[pred->in0] : -1;
        if (w >= 0 && layer_is_conv(n->layers[w].kind) && n->layers[w].desc.depthwise &&
            n->layers[w].in0 >= 0 && writer[n->layers[w].in0] >= 0 &&
            n->layers[writer[n->layers[w].in0]].desc.out_c == n->layers[w].desc.out_c &&
            n->layers[w].desc.stride_h == 1)
            w = writer[n->layers[w].in0];
        fm_layer = w;
    }
    if (fm_layer < 0)
        fm_layer = n->n_layers - 1;
    if (fm_layer >= 0)
        in_backbone[fm_layer] = 1;
    for (int i = fm_layer; i >= 0; i--) {
        if (!in_backbone[i])
            continue;
        const layer *l = &n->layers[i];
        int ins[2] = {l->in0, l->in1};
        for (int k = 0; k < 2; k++)
            if (ins[k] >= 0 && writer[ins[k]] >= 0)
                in_backbone[writer[ins[k]]] = 1;
        for (int k = 0; k < l->n_parts; k++)
            if (writer[l->parts[k]] >= 0)
                in_backbone[writer[l->parts[k]]] = 1;
    }
    for (int i = 0; i < n->n_layers; i++) {
        layer *l = &n->layers[i];
        if (!in_backbone[i])
            l->role = ROLE_HEAD;
        else if (!layer_is_conv(l->kind))
            l->role = ROLE_OTHER;
        else if (l->in0 == 0 || (writer[l->in0] >= 0 && n->layers[writer[l->in0]].kind == LAYER_QUANTIZE &&
                                 n->layers[writer[l->in0]].in0 == 0))
            l->role = ROLE_STEM; /* on the input, or on its quantized copy */
        else if (l->desc.depthwise)
            l->role = ROLE_DEPTHWISE;
        else if (l->desc.k_h == 1 && l->desc.k_w == 1 && l->act == ACT_NONE)
            l->role = ROLE_PROJECT;
        else
            l->role = ROLE_EXPAND;
    }
    free(writer);
    free(in_backbone);
    return 0;
}

void net_free(net *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n_layers; i++) {
        free(n->layers[i].name);
        free(n->layers[i].packed);
        free(n->layers[i].parts);
        free(n->layers[i].part_inner);
        free(n->layers[i].requant);
        free(n->layers[i].part_q);
        free(n->layers[i].part_data);
    }
    free(n->layers);
    free(n->stores);
    free(n->ptr);
    free(n->arena);
    free(n->scratch);
    free(n->pace);
    free(n->barrier);
    if (n->output_names)
        for (int i = 0; i < n->n_outputs; i++)
            free(n->output_names[i]);
    free(n->output_names);
    free(n->outputs);
    free(n->output_store);
    free(n->segments);
    free(n->segment_layer);
    free(n->post_anchors);
    free(n);
}

/*
 * Fused blocks. Where a convolution (a 1x1 expansion, or the stem) feeds
 * only a 3x3 depthwise conv that feeds only a 1x1 projection, and the
 * tensor between the first two is bigger than a core's L2, the three run
 * together over bands of output rows: each band's rows of the big tensor are
 * made, filtered and projected while they are still in cache, instead of
 * going to memory and back twice (on a 2-core VM with ~25 GB/s from L3,
 * MobileNetV2's 150x150x96 expansion alone costs ~0.7 ms that way). The same
 * kernels run on sub-tensors (weights are packed per channel, not per
 * size). Each thread takes a contiguous range of output rows and keeps the
 * depthwise halo rows of one band for the next, so nothing is computed twice
 * except at the one boundary between threads.
 */
#define BLOCK_MIN_MID (1u << 20)     /* bytes: below this the tensor stays in L2 anyway */
/* Int8 blocks pay from an eighth of that: a thread then runs the block's
 * three layers over its rows with no barrier between them and no row of
 * the other thread's to fetch. Zen 5, 2 threads, rounds alternating: from
 * 256 KB (7 blocks instead of 1) 0.965 of the time in every one of 8
 * rounds, 1 thread within the noise; from 128 KB (13 blocks, the 19x19
 * ones too) 0.965 of that again, 1 thread 0.97-0.99; from 64 KB (16, the
 * 10x10 ones too) no better than 128 KB at 2 threads and 1.01 at 1. Float32
 * from 256 KB (16 blocks instead of 7) was within the noise at 2 threads,
 * so it keeps its own bound. */
#define BLOCK_MIN_MID_Q8 (1u << 17)
#define BLOCK_BAND_BYTES (512u << 10) /* rows of the big tensor one band needs */

static int is_pw(const layer *l)
{
    return layer_is_conv(l->kind) && !l->desc.depthwise && l->desc.k_h == 1 && l->desc.k_w == 1 &&
           l->desc.stride_h == 1 && l->desc.stride_w == 1;
}

/* Three convolutions of one type (float, or int8 whose residual ADD stays a
 * layer of its own after the block). */
static int fusable(const net *n, int i)
{
    const layer *e = &n->layers[i], *d = &n->layers[i + 1], *p = &n->layers[i + 2];
    if (!layer_is_conv(e->kind) || d->kind != e->kind || p->kind != e->kind)
        return 0;
    if (e->desc.depthwise || e->in1 >= 0 || e->desc.dil_h != 1 ||
        !is_pw(p) || !d->desc.depthwise || d->desc.k_h != 3 ||
        d->desc.k_w != 3 || d->desc.stride_h != d->desc.stride_w || d->desc.dil_h != 1 ||
        d->desc.depth_multiplier != 1 || d->in1 >= 0 || d->in0 != e->out || p->in0 != d->out)
        return 0;
    /* the intermediates must have no other reader and not be outputs */
    return n->stores[e->out].last == i + 1 && n->stores[d->out].last == i + 2;
}

/* Marks the blocks to fuse (fused = 3 on their first layer): each run of
 * three fusable layers whose big tensor reaches the bound of its type. Done
 * before the arena plan, which must keep each block's input apart from its
 * output, and undone where that (finish) or the band buffers (plan_blocks)
 * would pass the memory cap. */
static void choose_blocks(net *n)
{
    for (int i = 0; i + 2 < n->n_layers; i++) {
        if (!fusable(n, i))
            continue;
        const layer *e = &n->layers[i];
        const size_t elem = layer_elem_size(e->kind);
        const size_t mid = (size_t)e->desc.out_w * e->desc.out_c * elem * (size_t)e->desc.out_h;
        if (mid < (elem == 1 ? BLOCK_MIN_MID_Q8 : BLOCK_MIN_MID))
            continue;
        n->layers[i].fused = 3;
        i += 2;
    }
}

static int plan_blocks(net *n, size_t max_memory)
{
    size_t need = 0;
    for (int i = 0; i < n->n_layers; i++) {
        if (n->layers[i].fused != 3)
            continue;
        layer *e = &n->layers[i], *d = &n->layers[i + 1];
        const size_t elem = layer_elem_size(e->kind);
        size_t row = (size_t)e->desc.out_w * e->desc.out_c * elem; /* bytes */
        int s = d->desc.stride_h;
        int rows = (int)(BLOCK_BAND_BYTES / row);
        int band = rows > 3 ? (rows - 3) / s + 1 : 1;
        e->band_rows = band;
        /* room for two bands' rows, so the halo moves to the front only
         * every other band */
        e->ring_rows = 2 * ((band - 1) * s + 3);
        if (e->ring_rows > e->desc.out_h) /* the whole tensor: nothing ever moves */
            e->ring_rows = e->desc.out_h;
        size_t bytes = (size_t)e->ring_rows * row + (size_t)band * d->desc.out_w * d->desc.out_c * elem;
        size_t floats = (bytes + 63) / 64 * 64 / sizeof(float);
        if (floats > need)
            need = floats;
        i += 2;
    }
    if (need == 0)
        return 0;
    /* Within the cap, or not at all: the layers then run one by one. */
    size_t threads = (size_t)omp_get_max_threads(), floats = (need + 15) & ~(size_t)15, bytes;
    size_t left = max_memory - n->arena_bytes - n->weight_bytes; /* finish() kept this >= 0 */
    if (__builtin_mul_overflow(floats, sizeof(float) * threads, &bytes) || bytes > left) {
        for (int i = 0; i < n->n_layers; i++)
            n->layers[i].fused = 0;
        return 0;
    }
    n->scratch_threads = (int)threads;
    n->scratch_floats = floats;
    n->scratch = aligned_alloc(64, n->scratch_floats * sizeof(float) * (size_t)n->scratch_threads);
    return n->scratch ? 0 : MNV_ENOMEM;
}

/* How long the team's threads spin at the barrier between layers before
 * they sleep, following OpenMP's wait policy as libgomp does for its own
 * barriers: active, a second; unset, 10 ms (libgomp spins 300,000 times,
 * some 6 to 12 ms); passive, 0, and net_run then runs the layers with a
 * team each instead (net_run.c says why). */
static long long team_spin_ns(void)
{
    const char *policy = getenv("OMP_WAIT_POLICY");
    if (policy && strcasecmp(policy, "passive") == 0)
        return 0;
    if (policy && strcasecmp(policy, "active") == 0)
        return 1000000000;
    return 10000000;
}

/* The team a run uses (net_run): as many threads as OpenMP would give now,
 * their pace records and the barrier between layers. */
static int plan_team(net *n)
{
    n->team_threads = omp_get_max_threads();
    for (int i = 0; i < n->n_layers; i++)
        n->run_macs += n->layers[i].macs;
    n->pace = aligned_alloc(64, (size_t)n->team_threads * PACE_STRIDE * sizeof(double));
    n->barrier = aligned_alloc(64, sizeof *n->barrier);
    if (!n->pace || !n->barrier)
        return MNV_ENOMEM;
    team_barrier_init(n->barrier, team_spin_ns());
    return 0;
}

static int finish(importer *im)
{
    net *n = im->n;
    const tfl_model *m = im->m;

    /* outputs: the graph's, or the detection operator's inputs */
    const int *graph_outputs = n->has_post ? n->post_inputs : m->outputs;
    n->n_outputs = n->has_post ? 2 : m->n_outputs;
    n->outputs = xcalloc((size_t)n->n_outputs, sizeof *n->outputs);
    n->output_store = xcalloc((size_t)n->n_outputs, sizeof *n->output_store);
    n->output_names = xcalloc((size_t)n->n_outputs, sizeof *n->output_names);
    int seg_cap = n->n_layers + 1;
    n->segments = xcalloc((size_t)seg_cap, sizeof *n->segments);
    n->segment_layer = xcalloc((size_t)seg_cap, sizeof *n->segment_layer);
    if (!n->outputs || !n->output_store || !n->output_names || !n->segments || !n->segment_layer)
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
    /* int8 outputs reach the caller (ssdlite/) dequantized, by layers that
     * come after every other (so that no output's bytes are reused) */
    for (int i = 0; i < n->n_outputs; i++) {
        int t = graph_outputs[i];
        if (t >= 0 && imp_is_activation(im, t) && im->tensor_store[t] != 0 &&
            n->stores[im->tensor_store[t]].type == TFL_TYPE_INT8 && q8_dequantize_output(im, t) < 0)
            return im->layer_error;
    }
    int seg_used = 0;
    for (int i = 0; i < n->n_outputs; i++) {
        int t = graph_outputs[i];
        if (t < 0 || !imp_is_activation(im, t) || im->tensor_store[t] == 0)
            return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                             "%s: graph output %d is not computed by the graph", im->path, i);
        if (n->stores[im->tensor_store[t]].type != TFL_TYPE_FLOAT32)
            return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                             "%s: graph output '%s' is neither float32 nor int8 or uint8", im->path,
                             m->tensors[t].name);
        n->output_store[i] = im->tensor_store[t];
        n->stores[n->output_store[i]].last = n->n_layers; /* outputs outlive the run */
        n->output_names[i] = xstrdup(m->tensors[t].name);
        if (!n->output_names[i])
            return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
        net_output_info *o = &n->outputs[i];
        o->name = n->output_names[i];
        o->rank = m->tensors[t].rank;
        memcpy(o->shape, m->tensors[t].shape, sizeof o->shape);
        int producer = value_source(n, im->tensor_layer[t]);
        o->sigmoid_applied = producer >= 0 && (n->layers[producer].kind == LAYER_LOGISTIC ||
                                               n->layers[producer].kind == LAYER_QLOGISTIC);
        describe_output(im, i, t, &seg_used, seg_cap);
    }
    if (n->n_layers == 0)
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: the graph computes nothing", im->path);

    /* arena: the input store is part of it too, alive from the start */
    size_t *sizes = malloc((size_t)n->n_stores * sizeof *sizes);
    int *first = malloc((size_t)n->n_stores * sizeof *first);
    int *last = malloc((size_t)n->n_stores * sizeof *last);
    size_t *offs = malloc((size_t)n->n_stores * sizeof *offs);
    n->ptr = xcalloc((size_t)n->n_stores, sizeof *n->ptr);
    if (!sizes || !first || !last || !offs || !n->ptr) {
        free(sizes), free(first), free(last), free(offs);
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory", im->path);
    }
    for (int s = 0; s < n->n_stores; s++) {
        sizes[s] = n->stores[s].bytes ? n->stores[s].bytes : 1;
        first[s] = n->stores[s].first;
        last[s] = n->stores[s].last;
    }
    /* The input store (0) outlives the run: the caller fills it on its own
     * thread (a copy, or pre-processing straight into net_input_buffer), so
     * its cache lines sit dirty in that thread's core, and a layer output
     * placed over them would make the other threads take each line from
     * that core before writing their rows. Keeping it apart costs its size
     * (1 MB for 300x300x3 floats) and took the int8 default model from
     * 2.30 to 2.13 ms at 2 threads on a 2-vCPU Zen 5 (the quantize layer
     * 0.06 to 0.02 ms, the stem and first depthwise a third each). */
    last[0] = n->n_layers;
    /* A fused block writes its output band by band while later bands still
     * read its input, so the two must not share bytes; the plan, made for
     * the layers one by one, sees the input die at the block's first layer
     * and may put the output over it. Where it did, the input lives on to
     * the block's last layer and the plan is made again (each round
     * settles a block for good: stores alive together never share bytes;
     * the default models need none, and so keep their smallest arena).
     * Where the blocks alone would pass the memory limit, none is fused. */
    choose_blocks(n);
    for (;;) {
        n->arena_bytes = arena_plan(sizes, first, last, n->n_stores, 64, offs);
        if (n->arena_bytes == 0 || n->arena_bytes == SIZE_MAX) /* no plan: reported below */
            break;
        int again = 0;
        for (int i = 0; i < n->n_layers; i++) {
            if (!n->layers[i].fused)
                continue;
            const int x = n->layers[i].in0, y = n->layers[i + 2].out;
            if (offs[x] < offs[y] + sizes[y] && offs[y] < offs[x] + sizes[x]) {
                last[x] = i + 2;
                again = 1;
            }
        }
        if (!again)
            break;
    }
    if (n->arena_bytes > im->max_memory - n->weight_bytes && net_fused_blocks(n) > 0) {
        for (int i = 0; i < n->n_layers; i++)
            n->layers[i].fused = 0;
        for (int s = 1; s < n->n_stores; s++)
            last[s] = n->stores[s].last;
        n->arena_bytes = arena_plan(sizes, first, last, n->n_stores, 64, offs);
    }
    free(sizes), free(first), free(last);
    if (n->arena_bytes > im->max_memory - n->weight_bytes) {
        free(offs);
        size_t total = n->arena_bytes > SIZE_MAX - n->weight_bytes ? SIZE_MAX : n->arena_bytes + n->weight_bytes;
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED,
                         "%s: the model needs %zu MiB (activations %zu MiB, weights %zu MiB), more than the "
                         "memory limit of %zu MiB", im->path, mnv_mib(total), mnv_mib(n->arena_bytes),
                         mnv_mib(n->weight_bytes), mnv_mib(im->max_memory));
    }
    if (n->arena_bytes == 0 || !(n->arena = aligned_alloc(64, n->arena_bytes))) {
        free(offs);
        return mnv_error(im->err, im->errlen, MNV_ENOMEM, "%s: out of memory for activations", im->path);
    }
    memset(n->arena, 0, n->arena_bytes);
    for (int s = 0; s < n->n_stores; s++) {
        n->stores[s].offset = offs[s];
        n->ptr[s] = (float *)((char *)n->arena + offs[s]);
    }
    free(offs);
    q8_bind(n);
    return 0;
}

int net_load(net **out, const char *path, const net_options *opt, char *err, size_t errlen)
{
    *out = NULL;
    tfl_model m;
    int rc = tfl_open(&m, path, err, errlen);
    if (rc)
        return rc;
    net *n = calloc(1, sizeof *n);
    if (n)
        n->balance = 1;
    importer im = {path, &m, n, err, errlen, NULL, NULL, NULL, NULL,
                   opt ? opt->max_isa : isa_select(),
                   opt && opt->max_memory ? opt->max_memory : MNV_DEFAULT_MAX_MEMORY,
                   opt ? opt->keep_tensors : 0, 0, 0, 0};
    if (!n)
        goto nomem;
    im.tensor_store = malloc((size_t)(m.n_tensors + 1) * sizeof(int));
    im.tensor_layer = malloc((size_t)(m.n_tensors + 1) * sizeof(int));
    im.tensor_uses = calloc((size_t)m.n_tensors + 1, sizeof(int));
    im.constf = calloc((size_t)m.n_tensors + 1, sizeof(float *));
    if (!im.tensor_store || !im.tensor_layer || !im.tensor_uses || !im.constf)
        goto nomem;
    for (int t = 0; t < m.n_tensors; t++)
        im.tensor_store[t] = im.tensor_layer[t] = -1;
    for (int i = 0; i < m.n_ops; i++)
        for (int k = 0; k < m.ops[i].n_inputs; k++)
            if (m.ops[i].inputs[k] >= 0)
                im.tensor_uses[m.ops[i].inputs[k]]++;
    for (int i = 0; i < m.n_outputs; i++)
        im.tensor_uses[m.outputs[i]]++;

    if (m.n_inputs != 1 || m.inputs[0] < 0) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: the graph must have exactly one input", path);
        goto fail;
    }
    const tfl_tensor *in = &m.tensors[m.inputs[0]];
    if (in->type != TFL_TYPE_FLOAT32 && !q8_type(in->type)) {
        char b[32];
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: input tensor '%s' has unsupported type %s",
                       path, in->name, tfl_type_name(in->type, b, sizeof b));
        goto fail;
    }
    if (in->rank != 4 || in->shape[0] != 1 || in->shape[1] < 1 || in->shape[2] < 1 ||
        in->shape[3] < 1 || (size_t)in->shape[1] * in->shape[2] * in->shape[3] > (1u << 28)) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: input tensor '%s' must be 1xHxWxC", path, in->name);
        goto fail;
    }
    n->in_h = in->shape[1], n->in_w = in->shape[2], n->in_c = in->shape[3];
    n->input_tensor = m.inputs[0];
    n->n_tensors = m.n_tensors;
    if ((rc = check_tensor_size(&im, in, sizeof(float))) != 0)
        goto fail;
    /* the input store is float whatever the model takes (pre-processing
     * writes float); an int8 or uint8 input is quantized from it */
    if (new_store(&im, TFL_TYPE_FLOAT32, tensor_elems(in) * sizeof(float), -1) != 0)
        goto nomem;
    im.tensor_store[m.inputs[0]] = 0;
    if (q8_type(in->type) && (rc = q8_quantize_input(&im, m.inputs[0])) != 0)
        goto fail;

    for (int i = 0; i < m.n_ops; i++)
        if ((rc = import_op(&im, i)) != 0)
            goto fail;
    if ((rc = finish(&im)) != 0)
        goto fail;
    if (assign_roles(n) != 0 || plan_blocks(n, im.max_memory) != 0 || plan_team(n) != 0)
        goto nomem;
    goto done;

nomem:
    rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
fail:
    net_free(n);
    n = NULL;
done:
    if (im.constf)
        for (int t = 0; t < m.n_tensors; t++)
            free(im.constf[t]);
    free(im.constf);
    free(im.tensor_store);
    free(im.tensor_layer);
    free(im.tensor_uses);
    tfl_close(&m);
    *out = n;
    return rc;
}
