/*
 * mnv2det: command line.
 * Exit status: 0 success; 2 bad usage or a bad input (flag, model, settings,
 * image), after the other images have run; 1 when the output cannot be
 * written or memory runs out. Every error is one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        "       mnv2det quantize [options]    (see mnv2det quantize --help)\n"
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
        "      --int8           the int8 default model instead of the float one (not\n"
        "                       with --model; scripts/fetch-model makes it):\n"
        "                       %s\n"
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
        "  -t, --threads N      inference threads (default: all cores); with --bench a\n"
        "                       list such as 1,2 runs once per team size\n"
        "      --isa NAME       use kernels up to this ISA: ref, avx2, avx512, neon\n"
        "                       (default: MNV2DET_ISA if set, else the best this CPU has)\n"
        "  -j, --json           one JSON object per image or video frame, one per line\n"
        "      --classes LIST   report only these labels, e.g. person,car\n"
        "      --no-display     no window: print results only (also when no display\n"
        "                       is available; stills never open one)\n"
        "      --fullscreen     start the window fullscreen\n"
        "      --record FILE    write the annotated frames to a video: .y4m, or any\n"
        "                       container FFmpeg writes (.mkv, .mp4, ...) if built with it\n"
        "      --bench N        time N frames and print the latency of each stage\n"
        "                       (median, p90, p99, max) instead of the detections\n"
        "      --stats[=json]   print that latency report on stderr when the run ends\n"
        "                       (a table, or one JSON line)\n"
        "      --latency-log F  one CSV row per frame with every timestamp\n"
        "      --latency-plot F an SVG plot of latency per frame and its histogram\n"
        "  -h, --help           this help\n"
        "  -V, --version        program version\n"
        "\n"
        "Window keys: q or Esc quit, space pause, s screenshot (PNG in the current\n"
        "folder), + and - score threshold, f fullscreen, h heads-up line.\n"
        "\n"
        "Inputs run in the order given. Exit status: 0 on success (Ctrl-C or SIGTERM\n"
        "included: they stop a run cleanly); 2 on bad usage or a bad input (flag,\n"
        "model, settings, image, video, camera that cannot be opened), after the other\n"
        "inputs have run; 1 when the output cannot be written, memory runs out, or the\n"
        "camera vanishes or stalls (without --reconnect). Errors are one line each on\n"
        "stderr.\n",
        default_model_path(), default_int8_model_path(), SSD_MAX_DETECTIONS);
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
    int thread_list[APP_MAX_THREAD_RUNS], n_thread_list;
    const char *classes, *record, *latency_log, *latency_plot;
    int no_display, fullscreen, stats;
    int int8;                 /* --int8: the int8 default model */
    long bench;
    size_t max_memory;        /* MNV2DET_MAX_MEMORY_MB: a model's, a picture's, a frame's cap */
} cli;

enum { OPT_SIZE = 256, OPT_FPS, OPT_FORMAT, OPT_LIST, OPT_RECONNECT, OPT_REALTIME, OPT_LOOP, OPT_FRAMES,
       OPT_CLASSES, OPT_NO_DISPLAY, OPT_FULLSCREEN, OPT_RECORD, OPT_BENCH, OPT_STATS, OPT_LATENCY_LOG,
       OPT_LATENCY_PLOT, OPT_INT8 };

/* "2" or "1,2": team sizes from 1 to 1024. */
static int parse_threads(const char *s, cli *c)
{
    char buf[256];
    if (strlen(s) >= sizeof buf || s[0] == ',' || strstr(s, ",,"))
        return -1;
    strcpy(buf, s);
    c->n_thread_list = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (c->n_thread_list == APP_MAX_THREAD_RUNS || arg_int(t, 1, 1024, &c->thread_list[c->n_thread_list]))
            return -1;
        c->n_thread_list++;
    }
    if (c->n_thread_list == 0 || s[strlen(s) - 1] == ',')
        return -1;
    c->threads = c->thread_list[0];
    return 0;
}

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

/* stdout's buffer while --help prints (glibc ignores setvbuf's size
 * without a buffer of the caller's). */
static char help_buffer[1 << 14];

