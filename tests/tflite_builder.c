/* Small TFLite models for tests; see tflite_builder.h. */
#include <string.h>

#include "tflite_builder.h"

uint8_t *tfb_build(const tfb_model *m, size_t *size)
{
    tfw_model v = {
        .tensors = m->tensors, .n_tensors = m->n_tensors,
        .ops = m->ops, .n_ops = m->n_ops,
        .inputs = m->inputs, .n_inputs = m->n_inputs,
        .outputs = m->outputs, .n_outputs = m->n_outputs,
        .vtables_after = m->vtables_after, .external_data = m->external_data,
        .legacy_opcodes = m->legacy_opcodes, .omit_defaults = m->omit_defaults,
    };
    return tfw_build(&v, size);
}

int tfb_add_tensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                   const void *data, size_t size)
{
    if (m->n_tensors >= TFB_MAX_TENSORS || rank < 0 || rank > 6)
        return -1;
    tfb_tensor *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->rank = rank;
    if (rank)
        memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
    t->name = name;
    t->data = data;
    t->size = size;
    return m->n_tensors++;
}

int tfb_set_quant(tfb_model *m, int t, const float *scales, const int64_t *zero_points, int n, int dim)
{
    if (t < 0 || t >= m->n_tensors)
        return -1;
    tfb_tensor *tt = &m->tensors[t];
    tt->scales = scales;
    tt->n_scales = n;
    tt->zero_points = zero_points;
    tt->n_zero_points = n;
    tt->quant_dim = dim;
    return t;
}

int tfb_add_qtensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                    const void *data, size_t size, float scale, int64_t zero_point)
{
    int t = tfb_add_tensor(m, type, rank, shape, name, data, size);
    if (t < 0)
        return -1;
    m->own_scale[t] = scale;
    m->own_zero_point[t] = zero_point;
    return tfb_set_quant(m, t, &m->own_scale[t], &m->own_zero_point[t], 1, 0);
}

tfb_op *tfb_add_op(tfb_model *m, int builtin, const int *in, int n_in, const int *out, int n_out)
{
    if (m->n_ops >= TFB_MAX_OPS || n_in < 0 || n_in > TFB_MAX_IO || n_out < 0 || n_out > TFB_MAX_IO)
        return NULL;
    tfb_op *op = &m->ops[m->n_ops++];
    memset(op, 0, sizeof *op);
    op->builtin = builtin;
    op->version = 1;
    op->n_in = n_in;
    op->n_out = n_out;
    if (n_in)
        memcpy(op->in, in, (size_t)n_in * sizeof *in);
    if (n_out)
        memcpy(op->out, out, (size_t)n_out * sizeof *out);
    op->with_options = 1;
    op->padding = TFL_PAD_SAME;
    op->stride_w = op->stride_h = 1;
    op->dilation_w = op->dilation_h = 1;
    op->depth_multiplier = 1;
    op->beta = 1.0f;
    if (n_out > 0 && out[0] >= 0 && out[0] < m->n_tensors) {
        const tfb_tensor *t = &m->tensors[out[0]];
        op->n_new_shape = t->rank;
        memcpy(op->new_shape, t->shape, sizeof op->new_shape);
    }
    return op;
}

