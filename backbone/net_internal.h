/*
 * The network's data structures, shared by the files of backbone/ that build
 * (net.c) and run (net_run.c) it. Not part of backbone's public interface:
 * everything outside backbone/ sees only the opaque `net` of backbone.h.
 */
#ifndef MNV2DET_BACKBONE_NET_INTERNAL_H
#define MNV2DET_BACKBONE_NET_INTERNAL_H

#include <stddef.h>

#include "backbone/backbone.h"
#include "backbone/eltwise_q8.h"

enum layer_kind {
    LAYER_CONV, LAYER_ADD, LAYER_CONCAT, LAYER_LOGISTIC, LAYER_RELU, LAYER_RELU6,
    /* int8 (net_q8.c): outputs int8, except DEQUANTIZE's float */
    LAYER_QCONV, LAYER_QADD, LAYER_QCONCAT, LAYER_QLOGISTIC,
    LAYER_QUANTIZE,           /* float -> int8 */
    LAYER_REQUANTIZE,         /* int8 -> int8 of other parameters */
    LAYER_DEQUANTIZE,         /* int8 -> float */
    LAYER_KIND_COUNT
};

/* 1 for the kinds whose output is int8. */
static inline int layer_writes_int8(enum layer_kind k)
{
    return k >= LAYER_QCONV && k != LAYER_DEQUANTIZE && k < LAYER_KIND_COUNT;
}

/* Bytes of one value of the layer's output: float, or int8. */
static inline size_t layer_elem_size(enum layer_kind k)
{
    return layer_writes_int8(k) ? 1 : sizeof(float);
}

/* 1 for the convolutions of either type (they carry a conv_desc). */
static inline int layer_is_conv(enum layer_kind k)
{
    return k == LAYER_CONV || k == LAYER_QCONV;
}

typedef struct layer {
    enum layer_kind kind;
    layer_role role;
    char *name;
    int tensor;               /* the model's tensor this layer writes */
    int out;                  /* store ids (see below) */
    int in0, in1;             /* in1: second ADD operand, or the fused residual, or -1 */
    size_t count;             /* elements of the output (elementwise kinds, ADD) */
    act_kind act;
    /* LAYER_CONV */
    conv_desc desc;
    const conv_kernel *kernel;
    void *packed;
    double macs;
    /* LAYER_CONCAT: n_parts inputs, each copied as outer blocks of part_inner floats */
    int n_parts;
    int *parts;
    size_t *part_inner;
    size_t outer, out_inner;
    /* fused block (see plan_blocks): this layer and the next two
     * (depthwise, project) run band by band, band_rows output rows at a
     * time, this layer's output kept in a window of ring_rows rows */
    int fused;
    int band_rows;
    int ring_rows;
    /* int8 layers. LAYER_QCONV: kernel, params (requant: out_c entries)
     * and packed weights in packed; LAYER_QLOGISTIC: its 256-entry table in
     * packed; LAYER_QADD: qadd; LAYER_QCONCAT: each part's params and (once
     * the arena is placed) its data; QUANTIZE, REQUANTIZE, DEQUANTIZE: the
     * input's and output's params (q_out), REQUANTIZE's multiplier. Every
     * kind that writes int8 has its output's params in q_out (the ones
     * above for net_run_observed_q8 alone). */
    const qconv_kernel *qkernel;
    qconv_params qconv;
    qmultiplier *requant;
    qadd_params qadd;
    qparams q_in, q_out;
    qmultiplier q_mult;
    qparams *part_q;
    const int8_t **part_data;
    /* LAYER_QADD, LAYER_QUANTIZE (float -> int8): the variant chosen at
     * load for the importer's max_isa (eltwise_q8.h); NULL: the reference */
    add_qs8_fn *qadd_run;
    quantize_qs8_fn *quantize_run;
} layer;

/* A store is the memory of one or more tensors (a reshape shares its input's
 * store). Store 0 is the network input. */
typedef struct store {
    int type;                 /* TFL_TYPE_FLOAT32 or TFL_TYPE_INT8: what its bytes hold */
    size_t bytes;
    int first, last;          /* layer steps that write / read it; input = -1 */
    size_t offset;
} store;

#define PACE_STRIDE 8

