/*
 * Small TFLite models for tests: fixed-size tables of tensors and operators
 * filled by the helpers below, written by backbone's tfw_build. The layout
 * switches in tfb_model make the variants a reader meets in real files:
 * vtables after their tables (a negative soffset), constant data outside the
 * flatbuffer (the large-model format), operator codes that only fill the
 * deprecated byte (files from before code 127), scalar fields left out when
 * they hold the schema's default (what flatc's builders do).
 */
#ifndef MNV2DET_TESTS_TFLITE_BUILDER_H
#define MNV2DET_TESTS_TFLITE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "backbone/backbone.h"

#define TFB_MAX_TENSORS 64
#define TFB_MAX_OPS 32
#define TFB_MAX_IO TFW_MAX_IO

typedef tfw_tensor tfb_tensor;
typedef tfw_op tfb_op;

typedef struct tfb_model {
    tfb_tensor tensors[TFB_MAX_TENSORS];
    float own_scale[TFB_MAX_TENSORS];       /* tfb_add_qtensor's parameters */
    int64_t own_zero_point[TFB_MAX_TENSORS];
    int n_tensors;
    tfb_op ops[TFB_MAX_OPS];
    int n_ops;
    int inputs[TFB_MAX_IO], n_inputs;
    int outputs[TFB_MAX_IO], n_outputs;
    /* layout switches, all 0 by default */
    int vtables_after;        /* each vtable after its table */
    int external_data;        /* constant data and custom options after the flatbuffer, by offset and size */
    int legacy_opcodes;       /* only deprecated_builtin_code (codes < 127) */
    int omit_defaults;        /* leave out scalars equal to the schema's default */
} tfb_model;

/* Add a tensor; returns its index, or -1 when the model is full. */
int tfb_add_tensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                   const void *data, size_t size);
/* Quantize tensor t: n scales and zero points (which must live until
 * tfb_build) along dimension dim. Returns t, or -1 for a bad index. */
int tfb_set_quant(tfb_model *m, int t, const float *scales, const int64_t *zero_points, int n, int dim);
/* Add a tensor quantized per tensor (scale, zero point kept in the model's own
 * storage, so they need not outlive the call); returns its index or -1. */
int tfb_add_qtensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                    const void *data, size_t size, float scale, int64_t zero_point);

/* Add an operator with options filled with TFLite's usual values (SAME,
 * stride 1, dilation 1, no activation, multiplier 1, beta 1, version 1);
 * returns a pointer to adjust them, or NULL when the model is full. */
tfb_op *tfb_add_op(tfb_model *m, int builtin, const int *in, int n_in, const int *out, int n_out);

/* The model's bytes (malloc'd, *size set), or NULL when out of memory. */
uint8_t *tfb_build(const tfb_model *m, size_t *size);

/* Write bytes to a file; 0 on success. */
#define tfb_write_file tfw_write_file

#endif
