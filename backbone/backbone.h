/*
 * backbone: tensors, kernels, the TFLite reader and the network executor.
 *
 * Knows nothing of cameras or boxes: input is a float NHWC image tensor, output
 * is whatever tensors the model declares as outputs (for SSD models: raw box
 * encodings and class logits), plus a description of which head layer feeds
 * which slice of an output, so that ssdlite/ can lay anchors over them.
 *
 * Errors: every fallible function returns 0 on success or a negative
 * mnv_status and writes one human-readable line (no newline) into the
 * caller's err buffer. Nothing here prints or exits.
 */
#ifndef MNV2DET_BACKBONE_H
#define MNV2DET_BACKBONE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ------------------------------------------------------------------------ */
/* TFLite flatbuffer reader (tflite.c)                                       */
/* ------------------------------------------------------------------------ */

/* TFLite schema enums we refer to by name. */
enum {
    TFL_TYPE_FLOAT32 = 0, TFL_TYPE_FLOAT16 = 1, TFL_TYPE_INT32 = 2,
    TFL_TYPE_UINT8 = 3, TFL_TYPE_INT64 = 4, TFL_TYPE_INT16 = 7, TFL_TYPE_INT8 = 9,
};
enum {
    TFL_OP_ADD = 0, TFL_OP_CONCATENATION = 2, TFL_OP_CONV_2D = 3,
    TFL_OP_DEPTHWISE_CONV_2D = 4, TFL_OP_DEQUANTIZE = 6, TFL_OP_LOGISTIC = 14,
    TFL_OP_RELU = 19, TFL_OP_RELU6 = 21, TFL_OP_RESHAPE = 22,
    TFL_OP_SOFTMAX = 25, TFL_OP_CUSTOM = 32, TFL_OP_QUANTIZE = 114,
};
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3 };

#define TFL_MAX_RANK 6

typedef struct tfl_tensor {
    int type;                 /* TFL_TYPE_* */
    int rank;                 /* 0..TFL_MAX_RANK */
    int shape[TFL_MAX_RANK];  /* every dim >= 0 */
    const uint8_t *data;      /* constant contents inside the mapped file, or NULL */
    size_t size;              /* bytes at data (0 when data is NULL) */
    char *name;               /* NUL-terminated copy, never NULL ("" if absent) */
    /* Quantization (the schema's QuantizationParameters): real = scale[i] *
     * (q - zero_point[i]). n_quant pairs, 0 when the tensor has no scales
     * (min/max alone do not quantize it); 1: per tensor; more: one per index
     * of dimension quant_dim, whose size is n_quant (quant_dim means nothing
     * for fewer than 2). The reader checks that every scale is finite and
     * above 0 and every zero point lies in the type's range: INT8 [-128,
     * 127], UINT8 [0, 255], 0 for INT32 (biases) and INT16 (symmetric),
     * within int32 for the others. quant_details is the details union's type:
     * not 0 for a custom scheme that the pairs do not describe. */
    int n_quant;
    int quant_dim;
    float *scale;             /* n_quant entries (NULL when 0) */
    int32_t *zero_point;      /* n_quant entries (NULL when 0) */
    int quant_details;
} tfl_tensor;

typedef struct tfl_op {
    int builtin;              /* BuiltinOperator code (TFL_OP_*); TFL_OP_CUSTOM for custom ops */
    char *custom_code;        /* NUL-terminated copy for custom ops, else NULL */
    int version;
    int n_inputs, n_outputs;
    int *inputs, *outputs;    /* tensor indices, validated < n_tensors; -1 = optional absent */
    /* Options of the builtins we execute, decoded with the schema's defaults. */
    int padding;              /* TFL_PAD_* */
    int stride_w, stride_h;
    int dilation_w, dilation_h;
    int depth_multiplier;
    int activation;           /* TFL_ACT_* (fused) */
    int axis;                 /* CONCATENATION */
    float beta;               /* SOFTMAX */
    const uint8_t *custom_options; /* raw bytes inside the file (flexbuffer), or NULL */
    size_t custom_options_size;
} tfl_op;

typedef struct tfl_model {
    const uint8_t *buf;       /* the whole file */
    size_t size;
    int mapped;               /* 1: buf is an mmap owned by the model */
    tfl_tensor *tensors; int n_tensors;
    tfl_op *ops; int n_ops;   /* in execution order (subgraph 0) */
    int *inputs; int n_inputs;
    int *outputs; int n_outputs;
} tfl_model;

/* Map the file at path and parse it into m. Every offset, length and index is
 * checked against the file before use; on failure m is left empty (nothing to
 * close) and err names the file and the first problem found. */
int tfl_open(tfl_model *m, const char *path, char *err, size_t errlen);

/* Same as tfl_open on a caller-owned buffer that must outlive m (tests). */
int tfl_parse(tfl_model *m, const uint8_t *buf, size_t size, char *err, size_t errlen);

/* Release everything tfl_open/tfl_parse allocated (and the mapping). Safe on a
 * zeroed model and idempotent. */
void tfl_close(tfl_model *m);

/* Schema names for messages: "CONV_2D", "MUL", ...; "op#N" if unknown. The
 * returned string is static, except for unknown codes where buf is used. */
const char *tfl_op_name(int builtin, char *buf, size_t buflen);
/* "FLOAT32", "UINT8", ...; "type#N" if unknown (same buffer rule). */
const char *tfl_type_name(int type, char *buf, size_t buflen);

/* ------------------------------------------------------------------------ */
/* TFLite writer (tflite_write.c)                                            */
/* ------------------------------------------------------------------------ */

#define TFW_MAX_IO 8

/* A tensor to write. Pointers must stay valid until tfw_build returns. */
typedef struct tfw_tensor {
    int type;                 /* TFL_TYPE_* */
    int rank;
    int shape[TFL_MAX_RANK];
    const char *name;         /* NULL writes "" */
    const void *data;         /* constant contents (a buffer of its own) or NULL */
    size_t size;              /* bytes at data */
    /* QuantizationParameters, written when any of these is set. The counts
     * may differ (tests write malformed models); quant_details is the
     * details union's type, written without a value. */
    const float *scales;
    int n_scales;
    const int64_t *zero_points;
    int n_zero_points;
    int quant_dim;
    int quant_details;
} tfw_tensor;

