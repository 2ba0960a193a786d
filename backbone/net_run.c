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

/* Store s as the int8 values it holds (store.type). */
static int8_t *q8(const net *n, int s)
{
    return (int8_t *)(void *)n->ptr[s];
}

/* 1 for the kinds whose every output value depends on the input values at
 * the same index alone (elementwise_range runs them). */
static int layer_is_elementwise(enum layer_kind k)
{
    return k == LAYER_QLOGISTIC || k == LAYER_QADD || k == LAYER_QUANTIZE || k == LAYER_REQUANTIZE ||
           k == LAYER_DEQUANTIZE || k == LAYER_ADD;
}

/* Values [lo, hi) of an elementwise layer. ADD and QUANTIZE run the
 * variant chosen at load. */
static void elementwise_range(const net *n, const layer *l, size_t lo, size_t hi)
{
    const size_t k = hi - lo;
    switch (l->kind) {
    case LAYER_QLOGISTIC:
        lut_qs8_ref(l->packed, q8(n, l->in0) + lo, q8(n, l->out) + lo, k);
        break;
    case LAYER_QADD:
        (l->qadd_run ? l->qadd_run : add_qs8_ref)(&l->qadd, q8(n, l->in0) + lo, q8(n, l->in1) + lo,
                                                  q8(n, l->out) + lo, k);
        break;
    case LAYER_QUANTIZE:
        (l->quantize_run ? l->quantize_run : quant_quantize_f32)(n->ptr[l->in0] + lo, q8(n, l->out) + lo, k,
                                                                 l->q_out);
        break;
    case LAYER_REQUANTIZE:
        requantize_qs8_ref(q8(n, l->in0) + lo, q8(n, l->out) + lo, k, l->q_in.zero_point, l->q_mult,
                           l->q_out.zero_point);
        break;
    case LAYER_DEQUANTIZE:
        quant_dequantize_f32(q8(n, l->in0) + lo, n->ptr[l->out] + lo, k, l->q_in);
        break;
    case LAYER_ADD:
        add_f32_ref(n->ptr[l->in0] + lo, n->ptr[l->in1] + lo, n->ptr[l->out] + lo, k, l->act);
        break;
    default:
        break;
    }
}

/* Thread t's share of an elementwise layer's values, in the threads'
 * shares; cut at multiples of 64 values, so that no two threads write one
 * cache line. l->count < 2^31 (check_tensor_size). */
static void elementwise_share(const net *n, const layer *l, int t, int nt)
{
    int b0, b1;
    work_split_range(&n->split, (int)((l->count + 63) / 64), nt, t, &b0, &b1);
    const size_t lo = (size_t)b0 * 64, hi = (size_t)b1 * 64 < l->count ? (size_t)b1 * 64 : l->count;
    if (lo < hi)
        elementwise_range(n, l, lo, hi);
}

/* Below this many values an elementwise layer run on its own (not in a
 * team, net_run_timed and the observers) runs on the calling thread alone:
 * starting a team would take longer. */
#define ELEMENTWISE_PARALLEL_MIN 16384

static void run_elementwise(const net *n, const layer *l)
{
    if (l->count < ELEMENTWISE_PARALLEL_MIN) {
        elementwise_range(n, l, 0, l->count);
        return;
    }
    #pragma omp parallel
    elementwise_share(n, l, omp_get_thread_num(), omp_get_num_threads());
}

