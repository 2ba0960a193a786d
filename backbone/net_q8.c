/*
 * The int8 layers of an imported network: what net.c's graph import hands
 * over once it has checked an operator's structure (inputs, shapes,
 * geometry). Here are the tensors' quantization parameters, the uint8 ->
 * int8 conversion, the requantization multipliers, the packed int8 weights,
 * and the QUANTIZE / DEQUANTIZE layers at the float boundaries.
 *
 * uint8 models (TFLite's older quantization-aware exports) run as int8:
 * every uint8 tensor is read through quant_u8_to_s8 and its parameters
 * through quant_params_u8_to_s8, which is exact (backbone.h, Int8
 * quantization), so no layer knows which of the two a model used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "backbone/net_internal.h"

/* l (NULL when making it failed) reads store in_store. */
static layer *reading(importer *im, layer *l, int in_store)
{
    if (l) {
        l->in0 = in_store;
        imp_use_store(im, in_store);
    }
    return l;
}

int q8_type(int type)
{
    return type == TFL_TYPE_INT8 || type == TFL_TYPE_UINT8;
}

/* Tensor t (of operator opi, or of the graph when opi < 0) cannot run: why. */
static int refuse(importer *im, int t, int opi, const char *why)
{
    const tfl_tensor *tt = &im->m->tensors[t];
    char b[32];
    if (opi < 0)
        return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: tensor '%s' (index %d) %s", im->path,
                         tt->name, t, why);
    return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: tensor '%s' (index %d) of %s at index %d %s",
                     im->path, tt->name, t, tfl_op_name(im->m->ops[opi].builtin, b, sizeof b), opi, why);
}

/* A parameter check of quant.c failed (its message in why): name the operator. */
static int bad_params(importer *im, int opi, const char *why)
{
    char b[32];
    return mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: %s at index %d: %s", im->path,
                     tfl_op_name(im->m->ops[opi].builtin, b, sizeof b), opi, why);
}

int q8_tensor_params(importer *im, int t, int opi, qparams *q)
{
    const tfl_tensor *tt = &im->m->tensors[t];
    if (!q8_type(tt->type)) {
        if (opi >= 0)
            return imp_bad_type(im, t, opi);
        return refuse(im, t, opi, "is neither int8 nor uint8");
    }
    if (tt->quant_details)
        return refuse(im, t, opi, "has a custom quantization scheme");
    if (tt->n_quant == 0)
        return refuse(im, t, opi, "has no quantization parameters");
    if (tt->n_quant != 1)
        return refuse(im, t, opi, "is quantized per channel; only weights may be");
    q->scale = tt->scale[0];
    q->zero_point = tt->zero_point[0];
    if (tt->type == TFL_TYPE_UINT8)
        *q = quant_params_u8_to_s8(*q);
    return 0;
}

int q8_activation(importer *im, int t, int opi, qparams *q)
{
    if (t < 0 || !imp_is_activation(im, t))
        return imp_bad_shape(im, opi, "input is not computed by an earlier operator");
    if (im->n->stores[im->tensor_store[t]].type != TFL_TYPE_INT8)
        return imp_bad_type(im, t, opi);
    return q8_tensor_params(im, t, opi, q);
}

/* The weights of a convolution as int8 (uint8 converted) and their common
 * zero point; per-channel scales must run along the output channels. */
static int conv_weights(importer *im, const layer *l, int tw, int opi, int8_t **w8, int32_t *zero_point)
{
    const tfl_tensor *w = &im->m->tensors[tw];
    const conv_desc *d = &l->desc;
    *w8 = NULL;
    if (!w->data)
        return imp_bad_shape(im, opi, "expects constant weights");
    if (!q8_type(w->type))
        return imp_bad_type(im, tw, opi);
    if (w->quant_details || w->n_quant == 0)
        return refuse(im, tw, opi, "has no quantization parameters");
    const int axis = d->depthwise ? 3 : 0; /* OHWI, 1HWC: the output channels */
    if (w->n_quant > 1 && (w->n_quant != d->out_c || w->quant_dim != axis))
        return refuse(im, tw, opi, "is quantized per channel along another dimension than the output channels'");
    for (int k = 1; k < w->n_quant; k++)
        if (w->zero_point[k] != w->zero_point[0])
            return refuse(im, tw, opi, "has zero points that differ between channels");
    *zero_point = w->zero_point[0] - (w->type == TFL_TYPE_UINT8 ? 128 : 0);
    size_t e = tensor_elems(w);
    if (!(*w8 = malloc(e ? e : 1)))
        return imp_no_memory(im);
    if (w->type == TFL_TYPE_UINT8)
        quant_u8_to_s8(w->data, *w8, e);
    else
        memcpy(*w8, w->data, e);
    return 0;
}