typedef struct tfw_op {
    int builtin;              /* TFL_OP_*; TFL_OP_CUSTOM with custom_code */
    const char *custom_code;
    int version;              /* OperatorCode.version; operators with the same
                                 code, custom code and version share one */
    int n_in, in[TFW_MAX_IO]; /* -1: an absent optional input */
    int n_out, out[TFW_MAX_IO];
    /* Write the builtin's options table (CONV_2D, DEPTHWISE_CONV_2D, ADD,
     * CONCATENATION, RESHAPE, SOFTMAX; other builtins get none). */
    int with_options;
    int padding, stride_w, stride_h, dilation_w, dilation_h, activation, depth_multiplier, axis;
    float beta;
    int n_new_shape, new_shape[TFL_MAX_RANK]; /* RESHAPE */
    const uint8_t *custom_options;
    size_t custom_options_size;
} tfw_op;

/* One subgraph's tensors and operators (in execution order). The layout
 * switches make the variants a reader meets in real files; all 0 is what
 * TFLite's converter writes. */
typedef struct tfw_model {
    const tfw_tensor *tensors; int n_tensors;
    const tfw_op *ops; int n_ops;
    const int *inputs; int n_inputs;
    const int *outputs; int n_outputs;
    int vtables_after;        /* each vtable after its table */
    int external_data;        /* constant data and custom options after the flatbuffer, by offset and size */
    int legacy_opcodes;       /* only deprecated_builtin_code (codes < 127) */
    int omit_defaults;        /* leave out scalars equal to the schema's default */
} tfw_model;

/* The model's bytes as a TFLite flatbuffer (version 3, buffer 0 the empty
 * sentinel, one buffer per constant tensor); malloc'd with *size set, or
 * NULL when out of memory. */
uint8_t *tfw_build(const tfw_model *m, size_t *size);

/* Write bytes to path; 0 on success, -1 with errno set. */
int tfw_write_file(const char *path, const void *bytes, size_t size);

/* ------------------------------------------------------------------------ */
/* Post-training quantization (calibrate.c, quantize_model.c)                */
/* ------------------------------------------------------------------------ */

/* How a tensor's range is taken from the calibration pictures:
 * CALIB_MINMAX: its smallest and largest value over all of them;
 * CALIB_PERCENTILE: in each picture the values `percentile` percent of the
 * way from either end (e.g. 99.99: the 0.01% most extreme values on each
 * side are clipped), then the widest of those over the pictures. */
typedef enum calib_method { CALIB_MINMAX = 0, CALIB_PERCENTILE = 1 } calib_method;

typedef struct calib_ranges calib_ranges;

/* Ranges for the tensors 0..n_tensors-1 of a model, none seen yet.
 * MNV_EINVAL for a percentile outside (50, 100]. */
int calib_create(calib_ranges **out, int n_tensors, calib_method method, double percentile,
                 char *err, size_t errlen);
void calib_free(calib_ranges *c);
/* A net_observer (user: the calib_ranges): widens tensor's range by data.
 * Out of memory (percentile's copy) sets calib_failed. */
void calib_observe(void *ranges, int tensor, const float *data, size_t count);
int calib_failed(const calib_ranges *c);
/* The range seen for tensor: 0, or -1 when it has not been observed. */
int calib_range(const calib_ranges *c, int tensor, float *lo, float *hi);
/* The same range without isolated low values: in each picture the few
 * lowest (at most 1 in 1000 values) that lie further below the next one
 * than the picture's whole remaining extent (calibrate.c). With
 * CALIB_PERCENTILE, calib_range's. */
int calib_range_cut(const calib_ranges *c, int tensor, float *lo, float *hi);
/* The bias correction recorded for tensor (a convolution's output, see
 * bias_probe_apply): one shift per output channel in the tensor's real
 * units, which quantize_model adds to the convolution's float bias before
 * quantizing it; NULL (*channels 0) when there is none. */
const float *calib_bias_shift(const calib_ranges *c, int tensor, int *channels);

typedef struct quantize_report {
    int convs;                /* convolutions with int8 weights */
    int activations;          /* int8 activation tensors with calibrated parameters */
    int operators;            /* operators written */
    size_t weights;           /* int8 weights written */
    int widened;              /* channels whose weight scale grew to keep the bias in range */
    int narrow;               /* convolutions whose scales give 32-bit form multipliers */
    int narrow_reused;        /* of those, whose scales came from the memo (quantize_model_memo) */
    size_t bytes;             /* size of the file */
} quantize_report;

/* Write out_path: the float model at float_path in TFLite's int8 scheme,
 * each activation's parameters from ranges (calibrated on that model's
 * tensors: load it with keep_tensors and observe with calib_observe).
 * The reshapes and concatenations that lead to the outputs stay float (each
 * predictor convolution's output is dequantized), unless flags has
 * QUANTIZE_INT8_HEAD: then they are int8 too, on one range for all
 * predictors, and only the outputs are dequantized. Activation scales are
 * rounded up to 6 significant bits and weight scales grow slightly where
 * that gives a layer 32-bit requantization, unless flags has
 * QUANTIZE_EXACT_SCALES.
 * A tensor without a range, a weight that is not a float constant or an
 * operator other than those of SSD graphs is an error naming it. The file
 * appears whole or not at all. */
enum {
    QUANTIZE_INT8_HEAD = 1,     /* the head's reshapes and concatenations in int8 too */
    QUANTIZE_EXACT_SCALES = 2,  /* weight scales max|w| / 127 and activation scales
                                 * range / 255 exactly: nothing moved towards multipliers
                                 * with the 32-bit form (quantize_model.c) */
};
int quantize_model(const char *float_path, const calib_ranges *ranges, int flags, const char *out_path,
                   quantize_report *report, char *err, size_t errlen);

/* The search for weight scales with 32-bit requantization is most of
 * quantize_model's time (a few hundred ms on the default model, against
 * tens for the rest), and the bias correction quantizes the same model
 * once per convolution with only one layer's bias changed each time. A
 * quantize_memo keeps each convolution's search result with what it was
 * computed from (starting scales, biases, input and output scales); a
 * later call whose search would start from the same values takes the
 * result instead, so the file is byte for byte what quantize_model writes.
 * A memo is of one float model: given another path, it starts afresh.
 * quantize_memo_create returns NULL when out of memory. */
