/*
 * Running a loaded network: the layers in order over the planned arena; and
 * the accessors the rest of the program reads results and statistics
 * through.
 *
 * (Computing MobileNetV2's big inverted-residual blocks band by band, so that
 * the expanded tensor stays in cache, was tried with these kernels on
 * sub-tensors: no faster at 1 thread, slower at 2, because the bands must
 * overlap by the depthwise halo and the expansion is the costliest step.)
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backbone/backbone.h"
#include "backbone/net_internal.h"

static void run_layer(net *n, const layer *l)
{
    float *out = n->ptr[l->out];
    switch (l->kind) {
    case LAYER_CONV:
        l->kernel->run(&l->desc, l->packed, n->ptr[l->in0], l->in1 >= 0 ? n->ptr[l->in1] : NULL, out);
        break;
    case LAYER_ADD:
        add_f32_ref(n->ptr[l->in0], n->ptr[l->in1], out, l->count, l->act);
        break;
    case LAYER_CONCAT: {
        size_t pos = 0;
        for (int k = 0; k < l->n_parts; k++) {
            const float *src = n->ptr[l->parts[k]];
            for (size_t o = 0; o < l->outer; o++)
                memcpy(out + o * l->out_inner + pos, src + o * l->part_inner[k],
                       l->part_inner[k] * sizeof(float));
            pos += l->part_inner[k];
        }
        break;
    }
    case LAYER_LOGISTIC: {
        const float *in = n->ptr[l->in0];
        for (size_t i = 0; i < l->count; i++)
            out[i] = 1.0f / (1.0f + expf(-in[i]));
        break;
    }
    case LAYER_RELU:
    case LAYER_RELU6: {
        const float *in = n->ptr[l->in0];
        for (size_t i = 0; i < l->count; i++) {
            float v = in[i] < 0.0f ? 0.0f : in[i];
            out[i] = (l->kind == LAYER_RELU6 && v > 6.0f) ? 6.0f : v;
        }
        break;
    }
    }
}

float *net_input_buffer(net *n)
{
    return n->ptr[0];
}

void net_run(net *n, const float *input)
{
    if (input && input != n->ptr[0])
        memcpy(n->ptr[0], input, (size_t)n->in_h * n->in_w * n->in_c * sizeof(float));
    for (int i = 0; i < n->n_layers; i++)
        run_layer(n, &n->layers[i]);
}

void net_run_timed(net *n, const float *input, double *seconds)
{
    if (input && input != n->ptr[0])
        memcpy(n->ptr[0], input, (size_t)n->in_h * n->in_w * n->in_c * sizeof(float));
    for (int i = 0; i < n->n_layers; i++) {
        double t0 = omp_get_wtime();
        run_layer(n, &n->layers[i]);
        seconds[i] += omp_get_wtime() - t0;
    }
}

void net_input_shape(const net *n, int *h, int *w, int *c)
{
    *h = n->in_h, *w = n->in_w, *c = n->in_c;
}

int net_output_count(const net *n) { return n->n_outputs; }

const net_output_info *net_output(const net *n, int i)
{
    return i >= 0 && i < n->n_outputs ? &n->outputs[i] : NULL;
}

const float *net_output_data(const net *n, int i)
{
    return i >= 0 && i < n->n_outputs ? n->ptr[n->output_store[i]] : NULL;
}

int net_layer_count(const net *n) { return n->n_layers; }

static const char *const kind_names[] = {"conv", "add", "concat", "logistic", "relu", "relu6"};

void net_layer_get(const net *n, int i, net_layer_info *info)
{
    const layer *l = &n->layers[i];
    info->name = l->name;
    info->kernel = l->kind == LAYER_CONV ? l->kernel->name : kind_names[l->kind];
    info->role = l->role;
    info->macs = l->macs;
}

const net_postprocess *net_detection_postprocess(const net *n)
{
    return n->has_post ? &n->post : NULL;
}

size_t net_arena_bytes(const net *n) { return n->arena_bytes; }
size_t net_weight_bytes(const net *n) { return n->weight_bytes; }

const char *layer_role_name(layer_role r)
{
    static const char *const names[ROLE_COUNT] = {"stem", "expand", "depthwise", "project", "head", "other"};
    return (unsigned)r < ROLE_COUNT ? names[r] : "?";
}
