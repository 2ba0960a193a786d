/*
 * A small TFLite flatbuffer writer for tests: describe tensors and operators,
 * get the bytes of a valid model. Objects are written front to back, each
 * after the one that refers to it, so every uoffset is positive as the
 * format requires.
 */
#ifndef MNV2DET_TESTS_TFLITE_BUILDER_H
#define MNV2DET_TESTS_TFLITE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#define TFB_MAX_TENSORS 64
#define TFB_MAX_OPS 32
#define TFB_MAX_IO 8

typedef struct tfb_tensor {
    int type;                 /* TFL_TYPE_* */
    int rank;
    int shape[6];
    const char *name;
    const void *data;         /* constant contents or NULL */
    size_t size;              /* bytes at data */
} tfb_tensor;

typedef struct tfb_op {
    int builtin;              /* TFL_OP_*; TFL_OP_CUSTOM with custom_code */
    const char *custom_code;
    int n_in, in[TFB_MAX_IO];
    int n_out, out[TFB_MAX_IO];
    int with_options;         /* write the builtin's options table */
    int padding, stride_w, stride_h, activation, depth_multiplier, axis;
    float beta;
    const uint8_t *custom_options;
    size_t custom_options_size;
} tfb_op;

typedef struct tfb_model {
    tfb_tensor tensors[TFB_MAX_TENSORS];
    int n_tensors;
    tfb_op ops[TFB_MAX_OPS];
    int n_ops;
    int inputs[TFB_MAX_IO], n_inputs;
    int outputs[TFB_MAX_IO], n_outputs;
} tfb_model;

/* Add a tensor; returns its index. */
int tfb_add_tensor(tfb_model *m, int type, int rank, const int *shape, const char *name,
                   const void *data, size_t size);
/* Add an operator with options filled with TFLite's usual values (stride 1,
 * SAME, no activation); returns a pointer to adjust them. */
tfb_op *tfb_add_op(tfb_model *m, int builtin, const int *in, int n_in, const int *out, int n_out);

/* The model's bytes (malloc'd), or NULL when out of memory. */
uint8_t *tfb_build(const tfb_model *m, size_t *size);

/* Write bytes to a file; 0 on success. */
int tfb_write_file(const char *path, const void *bytes, size_t size);

#endif