static void run_layer(net *n, const layer *l)
{
    float *out = n->ptr[l->out];
    switch (l->kind) {
    case LAYER_QCONV: {
        conv_desc d = l->desc;
        d.split = &n->split;
        l->qkernel->run(&d, &l->qconv, l->packed, q8(n, l->in0), q8(n, l->out));
        break;
    }
    case LAYER_QCONCAT:
        concat_qs8_ref(l->n_parts, l->part_data, l->part_q, l->part_inner, l->outer, l->q_out, q8(n, l->out));
        break;
    case LAYER_QADD:
    case LAYER_QLOGISTIC:
    case LAYER_QUANTIZE:
    case LAYER_REQUANTIZE:
    case LAYER_DEQUANTIZE:
    case LAYER_ADD:
        run_elementwise(n, l);
        break;
    case LAYER_KIND_COUNT:
        break;
    case LAYER_CONV: {
        conv_desc d = l->desc;
        d.split = &n->split;
        l->kernel->run(&d, l->packed, n->ptr[l->in0], l->in1 >= 0 ? n->ptr[l->in1] : NULL, out);
        break;
    }
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

/* d restricted to its output rows [a, b), a < b: the input rows under them
 * start at *first, and the padding above row a becomes pad_top. */
static conv_desc conv_rows(const conv_desc *d, int a, int b, int *first)
{
    conv_desc r = *d;
    const int s = d->stride_h, pt = d->pad_top;
    int i0 = a * s - pt, i1 = (b - 1) * s - pt + (d->k_h - 1) * d->dil_h + 1;
    i0 = i0 > 0 ? i0 : 0;
    i1 = i1 < d->in_h ? i1 : d->in_h;
    r.in_h = i1 - i0;
    r.out_h = b - a;
    r.pad_top = pt - a * s + i0;
    *first = i0;
    return r;
}

/* Layer l (a convolution of either type) on descriptor d. */
static void conv_run(const layer *l, const conv_desc *d, const void *in, const float *res, void *out)
{
    if (l->kind == LAYER_QCONV)
        l->qkernel->run(d, &l->qconv, l->packed, in, out);
    else
        l->kernel->run(d, l->packed, in, res, out);
}

/* Rows [a, b) of e's output into dst: e on the input rows under them. */
static void block_produce(const net *n, const layer *e, int a, int b, char *dst, size_t elem)
{
    int i0;
    const conv_desc de = conv_rows(&e->desc, a, b, &i0);
    const size_t row_in = (size_t)de.in_w * de.in_c * elem;
    conv_run(e, &de, (const char *)n->ptr[e->in0] + (size_t)i0 * row_in, NULL, dst);
}

/* Output rows [y0, y1) of the fused block starting at e, on this thread,
 * with its window ebuf (e->ring_rows rows of e's output) and dbuf (one
 * band of the depthwise output); values of elem bytes (float or int8). */
static void block_rows(const net *n, const layer *e, int y0, int y1, char *ebuf, char *dbuf)
{
    const layer *d = e + 1, *p = e + 2;
    const size_t elem = layer_elem_size(e->kind);
    const size_t row_e = (size_t)e->desc.out_w * e->desc.out_c * elem;
    const size_t row_out = (size_t)p->desc.out_w * p->desc.out_c;
    const float *res = p->in1 >= 0 ? n->ptr[p->in1] : NULL;
    char *out = (char *)n->ptr[p->out];
    int b0 = 0, b1 = 0; /* ebuf holds e's output rows [b0, b1) */
    for (int oy0 = y0; oy0 < y1; oy0 += e->band_rows) {
        const int oy1 = oy0 + e->band_rows < y1 ? oy0 + e->band_rows : y1;
        int r0; /* the band reads e's output rows [r0, r1) */
        const conv_desc dd = conv_rows(&d->desc, oy0, oy1, &r0);
        const int r1 = r0 + dd.in_h;
        if (r0 < b0 || r0 >= b1) {
            b0 = b1 = r0;
        } else if (r1 - b0 > e->ring_rows) {
            memmove(ebuf, ebuf + (size_t)(r0 - b0) * row_e, (size_t)(b1 - r0) * row_e);
            b0 = r0;
        }
        if (r1 > b1) {
            block_produce(n, e, b1, r1, ebuf + (size_t)(b1 - b0) * row_e, elem);
            b1 = r1;
        }
        conv_run(d, &dd, ebuf + (size_t)(r0 - b0) * row_e, NULL, dbuf);
        conv_desc dp = p->desc;
        dp.in_h = dp.out_h = oy1 - oy0;
        conv_run(p, &dp, dbuf, res ? res + (size_t)oy0 * row_out : NULL, out + (size_t)oy0 * row_out * elem);
    }
}

/* Thread t's share of the fused block starting at e: its output rows as
 * n->split cuts them, with the thread's own band buffers. Returns the
 * fraction of the rows it took. */
static double block_share(const net *n, const layer *e, int t, int nt)
{
    const int oh = e[1].desc.out_h;
    const size_t elem = layer_elem_size(e->kind);
    const size_t ring = (size_t)e->ring_rows * e->desc.out_w * e->desc.out_c * elem;
    int y0, y1;
    work_split_range(&n->split, oh, nt, t, &y0, &y1);
    char *ebuf = (char *)(n->scratch + (size_t)t * n->scratch_floats);
    if (y0 < y1)
        block_rows(n, e, y0, y1, ebuf, ebuf + ring);
    return (double)(y1 - y0) / oh;
}

/* Thread t's share of convolution l: its output rows as n->split cuts them,
 * the input rows under them. Called inside the team, the kernel runs them
 * on this thread alone. Returns the fraction of the rows it took. */
static double conv_share(const net *n, const layer *l, int t, int nt)
{
    int y0, y1, i0;
    work_split_range(&n->split, l->desc.out_h, nt, t, &y0, &y1);
    if (y0 >= y1)
        return 0.0;
    const conv_desc d = conv_rows(&l->desc, y0, y1, &i0);
    const size_t elem = layer_elem_size(l->kind);
    const size_t row_in = (size_t)d.in_w * d.in_c * elem, row_out = (size_t)d.out_w * d.out_c;
    const float *res = l->kind == LAYER_CONV && l->in1 >= 0 ? n->ptr[l->in1] + (size_t)y0 * row_out : NULL;
    conv_run(l, &d, (const char *)n->ptr[l->in0] + (size_t)i0 * row_in, res,
             (char *)n->ptr[l->out] + (size_t)y0 * row_out * elem);
    return (double)(y1 - y0) / l->desc.out_h;
}

/* The convolutions whose times set the threads' pace have at least this
 * many output rows per thread: on the smallest maps (5x5 to 1x1) some
 * threads get no rows, and a multiply-add costs several times more, so
 * they would count as slow. */
#define PACE_MIN_ROWS 4

/* Thread t's part of a run, in a team of nt: every layer's share, the
 * threads meeting between layers. Layers of the other kinds (concatenations,
 * the float activations) are small and run on thread 0 alone. Each thread
 * adds its busy time and multiply-adds in the convolutions to n->pace.
 * With seconds (net_run_timed) the fused blocks run layer by layer, and
 * thread 0 adds each layer's time, from barrier to barrier, to seconds[i]. */
static void team_run(net *n, int t, int nt, double *seconds)
{
    double *pace = n->pace + (size_t)t * PACE_STRIDE;
    double mark = omp_get_wtime();
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        const int first = i, fused = seconds ? 0 : l->fused;
        if (i > 0 && !seconds)
            team_barrier_wait(n->barrier, nt);
        if (fused || layer_is_conv(l->kind)) {
            const double t0 = omp_get_wtime();
            double macs = l->macs, part;
            int rows = l->desc.out_h;
            if (fused) {
                macs += l[1].macs + l[2].macs;
                rows = l[1].desc.out_h;
                part = block_share(n, l, t, nt);
                i += fused - 1;
            } else {
                part = conv_share(n, l, t, nt);
            }
            if (rows >= PACE_MIN_ROWS * nt) {
                pace[0] += omp_get_wtime() - t0;
                pace[1] += macs * part;
            }
        } else if (layer_is_elementwise(l->kind)) {
            elementwise_share(n, l, t, nt);
        } else if (t == 0) {
            run_layer(n, l);
        }
        if (seconds) {
            team_barrier_wait(n->barrier, nt);
            if (t == 0) {
                const double now = omp_get_wtime();
                seconds[first] += now - mark;
                mark = now;
            }
        }
    }
}

/* How far each run moves the shares towards the pace it measured. One run's
 * measurement scatters by about 0.01 of a share when the machine is calm
 * (more when other work interrupts a thread), and a share 0.01 off costs 2%
 * of the time; a tenth of the way per run averages over some ten runs (60
 * ms at 2 threads), while which vCPU is slow changes over seconds or
 * minutes (seen on a 2-vCPU KVM guest, when a thread moves to the other
 * vCPU or the host loads one of them). */
#define BALANCE_RATE 0.1f

static void balance_threads(net *n, int threads)
{
    double busy[WORK_SPLIT_MAX], work[WORK_SPLIT_MAX];
    for (int t = 0; t < threads; t++) {
        busy[t] = n->pace[(size_t)t * PACE_STRIDE];
        work[t] = n->pace[(size_t)t * PACE_STRIDE + 1];
    }
    work_split_update(&n->split, busy, work, BALANCE_RATE);
}

float *net_input_buffer(net *n)
{
    return n->ptr[0];
}

/* The runs' input: NULL (or the input buffer itself) when the caller wrote
 * it in place, else copied in */
static void net_set_input(net *n, const float *input)
{
    if (input && input != n->ptr[0])
        memcpy(n->ptr[0], input, (size_t)n->in_h * n->in_w * n->in_c * sizeof(float));
}

/* Below this many multiply-adds a run (some 10 us of work) takes the
 * calling thread alone: starting a team and passing a barrier per layer
 * would take longer (a test network of 8 layers: 0.022 ms at 2 threads,
 * 0.013 at 1). */
#define TEAM_MIN_MACS 1e6

/* The threads a run uses (at most `threads`), the split made for them and
 * their pace records cleared */
static int run_begin(net *n, int threads)
{
    if (threads > n->team_threads)
        threads = n->team_threads;
    if (n->split.threads != threads)
        work_split_even(&n->split, threads);
    memset(n->pace, 0, (size_t)n->team_threads * PACE_STRIDE * sizeof(double));
    return threads;
}

/* The layers on one OpenMP team (team_run), the shares then moved towards
 * the pace measured (not after timed runs: their layers run unfused) */
static void run_team(net *n, double *seconds)
{
    const int threads = run_begin(n, n->run_macs < TEAM_MIN_MACS ? 1 : omp_get_max_threads());
    int team = 0;
    #pragma omp parallel num_threads(threads)
    {
        if (omp_get_thread_num() == 0)
            team = omp_get_num_threads();
        team_run(n, omp_get_thread_num(), omp_get_num_threads(), seconds);
    }
    /* a smaller team than asked for (OMP_DYNAMIC) measured no pace for the rest */
    if (!seconds && n->balance && team == threads && threads <= WORK_SPLIT_MAX)
        balance_threads(n, threads);
}

/* The layers one by one, each kernel with a team of its own, each fused
 * block with one (fuse: else unfused). Each thread of a block's team adds
 * its busy time and multiply-adds to n->pace. */
static void run_layers(net *n, int threads, int fuse)
{
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        if (!(l->fused && fuse)) {
            run_layer(n, l);
            continue;
        }
        const double macs = l[0].macs + l[1].macs + l[2].macs;
        #pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num();
            const double t0 = omp_get_wtime();
            const double part = block_share(n, l, t, omp_get_num_threads());
            double *pace = n->pace + (size_t)t * PACE_STRIDE;
            pace[0] += omp_get_wtime() - t0;
            pace[1] += macs * part;
        }
        i += l->fused - 1;
    }
}

