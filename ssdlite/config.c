/*
 * The model config file: what a TFLite file does not say about its SSD head
 * (input scaling, anchor layout, box coder, score function, NMS) and where the
 * model and its labels are. "key = value" lines; the README's "Model settings"
 * section is the user-facing description of the format.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssdlite/ssdlite.h"

void ssd_config_defaults(ssd_config *c)
{
    /* 0.3333, not 1/3: the value in the pipeline the default model was
     * trained with, so its anchors are the ones its head expects. */
    static const float ratios[] = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};

    memset(c, 0, sizeof *c);
    c->model = c->labels = NULL;
    c->input_mean = 127.5f;
    c->input_std = 127.5f;
    c->num_layers = 6;
    c->min_scale = 0.2f;
    c->max_scale = 0.95f;
    c->n_aspect_ratios = (int)(sizeof ratios / sizeof ratios[0]);
    memcpy(c->aspect_ratios, ratios, sizeof ratios);
    c->interpolated_scale_aspect_ratio = 1.0f;
    c->reduce_boxes_in_lowest_layer = 1;
    c->anchor_offset = 0.5f;
    c->box_scales[0] = 10.0f;
    c->box_scales[1] = 10.0f;
    c->box_scales[2] = 5.0f;
    c->box_scales[3] = 5.0f;
    c->score = SCORE_SIGMOID;
    c->background_class = 1;
    c->score_threshold = 0.5f;
    c->nms_iou = 0.5f;
    c->max_detections = 100;
    c->per_class_nms = 0;
}

enum config_key {
    KEY_MODEL, KEY_LABELS, KEY_INPUT_MEAN, KEY_INPUT_STD, KEY_NUM_LAYERS,
    KEY_MIN_SCALE, KEY_MAX_SCALE, KEY_ASPECT_RATIOS, KEY_INTERPOLATED,
    KEY_REDUCE_LOWEST, KEY_ANCHOR_OFFSET, KEY_BOX_CODER_SCALES, KEY_SCORE_FUNCTION,
    KEY_BACKGROUND_CLASS, KEY_SCORE_THRESHOLD, KEY_NMS_IOU, KEY_MAX_DETECTIONS,
    KEY_PER_CLASS_NMS, KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    [KEY_MODEL] = "model",
    [KEY_LABELS] = "labels",
    [KEY_INPUT_MEAN] = "input_mean",
    [KEY_INPUT_STD] = "input_std",
    [KEY_NUM_LAYERS] = "num_layers",
    [KEY_MIN_SCALE] = "min_scale",
    [KEY_MAX_SCALE] = "max_scale",
    [KEY_ASPECT_RATIOS] = "aspect_ratios",
    [KEY_INTERPOLATED] = "interpolated_scale_aspect_ratio",
    [KEY_REDUCE_LOWEST] = "reduce_boxes_in_lowest_layer",
    [KEY_ANCHOR_OFFSET] = "anchor_offset",
    [KEY_BOX_CODER_SCALES] = "box_coder_scales",
    [KEY_SCORE_FUNCTION] = "score_function",
    [KEY_BACKGROUND_CLASS] = "background_class",
    [KEY_SCORE_THRESHOLD] = "score_threshold",
    [KEY_NMS_IOU] = "nms_iou",
    [KEY_MAX_DETECTIONS] = "max_detections",
    [KEY_PER_CLASS_NMS] = "per_class_nms",
};

/* Where we are in the file, for messages. */
typedef struct config_reader {
    const char *path;
    int line;
    char *err;
    size_t errlen;
} config_reader;

/* "PATH:LINE: reason" */
__attribute__((format(printf, 3, 4)))
static int config_fail(const config_reader *r, int line, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return mnv_error(r->err, r->errlen, MNV_EFORMAT, "%s:%d: %s", r->path, line, why);
}