typedef struct quantize_memo quantize_memo;
quantize_memo *quantize_memo_create(void);
void quantize_memo_free(quantize_memo *memo);
/* quantize_model with memo (NULL: none); memory the memo cannot get only
 * costs the time it would have saved */
int quantize_model_memo(const char *float_path, const calib_ranges *ranges, int flags, quantize_memo *memo,
                        const char *out_path, quantize_report *report, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* FlexBuffers (flexbuf.c): custom operator options                          */
/* ------------------------------------------------------------------------ */

/* Look up key in the root map of a FlexBuffer (how TFLite stores a custom
 * operator's options) and give its numeric value (int, uint, float or bool,
 * inline or indirect) in *out. Returns 0, or -1 when the buffer is malformed,
 * its root is not a map, or the key is absent or not a number. */
int flexbuf_map_number(const uint8_t *buf, size_t size, const char *key, double *out);

/* ------------------------------------------------------------------------ */
/* Half precision (fp16.c)                                                   */
/* ------------------------------------------------------------------------ */

/* IEEE binary16 -> binary32, exact for every input including subnormals,
 * infinities and NaN. */
float fp16_to_f32(uint16_t h);

/* ------------------------------------------------------------------------ */
/* CPU features and kernels (cpu.c, kernels_ref.c, kernels_*.c)              */
/* ------------------------------------------------------------------------ */

typedef enum mnv_isa {
    MNV_ISA_REF = 0,   /* portable C: the reference every variant is tested against */
    MNV_ISA_AVX2 = 1,  /* AVX2 + FMA */
    MNV_ISA_AVX512 = 2,/* AVX-512F */
    MNV_ISA_NEON = 3,  /* Arm Advanced SIMD: AArch64, or ARMv7 with VFPv4 + float16 */
    MNV_ISA_COUNT
} mnv_isa;

/* Whether this CPU (and OS) can run code of the given ISA. */
int cpu_supports(mnv_isa isa);
/* "ref", "avx2", "avx512", "neon". */
const char *isa_name(mnv_isa isa);
/* Parse an ISA name; returns -1 for an unknown one. */
int isa_parse(const char *name);
/* The best ISA this CPU supports, capped by the environment variable
 * MNV2DET_ISA (ref|avx2|avx512|neon) when it is set to a supported ISA. */
mnv_isa isa_select(void);

/* Extensions a kernel may need beyond its mnv_isa level (the int8 dot
 * products), as bits: a variant lists them in its table entry, and runs only
 * where cpu_supports(isa) and cpu_has_features(features) both hold, so that
 * MNV2DET_ISA still caps it through its isa. */
typedef enum cpu_feature {
    CPU_FEATURE_AVX512_VNNI = 1u << 0, /* AVX-512 F, BW, VL and VNNI (vpdpbusd, vpdpwssd on zmm) */
    CPU_FEATURE_AVX_VNNI = 1u << 1,    /* AVX2 and AVX-VNNI (the VEX vpdpbusd on ymm) */
    CPU_FEATURE_ARM_DOTPROD = 1u << 2, /* AArch64 SDOT/UDOT (ARMv8.2 dotprod: Cortex-A76, Raspberry Pi 5), from HWCAP */
} cpu_feature;

/* 1 if this CPU (and OS) has every feature in the mask; 0 for a mask with a
 * feature this build's target has no variants for. */
int cpu_has_features(unsigned features);

typedef enum act_kind { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU6 = 3 } act_kind;

/* Geometry of one convolution (regular or depthwise), NHWC, batch 1. */
typedef struct conv_desc {
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int k_h, k_w;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_top, pad_left;    /* bottom/right padding is implied by out_h/out_w */
    int depthwise;            /* 1: one filter per input channel, out_c = in_c * depth_multiplier */
    int depth_multiplier;
    act_kind act;
    const struct work_split *split; /* how threads share the work; NULL: evenly */
} conv_desc;

/* ------------------------------------------------------------------------ */
/* Work splits between threads (work_split.c), their barrier (team_barrier.c)*/
/* ------------------------------------------------------------------------ */

/*
 * The vCPUs of a shared machine can differ in speed by 20% for minutes at a
 * time, and which one is slow changes; with even shares every layer waits
 * for the slow one. So the layers' rows (or output columns) are cut at
 * fractions that the executor moves towards each thread's measured pace:
 * thread t of `threads` takes the part [at[t], at[t + 1]) of the range,
 * at[0] = 0 and at[threads] = 1.
 */
#define WORK_SPLIT_MAX 64

typedef struct work_split {
    int threads;              /* the team size it is for; 0: none */
    float at[WORK_SPLIT_MAX + 1];
} work_split;

/* [*lo, *hi): part i of [0, n) cut into `parts` nearly equal parts. Inline
 * because the GEMM kernels also cut their row tiles with it. */
static inline void split_range(int n, int parts, int i, int *lo, int *hi)
{
    *lo = (int)((int64_t)n * i / parts);
    *hi = (int)((int64_t)n * (i + 1) / parts);
}

/* Even shares for `threads` threads (no split beyond WORK_SPLIT_MAX). */
void work_split_even(work_split *ws, int threads);

/* Shares proportional to share[0..threads) (each above 0). */
void work_split_set(work_split *ws, const double *share, int threads);

/* [*lo, *hi): part i of [0, n) in `parts` parts, cut where ws says when it
 * is made for `parts` threads (ws may be NULL), else nearly equal. The parts
 * cover [0, n) in order without overlap. */
void work_split_range(const work_split *ws, int n, int parts, int i, int *lo, int *hi);

/* Move ws a fraction `rate` (0..1] of the way towards the shares at which
 * every thread would have finished together: thread t did work[t] units in
 * busy[t] seconds. No thread's share leaves [1/2, 3/2] of the even share, so
 * one preempted frame cannot starve a thread. Unchanged when a thread has
 * no measurement (work or busy <= 0). */
void work_split_update(work_split *ws, const double *busy, const double *work, float rate);

/* Where the threads of one run meet between layers (team_barrier.c); the
 * two counters on separate cache lines, so that waiting does not slow the
 * arrivals. */
typedef struct team_barrier {
    atomic_int arrived;       /* threads at the barrier now */
    char pad0[64 - sizeof(atomic_int)];
    atomic_int generation;    /* passes so far; the sleepers' futex */
    atomic_int sleepers;      /* waiters asleep or about to be */
    long long spin_ns;        /* how long a waiter spins before it sleeps */
    char pad1[64 - 2 * sizeof(atomic_int) - sizeof(long long)];
} team_barrier;

/* Set it up before the first wait: waiters spin for spin_ns nanoseconds
 * (0: not at all), then sleep until the last thread arrives. */
void team_barrier_init(team_barrier *b, long long spin_ns);
/* Returns once all `threads` threads of the team have called it for this
 * pass; their writes before it are seen by all after it. Every thread of
 * the team must pass it the same number of times with the same count. */
void team_barrier_wait(team_barrier *b, int threads);

/* Output size of TensorFlow's SAME or VALID padding, and SAME's leading pad
 * (the smaller half; the larger half goes after). */
int conv_out_size(int in, int k, int stride, int dil, int padding);
int conv_pad_before(int in, int k, int stride, int dil, int padding);

/* Reference kernels: straightforward loops, OpenMP over output rows.
 * Weights in TFLite's layout: regular OHWI, depthwise 1HW(C*dm). bias may be
 * NULL. residual (may be NULL) has the output's shape and is added after the
 * activation, out = act(conv + bias) + residual, because that is what a
 * TFLite conv followed by an ADD without activation computes (MobileNetV2's
 * projection convs are linear, so act is ACT_NONE there anyway). */
void conv2d_f32_nhwc_ref(const conv_desc *d, const float *in, const float *w,
                         const float *bias, const float *residual, float *out);
void dwconv2d_f32_nhwc_ref(const conv_desc *d, const float *in, const float *w,
                           const float *bias, float *out);
/* out[i] = act(a[i] + b[i]) for n elements. */
void add_f32_ref(const float *a, const float *b, float *out, size_t n, act_kind act);

/* A convolution micro-kernel variant. Weights are packed once at load into a
 * variant-specific layout (pack), then run reads only the packed copy. run
 * parallelizes internally with OpenMP (it is called outside any parallel
 * region) and must give the reference's result within float rounding. */
typedef struct conv_kernel {
    const char *name;         /* e.g. "pwconv_f32_nhwc_avx512" */
    mnv_isa isa;
    /* 1 if this variant handles d. */
    int (*supports)(const conv_desc *d);
    /* Bytes of packed weights + bias for d (64-byte alignment is the caller's). */
    size_t (*packed_size)(const conv_desc *d);
    /* w in TFLite layout (see the reference kernels), bias may be NULL. */
    void (*pack)(const conv_desc *d, const float *w, const float *bias, void *packed);
    /* residual may be NULL; see conv2d_f32_nhwc_ref for where it is added. */
    void (*run)(const conv_desc *d, const void *packed, const float *in,
                const float *residual, float *out);
    /* 1 if pack stored these weights as float16 (it does so only when every
     * value is exactly a float16, so results are unchanged), else 0. NULL
     * for variants that always keep float32. */
    int (*weights_f16)(const conv_desc *d, const void *packed);
} conv_kernel;

/* All conv kernel variants compiled in, best first, NULL-terminated; the
 * reference variants ("conv2d_f32_nhwc_ref", "dwconv2d_f32_nhwc_ref") are
 * always present and last. Tests and the benchmark iterate this table. */
const conv_kernel *const *conv_kernels_all(void);
/* The first variant in the table whose ISA is <= max_isa, supported by the
 * CPU, and that supports d. Never NULL for a valid d (the ref is general). */
const conv_kernel *conv_kernel_choose(const conv_desc *d, mnv_isa max_isa);

/* ------------------------------------------------------------------------ */
/* Int8 quantization (quant.c)                                               */
/* ------------------------------------------------------------------------ */

/*
 * TFLite's 8-bit scheme (tensorflow.org/lite/performance/quantization_spec):
 * real = scale * (q - zero_point). Activations are int8 per tensor, zero
 * point in [-128, 127]; weights int8 per output channel (conv OHWI: axis 0;
 * depthwise 1HWC: axis 3) or per tensor, zero point 0, values in [-127, 127];
 * biases int32 with scale input_scale * weight_scale[c] and zero point 0.
 *
 * The integer arithmetic is TFLite's reference semantics as built by default
 * (TFLITE_SINGLE_ROUNDING unset: tensorflow/lite/kernels/internal/common.cc,
 * reference_integer_ops/conv.h, depthwise_conv.h, add.h): an int32
 * accumulator is scaled by a fixed-point multiplier in two roundings, see
 * quant_multiply.
 *
 * Older uint8 models (per-tensor, asymmetric weights too) run as int8 after
 * quant_u8_to_s8 on every tensor (q - 128, zero point - 128). That is exact:
 * each operator reads q only as q - zero_point, and writes zero_point + v
 * clamped to the type's range, and [0, 255] -> [-128, 127] moves the clamp by
 * the same 128. What int8 models lack is only the weights' zero point, which
 * qconv_params carries (w_zero_point, 0 for int8 models).
 */

/* One tensor's (or one channel's) affine parameters. */
typedef struct qparams {
    float scale;              /* > 0 and finite */
    int32_t zero_point;
} qparams;

/* A real multiplier as multiplier * 2^(shift - 31): TFLite's
 * QuantizeMultiplier form. multiplier is in [2^30, 2^31), or 0 (with shift 0)
 * for a real value of 0 or below 2^-32. shift is in [-31, 30]. */
typedef struct qmultiplier {
    int32_t multiplier;
    int shift;                /* > 0: left shift before, < 0: right shift after */
} qmultiplier;

/* TFLite's QuantizeMultiplier: frexp(real) = f * 2^e, multiplier =
 * round(f * 2^31) (half away from zero), renormalized when that reaches 2^31;
 * values below 2^-32 (e < -31) flush to 0. Returns 0, or MNV_EINVAL when real
 * is negative, not finite, or rounds to 2^30 or more (shift past 30). */
int quant_multiplier_from_double(double real, qmultiplier *out);

/* gemmlowp's SaturatingRoundingDoublingHighMul: a * b / 2^31 rounded to
 * nearest with ties towards +infinity, i.e. floor((a * b + 2^30) / 2^31);
 * the one overflowing case, a = b = INT32_MIN, gives INT32_MAX. */
int32_t quant_srdhm(int32_t a, int32_t b);

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent (exponent in [0, 31])
 * rounded to nearest with ties away from zero. */
int32_t quant_rounding_shift(int32_t x, int exponent);

/* TFLite's MultiplyByQuantizedMultiplier (double rounding):
 *   quant_rounding_shift(quant_srdhm(x * 2^max(shift, 0), m.multiplier), max(-shift, 0)).
 * Two roundings: the product is first rounded to an integer (ties up), then
 * divided by 2^-shift (ties away from zero). The result is within
 * 0.5 + 0.5 / 2^-shift of the exact x * real (for shift < 0), and may differ
 * by one from the single correctly rounded value: x = 5, real = 0.25 (2^30,
 * shift -1) gives 2 (5 * 0.5 = 2.5 -> 3, 3 / 2 = 1.5 -> 2), not 1. For
 * shift >= 0 there is one rounding only: x * real correctly rounded, ties up.
 * Where TFLite's x * 2^shift overflows int32 (undefined there) it saturates. */
int32_t quant_multiply(int32_t x, qmultiplier m);

/* quant_multiply in 32-bit integer steps, for a multiplier whose low bits
 * are zero (as the quantizer makes them where it can, quantize_model.c):
 * with m.multiplier = mult * 2^j, quant_multiply(x, m) is
 *   floor((x * mult + add - (x * mult < below ? corr : 0)) / 2^shift)
 * (the double rounding merged into one floor, as in the AVX-512 kernels'
 * 64-bit form), which needs no 64-bit product when |x| * mult fits. */
typedef struct qnarrow {
    int32_t mult, add, below, corr, shift;
} qnarrow;

/* The terms of m's 32-bit form: j as large as m's trailing zero bits
 * allow. Returns 1, or 0 where m has no such form (a left shift past 30,
 * or a right shift larger than the zero bits plus the left shift absorb:
 * shift would pass 31). */
int quant_narrow_form(qmultiplier m, qnarrow *out);

/* 1 if m has the form and it equals quant_multiply(x, m) for every |x| <=
 * bound, every step inside int32 (and x * 2^left never saturating). */
int quant_narrow_exact(qmultiplier m, int64_t bound);

/* The form applied to x (in 64 bits, so also where a kernel's 32-bit
 * steps could not: tests compare the two). */
int32_t quant_narrow_apply(int32_t x, const qnarrow *n);

/* Requantization of an int32 accumulator: quant_multiply(acc, m) +
 * zero_point, clamped to [lo, hi] (the output's activation range). */
int8_t quant_requantize(int32_t acc, qmultiplier m, int32_t zero_point, int32_t lo, int32_t hi);

/* TFLite's CalculateActivationRangeQuantized for an int8 output of params
 * out: RELU gives [max(-128, zp), 127], RELU6 [max(-128, zp),
 * min(127, zp + round(6 / scale))] (float division, ties away from zero),
 * none [-128, 127]. */
void quant_activation_range(act_kind act, qparams out, int32_t *lo, int32_t *hi);

/* QUANTIZE float -> int8, TFLite's AffineQuantize: round(x / scale) (float
 * division, ties away from zero) + zero_point, clamped to [-128, 127]; NaN
 * gives the zero point (the encoding of 0). */
void quant_quantize_f32(const float *in, int8_t *out, size_t n, qparams q);

/* DEQUANTIZE int8 -> float: scale * (q - zero_point), rounded once to float
 * (as TFLite's double product cast to float). */
void quant_dequantize_f32(const int8_t *in, float *out, size_t n, qparams q);

/* A uint8 tensor as int8: every value and the zero point minus 128 (exact,
 * see above). in and out may be the same buffer. */
void quant_u8_to_s8(const uint8_t *in, int8_t *out, size_t n);
qparams quant_params_u8_to_s8(qparams q);

/* Check that a tensor's parameters are usable: scale finite and above 0,
 * zero point in [-128, 127]. what names the tensor for the message. */
int quant_params_check(qparams q, const char *what, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Int8 kernels (parameters: quant.c; kernels_q8_ref.c; table: kernels_q8.c) */
/* ------------------------------------------------------------------------ */

/* What an int8 convolution needs beyond its conv_desc geometry: the zero
 * points, the output clamp (from conv_desc.act and the output's params), and
 * per output channel the multiplier input_scale * weight_scale[c] /
 * output_scale. Activations, weights and outputs are int8 NHWC, biases int32
 * (may be NULL); weights in TFLite's layout (conv OHWI, depthwise 1HWC). */
typedef struct qconv_params {
    int32_t in_zero_point;
    int32_t w_zero_point;     /* 0 in int8 models; a converted uint8 model's weight zero point - 128 */
    int32_t out_zero_point;
    int32_t act_min, act_max;
    const qmultiplier *requant; /* out_c entries */
} qconv_params;

/* Fill p for the layer d from the tensors' parameters: in and out per
 * tensor, the weights' scales per channel (n_w_scales = d->out_c) or per
 * tensor (n_w_scales = 1) with zero point w_zero_point. requant must hold
 * d->out_c entries; p points at it. Returns 0, or MNV_EINVAL with a message
 * naming what is wrong (a scale not finite and above 0, a zero point outside
 * [-128, 127], a count of scales that is neither, a multiplier out of range). */
int qconv_params_init(qconv_params *p, qmultiplier *requant, const conv_desc *d, qparams in,
                      const float *w_scales, int n_w_scales, int32_t w_zero_point, qparams out,
                      char *err, size_t errlen);

/* 1 if no output of the layer can overflow its int32 accumulator whatever
 * the input: per channel, sum |w - w_zero_point| * 255 + |bias| < 2^31.
 * The reference kernels accumulate in 64 bits and saturate, the optimized
 * ones in 32; where this holds (every real model) they agree. */
int qconv_acc_fits(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias);

/* 1 if, for every channel whose multiplier shifts left (requant shift s >
 * 0), that bound times 2^s stays below 2^31 and s <= 30: quant_multiply's
 * saturating left shift then never saturates, so a kernel may merge it
 * into the rounding right shift (floor((x * 2^s * m + 2^30) / 2^31) =
 * floor((x * m + 2^(30-s)) / 2^(31-s))). 1 when no channel shifts left. */
int qconv_left_shift_exact(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias);

/* 1 if no channel saturates its accumulator (qconv_acc_fits) and every
 * channel's multiplier has the 32-bit form (quant_narrow_exact) for its
 * bound on |bias + S|, |bias| + sum |w - w_zp| * max(in_zp + 128, 127 -
 * in_zp): the kernels may then requantize with it. */
int qconv_narrow_exact(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias);

/* A channel's real requantization multiplier as TFLite's
 * PopulateConvolutionQuantizationParams computes it: in double from the
 * float scales, input scale x weight scale / output scale. qconv_params_init
 * quantizes it (quant_multiplier_from_double); the quantizer predicts the
 * loaded multipliers with it. */
double qconv_real_multiplier(float in_scale, float w_scale, float out_scale);

/* The farthest an int8 input can lie from its zero point: max(zero_point +
 * 128, 127 - zero_point). */
int32_t quant_input_span(int32_t zero_point);

/* Reference int8 convolutions, TFLite's ConvPerChannel and
 * DepthwiseConvPerChannel: acc = bias[c] + sum (w - w_zp) * (in - in_zp)
 * over the taps inside the input (padding contributes nothing, as an input
 * equal to the zero point would), then quant_requantize with requant[c],
 * out_zero_point and [act_min, act_max]. OpenMP over output rows. */
void conv2d_qs8_nhwc_ref(const conv_desc *d, const qconv_params *q, const int8_t *in,
                         const int8_t *w, const int32_t *bias, int8_t *out);
void dwconv2d_qs8_nhwc_ref(const conv_desc *d, const qconv_params *q, const int8_t *in,
                           const int8_t *w, const int32_t *bias, int8_t *out);

/* The operation a kernel table entry computes (so that dispatch and tests
 * never read it from a name). */
typedef enum kernel_op { KERNEL_CONV2D = 0, KERNEL_DWCONV2D = 1 } kernel_op;

/* An int8 convolution variant, as conv_kernel for float: weights packed once
 * at load (pack may fold the zero points into the bias, so it sees q), run
 * reads only the packed copy and must give the reference's result exactly
 * (integer arithmetic: no rounding slack). */
typedef struct qconv_kernel {
    const char *name;         /* e.g. "conv2d_qs8_nhwc_ref" */
    mnv_isa isa;
    kernel_op op;
    /* 1 if this variant handles d with q (e.g. a weight zero point) */
    int (*supports)(const conv_desc *d, const qconv_params *q);
    size_t (*packed_size)(const conv_desc *d);
    void (*pack)(const conv_desc *d, const qconv_params *q, const int8_t *w, const int32_t *bias,
                 void *packed);
    void (*run)(const conv_desc *d, const qconv_params *q, const void *packed, const int8_t *in,
                int8_t *out);
    unsigned features;        /* cpu_feature bits needed beyond isa; 0 for none */
} qconv_kernel;

/* 1 if this CPU runs k: its ISA and its features. */
int qconv_kernel_runs_here(const qconv_kernel *k);

/* All int8 conv variants compiled in, best first, NULL-terminated; the
 * references are last and always present. */
const qconv_kernel *const *qconv_kernels_all(void);
/* The first variant whose ISA is <= max_isa, that this CPU runs
 * (qconv_kernel_runs_here) and that supports d and q (the references
 * support every valid layer). */
const qconv_kernel *qconv_kernel_choose(const conv_desc *d, const qconv_params *q, mnv_isa max_isa);

/* TFLite's int8 ADD (reference_integer_ops/add.h with add.cc's Prepare):
 * both inputs moved to 2^20 times a common scale (2 * max(scale_a, scale_b))
 * by multipliers below 1, added, scaled to the output, zero point added,
 * clamped to the activation range. */
typedef struct qadd_params {
    int32_t a_zero_point, b_zero_point, out_zero_point;
    int left_shift;           /* 20 */
    qmultiplier a_mult, b_mult, out_mult;
    int32_t act_min, act_max;
} qadd_params;

/* Returns 0, or MNV_EINVAL when a parameter is unusable or the output
 * multiplier is not below 1 (TFLite refuses such models too). */
int qadd_params_init(qadd_params *p, qparams a, qparams b, qparams out, act_kind act, char *err,
                     size_t errlen);
void add_qs8_ref(const qadd_params *p, const int8_t *a, const int8_t *b, int8_t *out, size_t n);

/* QUANTIZE int8 -> int8 (TFLite's Requantize): quant_multiply(q - in_zp, m)
 * + out_zp, clamped, m = in.scale / out.scale. */
void requantize_qs8_ref(const int8_t *in, int8_t *out, size_t n, int32_t in_zero_point,
                        qmultiplier m, int32_t out_zero_point);

/* CONCATENATION of n_parts int8 tensors along an axis: each of the outer
 * blocks of the output holds part k's block of part_inner[k] values in turn.
 * A part whose params equal out_q is copied; another is requantized as
 * TFLite's ConcatenationWithScaling does (its uint8 models may differ; int8
 * models never do): round((q - zp) * (scale * (1 / out_scale))) in float,
 * ties away from zero, + out zero point, clamped. */
void concat_qs8_ref(int n_parts, const int8_t *const *parts, const qparams *part_q,
                    const size_t *part_inner, size_t outer, qparams out_q, int8_t *out);

/* LOGISTIC int8 as TFLite computes it by default (a table made at Prepare,
 * activations.cc): for each q, x = in.scale * (q - in zp) in float, y = 1 /
 * (1 + exp(-x)), table = round(y * (1 / out.scale)) + out zp, clamped.
 * TFLite requires out = (1/256, -128). table[q + 128] is q's result. */
void logistic_qs8_table(qparams in, qparams out, int8_t table[256]);
/* out[i] = table[in[i] + 128]; in and out may be the same buffer. */
void lut_qs8_ref(const int8_t table[256], const int8_t *in, int8_t *out, size_t n);

/* ------------------------------------------------------------------------ */
/* Pre-processing (preprocess.c)                                             */
/* ------------------------------------------------------------------------ */

/* The filter taps and scratch rows for resizing in_w x in_h frames to
 * out_w x out_h, made once per frame size so that pre-processing a frame
 * allocates nothing. */
typedef struct resize_plan resize_plan;
int resize_plan_create(resize_plan **plan, int in_w, int in_h, int out_w, int out_h,
                       char *err, size_t errlen);
void resize_plan_free(resize_plan *plan);

/* Resize an RGB24 image (row stride in bytes) to out_w x out_h with a
 * bilinear (triangle) filter whose support widens when downscaling, as PIL's
 * BILINEAR does, and write (px - mean) / std as float NHWC into out. plan
 * must have been made for these sizes; it may be NULL when the sizes are
 * equal, which copies the pixels exactly. */
void preprocess_rgb24(resize_plan *plan, const uint8_t *rgb, int w, int h, size_t stride,
                      int out_w, int out_h, float mean, float std, float *out);

/* preprocess_rgb24 for a frame in any mnv_pixfmt, read in its own format:
 * YUV is converted to RGB inside the resize's horizontal pass, so the frame
 * is read once and no RGB copy of it is made. RGB24 gives exactly
 * preprocess_rgb24's result. YUV is BT.601 limited range:
 *   c = Y - 16, d = U - 128, e = V - 128,
 *   R = (19077 c + 26149 e) / 16384
 *   G = (19077 c - 6419 d - 13320 e) / 16384
 *   B = (19077 c + 33050 d) / 16384,   each clamped to [0, 255],
 * each chroma sample covering its 2x1 (YUYV) or 2x2 (NV12, I420) block of
 * luma pixels. When resizing, R, G, B enter the filter unrounded, so the
 * result differs from mnv_image_to_rgb24 + preprocess_rgb24 (which round to
 * 8 bits first) by at most one level: 1 / std. At the same size the pixels
 * are converted only, rounded as mnv_image_to_rgb24 does, and the result is
 * that of mnv_image_to_rgb24 + preprocess_rgb24 exactly. plan as for
 * preprocess_rgb24 (NULL only at the same size); it serves at most as many
 * threads as omp_get_max_threads() gave when it was made. img must be a
 * valid image of a known format (nothing is written otherwise). Allocates
 * nothing. */
void preprocess_image(resize_plan *plan, const mnv_image *img, int out_w, int out_h, float mean,
                      float std, float *out);

/* Convert img (any mnv_pixfmt) to 8-bit RGB24 rows of stride bytes by the
 * formula above, rounded half up: the plain reference that preprocess_image
 * is tested against (convert, then preprocess_rgb24). Returns 0, or
 * MNV_EINVAL for an unknown format, an empty image, a missing plane or a
 * stride too small for the width. */
int mnv_image_to_rgb24(const mnv_image *img, uint8_t *rgb, size_t stride);

/* ------------------------------------------------------------------------ */
/* Memory plan (arena.c)                                                     */
/* ------------------------------------------------------------------------ */

/* Place n buffers in one arena so that buffers whose lifetimes [first, last]
 * (inclusive step numbers) overlap never share bytes, reusing the space of
 * dead ones. Offsets are multiples of align (a power of two). Writes offsets
 * and returns the arena size; SIZE_MAX when it would not fit in a size_t,
 * 0 when out of memory. Greedy: biggest buffers first, each at the
 * lowest offset that fits beside the already placed ones it overlaps. */
size_t arena_plan(const size_t *sizes, const int *first, const int *last, int n,
                  size_t align, size_t *offsets);

/* ------------------------------------------------------------------------ */
/* Network (net.c)                                                           */
/* ------------------------------------------------------------------------ */

typedef enum layer_role {
    ROLE_STEM = 0,    /* first convolution on the image */
    ROLE_EXPAND,      /* 1x1 conv that feeds a depthwise conv */
    ROLE_DEPTHWISE,
    ROLE_PROJECT,     /* linear 1x1 conv after a depthwise conv */
    ROLE_HEAD,        /* everything after the backbone: extra layers, predictors */
    ROLE_OTHER,       /* adds not fused, copies */
    ROLE_COUNT
} layer_role;

const char *layer_role_name(layer_role r);

typedef struct net net;

typedef struct net_options {
    mnv_isa max_isa;          /* cap for kernel choice (isa_select() by default) */
    size_t max_memory;        /* bytes the activation arena, packed weights and band
                                 buffers may take together; 0: MNV_DEFAULT_MAX_MEMORY */
    int keep_tensors;         /* 1: every activation tensor of the model is some layer's
                                 output (no ADD folded into its convolution), for
                                 net_run_observed; slower */
} net_options;

/* One slice of a model output: rows [row_begin, row_begin + rows) of the
 * output's second dimension come from a layer whose NHWC output is
 * fm_h x fm_w x channels (rows = fm_h * fm_w * channels / last_dim). For SSD
 * heads this is one predictor per feature map. */
typedef struct net_segment {
    int row_begin, rows;
    int fm_h, fm_w, channels;
} net_segment;

typedef struct net_output_info {
    const char *name;
    int rank;
    int shape[TFL_MAX_RANK];
    int n_segments;           /* 0 when the output is not a concatenation of conv outputs */
    const net_segment *segments;
    int sigmoid_applied;      /* 1 when a LOGISTIC operator computes this output */
} net_output_info;

/* A model that ends in the custom operator TFLite_Detection_PostProcess
 * carries its own anchors and decoding settings. The network then stops
 * before that operator: its outputs are the operator's box and class inputs,
 * and this describes the rest (the detection itself is ssdlite/'s job). */
typedef struct net_postprocess {
    int max_detections;
    int max_classes_per_detection;
    int detections_per_class;
    int use_regular_nms;      /* 1: per-class NMS; 0: class-agnostic (the "fast" variant) */
    int num_classes;          /* without background */
    float nms_score_threshold, nms_iou_threshold;
    float scales[4];          /* y, x, h, w */
    const float *anchors;     /* n_anchors x (cy, cx, h, w), owned by the net */
    int n_anchors;
} net_postprocess;

/* The model's TFLite_Detection_PostProcess settings, or NULL if it has none. */
const net_postprocess *net_detection_postprocess(const net *n);

/* Import a TFLite model and build the network: validates operators, types and
 * shapes, converts float16 weights to float32, packs weights for the chosen
 * kernels and plans the activation arena. Quantized models (int8, or uint8
 * run as int8) run on the int8 kernels; the input stays float (an int8 or
 * uint8 model input is quantized from it by its parameters) and int8 outputs
 * are dequantized, so callers see float either way. A model whose declared shapes
 * would need more than opt->max_memory is refused (MNV_EUNSUPPORTED, the
 * need and the cap in MiB in err) before that memory is allocated; so is a
 * tensor of more than INT_MAX elements or a side, stride or kernel extent
 * beyond 2^24. The fused blocks are left out (the layers then run one by
 * one) when their band buffers, or keeping their inputs apart from their
 * outputs in the arena, alone would pass the cap. opt may be NULL. */
int net_load(net **out, const char *path, const net_options *opt, char *err, size_t errlen);
void net_free(net *n);

/* Input tensor shape (NHWC, batch 1). */
void net_input_shape(const net *n, int *h, int *w, int *c);
int net_output_count(const net *n);
const net_output_info *net_output(const net *n, int i);

/* Where the caller may write the NHWC float input in place (64-byte aligned,
 * h*w*c floats), so that net_run(n, NULL) needs no copy. */
float *net_input_buffer(net *n);

/* Run on one NHWC float input (NULL: the input buffer as already written);
 * afterwards net_output_data(n, i) holds output i until the next run.
 * Allocates nothing. */
void net_run(net *n, const float *input);
const float *net_output_data(const net *n, int i);

/* On (the default): after each run the threads' shares of the layers move
 * towards the speed each thread's CPU showed in the fused blocks (see
 * work_split; a network without fused blocks keeps even shares); off: even
 * shares, as for a machine whose CPUs all run at one speed. Results do not
 * depend on the shares: every output value is computed the same way
 * whichever thread computes it. */
void net_set_balance(net *n, int on);
/* Fixed shares instead (balance off): thread t of `threads` takes
 * shares[t] / sum(shares) of every layer. A run with another number of
 * threads drops them for even shares. MNV_EINVAL if a share is not finite and above 0,
 * or threads is outside 1..WORK_SPLIT_MAX. */
int net_set_shares(net *n, const float *shares, int threads, char *err, size_t errlen);
/* The shares the next run gives each thread, into shares[0..max); returns
 * the number of threads they are for (0 before the first run). */
int net_thread_shares(const net *n, float *shares, int max);

/* Introspection for the benchmark. */
typedef struct net_layer_info {
    const char *name;         /* the TFLite output tensor's name */
    const char *kernel;       /* conv_kernel name, or "add", "copy" */
    layer_role role;
    double macs;              /* multiply-adds per run */
    int weights_f16;          /* weights kept as float16 (see conv_kernel) */
    int int8;                 /* 1: computes on int8 values (a quantized model's layer) */
} net_layer_info;
int net_layer_count(const net *n);
void net_layer_get(const net *n, int i, net_layer_info *info);
/* Like net_run, adding each layer's wall time in seconds to seconds[i]
 * (net_layer_count entries). */
void net_run_timed(net *n, const float *input, double *seconds);
/* Like net_run_timed, calling observe after the input is in place (with the
 * model's input tensor) and after each layer that computes a float tensor:
 * tensor is its index in the model, data its count values, valid during the
 * call. For calibration: load the net with keep_tensors to see every tensor. */
/* The number of tensors in the model: tensor ids are below it. */
int net_tensor_count(const net *n);
typedef void (*net_observer)(void *user, int tensor, const float *data, size_t count);
void net_run_observed(net *n, const float *input, net_observer observe, void *user);
/* The same for the layers of a quantized model that compute int8 tensors:
 * observe gets the values as computed and the tensor's parameters (real =
 * q.scale * (value - q.zero_point)). For bias correction: load the net with
 * keep_tensors. */
typedef void (*net_observer_q8)(void *user, int tensor, const int8_t *data, size_t count, qparams q);
void net_run_observed_q8(net *n, const float *input, net_observer_q8 observe, void *user);

/* Empirical bias correction (calibrate.c): the mean difference, per output
 * channel, between each convolution's output in a float model and in its
 * int8 version (quantize_model's, so that tensors match by name) on the same
 * inputs. Per input: net_run_observed with bias_probe_float on the float net,
 * then net_run_observed_q8 with bias_probe_int8 on the int8 net (both loaded
 * with keep_tensors). Values that either model clamps to an end of the int8
 * range are not counted. */
typedef struct bias_probe bias_probe;
/* A probe that measures the convolutions first..first+count-1 (numbered in
 * the float model's operator order; count < 0: to the last) and ignores the
 * others. MNV_ENOMEM, an error of tfl_open, or MNV_EINVAL when no
 * convolution output of the int8 model is named as one of the float model. */
int bias_probe_create(bias_probe **out, const char *float_path, const char *int8_path, int first, int count,
                      char *err, size_t errlen);
void bias_probe_free(bias_probe *p);
/* net_observer (user: the probe): keeps a float convolution output for the
 * int8 one of the same input. Out of memory sets bias_probe_failed. */
void bias_probe_float(void *probe, int tensor, const float *data, size_t count);
/* net_observer_q8 (user: the probe): adds float - dequantized int8 per
 * channel for a convolution whose float output bias_probe_float kept. */
void bias_probe_int8(void *probe, int tensor, const int8_t *data, size_t count, qparams q);
int bias_probe_failed(const bias_probe *p);
/* The number of convolutions in the float model. */
int bias_probe_count(const bias_probe *p);
/* Add the mean differences of the convolutions measured to c's bias shifts
 * (calib_bias_shift; a channel never counted gets 0); *mean_abs (may be
 * NULL): the mean of their absolute values over those channels, in real
 * units. 0 or MNV_ENOMEM. */
int bias_probe_apply(const bias_probe *p, calib_ranges *c, double *mean_abs, char *err, size_t errlen);
/* Bytes of the activation arena, of packed weights, and of the fused
 * blocks' per-thread band buffers. */
size_t net_arena_bytes(const net *n);
size_t net_weight_bytes(const net *n);
size_t net_band_bytes(const net *n);
/* How many conv -> depthwise -> 1x1 blocks net_run computes band by band
 * (net_run_timed runs every layer on its own). */
int net_fused_blocks(const net *n);

#endif