/*
 * By default one OpenMP team runs all the layers, its threads meeting at a
 * barrier of our own between them (team_barrier.c says why); each layer's
 * kernel runs on each thread over that thread's rows.
 *
 * Under the passive wait policy (the live program's) the layers run one by
 * one, each kernel with a team of its own, as libgomp's passive waits
 * allow: in the full test suite, under load, the live window's program
 * twice lost its window or stopped after one frame with the team and a
 * barrier that sleeps at once, which was not found in the time there was.
 * With nested parallelism enabled the kernels would start teams of their
 * own inside the team and oversubscribe the CPUs; then the layers run one
 * by one too, and the fused blocks unfused.
 */
void net_run(net *n, const float *input)
{
    net_set_input(n, input);
    if (omp_get_max_active_levels() > 1) {
        run_layers(n, 1, 0);
        return;
    }
    if (n->barrier->spin_ns > 0) {
        run_team(n, NULL);
        return;
    }
    const int threads = run_begin(n, omp_get_max_threads());
    run_layers(n, threads, 1);
    if (n->balance && threads <= WORK_SPLIT_MAX)
        balance_threads(n, threads);
}

void net_set_balance(net *n, int on)
{
    n->balance = on != 0;
    if (!n->balance)
        work_split_even(&n->split, n->split.threads);
}

