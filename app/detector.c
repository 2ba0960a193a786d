/*
 * The glue between backbone/ and ssdlite/: find the model's settings and
 * labels, check that the anchors fit the head the model actually has, then
 * run image -> input tensor -> network -> detections.
 */
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app/app.h"

#define DEFAULT_MODEL_NAME "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"
#define DEFAULT_INT8_MODEL_NAME "object_detection_ssd_mobilenetv2_oidv4_int8.tflite"

/* The model name where `meson install` and the Debian package put models:
 * the installed data folder, found from the running program's own folder
 * (MNV2DET_DATA_FROM_BIN is "../share/mnv2det" for bin/ and share/, or an
 * absolute folder), so that an installed or unpacked tree finds its own
 * model wherever it sits. out (PATH_MAX bytes) gets the resolved path; 0
 * when the file is there. */
static int installed_model(const char *name, char out[PATH_MAX])
{
    char exe[PATH_MAX], path[2 * PATH_MAX];
    const char *data = MNV2DET_DATA_FROM_BIN;
    if (data[0] == '/') {
        snprintf(path, sizeof path, "%s/%s", data, name);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            return -1;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
            return -1;
        *slash = '\0';
        snprintf(path, sizeof path, "%s/%s/%s", exe, data, name);
    }
    return realpath(path, out) ? 0 : -1;
}

/* models/NAME in the current folder, else the installed one, else the
 * source tree's (local is "models/" NAME, installed PATH_MAX bytes). */
static const char *find_model(const char *local, const char *name, char *installed)
{
    if (access(local, F_OK) == 0)
        return local;
    if (installed_model(name, installed) == 0)
        return installed;
    return NULL;
}

const char *default_model_path(void)
{
    static char installed[PATH_MAX];
    const char *p = find_model("models/" DEFAULT_MODEL_NAME, DEFAULT_MODEL_NAME, installed);
    return p ? p : MNV2DET_SOURCE_DIR "/models/" DEFAULT_MODEL_NAME;
}

const char *default_int8_model_path(void)
{
    static char installed[PATH_MAX];
    const char *p = find_model("models/" DEFAULT_INT8_MODEL_NAME, DEFAULT_INT8_MODEL_NAME, installed);
    return p ? p : MNV2DET_SOURCE_DIR "/models/" DEFAULT_INT8_MODEL_NAME;
}

int int8_model_find(const char **path, char *err, size_t errlen)
{
    *path = default_int8_model_path();
    if (access(*path, F_OK) != 0)
        return mnv_error(err, errlen, MNV_EIO,
                         "--int8: the int8 model %s is missing; run scripts/fetch-model to make it",
                         *path);
    return 0;
}

char *model_sibling(const char *path, const char *suffix)
{
    size_t n = strlen(path), s = strlen(suffix);
    if (n >= 7 && strcmp(path + n - 7, ".tflite") == 0)
        n -= 7;
    char *out = malloc(n + s + 1);
    if (out) {
        memcpy(out, path, n);
        memcpy(out + n, suffix, s + 1);
    }
    return out;
}

/* Exists at all: a file that is there but unreadable is reported when it is
 * opened, not passed over. */
static int file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static int out_of_memory(char *err, size_t errlen)
{
    return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
}

/* Put "CONFIG:LINE: KEY: " before the message in err, which is about the
 * file a settings file named on that line. */
static int blame_config(int rc, const char *config, int line, const char *key, char *err,
                        size_t errlen)
{
    char *why = err ? strdup(err) : NULL;
    if (why) {
        mnv_error(err, errlen, rc, "%s:%d: %s: %s", config, line, key, why);
        free(why);
    }
    return rc;
}

static const char *config_name(const detector *d)
{
    return d->config_path ? d->config_path : "the built-in default";
}

/* Outputs: the one whose rows are 4 wide is the box encodings, the other the
 * class logits; both [1, anchors, ...] with the same number of anchors. */
