/*
 * mnv2det quantize: post-training quantization of a float model. The float
 * network runs over the calibration pictures, pre-processed exactly as the
 * detector does it (the model's settings), every activation tensor's range
 * is recorded (backbone's calib_*), and quantize_model writes the int8
 * TFLite file. The model's settings file is copied beside the output with
 * its `model` line pointing at it, so the int8 model runs as it is.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "capture/capture.h"

static void quantize_usage(FILE *out)
{
    fprintf(out,
        "usage: mnv2det quantize --calibrate DIR|FILE... --output OUT.tflite [options]\n"
        "Runs a float model over calibration pictures and writes it in TFLite's int8\n"
        "scheme (weights int8 per output channel, activations int8 per tensor, int32\n"
        "biases, QUANTIZE at the input, DEQUANTIZE at the outputs), and its settings\n"
        "beside it as OUT.cfg.\n"
        "  -m, --model PATH       float TFLite model (default %s)\n"
        "  -c, --config PATH      its settings (default: MODEL.cfg beside it)\n"
        "  -C, --calibrate PATH   a picture, or a folder of them (every .png, .jpg,\n"
        "                         .jpeg, .bmp in it, sorted); more pictures may follow\n"
        "  -o, --output PATH      the int8 model to write\n"
        "      --method NAME      minmax (default): each tensor's range is its smallest\n"
        "                         and largest value seen (a predictor's output: but\n"
        "                         for a few isolated low ones); percentile: in each picture\n"
        "                         the values --percentile percent from either end\n"
        "      --percentile P     for --method percentile (default 99.99)\n"
        "      --int8-head        the head's reshapes and concatenations in int8 too, on\n"
        "                         one range for all predictors (default: in float, each\n"
        "                         predictor's output dequantized on its own range)\n"
        "      --no-bias-correction  keep the biases as rounded (default: each\n"
        "                         convolution's bias, in network order, gets the mean\n"
        "                         difference between its float and int8 outputs on the\n"
        "                         calibration pictures, the ones before it corrected)\n"
        "      --exact-scales     each weight scale exactly max|w| / 127 and each\n"
        "                         activation scale exactly range / 255 (default: the\n"
        "                         activation scales rounded up to 6 significant bits,\n"
        "                         the weight scales grown by up to 6%% where that lets\n"
        "                         a layer requantize in 32-bit steps, see the README)\n"
        "  -h, --help\n"
        "Exit status: 0 on success; 2 on bad usage, a bad model or a picture that does\n"
        "not decode; 1 when a file cannot be written or memory runs out.\n",
        default_model_path());
}

static int quantize_error(const char *fmt, const char *arg)
{
    fputs("mnv2det quantize: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 2;
}

/* A growing list of paths. */
typedef struct paths { char **v; int n, cap; } paths;

/* 0, or -1 with the message written (out of memory) */
static int paths_add(paths *p, const char *s)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        char **v = realloc(p->v, (size_t)cap * sizeof *v);
        if (!v) {
            fputs("mnv2det quantize: out of memory\n", stderr);
            return -1;
        }
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n] = strdup(s))) {
        fputs("mnv2det quantize: out of memory\n", stderr);
        return -1;
    }
    p->n++;
    return 0;
}

static void paths_free(paths *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

static int is_picture_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".PNG", ".JPG", ".JPEG", ".BMP"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path itself, or the pictures in the folder at path, sorted. */
static int add_calibration(paths *p, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "mnv2det quantize: --calibrate: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode))
        return paths_add(p, path) ? 1 : 0;
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "mnv2det quantize: --calibrate: %s: cannot read the folder: %s\n", path, strerror(errno));
        return 2;
    }
    int first = p->n, rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || !is_picture_name(e->d_name))
            continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            fputs("mnv2det quantize: out of memory\n", stderr);
            rc = 1;
            break;
        }
        snprintf(full, len, "%s/%s", path, e->d_name);
        rc = paths_add(p, full) ? 1 : 0;
        free(full);
    }
    closedir(dir);
    if (!rc && p->n == first)
        return quantize_error("--calibrate: the folder %s holds no .png, .jpg, .jpeg or .bmp picture", path);
    qsort(p->v + first, (size_t)(p->n - first), sizeof *p->v, cmp_str);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The folder part of path ("." when none), newly allocated. */
