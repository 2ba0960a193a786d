/*
 * mnv2det: command line.
 * Exit status: 0 success; 2 bad usage or a bad input (flag, model, settings,
 * image), after the other images have run; 1 when the output cannot be
 * written or memory runs out. Every error is one line on stderr.
 */
#include <getopt.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

#define EXIT_USAGE 2
#define MNV_STR_(x) #x
#define MNV_STR(x) MNV_STR_(x)

static void usage(FILE *out)
{
    fprintf(out,
        "usage: mnv2det [--input FILE | --device PATH] [options]\n"
        "       mnv2det --list-devices [--json]\n"
        "       mnv2det bench [options]       (see mnv2det bench --help)\n"
        "\n"
        "Detect objects in images, video files or a camera with a MobileNetV2\n"
        "SSD/SSDLite TFLite model. With no input, the first camera.\n"
        "\n"
        "  -i, --input FILE     what to run on, told by its content: an image (PNG,\n"
        "                       JPEG turned upright by its EXIF orientation, BMP, GIF,\n"
        "                       TGA, PSD, HDR, PIC, PPM, PGM), a folder of images, a\n"
        "                       Y4M video, or any video FFmpeg reads (if built with\n"
        "                       it); a pipe, or - for stdin; repeatable, and plain\n"
        "                       arguments are inputs too\n"
        "  -d, --device PATH    V4L2 camera (default, with no input: the first one)\n"
        "      --size WxH       camera frame size (default 640x480; the nearest offered)\n"
        "      --fps N          camera frame rate (default: the camera's; the nearest)\n"
        "      --format NAME    camera pixel format: yuyv, nv12, i420, rgb24, mjpeg,\n"
        "                       ... or a fourcc (default: the best the camera offers)\n"
        "      --reconnect      when the camera vanishes or stalls, wait for it and go on\n"
        "      --list-devices   list cameras: formats, sizes, frame rates\n"
        "      --realtime       play files at their frame rate, dropping the frames the\n"
        "                       detector has no time for, as a camera would\n"
        "      --loop           play the inputs again and again\n"
        "      --frames N       stop after N frames\n"
        "  -m, --model PATH     TFLite model (default: the config's model, else\n"
        "                       %s)\n"
        "  -c, --config PATH    model settings (default: MODEL.cfg beside the model,\n"
        "                       else the TF Object Detection API's SSD defaults)\n"
        "  -l, --labels PATH    label map, one label per line (default: the settings'\n"
        "                       labels; else, with --config, those of MODEL.cfg beside\n"
        "                       the model; else MODEL.labels.txt beside the model)\n"
        "  -s, --score T        minimum score, 0..1 (default: the config's, 0.5)\n"
        "      --nms T          IoU above which the weaker box is dropped (default: the\n"
        "                       config's, 0.5)\n"
        "      --max N          at most N detections per image, 1..%d (default: the\n"
        "                       config's, 100)\n"
        "  -t, --threads N      inference threads (default: all cores)\n"
        "      --isa NAME       use kernels up to this ISA: ref, avx2, avx512, neon\n"
        "                       (default: MNV2DET_ISA if set, else the best this CPU has)\n"
        "  -j, --json           one JSON object per image or video frame, one per line\n"
        "  -h, --help           this help\n"
        "  -V, --version        program version\n"
        "\n"
        "Inputs run in the order given. Exit status: 0 on success (Ctrl-C or SIGTERM\n"
        "included: they stop a run cleanly); 2 on bad usage or a bad input (flag,\n"
        "model, settings, image, video, camera that cannot be opened), after the other\n"
        "inputs have run; 1 when the output cannot be written, memory runs out, or the\n"
        "camera vanishes or stalls (without --reconnect). Errors are one line each on\n"
        "stderr.\n",
        default_model_path(), SSD_MAX_DETECTIONS);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("mnv2det: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see mnv2det --help)\n", stderr);
    return EXIT_USAGE;
}

typedef struct cli {
    detector_paths paths;
    const char **inputs;
    int n_inputs;
    float score, nms;
    int have_score, have_nms, max_dets, threads, json;
    const char *isa;          /* --isa's value, NULL if not given */
    const char *device, *format;
    int width, height, fps, list_devices, reconnect, realtime, loop;
    long frames;
} cli;

enum { OPT_SIZE = 256, OPT_FPS, OPT_FORMAT, OPT_LIST, OPT_RECONNECT, OPT_REALTIME, OPT_LOOP, OPT_FRAMES };