/* One whole token as a finite float. */
static int parse_float(const char *s, size_t len, float *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || errno == ERANGE || !isfinite(v) || fabs(v) > FLT_MAX)
        return -1;
    *out = (float)v;
    return 0;
}

static int is_blank(char ch)
{
    return isspace((unsigned char)ch) != 0;
}

/* A whitespace-separated list of floats into out[0..max). */
static int parse_float_list(const config_reader *r, const char *key, const char *value,
                            float *out, int max, int *count)
{
    int n = 0;
    const char *p = value;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (*p && !is_blank(*p))
            p++;
        size_t len = (size_t)(p - tok);
        float v;
        if (parse_float(tok, len, &v) != 0)
            return config_fail(r, r->line, "%s: '%.*s' is not a number", key,
                               len > 40 ? 40 : (int)len, tok);
        if (n == max)
            return config_fail(r, r->line, "%s: more than %d values", key, max);
        out[n++] = v;
    }
    *count = n;
    return 0;
}

static int parse_number(const config_reader *r, const char *key, const char *value, float *out)
{
    if (parse_float(value, strlen(value), out) != 0)
        return config_fail(r, r->line, "%s: '%.40s' is not a number", key, value);
    return 0;
}

/* A number in [lo, hi]. */
static int parse_range(const config_reader *r, const char *key, const char *value,
                       float lo, float hi, float *out)
{
    float v = 0;
    int rc = parse_number(r, key, value, &v);
    if (rc)
        return rc;
    if (!(v >= lo && v <= hi))
        return config_fail(r, r->line, "%s: %g is outside [%g, %g]", key, (double)v, (double)lo,
                           (double)hi);
    *out = v;
    return 0;
}

static int parse_positive(const config_reader *r, const char *key, const char *value, float *out)
{
    float v = 0;
    int rc = parse_number(r, key, value, &v);
    if (rc)
        return rc;
    if (!(v > 0))
        return config_fail(r, r->line, "%s: %g must be greater than 0", key, (double)v);
    *out = v;
    return 0;
}

/* A whole number in [lo, hi]; why, if not NULL, says what the range is. */
static int parse_int(const config_reader *r, const char *key, const char *value, int lo, int hi,
                     const char *why, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno == ERANGE)
        return config_fail(r, r->line, "%s: '%.40s' is not a whole number", key, value);
    if (v < lo || v > hi)
        return config_fail(r, r->line, "%s: %ld is outside [%d, %d]%s%s", key, v, lo, hi,
                           why ? ", " : "", why ? why : "");
    *out = (int)v;
    return 0;
}

static int parse_bool(const config_reader *r, const char *key, const char *value, int *out)
{
    if (strcmp(value, "true") == 0)
        *out = 1;
    else if (strcmp(value, "false") == 0)
        *out = 0;
    else
        return config_fail(r, r->line, "%s: '%.40s' is not true or false", key, value);
    return 0;
}

/* value as written when absolute or when the config file has no folder part,
 * else joined to the config file's folder; newly allocated into *out, with
 * its line in *line. */
static int parse_path(const config_reader *r, const char *key, const char *value, char **out,
                      int *line)
{
    size_t dir_len = 0;
    const char *slash = strrchr(r->path, '/');
    if (value[0] != '/' && slash)
        dir_len = (size_t)(slash - r->path) + 1;
    size_t len = strlen(value);
    char *joined = malloc(dir_len + len + 1);
    if (!joined)
        return mnv_error(r->err, r->errlen, MNV_ENOMEM, "%s:%d: %s: out of memory", r->path,
                         r->line, key);
    memcpy(joined, r->path, dir_len);
    memcpy(joined + dir_len, value, len + 1);
    *out = joined;
    *line = r->line;
    return 0;
}

