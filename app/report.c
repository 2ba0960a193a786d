/*
 * Printing results: one JSON object per image (one line, for tools), or a
 * table (for people). Boxes are given in pixels of the original image,
 * clipped to it; JSON also carries the unclipped normalized corners that the
 * model produced, which is what comparisons against a reference need.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"

/* Length of the well-formed UTF-8 character at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF), or 0 when s[0] does not start one. */
static int utf8_length(const unsigned char *s)
{
    unsigned char c = s[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates U+D800..DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++) /* a NUL is not a continuation byte: no overrun */
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p) {
        int n = utf8_length(p);
        if (n == 0) { /* the rule the README gives: one U+FFFD per stray byte */
            fputs("\\ufffd", out);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p++);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p++);
        } else {
            fwrite(p, 1, (size_t)n, out);
            p += n;
        }
    }
    fputc('"', out);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Pixel corners in the frame, clipped. */
static void pixel_box(const detection *d, const frame *f, float px[4])
{
    px[0] = clampf(d->bbox.xmin * f->img.width, 0, (float)f->img.width);
    px[1] = clampf(d->bbox.ymin * f->img.height, 0, (float)f->img.height);
    px[2] = clampf(d->bbox.xmax * f->img.width, 0, (float)f->img.width);
    px[3] = clampf(d->bbox.ymax * f->img.height, 0, (float)f->img.height);
}

/* The "detections" array shared by the per-image and per-frame objects. */
static void json_detections(FILE *out, const detector *d, const frame *f, const detection *dets, int n)
{
    fputs("\"detections\":[", out);
    for (int i = 0; i < n; i++) {
        char buf[32];
        float px[4];
        pixel_box(&dets[i], f, px);
        fprintf(out, "%s{\"label\":", i ? "," : "");
        json_string(out, detector_label(d, dets[i].class_id, buf, sizeof buf));
        fprintf(out, ",\"class_id\":%d,\"score\":%.6f", dets[i].class_id, dets[i].score);
        fprintf(out, ",\"box\":{\"xmin\":%.2f,\"ymin\":%.2f,\"xmax\":%.2f,\"ymax\":%.2f}",
                px[0], px[1], px[2], px[3]);
        fprintf(out, ",\"box_normalized\":{\"ymin\":%.6f,\"xmin\":%.6f,\"ymax\":%.6f,\"xmax\":%.6f}}",
                dets[i].bbox.ymin, dets[i].bbox.xmin, dets[i].bbox.ymax, dets[i].bbox.xmax);
    }
    fputc(']', out);
}

static void json_timing(FILE *out, const detect_timing *t)
{
    fprintf(out, ",\"timing_ms\":{\"preprocess\":%.3f,\"inference\":%.3f,\"postprocess\":%.3f}",
            t->preprocess_ms, t->inference_ms, t->postprocess_ms);
}

void report_json(FILE *out, const detector *d, const char *image, const frame *f,
                 const detection *dets, int n, const detect_timing *t)
{
    fputs("{\"image\":", out);
    json_string(out, image);
    fprintf(out, ",\"width\":%d,\"height\":%d,\"model\":", f->img.width, f->img.height);
    json_string(out, d->model_path);
    fprintf(out, ",\"score_threshold\":%.6g,\"nms_iou\":%.6g", d->cfg.score_threshold, d->cfg.nms_iou);
    if (t)
        json_timing(out, t);
    fputc(',', out);
    json_detections(out, d, f, dets, n);
    fputs("}\n", out);
}

void report_frame_json(FILE *out, const detector *d, const live_frame *lf, const detection *dets, int n,
                       const detect_timing *t)
{
    const frame *f = &lf->f;
    fputs("{\"source\":", out);
    json_string(out, f->name ? f->name : "");
    fprintf(out, ",\"frame\":%llu,\"timestamp\":%.6f,\"pts\":%.6f,\"width\":%d,\"height\":%d,\"format\":\"%s\"",
            (unsigned long long)f->seq, lf->t.captured / 1e9, f->pts, f->img.width, f->img.height,
            mnv_pixfmt_name(f->img.format));
    fputs(",\"model\":", out);
    json_string(out, d->model_path);
    fprintf(out, ",\"dropped\":%llu,\"skipped\":%llu,\"latency_ms\":%.3f",
            (unsigned long long)lf->dropped, (unsigned long long)lf->skipped,
            (lf->t.detect_end - lf->t.captured) / 1e6);
    json_timing(out, t);
    fputc(',', out);
    json_detections(out, d, f, dets, n);
    fputs("}\n", out);
}

static void table_rows(FILE *out, const detector *d, const frame *f, const detection *dets, int n);

void report_table(FILE *out, const detector *d, const char *image, const frame *f,
                  const detection *dets, int n, const detect_timing *t)
{
    fprintf(out, "%s: %dx%d, %d detection%s", image, f->img.width, f->img.height, n, n == 1 ? "" : "s");
    if (t)
        fprintf(out, " (inference %.1f ms, pre %.1f ms, post %.1f ms)", t->inference_ms,
                t->preprocess_ms, t->postprocess_ms);
    fputc('\n', out);
    table_rows(out, d, f, dets, n);
}

void report_frame_table(FILE *out, const detector *d, const live_frame *lf, const detection *dets, int n,
                        const detect_timing *t)
{
    const frame *f = &lf->f;
    fprintf(out, "%s frame %llu (%.3f s): %dx%d %s, %d detection%s (inference %.1f ms, latency %.1f ms, "
            "dropped %llu)\n", f->name ? f->name : "", (unsigned long long)f->seq, f->pts, f->img.width,
            f->img.height, mnv_pixfmt_name(f->img.format), n, n == 1 ? "" : "s", t->inference_ms,
            (lf->t.detect_end - lf->t.captured) / 1e6, (unsigned long long)lf->dropped);
    table_rows(out, d, f, dets, n);
}

static void table_rows(FILE *out, const detector *d, const frame *f, const detection *dets, int n)
{
    if (n == 0)
        return;
    fprintf(out, "  %-20s %6s %7s %7s %7s %7s\n", "label", "score", "xmin", "ymin", "xmax", "ymax");
    for (int i = 0; i < n; i++) {
        char buf[32];
        float px[4];
        pixel_box(&dets[i], f, px);
        fprintf(out, "  %-20s %6.3f %7.1f %7.1f %7.1f %7.1f\n",
                detector_label(d, dets[i].class_id, buf, sizeof buf), dets[i].score,
                px[0], px[1], px[2], px[3]);
    }
}

int output_finish(FILE *out, const char *who)
{
    /* A write that failed earlier (a full buffer going out in the middle of
     * the last printf: the help text is longer than stdio's buffer) left
     * its reason in errno then; fflush of the rest may have nothing left to
     * write and so no reason now. The callers print and then come here. */
    int earlier = errno;
    errno = 0;
    int flushed = fflush(out) == 0;
    int saved = errno ? errno : earlier;
    if (flushed && !ferror(out))
        return 0;
    fprintf(stderr, "%s: writing output: %s\n", who, saved ? strerror(saved) : "write error");
    return 1;
}