static int find_outputs(detector *d, char *err, size_t errlen)
{
    int nout = net_output_count(d->net), box = -1, cls = -1;
    for (int i = 0; i < nout; i++) {
        const net_output_info *o = net_output(d->net, i);
        int last = o->shape[o->rank - 1];
        if (o->rank >= 2 && last == 4 && box < 0)
            box = i;
        else if (o->rank >= 2 && cls < 0)
            cls = i;
    }
    if (box < 0 || cls < 0)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: not an SSD model: expected box encodings [1,N,4] and class scores [1,N,C] outputs",
                         d->model_path);
    const net_output_info *ob = net_output(d->net, box), *oc = net_output(d->net, cls);
    if (ob->shape[1] != oc->shape[1])
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: box and class outputs disagree on the number of anchors (%d vs %d)",
                         d->model_path, ob->shape[1], oc->shape[1]);
    d->box_output = box;
    d->class_output = cls;
    d->n_classes = oc->shape[oc->rank - 1];
    if (oc->sigmoid_applied) /* the graph already turned logits into scores */
        d->cfg.score = SCORE_IDENTITY;
    return 0;
}

/* A model ending in TFLite_Detection_PostProcess brings its own anchors and
 * decoding settings; they take precedence over the config's. */
static int use_model_postprocess(detector *d, const net_postprocess *p, char *err, size_t errlen)
{
    const net_output_info *o = net_output(d->net, d->box_output);
    if (p->n_anchors != o->shape[1])
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: %d anchors for %d boxes", d->model_path,
                         p->n_anchors, o->shape[1]);
    d->anchors = malloc((size_t)p->n_anchors * sizeof *d->anchors);
    if (!d->anchors)
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
    for (int i = 0; i < p->n_anchors; i++)
        d->anchors[i] = (anchor){p->anchors[4 * i], p->anchors[4 * i + 1], p->anchors[4 * i + 2],
                                 p->anchors[4 * i + 3]};
    d->n_anchors = p->n_anchors;
    memcpy(d->cfg.box_scales, p->scales, sizeof d->cfg.box_scales);
    d->cfg.nms_iou = p->nms_iou_threshold;
    /* A model may allow more than mnv2det reports; SSD_MAX_DETECTIONS caps
     * every source of the setting. */
    d->cfg.max_detections = p->max_detections < SSD_MAX_DETECTIONS ? p->max_detections : SSD_MAX_DETECTIONS;
    d->cfg.per_class_nms = p->use_regular_nms;
    d->cfg.background_class = d->n_classes > p->num_classes;
    return 0;
}

/* Anchors from the feature maps the box predictors actually read. */
static int make_anchors(detector *d, char *err, size_t errlen)
{
    const net_postprocess *post = net_detection_postprocess(d->net);
    if (post)
        return use_model_postprocess(d, post, err, errlen);
    const net_output_info *o = net_output(d->net, d->box_output);
    int n = o->shape[1];
    if (o->n_segments <= 0 || o->n_segments > SSD_MAX_LAYERS)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: box output '%s' is not a concatenation of predictor convolutions",
                         d->model_path, o->name);
    if (o->n_segments != d->cfg.num_layers)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s has %d feature maps but %s sets num_layers %d",
                         d->model_path, o->n_segments, config_name(d), d->cfg.num_layers);
    int fm_h[SSD_MAX_LAYERS], fm_w[SSD_MAX_LAYERS];
    for (int i = 0; i < o->n_segments; i++) {
        const net_segment *s = &o->segments[i];
        fm_h[i] = s->fm_h;
        fm_w[i] = s->fm_w;
        int per_cell = s->channels / 4;
        if (per_cell != anchors_per_cell(&d->cfg, i))
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "%s: feature map %d has %d anchors per cell but %s gives %d",
                             d->model_path, i, per_cell, config_name(d), anchors_per_cell(&d->cfg, i));
    }
    d->anchors = malloc((size_t)n * sizeof *d->anchors);
    if (!d->anchors)
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
    int got = anchors_generate(&d->cfg, fm_h, fm_w, o->n_segments, d->anchors, n, err, errlen);
    if (got < 0)
        return got;
    if (got != n)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: %s makes %d anchors, the model has %d",
                         d->model_path, config_name(d), got, n);
    d->n_anchors = n;
    return 0;
}