static int parse_value(const config_reader *r, ssd_config *c, enum config_key k, const char *value)
{
    const char *key = key_names[k];
    int n, rc;
    switch (k) {
    case KEY_MODEL:
        return parse_path(r, key, value, &c->model, &c->model_line);
    case KEY_LABELS:
        return parse_path(r, key, value, &c->labels, &c->labels_line);
    case KEY_INPUT_MEAN:
        return parse_number(r, key, value, &c->input_mean);
    case KEY_INPUT_STD:
        return parse_positive(r, key, value, &c->input_std);
    case KEY_NUM_LAYERS:
        return parse_int(r, key, value, 1, SSD_MAX_LAYERS, NULL, &c->num_layers);
    case KEY_MIN_SCALE:
        return parse_positive(r, key, value, &c->min_scale);
    case KEY_MAX_SCALE:
        return parse_positive(r, key, value, &c->max_scale);
    case KEY_ASPECT_RATIOS:
        if ((rc = parse_float_list(r, key, value, c->aspect_ratios, SSD_MAX_ASPECT, &n)) != 0)
            return rc;
        for (int i = 0; i < n; i++)
            if (!(c->aspect_ratios[i] > 0))
                return config_fail(r, r->line, "%s: %g must be greater than 0", key,
                                   (double)c->aspect_ratios[i]);
        c->n_aspect_ratios = n;
        return 0;
    case KEY_INTERPOLATED: {
        float v = 0;
        if ((rc = parse_number(r, key, value, &v)) != 0)
            return rc;
        if (!(v >= 0))
            return config_fail(r, r->line, "%s: %g must be 0 (no extra anchor) or greater", key,
                               (double)v);
        c->interpolated_scale_aspect_ratio = v;
        return 0;
    }
    case KEY_REDUCE_LOWEST:
        return parse_bool(r, key, value, &c->reduce_boxes_in_lowest_layer);
    case KEY_ANCHOR_OFFSET:
        return parse_range(r, key, value, 0.0f, 1.0f, &c->anchor_offset);
    case KEY_BOX_CODER_SCALES: {
        float s[4];
        if ((rc = parse_float_list(r, key, value, s, 4, &n)) != 0)
            return rc;
        if (n != 4)
            return config_fail(r, r->line, "%s: expected 4 numbers (y x h w), got %d", key, n);
        for (int i = 0; i < 4; i++) {
            if (!(s[i] > 0))
                return config_fail(r, r->line, "%s: %g must be greater than 0", key, (double)s[i]);
            c->box_scales[i] = s[i];
        }
        return 0;
    }
    case KEY_SCORE_FUNCTION:
        if (strcmp(value, "sigmoid") == 0)
            c->score = SCORE_SIGMOID;
        else if (strcmp(value, "softmax") == 0)
            c->score = SCORE_SOFTMAX;
        else if (strcmp(value, "identity") == 0)
            c->score = SCORE_IDENTITY;
        else
            return config_fail(r, r->line, "%s: '%.40s' is not sigmoid, softmax or identity", key,
                               value);
        return 0;
    case KEY_BACKGROUND_CLASS:
        return parse_bool(r, key, value, &c->background_class);
    case KEY_SCORE_THRESHOLD:
        return parse_range(r, key, value, 0.0f, 1.0f, &c->score_threshold);
    case KEY_NMS_IOU:
        return parse_range(r, key, value, 0.0f, 1.0f, &c->nms_iou);
    case KEY_MAX_DETECTIONS:
        return parse_int(r, key, value, 1, SSD_MAX_DETECTIONS, SSD_MAX_DETECTIONS_WHY,
                         &c->max_detections);
    case KEY_PER_CLASS_NMS:
        return parse_bool(r, key, value, &c->per_class_nms);
    case KEY_COUNT:
        break;
    }
    return config_fail(r, r->line, "%s: internal error: no parser", key);
}

/* Longer lines are refused, not cut: far beyond any path a system takes
 * (PATH_MAX is 4096 on Linux), and a bound on what a wrong file costs. */
#define CONFIG_LINE_MAX 16384