int net_set_shares(net *n, const float *shares, int threads, char *err, size_t errlen)
{
    double share[WORK_SPLIT_MAX];
    if (threads < 1 || threads > WORK_SPLIT_MAX)
        return mnv_error(err, errlen, MNV_EINVAL, "shares for %d threads: from 1 to %d are possible",
                         threads, WORK_SPLIT_MAX);
    for (int t = 0; t < threads; t++) {
        if (!(shares[t] > 0.0f) || !(shares[t] < 1e30f))
            return mnv_error(err, errlen, MNV_EINVAL, "share %d is %g: each must be above 0 and finite",
                             t, (double)shares[t]);
        share[t] = shares[t];
    }
    work_split_set(&n->split, share, threads);
    n->balance = 0;
    return 0;
}

int net_thread_shares(const net *n, float *shares, int max)
{
    for (int t = 0; t < n->split.threads && t < max; t++)
        shares[t] = n->split.at[t + 1] - n->split.at[t];
    return n->split.threads;
}

void net_run_timed(net *n, const float *input, double *seconds)
{
    net_set_input(n, input);
    if (omp_get_max_active_levels() > 1 || n->barrier->spin_ns == 0) { /* as net_run */
        for (int i = 0; i < n->n_layers; i++) {
            const double t0 = omp_get_wtime();
            run_layer(n, &n->layers[i]);
            seconds[i] += omp_get_wtime() - t0;
        }
        return;
    }
    run_team(n, seconds);
}