int q8_conv_layer(importer *im, layer *l, int opi, int ti, int tw, int tb, int to)
{
    const conv_desc *d = &l->desc;
    qparams in_q, out_q;
    int rc;
    if ((rc = q8_tensor_params(im, ti, opi, &in_q)) != 0 || (rc = q8_tensor_params(im, to, opi, &out_q)) != 0)
        return rc;
    l->q_out = out_q; /* for net_run_observed_q8 alone: the kernels take qconv */
    int32_t *bias = NULL;
    if (tb >= 0) {
        const tfl_tensor *b = &im->m->tensors[tb];
        if (!b->data)
            return imp_bad_shape(im, opi, "expects a constant bias");
        if (b->type != TFL_TYPE_INT32)
            return imp_bad_type(im, tb, opi);
        /* copied: the file does not align it (import_conv checked its shape) */
        if (!(bias = malloc((size_t)d->out_c * sizeof *bias)))
            return imp_no_memory(im);
        memcpy(bias, b->data, (size_t)d->out_c * sizeof *bias);
    }
    int8_t *w8 = NULL;
    int32_t w_zero_point = 0;
    if ((rc = conv_weights(im, l, tw, opi, &w8, &w_zero_point)) != 0)
        goto done;
    const tfl_tensor *w = &im->m->tensors[tw];
    char why[256];
    if (!(l->requant = malloc((size_t)d->out_c * sizeof *l->requant))) {
        rc = imp_no_memory(im);
        goto done;
    }
    if (qconv_params_init(&l->qconv, l->requant, d, in_q, w->scale, w->n_quant, w_zero_point, out_q, why,
                          sizeof why) != 0) {
        rc = bad_params(im, opi, why);
        goto done;
    }
    /* the optimized kernels accumulate in 32 bits: a layer that could
     * overflow them runs on the reference (64 bits, saturating) */
    const mnv_isa isa = qconv_acc_fits(d, &l->qconv, w8, bias) ? im->max_isa : MNV_ISA_REF;
    l->qkernel = qconv_kernel_choose(d, &l->qconv, isa);
    if (!l->qkernel) {
        rc = mnv_error(im->err, im->errlen, MNV_EUNSUPPORTED, "%s: no int8 kernel for layer '%s'", im->path,
                       l->name);
        goto done;
    }
    if ((rc = imp_alloc_weights(im, l->qkernel->packed_size(d), &l->packed)) != 0)
        goto done;
    l->qkernel->pack(d, &l->qconv, w8, bias, l->packed);
done:
    free(w8);
    free(bias);
    return rc;
}

int q8_add_layer(importer *im, layer *l, int opi, act_kind act)
{
    const tfl_op *op = &im->m->ops[opi];
    qparams a, b, out;
    char why[256];
    int rc;
    if ((rc = q8_tensor_params(im, op->inputs[0], opi, &a)) != 0 ||
        (rc = q8_tensor_params(im, op->inputs[1], opi, &b)) != 0 ||
        (rc = q8_tensor_params(im, op->outputs[0], opi, &out)) != 0)
        return rc;
    l->q_out = out; /* for net_run_observed_q8 alone: the kernel takes qadd */
    if (qadd_params_init(&l->qadd, a, b, out, act, why, sizeof why) != 0)
        return bad_params(im, opi, why);
    l->qadd_run = qadd_kernel_choose(&l->qadd, im->max_isa)->run;
    return 0;
}

int q8_logistic_layer(importer *im, layer *l, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    int rc = q8_tensor_params(im, op->inputs[0], opi, &l->q_in);
    if (!rc)
        rc = q8_tensor_params(im, op->outputs[0], opi, &l->q_out);
    if (rc)
        return rc;
    /* TFLite refuses other output parameters too: [0, 1) in 256 steps */
    if (l->q_out.scale != 1.0f / 256 || l->q_out.zero_point != -128)
        return refuse(im, op->outputs[0], opi, "needs scale 1/256 and zero point -128 (0 for uint8)");
    if (!(l->packed = malloc(256)))
        return imp_no_memory(im);
    logistic_qs8_table(l->q_in, l->q_out, l->packed);
    return 0;
}

int q8_concat_layer(importer *im, layer *l, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    l->part_q = malloc((size_t)l->n_parts * sizeof *l->part_q);
    l->part_data = calloc((size_t)l->n_parts, sizeof *l->part_data);
    if (!l->part_q || !l->part_data)
        return imp_no_memory(im);
    int rc = q8_tensor_params(im, op->outputs[0], opi, &l->q_out);
    for (int k = 0; k < l->n_parts && !rc; k++)
        rc = q8_tensor_params(im, op->inputs[k], opi, &l->part_q[k]);
    return rc;
}