/* "640x480" -> 640, 480 */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || a < 1 || b < 1 || a > 16384 || b > 16384)
        return -1;
    *w = (int)a, *h = (int)b;
    return 0;
}

static int parse_args(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"model", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"labels", required_argument, NULL, 'l'},
        {"score", required_argument, NULL, 's'},
        {"nms", required_argument, NULL, 'N'},
        {"max", required_argument, NULL, 'M'},
        {"threads", required_argument, NULL, 't'},
        {"isa", required_argument, NULL, 'I'},
        {"json", no_argument, NULL, 'j'},
        {"device", required_argument, NULL, 'd'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"fps", required_argument, NULL, OPT_FPS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"list-devices", no_argument, NULL, OPT_LIST},
        {"reconnect", no_argument, NULL, OPT_RECONNECT},
        {"realtime", no_argument, NULL, OPT_REALTIME},
        {"loop", no_argument, NULL, OPT_LOOP},
        {"frames", required_argument, NULL, OPT_FRAMES},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    c->inputs = calloc((size_t)argc + 1, sizeof *c->inputs);
    if (!c->inputs)
        return usage_error("%s", "out of memory");
    opterr = 0;
    int ch;
    /* '-': plain arguments come back in place (as option 1), so that images
     * run in the order given, however --input and plain names mix. */
    while ((ch = getopt_long(argc, argv, "-:i:m:c:l:s:t:d:jhV", opts, NULL)) != -1) {
        switch (ch) {
        case 1:
        case 'i': c->inputs[c->n_inputs++] = optarg; break;
        case 'm': c->paths.model = optarg; break;
        case 'c': c->paths.config = optarg; break;
        case 'l': c->paths.labels = optarg; break;
        case 's':
            if (arg_float(optarg, 0.0f, 1.0f, &c->score))
                return usage_error("--score wants a number from 0 to 1, not '%s'", optarg);
            c->have_score = 1;
            break;
        case 'N':
            if (arg_float(optarg, 0.0f, 1.0f, &c->nms))
                return usage_error("--nms wants a number from 0 to 1, not '%s'", optarg);
            c->have_nms = 1;
            break;
        case 'M':
            if (arg_int(optarg, INT_MIN, INT_MAX, &c->max_dets))
                return usage_error("--max wants a whole number, not '%s'", optarg);
            if (c->max_dets < 1 || c->max_dets > SSD_MAX_DETECTIONS)
                return usage_error("--max: %s is outside [1, " MNV_STR(SSD_MAX_DETECTIONS) "], "
                                   SSD_MAX_DETECTIONS_WHY, optarg);
            break;
        case 't':
            if (arg_int(optarg, 1, 1024, &c->threads))
                return usage_error("--threads wants a whole number from 1 to 1024, not '%s'", optarg);
            break;
        case 'I': c->isa = optarg; break;
        case 'j': c->json = 1; break;
        case 'd': c->device = optarg; break;
        case OPT_SIZE:
            if (parse_size(optarg, &c->width, &c->height))
                return usage_error("--size wants WIDTHxHEIGHT such as 640x480, not '%s'", optarg);
            break;
        case OPT_FPS:
            if (arg_int(optarg, 1, 1000, &c->fps))
                return usage_error("--fps wants a whole number from 1 to 1000, not '%s'", optarg);
            break;
        case OPT_FORMAT: {
            uint32_t fourcc;
            if (camera_fourcc_parse(optarg, &fourcc) != 0)
                return usage_error("--format wants a pixel format such as yuyv, nv12, i420, rgb24, "
                                   "mjpeg or a fourcc, not '%s'", optarg);
            c->format = optarg;
            break;
        }
        case OPT_LIST: c->list_devices = 1; break;
        case OPT_RECONNECT: c->reconnect = 1; break;
        case OPT_REALTIME: c->realtime = 1; break;
        case OPT_LOOP: c->loop = 1; break;
        case OPT_FRAMES: {
            int n;
            if (arg_int(optarg, 1, INT_MAX, &n))
                return usage_error("--frames wants a whole number from 1, not '%s'", optarg);
            c->frames = n;
            break;
        }
        case 'h': usage(stdout); return -1;
        case 'V': printf("mnv2det %s\n", MNV2DET_VERSION); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) /* after "--" */
        c->inputs[c->n_inputs++] = argv[i];
    if (c->n_inputs > 0 && c->device)
        return usage_error("%s", "give inputs or --device, not both");
    int camera_flags = c->width || c->fps || c->format || c->reconnect;
    if (c->n_inputs > 0 && camera_flags)
        return usage_error("%s", "--size, --fps, --format and --reconnect are for cameras, not files");
    return 0;
}