/* Reads one line without its '\n'. Returns 1 for a line, 0 at end of file,
 * -1 when it does not fit in buf, -2 on a NUL byte (a binary file). */
static int read_line(FILE *f, char *buf, size_t size)
{
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            return -2;
        if (n + 1 >= size)
            return -1;
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    return ch == EOF && n == 0 ? 0 : 1;
}

static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A '#' at the start of a line or after a blank starts a comment, so that
 * "a#b.tflite" stays a file name. */
static void strip_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '#' && (p == s || is_blank(p[-1]))) {
            *p = '\0';
            return;
        }
}

static int parse_line(config_reader *r, ssd_config *c, char *line, int *key_line)
{
    strip_comment(line);
    char *s = trim(line);
    if (!*s)
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return config_fail(r, r->line, "expected 'key = value', got '%.40s'", s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    int k = 0;
    while (k < KEY_COUNT && strcmp(key, key_names[k]) != 0)
        k++;
    if (k == KEY_COUNT)
        return config_fail(r, r->line, "unknown key '%.40s'", key);
    if (key_line[k])
        return config_fail(r, r->line, "%s: already set on line %d", key, key_line[k]);
    if (!*value)
        return config_fail(r, r->line, "%s: no value", key);
    key_line[k] = r->line;
    return parse_value(r, c, (enum config_key)k, value);
}

/* Parse f into next (a copy of the caller's config). */
static int parse_file(FILE *f, config_reader *r, ssd_config *next)
{
    int key_line[KEY_COUNT] = {0};
    char *line = malloc(CONFIG_LINE_MAX + 1);
    if (!line)
        return mnv_error(r->err, r->errlen, MNV_ENOMEM, "%s: out of memory", r->path);
    int rc = 0, got;
    while (rc == 0 && (got = read_line(f, line, CONFIG_LINE_MAX + 1)) != 0) {
        r->line++;
        char *text = line;
        /* A byte-order mark (Windows editors write one) is invisible: skip
         * it rather than report a key that looks right. */
        if (r->line == 1 && strncmp(text, "\xEF\xBB\xBF", 3) == 0)
            text += 3;
        if (got == -1)
            rc = config_fail(r, r->line, "line longer than %d bytes", CONFIG_LINE_MAX);
        else if (got == -2)
            rc = config_fail(r, r->line, "NUL byte: not a text file");
        else
            rc = parse_line(r, next, text, key_line);
    }
    free(line);
    if (rc == 0 && ferror(f))
        rc = mnv_error(r->err, r->errlen, MNV_EIO, "%s: %s", r->path, strerror(errno));
    /* Keys may come in any order: blame the later of the two lines. */
    if (rc == 0 && next->min_scale > next->max_scale) {
        int at = key_line[KEY_MIN_SCALE] > key_line[KEY_MAX_SCALE] ? key_line[KEY_MIN_SCALE]
                                                                   : key_line[KEY_MAX_SCALE];
        rc = config_fail(r, at, "min_scale %g is greater than max_scale %g",
                         (double)next->min_scale, (double)next->max_scale);
    }
    return rc;
}

int ssd_config_load(ssd_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    /* Parse into a copy so that a bad file leaves c as it was. Paths the
     * file sets are new allocations (each key at most once per file). */
    ssd_config next = *c;
    config_reader r = {path, 0, err, errlen};
    int rc = parse_file(f, &r, &next);
    fclose(f);
    if (rc) {
        if (next.model != c->model)
            free(next.model);
        if (next.labels != c->labels)
            free(next.labels);
        return rc;
    }
    if (next.model != c->model)
        free(c->model);
    if (next.labels != c->labels)
        free(c->labels);
    *c = next;
    return 0;
}

void ssd_config_free(ssd_config *c)
{
    free(c->model);
    free(c->labels);
    c->model = c->labels = NULL;
    c->model_line = c->labels_line = 0;
}