int net_tensor_count(const net *n) { return n->n_tensors; }

void net_run_observed(net *n, const float *input, net_observer observe, void *user)
{
    net_set_input(n, input);
    observe(user, n->input_tensor, n->ptr[0], (size_t)n->in_h * n->in_w * n->in_c);
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        run_layer(n, l);
        if (n->stores[l->out].type == TFL_TYPE_FLOAT32)
            observe(user, l->tensor, n->ptr[l->out], l->count);
    }
}

void net_run_observed_q8(net *n, const float *input, net_observer_q8 observe, void *user)
{
    net_set_input(n, input);
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        run_layer(n, l);
        if (n->stores[l->out].type == TFL_TYPE_INT8)
            observe(user, l->tensor, q8(n, l->out), l->count, l->q_out);
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

static const char *const kind_names[LAYER_KIND_COUNT] = {
    "conv", "add", "concat", "logistic", "relu", "relu6", "qconv", "add_qs8", "concat_qs8", "logistic_qs8",
    "quantize", "requantize", "dequantize",
};

void net_layer_get(const net *n, int i, net_layer_info *info)
{
    const layer *l = &n->layers[i];
    info->name = l->name;
    info->kernel = l->kind == LAYER_CONV ? l->kernel->name : l->kind == LAYER_QCONV ? l->qkernel->name
                                                                                 : kind_names[l->kind];
    info->role = l->role;
    info->macs = l->macs;
    info->int8 = layer_writes_int8(l->kind) || l->kind == LAYER_DEQUANTIZE;
    info->weights_f16 = l->kind == LAYER_CONV && l->kernel->weights_f16 &&
                        l->kernel->weights_f16(&l->desc, l->packed);
}

const net_postprocess *net_detection_postprocess(const net *n)
{
    return n->has_post ? &n->post : NULL;
}

size_t net_arena_bytes(const net *n) { return n->arena_bytes; }
size_t net_weight_bytes(const net *n) { return n->weight_bytes; }
size_t net_band_bytes(const net *n)
{
    return n->scratch_floats * sizeof(float) * (size_t)n->scratch_threads;
}

int net_fused_blocks(const net *n)
{
    int k = 0;
    for (int i = 0; i < n->n_layers; i++)
        k += n->layers[i].fused != 0;
    return k;
}

const char *layer_role_name(layer_role r)
{
    static const char *const names[ROLE_COUNT] = {"stem", "expand", "depthwise", "project", "head", "other"};
    return (unsigned)r < ROLE_COUNT ? names[r] : "?";
}