/* The labels of detector_paths' contract. */
static int open_labels(detector *d, const detector_paths *p, char *err, size_t errlen)
{
    if (p->labels)
        return labels_load(&d->labels, p->labels, err, errlen);
    int rc;
    if (d->cfg.labels) {
        if ((rc = labels_load(&d->labels, d->cfg.labels, err, errlen)) != 0)
            return blame_config(rc, d->config_path, d->cfg.labels_line, "labels", err, errlen);
        return 0;
    }
    char *path = model_sibling(d->model_path, ".cfg");
    if (!path)
        return out_of_memory(err, errlen);
    if (p->config && file_exists(path)) {
        /* The settings came from elsewhere, but the model's own file still
         * says where its labels are. */
        ssd_config own;
        ssd_config_defaults(&own);
        rc = ssd_config_load(&own, path, err, errlen);
        if (rc == 0 && own.labels && (rc = labels_load(&d->labels, own.labels, err, errlen)) != 0)
            blame_config(rc, path, own.labels_line, "labels", err, errlen);
        int found = own.labels != NULL;
        ssd_config_free(&own);
        if (rc || found) {
            free(path);
            return rc;
        }
    }
    free(path);
    if (!(path = model_sibling(d->model_path, ".labels.txt")))
        return out_of_memory(err, errlen);
    rc = file_exists(path) ? labels_load(&d->labels, path, err, errlen) : 0;
    free(path);
    return rc;
}

int detector_open(detector *d, const detector_paths *p, const net_options *opt,
                  char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    ssd_config_defaults(&d->cfg);
    int rc = 0;
    if (p->config) {
        if (!(d->config_path = strdup(p->config)))
            return out_of_memory(err, errlen);
        if ((rc = ssd_config_load(&d->cfg, p->config, err, errlen)) != 0)
            goto fail;
    }
    int model_from_config = !p->model && d->cfg.model;
    d->model_path = strdup(p->model ? p->model : model_from_config ? d->cfg.model : default_model_path());
    if (!d->model_path) {
        rc = out_of_memory(err, errlen);
        goto fail;
    }
    if (!p->config) {
        char *own = model_sibling(d->model_path, ".cfg");
        if (!own) {
            rc = out_of_memory(err, errlen);
            goto fail;
        }
        if (!file_exists(own)) {
            free(own);
        } else {
            d->config_path = own;
            if ((rc = ssd_config_load(&d->cfg, own, err, errlen)) != 0)
                goto fail;
        }
    }

    if ((rc = net_load(&d->net, d->model_path, opt, err, errlen)) != 0) {
        if (model_from_config)
            blame_config(rc, d->config_path, d->cfg.model_line, "model", err, errlen);
        goto fail;
    }
    int c;
    net_input_shape(d->net, &d->in_h, &d->in_w, &c);
    if (c != 3) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: input has %d channels, expected 3 (RGB)",
                       d->model_path, c);
        goto fail;
    }
    if ((rc = find_outputs(d, err, errlen)) != 0 || (rc = make_anchors(d, err, errlen)) != 0 ||
        (rc = open_labels(d, p, err, errlen)) != 0)
        goto fail;

    d->scratch = malloc((size_t)d->n_anchors * sizeof *d->scratch);
    if (!d->scratch) {
        rc = out_of_memory(err, errlen);
        goto fail;
    }
    return 0;
fail:
    detector_close(d);
    return rc;
}

void detector_close(detector *d)
{
    net_free(d->net);
    labels_free(&d->labels);
    free(d->anchors);
    free(d->scratch);
    resize_plan_free(d->resize);
    ssd_config_free(&d->cfg);
    free(d->model_path);
    free(d->config_path);
    free(d->keep);
    memset(d, 0, sizeof *d);
}