struct net {
    int in_h, in_w, in_c;
    int input_tensor;
    int n_tensors;            /* the model's */
    layer *layers; int n_layers;
    store *stores; int n_stores;
    float **ptr;              /* per store, inside the arena */
    void *arena; size_t arena_bytes;
    float *scratch;           /* fused blocks: per-thread band buffers */
    size_t scratch_floats;    /* per thread */
    int scratch_threads;
    /* the threads' shares of every parallel layer, moved after each run
     * towards their pace in the convolutions when balance is on; pace holds
     * per thread (PACE_STRIDE doubles apart, one cache line each) the busy
     * seconds and the multiply-adds done there in the last run */
    work_split split;
    int balance;
    double *pace;             /* for team_threads threads */
    int team_threads;         /* omp_get_max_threads() at load: runs use at most these */
    double run_macs;          /* the layers' multiply-adds: small networks run on one thread */
    team_barrier *barrier;
    size_t weight_bytes;
    net_output_info *outputs; int n_outputs;
    int *output_store;
    char **output_names;
    net_segment *segments;    /* all outputs' segments, one allocation */
    net_postprocess post;     /* valid when has_post */
    float *post_anchors;
    int has_post;
    int post_inputs[2];       /* tensors: box encodings, class predictions */
    int *segment_layer;       /* per segment: the conv layer that writes it */
};

/* ---- import (net.c builds the graph, net_q8.c its int8 layers) ---- */

/* Import state, freed when net_load returns. */
typedef struct importer {
    const char *path;
    const tfl_model *m;
    net *n;
    char *err; size_t errlen;
    int *tensor_store;        /* per tensor: store id, or -1 */
    int *tensor_layer;        /* per tensor: producing layer, or -1 */
    int *tensor_uses;         /* per tensor: how many operators read it */
    float **constf;           /* per tensor: float32 copy of a constant, or NULL */
    mnv_isa max_isa;
    size_t max_memory;        /* arena + packed weights + band buffers */
    int keep_tensors;
    int cap_layers, cap_stores;
    int layer_error;          /* why imp_new_layer returned NULL */
} importer;

static inline size_t tensor_elems(const tfl_tensor *t)
{
    size_t e = 1;
    for (int i = 0; i < t->rank; i++)
        e *= (size_t)t->shape[i];
    return e;
}

/* net.c's helpers that net_q8.c shares. Each error helper writes the
 * message (the model's path, the operator and its index) and returns the
 * code. */
int imp_bad_type(importer *im, int t, int opi);
int imp_bad_shape(importer *im, int opi, const char *what);
int imp_no_memory(importer *im);
/* A layer of kind writing tensor out_tensor (FLOAT32 for float kinds,
 * INT8 or UINT8 for int8 ones) into a new store; NULL with im->layer_error
 * set on failure. */
layer *imp_new_layer(importer *im, enum layer_kind kind, int out_tensor, int opi);
/* The same without the type check: the store holds store_type. */
layer *imp_add_layer(importer *im, enum layer_kind kind, int out_tensor, int store_type);
void imp_use_store(importer *im, int s);
int imp_is_activation(importer *im, int t);
int imp_map_act(importer *im, int opi, int fused, act_kind *out);
/* Aligned memory for bytes of packed weights, counted against the memory cap. */
int imp_alloc_weights(importer *im, size_t bytes, void **out);

/* net_q8.c */
/* INT8 or UINT8: the types that run as int8. */
int q8_type(int type);
/* The int8 parameters of tensor t (a uint8 tensor's converted, see
 * quant_u8_to_s8), refusing what the int8 layers cannot run: another
 * type, no or per-channel parameters, a custom scheme. */
int q8_tensor_params(importer *im, int t, int opi, qparams *q);
/* q8_tensor_params of a tensor computed by an earlier layer. */
int q8_activation(importer *im, int t, int opi, qparams *q);
/* The int8 part of a convolution layer l (geometry in l->desc): params
 * from the tensors, the kernel, the weights packed. */
int q8_conv_layer(importer *im, layer *l, int opi, int ti, int tw, int tb, int to);
/* ADD, LOGISTIC and CONCATENATION's parameters for their int8 layers. */
int q8_add_layer(importer *im, layer *l, int opi, act_kind act);
int q8_logistic_layer(importer *im, layer *l, int opi);
int q8_concat_layer(importer *im, layer *l, int opi);
/* QUANTIZE (float -> int8, int8 -> int8) and DEQUANTIZE of a computed tensor. */
int q8_import_quantize(importer *im, int opi);
int q8_import_dequantize(importer *im, int opi);
/* The graph's input tensor when it is int8 or uint8: a layer quantizes the
 * float input store (0) into it. */
int q8_quantize_input(importer *im, int t);
/* A graph output (or detection input) that is int8: a layer dequantizes it
 * into a float store; returns that store (< 0: error, message written). */
int q8_dequantize_output(importer *im, int t);
/* The float contents of an int8 or uint8 constant (per tensor or per
 * channel), malloc'd; NULL with the message written and im->layer_error
 * set when it has none or memory ran out. */
float *q8_dequantize_const(importer *im, int t, int opi);
/* Once the arena is placed: the concatenations' part pointers. */
void q8_bind(net *n);

#endif