static int parse_args(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"model", required_argument, NULL, 'm'},
        {"int8", no_argument, NULL, OPT_INT8},
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
        {"classes", required_argument, NULL, OPT_CLASSES},
        {"no-display", no_argument, NULL, OPT_NO_DISPLAY},
        {"fullscreen", no_argument, NULL, OPT_FULLSCREEN},
        {"record", required_argument, NULL, OPT_RECORD},
        {"bench", required_argument, NULL, OPT_BENCH},
        {"stats", optional_argument, NULL, OPT_STATS},
        {"latency-log", required_argument, NULL, OPT_LATENCY_LOG},
        {"latency-plot", required_argument, NULL, OPT_LATENCY_PLOT},
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
        case OPT_INT8: c->int8 = 1; break;
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
            if (parse_threads(optarg, c))
                return usage_error("--threads wants a whole number from 1 to 1024 (or, with --bench, a "
                                   "list such as 1,2), not '%s'", optarg);
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
        case OPT_CLASSES: c->classes = optarg; break;
        case OPT_NO_DISPLAY: c->no_display = 1; break;
        case OPT_FULLSCREEN: c->fullscreen = 1; break;
        case OPT_RECORD: c->record = optarg; break;
        case OPT_STATS:
            if (!optarg || strcmp(optarg, "table") == 0)
                c->stats = 1;
            else if (strcmp(optarg, "json") == 0)
                c->stats = 2;
            else
                return usage_error("--stats= wants table or json, not '%s'", optarg);
            break;
        case OPT_LATENCY_LOG: c->latency_log = optarg; break;
        case OPT_LATENCY_PLOT: c->latency_plot = optarg; break;
        case OPT_BENCH: {
            int n;
            if (arg_int(optarg, 1, INT_MAX, &n))
                return usage_error("--bench wants a number of frames from 1, not '%s'", optarg);
            c->bench = n;
            break;
        }
        case 'h':
            /* One buffer for the whole text, so that a failed write is
             * seen, with its reason, at the final flush. */
            setvbuf(stdout, help_buffer, _IOFBF, sizeof help_buffer);
            usage(stdout);
            return -1;
        case 'V': printf("mnv2det %s\n", MNV2DET_VERSION); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) /* after "--" */
        c->inputs[c->n_inputs++] = argv[i];
    if (c->int8 && c->paths.model)
        return usage_error("%s", "--int8 runs the int8 default model: give --int8 or --model, not both");
    if (c->n_inputs > 0 && c->device)
        return usage_error("%s", "give inputs or --device, not both");
    int camera_flags = c->width || c->fps || c->format || c->reconnect;
    if (c->n_inputs > 0 && camera_flags)
        return usage_error("%s", "--size, --fps, --format and --reconnect are for cameras, not files");
    if (c->n_thread_list > 1 && !c->bench)
        return usage_error("%s", "a list of thread counts is for --bench");
    if (c->bench && c->frames)
        return usage_error("%s", "--bench N already says how many frames: give --bench or --frames");
    if (c->n_thread_list > 1 && c->record)
        return usage_error("%s", "--record with a list of thread counts would overwrite the recording");
    for (int i = 0; i < c->n_inputs; i++)
        if (c->n_thread_list > 1 && strcmp(c->inputs[i], "-") == 0)
            return usage_error("%s", "a list of thread counts reads the inputs once per count: not from stdin");
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