int q8_import_quantize(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    if (op->n_inputs < 1 || op->n_outputs < 1 || op->inputs[0] < 0)
        return imp_bad_shape(im, opi, "needs one input and one output");
    int ti = op->inputs[0], to = op->outputs[0];
    if (!imp_is_activation(im, ti))
        return imp_bad_shape(im, opi, "input is not computed by an earlier operator");
    if (tensor_elems(&im->m->tensors[ti]) != tensor_elems(&im->m->tensors[to]))
        return imp_bad_shape(im, opi, "input and output sizes differ");
    qparams in_q = {0}, out_q;
    int rc;
    const int from_float = im->m->tensors[ti].type == TFL_TYPE_FLOAT32 &&
                           im->n->stores[im->tensor_store[ti]].type == TFL_TYPE_FLOAT32;
    if (!from_float && (rc = q8_activation(im, ti, opi, &in_q)) != 0)
        return rc;
    if ((rc = q8_tensor_params(im, to, opi, &out_q)) != 0)
        return rc;
    int in_store = im->tensor_store[ti];
    if (!from_float && in_q.scale == out_q.scale && in_q.zero_point == out_q.zero_point) {
        /* the same values (a uint8 -> int8 QUANTIZE once both are int8): a view */
        im->tensor_store[to] = in_store;
        im->tensor_layer[to] = im->tensor_layer[ti];
        return 0;
    }
    qmultiplier m = {0, 0};
    if (!from_float && quant_multiplier_from_double((double)in_q.scale / (double)out_q.scale, &m) != 0)
        return bad_params(im, opi, "requantization multiplier (input scale / output scale) out of range");
    layer *l = reading(im, imp_new_layer(im, from_float ? LAYER_QUANTIZE : LAYER_REQUANTIZE, to, opi), in_store);
    if (!l)
        return im->layer_error;
    l->q_in = in_q;
    l->q_out = out_q;
    l->q_mult = m;
    if (from_float)
        l->quantize_run = quantize_kernel_choose(im->max_isa)->run;
    return 0;
}

int q8_import_dequantize(importer *im, int opi)
{
    const tfl_op *op = &im->m->ops[opi];
    int ti = op->inputs[0], to = op->outputs[0];
    qparams in_q;
    int rc = q8_activation(im, ti, opi, &in_q);
    if (rc)
        return rc;
    if (tensor_elems(&im->m->tensors[ti]) != tensor_elems(&im->m->tensors[to]))
        return imp_bad_shape(im, opi, "input and output sizes differ");
    layer *l = reading(im, imp_new_layer(im, LAYER_DEQUANTIZE, to, opi), im->tensor_store[ti]);
    if (!l)
        return im->layer_error;
    l->q_in = in_q;
    return 0;
}

int q8_quantize_input(importer *im, int t)
{
    qparams q;
    int rc = q8_tensor_params(im, t, -1, &q);
    if (rc)
        return rc;
    layer *l = reading(im, imp_add_layer(im, LAYER_QUANTIZE, t, TFL_TYPE_INT8), 0);
    if (!l)
        return im->layer_error;
    l->q_out = q;
    l->quantize_run = quantize_kernel_choose(im->max_isa)->run;
    return 0;
}

int q8_dequantize_output(importer *im, int t)
{
    qparams q;
    int in_store = im->tensor_store[t];
    if ((im->layer_error = q8_tensor_params(im, t, -1, &q)) != 0)
        return -1;
    layer *l = reading(im, imp_add_layer(im, LAYER_DEQUANTIZE, t, TFL_TYPE_FLOAT32), in_store);
    if (!l)
        return -1;
    l->q_in = q;
    return l->out;
}

float *q8_dequantize_const(importer *im, int t, int opi)
{
    const tfl_tensor *tt = &im->m->tensors[t];
    if (!tt->data || !q8_type(tt->type) || tt->quant_details || tt->n_quant == 0) {
        im->layer_error = refuse(im, t, opi, "is not a quantized constant");
        return NULL;
    }
    const size_t e = tensor_elems(tt);
    float *f = malloc(e ? e * sizeof *f : 1);
    int8_t *s8 = malloc(e ? e : 1);
    if (!f || !s8) {
        free(f), free(s8);
        im->layer_error = imp_no_memory(im);
        return NULL;
    }
    if (tt->type == TFL_TYPE_UINT8)
        quant_u8_to_s8(tt->data, s8, e);
    else
        memcpy(s8, tt->data, e);
    /* per channel: runs of `inner` values share a channel, channels cycle */
    const int channels = tt->n_quant;
    size_t inner = 1;
    for (int d = tt->quant_dim + 1; channels > 1 && d < tt->rank; d++)
        inner *= (size_t)tt->shape[d];
    if (channels == 1)
        inner = e;
    for (size_t i = 0, c = 0; i < e; i += inner, c = (c + 1) % (size_t)channels) {
        qparams q = {tt->scale[c], tt->zero_point[c]};
        if (tt->type == TFL_TYPE_UINT8)
            q = quant_params_u8_to_s8(q);
        quant_dequantize_f32(s8 + i, f + i, inner, q);
    }
    free(s8);
    return f;
}

void q8_bind(net *n)
{
    for (int i = 0; i < n->n_layers; i++) {
        layer *l = &n->layers[i];
        for (int k = 0; l->kind == LAYER_QCONCAT && k < l->n_parts; k++)
            l->part_data[k] = (const int8_t *)(const void *)n->ptr[l->parts[k]];
    }
}
