/*
 * Dump mnv2det's network input and raw outputs for one picture, so that
 * another TFLite runtime (tools/tflite_wasm_check.js) can be fed the very
 * same float input and its outputs compared with ours.
 *
 * usage: dump_outputs MODEL PICTURE OUT_PREFIX
 *
 * PICTURE must already have the model's input size (the golden pictures
 * tests/data/NAME.300.png); it is pre-processed as x = (pixel - 127.5) / 127.5
 * per RGB channel. Writes, all float32 little-endian NHWC / row-major:
 *   OUT_PREFIX.input.f32     the network input (h x w x c)
 *   OUT_PREFIX.out<i>.f32    output i as net_output_data gives it
 *   OUT_PREFIX.json          output names, shapes and files, and for each
 *                            output the row ranges that come from one
 *                            DEQUANTIZE of an int8 (or uint8) tensor, with
 *                            that tensor's name, scale and zero point (none
 *                            for a float model)
 * Not a test: a tool for comparing runtimes by hand (the script needs npm).
 * The ISA the kernels use follows MNV2DET_ISA as in the program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "capture/capture.h"

/* The op that writes tensor t, or -1. */
static int producer(const tfl_model *m, int t)
{
    for (int i = 0; i < m->n_ops; i++)
        for (int k = 0; k < m->ops[i].n_outputs; k++)
            if (m->ops[i].outputs[k] == t)
                return i;
    return -1;
}

static long elements(const tfl_tensor *t)
{
    long n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->shape[i];
    return n;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* The model output named name: its concatenated inputs, each traced back
 * through RESHAPEs to a DEQUANTIZE, as JSON segments. */
static void write_segments(FILE *f, const tfl_model *m, const char *name)
{
    int out = -1;
    for (int i = 0; i < m->n_outputs; i++)
        if (strcmp(m->tensors[m->outputs[i]].name, name) == 0)
            out = m->outputs[i];
    fprintf(f, "[");
    if (out < 0) {
        fprintf(f, "]");
        return;
    }
    const tfl_tensor *ot = &m->tensors[out];
    long last = ot->rank ? ot->shape[ot->rank - 1] : 1;
    /* box encodings: CONCATENATION -> RESHAPE (or SQUEEZE) -> output */
    int op = producer(m, out);
    for (int guard = 0; guard < 16 && op >= 0 && m->ops[op].n_inputs >= 1 &&
                        (m->ops[op].builtin == TFL_OP_RESHAPE || m->ops[op].builtin == 43 /* SQUEEZE */);
         guard++)
        op = producer(m, m->ops[op].inputs[0]);
    int n_parts = 1;
    const int *parts = &out;
    if (op >= 0 && m->ops[op].builtin == TFL_OP_CONCATENATION) {
        n_parts = m->ops[op].n_inputs;
        parts = m->ops[op].inputs;
    }
    long row = 0;
    for (int p = 0; p < n_parts; p++) {
        int t = parts[p];
        long rows = elements(&m->tensors[t]) / (last ? last : 1);
        int q = -1;
        for (int guard = 0; guard < 16 && t >= 0; guard++) {
            int o = producer(m, t);
            if (o < 0)
                break;
            if (m->ops[o].builtin == TFL_OP_DEQUANTIZE) {
                q = m->ops[o].inputs[0];
                break;
            }
            if (m->ops[o].builtin != TFL_OP_RESHAPE)
                break;
            t = m->ops[o].inputs[0];
        }
        fprintf(f, "%s\n    {\"row_begin\": %ld, \"rows\": %ld", p ? "," : "", row, rows);
        if (q >= 0 && m->tensors[q].n_quant == 1) {
            const tfl_tensor *qt = &m->tensors[q];
            char tb[32];
            fprintf(f, ", \"quantized\": ");
            json_string(f, qt->name);
            fprintf(f, ", \"type\": \"%s\", \"scale\": %.9g, \"zero_point\": %d",
                    tfl_type_name(qt->type, tb, sizeof tb), qt->scale[0], (int)qt->zero_point[0]);
        }
        fprintf(f, "}");
        row += rows;
    }
    fprintf(f, "]");
}

static int write_file(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "dump_outputs: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dump_outputs MODEL PICTURE OUT_PREFIX\n");
        return 2;
    }
    const char *model = argv[1], *picture = argv[2], *prefix = argv[3];
    char err[512];
    net *n = NULL;
    if (net_load(&n, model, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "dump_outputs: %s\n", err);
        return 1;
    }
    tfl_model m;
    if (tfl_open(&m, model, err, sizeof err) != 0) {
        fprintf(stderr, "dump_outputs: %s\n", err);
        net_free(n);
        return 1;
    }
    frame fr;
    if (image_load(&fr, picture, err, sizeof err) != 0) {
        fprintf(stderr, "dump_outputs: %s\n", err);
        tfl_close(&m);
        net_free(n);
        return 1;
    }
    int h, w, c;
    net_input_shape(n, &h, &w, &c);
    if (fr.img.format != MNV_PIX_RGB24 || fr.img.width != w || fr.img.height != h || c != 3) {
        fprintf(stderr, "dump_outputs: %s is %dx%d, the model takes %dx%dx%d RGB\n", picture,
                fr.img.width, fr.img.height, w, h, c);
        frame_free(&fr);
        tfl_close(&m);
        net_free(n);
        return 1;
    }
    float *in = net_input_buffer(n);
    for (int y = 0; y < h; y++) {
        const uint8_t *px = fr.img.plane[0] + (size_t)y * fr.img.stride[0];
        for (int x = 0; x < w * 3; x++)
            in[(size_t)y * w * 3 + x] = ((float)px[x] - 127.5f) / 127.5f;
    }
    frame_free(&fr);

    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s.input.f32", prefix);
    rc |= write_file(path, in, (size_t)h * w * c * sizeof(float));
    net_run(n, NULL);

    snprintf(path, sizeof path, "%s.json", prefix);
    FILE *js = fopen(path, "w");
    if (!js) {
        fprintf(stderr, "dump_outputs: cannot write %s\n", path);
        rc = 1;
    } else {
        fprintf(js, "{\"model\": ");
        json_string(js, model);
        fprintf(js, ", \"picture\": ");
        json_string(js, picture);
        fprintf(js, ", \"input\": {\"shape\": [1, %d, %d, %d], \"file\": ", h, w, c);
        snprintf(path, sizeof path, "%s.input.f32", prefix);
        json_string(js, path);
        fprintf(js, "},\n \"outputs\": [");
        for (int i = 0; i < net_output_count(n); i++) {
            const net_output_info *o = net_output(n, i);
            size_t count = 1;
            for (int k = 0; k < o->rank; k++)
                count *= (size_t)o->shape[k];
            snprintf(path, sizeof path, "%s.out%d.f32", prefix, i);
            rc |= write_file(path, net_output_data(n, i), count * sizeof(float));
            fprintf(js, "%s\n  {\"name\": ", i ? "," : "");
            json_string(js, o->name);
            fprintf(js, ", \"shape\": [");
            for (int k = 0; k < o->rank; k++)
                fprintf(js, "%s%d", k ? ", " : "", o->shape[k]);
            fprintf(js, "], \"sigmoid_applied\": %d, \"file\": ", o->sigmoid_applied);
            json_string(js, path);
            fprintf(js, ",\n   \"segments\": ");
            write_segments(js, &m, o->name);
            fprintf(js, "}");
        }
        fprintf(js, "]}\n");
        if (fclose(js) != 0)
            rc = 1;
    }
    tfl_close(&m);
    net_free(n);
    return rc;
}
