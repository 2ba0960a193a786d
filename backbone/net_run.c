/*
 * Running a loaded network: the layers in order over the planned arena, with
 * fused inverted-residual blocks computed band by band; and the accessors
 * the rest of the program reads results and statistics through.
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

static void run_block(net *n, const layer *e)
{
    const layer *d = e + 1, *p = e + 2;
    const int s = d->desc.stride_h, pt = d->desc.pad_top, h = e->desc.in_h, oh = d->desc.out_h;
    const int band = e->band_rows, bands = (oh + band - 1) / band;
    const size_t wi = (size_t)e->desc.in_w * e->desc.in_c, wo = (size_t)p->desc.out_w * p->desc.out_c;
    const size_t rows_e = (size_t)(band - 1) * s + 3;
    const float *in = n->ptr[e->in0], *res = p->in1 >= 0 ? n->ptr[p->in1] : NULL;
    float *out = n->ptr[p->out];
    int threads = omp_get_max_threads() < n->scratch_threads ? omp_get_max_threads() : n->scratch_threads;
    #pragma omp parallel num_threads(threads)
    {
        float *ebuf = n->scratch + (size_t)omp_get_thread_num() * n->scratch_floats;
        float *dbuf = ebuf + rows_e * e->desc.out_w * e->desc.out_c;
        /* the kernels' own parallel loops run on this thread alone here */
        #pragma omp for schedule(static)
        for (int b = 0; b < bands; b++) {
            int oy0 = b * band, oy1 = oy0 + band < oh ? oy0 + band : oh;
            int r0 = oy0 * s - pt > 0 ? oy0 * s - pt : 0;
            int r1 = (oy1 - 1) * s - pt + 3 < h ? (oy1 - 1) * s - pt + 3 : h;
            conv_desc de = e->desc, dd = d->desc, dp = p->desc;
            de.in_h = de.out_h = r1 - r0;
            e->kernel->run(&de, e->packed, in + (size_t)r0 * wi, NULL, ebuf);
            dd.in_h = r1 - r0;
            dd.out_h = oy1 - oy0;
            dd.pad_top = pt - oy0 * s + r0;
            d->kernel->run(&dd, d->packed, ebuf, NULL, dbuf);
            dp.in_h = dp.out_h = oy1 - oy0;
            p->kernel->run(&dp, p->packed, dbuf, res ? res + (size_t)oy0 * wo : NULL, out + (size_t)oy0 * wo);
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
    /* Fused blocks nest the kernels' parallel loops inside their own; with
     * nested parallelism enabled that would oversubscribe, so run plainly. */
    int fuse = omp_get_max_active_levels() <= 1;
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        if (l->fused && fuse) {
            run_block(n, l);
            i += l->fused - 1;
        } else {
            run_layer(n, l);
        }
    }
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