int detector_prepare(detector *d, const frame *f)
{
    const mnv_image *im = &f->img;
    if ((unsigned)im->format >= MNV_PIX_COUNT)
        return MNV_EUNSUPPORTED;
    int same = im->width == d->in_w && im->height == d->in_h;
    if (!same && (d->resize_w != im->width || d->resize_h != im->height)) {
        resize_plan_free(d->resize);
        d->resize = NULL;
        d->resize_w = d->resize_h = 0;
        if (resize_plan_create(&d->resize, im->width, im->height, d->in_w, d->in_h, NULL, 0) != 0)
            return MNV_ENOMEM;
        d->resize_w = im->width;
        d->resize_h = im->height;
    }
    preprocess_image(same ? NULL : d->resize, im, d->in_w, d->in_h, d->cfg.input_mean, d->cfg.input_std,
                     net_input_buffer(d->net));
    return 0;
}

int detector_run(detector *d, const frame *f, detection *out, int max_out, detect_timing *t)
{
    double t0 = omp_get_wtime();
    int rc = detector_prepare(d, f);
    if (rc)
        return rc;
    double t1 = omp_get_wtime();
    net_run(d->net, NULL);
    double t2 = omp_get_wtime();
    int n = ssd_postprocess(&d->cfg, d->anchors, d->n_anchors,
                            net_output_data(d->net, d->box_output),
                            net_output_data(d->net, d->class_output), d->n_classes,
                            d->scratch, out, max_out);
    if (d->keep && n > 0) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (out[i].class_id >= 0 && out[i].class_id < d->n_classes && d->keep[out[i].class_id])
                out[k++] = out[i];
        n = k;
    }
    double t3 = omp_get_wtime();
    if (t) {
        t->preprocess_ms = (t1 - t0) * 1e3;
        t->inference_ms = (t2 - t1) * 1e3;
        t->postprocess_ms = (t3 - t2) * 1e3;
    }
    return n;
}

const char *detector_label(const detector *d, int class_id, char *buf, size_t buflen)
{
    const char *l = labels_get(&d->labels, class_id);
    if (l && *l)
        return l;
    snprintf(buf, buflen, "class %d", class_id);
    return buf;
}

int detector_keep_classes(detector *d, const char *list, char *err, size_t errlen)
{
    free(d->keep);
    d->keep = NULL;
    if (!list)
        return 0;
    unsigned char *keep = calloc((size_t)d->n_classes, 1);
    char *copy = strdup(list);
    if (!keep || !copy) {
        free(keep);
        free(copy);
        return out_of_memory(err, errlen);
    }
    int rc = 0;
    char *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ')
            name++;
        size_t len = strlen(name);
        while (len > 0 && name[len - 1] == ' ')
            name[--len] = '\0';
        int found = 0;
        for (int c = 0; c < d->n_classes; c++) {
            char buf[32];
            if (strcasecmp(detector_label(d, c, buf, sizeof buf), name) == 0) {
                keep[c] = 1;
                found = 1;
            }
        }
        if (!found && len > 0) {
            /* The whole list, so that the user can pick from it. */
            size_t cap = 256;
            for (int c = 0; c < d->n_classes; c++)
                cap += (labels_get(&d->labels, c) ? strlen(labels_get(&d->labels, c)) : 12) + 2;
            char *all = malloc(cap);
            if (!all) {
                rc = out_of_memory(err, errlen);
                break;
            }
            size_t at = 0;
            int first = d->cfg.background_class ? 1 : 0;
            for (int c = first; c < d->n_classes; c++) {
                char buf[32];
                at += (size_t)snprintf(all + at, cap - at, "%s%s", c > first ? ", " : "",
                                       detector_label(d, c, buf, sizeof buf));
            }
            rc = mnv_error(err, errlen, MNV_EINVAL, "--classes: '%s' is not a class of %s; its classes are: %s",
                           name, d->model_path, all);
            free(all);
            break;
        }
    }
    free(copy);
    if (rc != 0) {
        free(keep);
        return rc;
    }
    d->keep = keep;
    return 0;
}