static char *dir_name(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    size_t n = s == path ? 1 : (size_t)(s - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* The key of a settings line ("model" in "  model = x  # y"), or 0 when the
 * line has none; *value points after the '='. */
static int line_key(const char *line, const char *key, const char **value)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        return 0;
    line += k;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '=')
        return 0;
    *value = line + 1;
    return 1;
}

/* Copy the settings at cfg_path to out_cfg with `model = ` naming the int8
 * model; a relative `labels` path is made absolute when the new file is in
 * another folder (relative paths are read from the settings file's folder). */
static int write_settings(const char *cfg_path, const char *out_cfg, const char *out_model)
{
    FILE *in = fopen(cfg_path, "r");
    if (!in) {
        fprintf(stderr, "mnv2det quantize: %s: cannot read: %s\n", cfg_path, strerror(errno));
        return 1;
    }
    char *tmp = model_sibling(out_cfg, ".partial");
    char *in_dir = dir_name(cfg_path), *out_dir = dir_name(out_model);
    char in_real[PATH_MAX], out_real[PATH_MAX];
    int same_dir = in_dir && out_dir && realpath(in_dir, in_real) && realpath(out_dir, out_real) &&
                   strcmp(in_real, out_real) == 0;
    FILE *out = tmp ? fopen(tmp, "w") : NULL;
    if (!out) {
        fprintf(stderr, "mnv2det quantize: %s: cannot write: %s\n", out_cfg, tmp ? strerror(errno) : "out of memory");
        fclose(in);
        free(tmp), free(in_dir), free(out_dir);
        return 1;
    }
    char line[4096];
    const char *value;
    int wrote_model = 0;
    while (fgets(line, sizeof line, in)) {
        if (line_key(line, "model", &value)) {
            fprintf(out, "model = %s\n", base_name(out_model));
            wrote_model = 1;
        } else if (!same_dir && line_key(line, "labels", &value)) {
            char name[4096];
            if (sscanf(value, " %4095s", name) == 1 && name[0] != '/' && in_dir)
                fprintf(out, "labels = %s/%s\n", in_real[0] ? in_real : in_dir, name);
            else
                fputs(line, out);
        } else {
            fputs(line, out);
        }
    }
    if (!wrote_model)
        fprintf(out, "model = %s\n", base_name(out_model));
    int bad = ferror(in) || ferror(out);
    fclose(in);
    bad |= fclose(out) != 0;
    if (bad || rename(tmp, out_cfg) != 0) {
        fprintf(stderr, "mnv2det quantize: %s: cannot write: %s\n", out_cfg, strerror(errno));
        remove(tmp);
        bad = 1;
    }
    free(tmp), free(in_dir), free(out_dir);
    return bad;
}

/* Empirical bias correction for the convolution numbered first (in the
 * float model's order; see bias_probe in backbone.h): the model as quantized
 * so far (written to probe_path, removed after) and the float one run on
 * every calibration picture, and the mean difference of that convolution's
 * outputs joins the ranges' bias shifts. *n_convs: how many convolutions
 * there are. Returns the exit status (message printed). */