typedef struct sink_ctx {
    const cli *c;
    detector *d;
    int write_failed;
} sink_ctx;

static int print_frame(void *ctx, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    sink_ctx *s = ctx;
    const frame *f = &lf->f;
    if (f->still && s->c->json)
        report_json(stdout, s->d, f->name, f, dets, n, t);
    else if (f->still)
        report_table(stdout, s->d, f->name, f, dets, n, t);
    else if (s->c->json)
        report_frame_json(stdout, s->d, lf, dets, n, t);
    else
        report_frame_table(stdout, s->d, lf, dets, n, t);
    /* Each result goes out when it is ready (a pipe's reader sees it now),
     * and a failed write ends the run at once. */
    if (output_finish(stdout, "mnv2det") != 0) {
        s->write_failed = 1;
        return 1;
    }
    return 0;
}

static void camera_options_from(const cli *c, camera_options *o)
{
    memset(o, 0, sizeof *o);
    o->device = c->device;
    o->width = c->width;
    o->height = c->height;
    o->fps = c->fps;
    o->format = -1;
    if (c->format)
        camera_fourcc_parse(c->format, &o->fourcc);
}

static int reopen_camera(void *ctx, frame_source **src, char *chosen, size_t chosenlen, char *err,
                         size_t errlen)
{
    return source_open_camera(src, ctx, chosen, chosenlen, err, errlen);
}

/* Open what the command line names, run it through the detector, print. */
static int run(const cli *c, detector *d)
{
    char err[APP_ERR_MAX], chosen[512], first[4096];
    frame_source *src = NULL;
    camera_options cam;
    pipeline_options po = {0};
    po.max_frames = c->frames;
    int rc;
    if (c->n_inputs > 0) {
        file_source_options fo = {c->loop};
        rc = source_open_inputs(&src, c->inputs, c->n_inputs, &fo, err, sizeof err);
        po.realtime = c->realtime;
        po.skip_bad_inputs = 1;
    } else {
        camera_options_from(c, &cam);
        if (!cam.device) {
            if (camera_find_first(first, sizeof first, err, sizeof err) != 0) {
                fprintf(stderr, "mnv2det: no input given and %s; give --input FILE or --device PATH\n", err);
                return EXIT_USAGE;
            }
            cam.device = first;
        }
        rc = source_open_camera(&src, &cam, chosen, sizeof chosen, err, sizeof err);
        if (rc == 0)
            fprintf(stderr, "mnv2det: camera %s\n", chosen);
        po.reconnect = c->reconnect;
        po.reopen = reopen_camera;
        po.reopen_ctx = &cam;
    }
    if (rc != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        return EXIT_USAGE;
    }
    sink_ctx sc = {c, d, 0};
    pipeline_stats st;
    rc = pipeline_run(d, &src, &po, print_frame, &sc, &st, err, sizeof err);
    source_close(src);
    if (sc.write_failed)
        return 1;
    if (rc != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        return 1;
    }
    return st.bad_inputs ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0)
        return bench_main(argc - 1, argv + 1);

    cli c = {0};
    int rc = parse_args(&c, argc, argv);
    if (rc) {
        free(c.inputs);
        return rc < 0 ? output_finish(stdout, "mnv2det") : rc;
    }
    if (c.list_devices) {
        char lerr[APP_ERR_MAX];
        free(c.inputs);
        if (devices_print(stdout, c.json, lerr, sizeof lerr) != 0) {
            fprintf(stderr, "mnv2det: %s\n", lerr);
            return 1;
        }
        return output_finish(stdout, "mnv2det");
    }
    /* Before any thread exists, so that every thread inherits the mask. */
    if (signals_start() != 0) {
        fprintf(stderr, "mnv2det: cannot set up signal handling\n");
        free(c.inputs);
        return 1;
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);

    char err[APP_ERR_MAX];
    net_options opt = {0};
    if (isa_choose(c.isa, &opt.max_isa, err, sizeof err) != 0) {
        free(c.inputs);
        return usage_error("%s", err);
    }
    detector d;
    if (detector_open(&d, &c.paths, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        free(c.inputs);
        return EXIT_USAGE;
    }
    if (c.have_score)
        d.cfg.score_threshold = c.score;
    if (c.have_nms)
        d.cfg.nms_iou = c.nms;
    if (c.max_dets > 0)
        d.cfg.max_detections = c.max_dets;

    int status = run(&c, &d);
    detector_close(&d);
    free(c.inputs);
    return status;
}
