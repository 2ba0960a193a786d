/*
 * The network's data structures, shared by the files of backbone/ that build
 * (net.c) and run (net_run.c) it. Not part of backbone's public interface:
 * everything outside backbone/ sees only the opaque `net` of backbone.h.
 */
#ifndef MNV2DET_BACKBONE_NET_INTERNAL_H
#define MNV2DET_BACKBONE_NET_INTERNAL_H

#include <stddef.h>

#include "backbone/backbone.h"

enum layer_kind { LAYER_CONV, LAYER_ADD, LAYER_CONCAT, LAYER_LOGISTIC, LAYER_RELU, LAYER_RELU6 };

typedef struct layer {
    enum layer_kind kind;
    layer_role role;
    char *name;
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
} layer;

/* A store is the memory of one or more tensors (a reshape shares its input's
 * store). Store 0 is the network input. */
typedef struct store {
    size_t bytes;
    int first, last;          /* layer steps that write / read it; input = -1 */
    size_t offset;
} store;

#define PACE_STRIDE 8

struct net {
    int in_h, in_w, in_c;
    layer *layers; int n_layers;
    store *stores; int n_stores;
    float **ptr;              /* per store, inside the arena */
    void *arena; size_t arena_bytes;
    float *scratch;           /* fused blocks: per-thread band buffers */
    size_t scratch_floats;    /* per thread */
    int scratch_threads;
    /* the threads' shares of every parallel layer, moved after each run
     * towards their pace in the fused blocks when balance is on; pace holds
     * per thread (PACE_STRIDE doubles apart, one cache line each) the busy
     * seconds and the multiply-adds done there in the last run */
    work_split split;
    int balance;
    double *pace;
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

#endif