static int bias_round(detector *d, const paths *cal, calib_ranges *ranges, int flags, quantize_memo *memo,
                      const net_options *opt, const char *probe_path, int first, int *n_convs)
{
    char err[APP_ERR_MAX];
    int rc = quantize_model_memo(d->model_path, ranges, flags, memo, probe_path, NULL, err, sizeof err);
    if (rc)
        return quantize_error("%s", err) - (rc == MNV_EIO || rc == MNV_ENOMEM);
    net *qn = NULL;
    bias_probe *probe = NULL;
    if ((rc = net_load(&qn, probe_path, opt, err, sizeof err)) != 0 ||
        (rc = bias_probe_create(&probe, d->model_path, probe_path, first, 1, err, sizeof err)) != 0) {
        rc = quantize_error("%s", err) - (rc == MNV_ENOMEM);
        goto done;
    }
    *n_convs = bias_probe_count(probe);
    for (int i = 0; i < cal->n && !rc; i++) {
        frame f;
        if (image_load(&f, cal->v[i], err, sizeof err) != 0) {
            rc = quantize_error("%s", err);
            break;
        }
        if (detector_prepare(d, &f) != 0) {
            fprintf(stderr, "mnv2det quantize: %s: out of memory\n", cal->v[i]);
            rc = 1;
        } else {
            /* the same input for both, copied before the float run, whose
             * arena may reuse the input's memory; the float net first: the
             * int8 one compares with what it kept */
            int h, w, c;
            net_input_shape(d->net, &h, &w, &c);
            memcpy(net_input_buffer(qn), net_input_buffer(d->net), (size_t)h * w * c * sizeof(float));
            net_run_observed(d->net, NULL, bias_probe_float, probe);
            net_run_observed_q8(qn, NULL, bias_probe_int8, probe);
            if (bias_probe_failed(probe)) {
                fputs("mnv2det quantize: out of memory\n", stderr);
                rc = 1;
            }
        }
        frame_free(&f);
    }
    if (!rc && bias_probe_apply(probe, ranges, NULL, err, sizeof err) != 0)
        rc = quantize_error("%s", err) - 1;
done:
    bias_probe_free(probe);
    net_free(qn);
    remove(probe_path);
    return rc;
}

/* 1 if a and b name the same existing file */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* 0 if a file can be made in path's folder, else the errno saying why not:
 * checked before the calibration, which takes seconds, so that a mistyped
 * --output fails at once and not after all the work. */
static int output_folder_error(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return ENOMEM;
    struct stat st;
    const char *dir = dirname(copy);
    int e = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : access(dir, W_OK | X_OK) != 0 ? errno : 0;
    free(copy);
    return e;
}

/* The reasons not to start: the output's folder cannot take it, the input
 * is no float model, or the output would overwrite the model or its
 * settings. Each prints its line; returns the exit status, 0 to go on. */
static int quantize_refuses(const detector *d, const char *output)
{
    int e = output_folder_error(output);
    if (e) {
        fprintf(stderr, "mnv2det quantize: --output %s: cannot write there: %s\n", output, strerror(e));
        return 1;
    }
    int int8 = 0, n = net_layer_count(d->net);
    for (int i = 0; i < n; i++) {
        net_layer_info li;
        net_layer_get(d->net, i, &li);
        int8 += li.int8;
    }
    if (int8) {
        fprintf(stderr, "mnv2det quantize: %s is already quantized (%d of %d layers int8): give the float model\n",
                d->model_path, int8, n);
        return 2;
    }
    if (same_file(output, d->model_path)) {
        fprintf(stderr, "mnv2det quantize: --output %s is the model itself: give another path\n", output);
        return 2;
    }
    char *cfg = d->config_path ? model_sibling(output, ".cfg") : NULL;
    const int cfg_clash = cfg && same_file(cfg, d->config_path);
    if (cfg_clash)
        fprintf(stderr,
                "mnv2det quantize: --output %s would write its settings over %s, the model's: give another path\n",
                output, d->config_path);
    free(cfg);
    return cfg_clash ? 2 : 0;
}

/* Empirical bias correction, one convolution at a time in network order,
 * each measured with the ones before it corrected. Correcting them all from
 * one measurement does not work: a convolution's measured shift includes
 * what the layers before it passed on, which their own corrections remove
 * too, and on this network the doubled corrections grow from layer to layer
 * (repeating such rounds diverged). Returns the exit status. */