/* Open what the command line names. 0, or EXIT_USAGE after saying why. */
static int open_source(const cli *c, frame_source **src, camera_options *cam, char *first, size_t firstlen,
                       pipeline_options *po, int quiet)
{
    char err[APP_ERR_MAX], chosen[512];
    int rc;
    if (c->n_inputs > 0) {
        file_source_options fo = {c->loop, c->max_memory};
        rc = source_open_inputs(src, c->inputs, c->n_inputs, &fo, err, sizeof err);
        po->realtime = c->realtime;
        po->skip_bad_inputs = 1;
    } else {
        camera_options_from(c, cam);
        if (!cam->device) {
            if (camera_find_first(first, firstlen, err, sizeof err) != 0) {
                fprintf(stderr, "mnv2det: no input given and %s; give --input FILE or --device PATH\n", err);
                return EXIT_USAGE;
            }
            cam->device = first;
        }
        rc = source_open_camera(src, cam, chosen, sizeof chosen, err, sizeof err);
        if (rc == 0 && !quiet)
            fprintf(stderr, "mnv2det: camera %s\n", chosen);
        po->reconnect = c->reconnect;
        po->reopen = reopen_camera;
        po->reopen_ctx = cam;
    }
    if (rc != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* The window, unless --no-display, a still picture, or no display at all
 * (then one line says so and the run goes on headless). */
static display *open_window(const cli *c, const frame_source *src)
{
    const source_info *info = source_get_info(src);
    if (c->no_display || strcmp(info->kind, "image") == 0)
        return NULL;
    display_options o;
    display_options_init(&o);
    char title[300], err[APP_ERR_MAX];
    snprintf(title, sizeof title, "mnv2det - %s", info->name);
    o.title = title;
    o.fullscreen = c->fullscreen;
    display *d = NULL;
    if (display_open(&d, &o, err, sizeof err) != 0) {
        fprintf(stderr, "mnv2det: %s; running headless\n", err);
        return NULL;
    }
    char what[256];
    display_describe(d, what, sizeof what);
    fprintf(stderr, "mnv2det: window: %s\n", what);
    return d;
}

static int write_file(const char *path, const char *what, const latency_run *runs, int n, const char *title)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "mnv2det: %s: cannot write the %s: %s\n", path, what, strerror(errno));
        return 1;
    }
    int rc = title ? latency_write_svg(fp, runs, n, title) : latency_write_csv(fp, runs, n);
    if (fclose(fp) != 0)
        rc = MNV_EIO;
    if (rc != 0) {
        fprintf(stderr, "mnv2det: %s: cannot write the %s: %s\n", path, what, strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

/* Run the inputs (once per --threads value with --bench), print the
 * results, the latency report and files. Returns the exit status. */
static int run(const cli *c, detector *d)
{
    char err[APP_ERR_MAX], first[4096];
    int nruns = c->n_thread_list > 1 ? c->n_thread_list : 1;
    int timed = c->bench || c->stats || c->latency_log || c->latency_plot;
    latency_run runs[APP_MAX_THREAD_RUNS];
    latency_summary sums[APP_MAX_THREAD_RUNS];
    memset(runs, 0, sizeof runs);
    display *dsp = NULL;
    int window_tried = 0, status = 0, done = 0;
    for (int r = 0; r < nruns && status == 0; r++) {
        frame_source *src = NULL;
        camera_options cam;
        pipeline_options po = {0};
        po.max_frames = c->bench ? c->bench : c->frames;
        po.threads = c->n_thread_list > 0 ? c->thread_list[r] : omp_get_max_threads();
        if ((status = open_source(c, &src, &cam, first, sizeof first, &po, r > 0)) != 0)
            break;
        if (!window_tried) {
            dsp = open_window(c, src);
            window_tried = 1;
        }
        if (timed && latency_run_init(&runs[r], po.threads, dsp == NULL, c->bench ? (size_t)c->bench : 1024)) {
            source_close(src);
            fprintf(stderr, "mnv2det: out of memory\n");
            status = 1;
            break;
        }
        live_config lc = {0};
        lc.print = !c->bench;
        lc.json = c->json;
        lc.record = c->record;
        lc.threads = po.threads;
        lc.progress = c->bench && isatty(STDERR_FILENO);
        lc.progress_total = c->bench;
        pipeline_stats st;
        int rc = live_run(&lc, d, &src, &po, dsp, timed ? &runs[r] : NULL, &st, err, sizeof err);
        source_close(src);
        done = r + 1;
        if (timed) {
            runs[r].captured = st.captured;
            runs[r].dropped = st.dropped;
            runs[r].unfinished = st.unfinished;
            runs[r].skipped = st.skipped;
            runs[r].not_presented = st.not_presented;
            runs[r].t_start = st.t_first_capture;
            runs[r].t_end = mono_ns();
        }
        if (st.output_failed) {
            status = 1;
        } else if (rc != 0) {
            fprintf(stderr, "mnv2det: %s\n", err);
            status = 1;
        } else if (st.bad_inputs) {
            status = EXIT_USAGE;
        }
        if (st.interrupted)
            break;
    }
    display_close(dsp);
    if (timed && done > 0 && status != 1) {
        for (int r = 0; r < done; r++)
            if (latency_summarize(&runs[r], &sums[r]) != 0) {
                fprintf(stderr, "mnv2det: out of memory\n");
                status = 1;
                done = 0;
            }
        if (c->bench) {
            if (c->json)
                latency_report_json(stdout, sums, done);
            else
                latency_report_table(stdout, sums, done);
            if (output_finish(stdout, "mnv2det") != 0)
                status = 1;
        } else if (c->stats && done > 0) {
            /* stderr: stdout carries the frames' own lines */
            if (c->stats == 2)
                latency_report_json(stderr, sums, done);
            else
                latency_report_table(stderr, sums, done);
        }
        char title[512];
        const char *what = c->n_inputs > 0 ? c->inputs[0] : c->device ? c->device : "the first camera";
        const char *slash = c->n_inputs > 0 ? strrchr(what, '/') : NULL;
        snprintf(title, sizeof title, "mnv2det latency: %s%s", slash && slash[1] ? slash + 1 : what,
                 c->realtime ? " (--realtime)" : "");
        if (c->latency_log && done > 0 && write_file(c->latency_log, "latency log", runs, done, NULL))
            status = 1;
        if (c->latency_plot && done > 0 && write_file(c->latency_plot, "latency plot", runs, done, title))
            status = 1;
    }
    for (int r = 0; r < nruns; r++)
        latency_run_free(&runs[r]);
    return status;
}

/* The detector's OpenMP team shares two or four cores with the capture
 * thread, the window and whatever else runs. libgomp's default lets idle
 * team threads spin for a while between parallel regions; when another
 * thread holds the core a spinning thread waits for, each of the network's
 * few dozen joins lasts a scheduler time slice: frames of 400 ms instead of
 * 9 on two cores (see README, Threads). Passive waiting sleeps at once. The
 * policy is read from the environment when libgomp loads, before main, so
 * the program sets it and starts itself again; a value the user set wins.
 * Returns only when there is nothing to do or the exec failed. */
static void omp_wait_passive(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* No /proc: go on with libgomp's default. */
}

int main(int argc, char **argv)
{
    /* `bench` times the network alone, with libgomp's (or the user's) policy. */
    if (argc > 1 && strcmp(argv[1], "bench") == 0)
        return bench_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "quantize") == 0)
        return quantize_main(argc - 1, argv + 1);
    omp_wait_passive(argv);

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
    /* The network's scratch is made for the largest team it will run. */
    int most = c.threads;
    for (int i = 0; i < c.n_thread_list; i++)
        most = c.thread_list[i] > most ? c.thread_list[i] : most;
    if (most > 0)
        omp_set_num_threads(most);

    char err[APP_ERR_MAX];
    /* No input and no camera: say so before the model takes its time to load. */
    if (c.n_inputs == 0 && !c.device) {
        char first[4096];
        if (camera_find_first(first, sizeof first, err, sizeof err) != 0) {
            fprintf(stderr, "mnv2det: no input given and %s; give --input FILE or --device PATH\n", err);
            free(c.inputs);
            return EXIT_USAGE;
        }
    }
    net_options opt = {0};
    if (isa_choose(c.isa, &opt.max_isa, err, sizeof err) != 0 ||
        memory_limit_from_env(&c.max_memory, err, sizeof err) != 0) {
        free(c.inputs);
        return usage_error("%s", err);
    }
    opt.max_memory = c.max_memory;
    if (c.int8 && int8_model_find(&c.paths.model, err, sizeof err) != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        free(c.inputs);
        return EXIT_USAGE;
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
    if (detector_keep_classes(&d, c.classes, err, sizeof err) != 0) {
        fprintf(stderr, "mnv2det: %s\n", err);
        detector_close(&d);
        free(c.inputs);
        return EXIT_USAGE;
    }

    int status = run(&c, &d);
    detector_close(&d);
    free(c.inputs);
    return status;
}