static int correct_biases(detector *d, const paths *cal, calib_ranges *ranges, int flags, quantize_memo *memo,
                          const net_options *opt, const char *output, int *corrected)
{
    char *probe_path = model_sibling(output, ".probe.tflite");
    if (!probe_path) {
        fputs("mnv2det quantize: out of memory\n", stderr);
        return 1;
    }
    /* One thread: these are some 900 short runs of each net (convolutions
     * x pictures), whose layers are too small for a team's barriers to pay,
     * and on a machine busy with other work the team's threads wait for
     * each other (measured on two loaded CPUs: 18 s on one thread, 4.5
     * minutes on two). */
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    int rc = 0, n_convs = 1, k;
    for (k = 0; k < n_convs && !rc; k++)
        rc = bias_round(d, cal, ranges, flags, memo, opt, probe_path, k, &n_convs);
    omp_set_num_threads(threads);
    *corrected = rc ? 0 : k;
    free(probe_path);
    return rc;
}

int quantize_main(int argc, char **argv)
{
    enum { OPT_METHOD = 256, OPT_PERCENTILE, OPT_INT8_HEAD, OPT_NO_BIAS_CORRECTION, OPT_EXACT_SCALES };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"config", required_argument, NULL, 'c'},
        {"calibrate", required_argument, NULL, 'C'}, {"output", required_argument, NULL, 'o'},
        {"method", required_argument, NULL, OPT_METHOD},
        {"percentile", required_argument, NULL, OPT_PERCENTILE},
        {"int8-head", no_argument, NULL, OPT_INT8_HEAD},
        {"no-bias-correction", no_argument, NULL, OPT_NO_BIAS_CORRECTION},
        {"exact-scales", no_argument, NULL, OPT_EXACT_SCALES},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *config = NULL, *output = NULL, *method_name = NULL;
    double percentile = 99.99;
    int have_percentile = 0, flags = 0, bias_correction = 1, ch, rc = 0;
    paths cal = {0};
    opterr = 0;
    optind = 1;
    /* "-" first: pictures after --calibrate's come back as arguments (1) */
    while ((ch = getopt_long(argc, argv, "-:m:c:C:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': model = optarg; break;
        case 'c': config = optarg; break;
        case 'o': output = optarg; break;
        case 1:
            if (cal.n == 0) {
                rc = quantize_error("unexpected argument '%s' (pictures follow --calibrate)", optarg);
                goto done;
            }
            /* fall through */
        case 'C':
            if ((rc = add_calibration(&cal, optarg)) != 0)
                goto done;
            break;
        case OPT_METHOD:
            if (strcmp(optarg, "minmax") != 0 && strcmp(optarg, "percentile") != 0) {
                rc = quantize_error("--method wants minmax or percentile, not '%s'", optarg);
                goto done;
            }
            method_name = optarg;
            break;
        case OPT_PERCENTILE: {
            char *end;
            errno = 0;
            percentile = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(percentile > 50.0 && percentile <= 100.0)) {
                rc = quantize_error("--percentile wants a number above 50 and at most 100, not '%s'", optarg);
                goto done;
            }
            have_percentile = 1;
            break;
        }
        case OPT_INT8_HEAD: flags |= QUANTIZE_INT8_HEAD; break;
        case OPT_EXACT_SCALES: flags |= QUANTIZE_EXACT_SCALES; break;
        case OPT_NO_BIAS_CORRECTION: bias_correction = 0; break;
        case 'h': quantize_usage(stdout); rc = output_finish(stdout, "mnv2det quantize"); goto done;
        case ':': rc = quantize_error("option '%s' needs a value", argv[optind - 1]); goto done;
        default: rc = quantize_error("unknown option '%s' (see mnv2det quantize --help)", argv[optind - 1]); goto done;
        }
    }
    if (cal.n == 0 || !output) {
        rc = quantize_error("%s", cal.n == 0 ? "--calibrate wants pictures (see mnv2det quantize --help)"
                                             : "--output wants the path of the int8 model to write");
        goto done;
    }
    calib_method method = method_name && strcmp(method_name, "percentile") == 0 ? CALIB_PERCENTILE : CALIB_MINMAX;
    if (have_percentile && method != CALIB_PERCENTILE) {
        rc = quantize_error("%s", "--percentile is for --method percentile");
        goto done;
    }
    char err[APP_ERR_MAX];
    detector d;
    net_options opt = {.keep_tensors = 1};
    detector_paths dp = {model, config, NULL};
    if (isa_choose(NULL, &opt.max_isa, err, sizeof err) != 0 ||
        memory_limit_from_env(&opt.max_memory, err, sizeof err) != 0 ||
        detector_open(&d, &dp, &opt, err, sizeof err) != 0) {
        rc = quantize_error("%s", err);
        goto done;
    }
    if ((rc = quantize_refuses(&d, output)) != 0) {
        detector_close(&d);
        goto done;
    }
    calib_ranges *ranges = NULL;
    if (calib_create(&ranges, net_tensor_count(d.net), method, percentile, err, sizeof err) != 0) {
        rc = quantize_error("%s", err);
        detector_close(&d);
        goto done;
    }
    for (int i = 0; i < cal.n && !rc; i++) {
        frame f;
        if (image_load(&f, cal.v[i], err, sizeof err) != 0) {
            rc = quantize_error("%s", err);
            break;
        }
        if (detector_prepare(&d, &f) != 0) {
            fprintf(stderr, "mnv2det quantize: %s: out of memory\n", cal.v[i]);
            rc = 1;
        } else {
            net_run_observed(d.net, NULL, calib_observe, ranges);
            if (calib_failed(ranges)) {
                fputs("mnv2det quantize: out of memory\n", stderr);
                rc = 1;
            }
        }
        frame_free(&f);
    }
    int corrected = 0;
    /* each round of the bias correction moves one layer's bias, and the
     * memo keeps every layer's scale search for the next round (the default
     * model and six pictures: 38 s -> 19 s on a Zen 5); NULL only costs
     * that time */
    quantize_memo *memo = quantize_memo_create();
    if (!rc && bias_correction)
        rc = correct_biases(&d, &cal, ranges, flags, memo, &opt, output, &corrected);
    quantize_report rep;
    char *out_cfg = NULL;
    if (!rc && (rc = quantize_model_memo(d.model_path, ranges, flags, memo, output, &rep, err, sizeof err)) != 0)
        rc = quantize_error("%s", err) - (rc == MNV_EIO || rc == MNV_ENOMEM);
    quantize_memo_free(memo);
    if (!rc && d.config_path) {
        if (!(out_cfg = model_sibling(output, ".cfg"))) {
            fputs("mnv2det quantize: out of memory\n", stderr);
            rc = 1;
        } else {
            rc = write_settings(d.config_path, out_cfg, output);
        }
    }
    if (!rc) {
        char how[64] = "min/max";
        if (method == CALIB_PERCENTILE)
            snprintf(how, sizeof how, "percentile %g", percentile);
        char bias[64] = "";
        if (corrected)
            snprintf(bias, sizeof bias, ", %d biases corrected", corrected);
        printf("mnv2det quantize: wrote %s: %d convolutions with int8 weights (%d with 32-bit "
               "requantization), %d activation ranges (%s) from %d picture%s%s, %.1f MB\n",
               output, rep.convs, rep.narrow, rep.activations, how, cal.n, cal.n == 1 ? "" : "s", bias,
               (double)rep.bytes / 1e6);
        if (out_cfg)
            printf("mnv2det quantize: wrote %s (the settings of %s)\n", out_cfg, d.config_path);
        rc = output_finish(stdout, "mnv2det quantize");
    }
    free(out_cfg);
    calib_free(ranges);
    detector_close(&d);
done:
    paths_free(&cal);
    return rc;
}
