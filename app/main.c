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
        "usage: mnv2det --input FILE [options]\n"
        "       mnv2det bench [options]       (see mnv2det bench --help)\n"
        "\n"
        "Detect objects in images with a MobileNetV2 SSD/SSDLite TFLite model.\n"
        "\n"
        "  -i, --input FILE     image to run on: PNG, JPEG (turned upright by its EXIF\n"
        "                       orientation), BMP, GIF, TGA, PSD, HDR, PIC, PPM, PGM;\n"
        "                       a pipe, or - for stdin; repeatable, and plain arguments\n"
        "                       are inputs too\n"
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
        "  -j, --json           one JSON object per image instead of a table\n"
        "  -h, --help           this help\n"
        "  -V, --version        program version\n"
        "\n"
        "Images run in the order given. Exit status: 0 on success; 2 on bad usage or\n"
        "a bad input (flag, model, settings, image), after the other images have run;\n"
        "1 when the output cannot be written or memory runs out. Errors are one line\n"
        "each on stderr.\n",
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
} cli;

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
    while ((ch = getopt_long(argc, argv, "-:i:m:c:l:s:t:jhV", opts, NULL)) != -1) {
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
        case 'h': usage(stdout); return -1;
        case 'V': printf("mnv2det %s\n", MNV2DET_VERSION); return -1;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) /* after "--" */
        c->inputs[c->n_inputs++] = argv[i];
    if (c->n_inputs == 0)
        return usage_error("%s", "no input image: give --input FILE");
    return 0;
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

    detection *dets = malloc(SSD_MAX_DETECTIONS * sizeof *dets);
    int status = 0;
    if (!dets) {
        fprintf(stderr, "mnv2det: out of memory\n");
        status = 1;
    }
    for (int i = 0; dets && i < c.n_inputs; i++) {
        frame f;
        if (image_load(&f, c.inputs[i], err, sizeof err) != 0) {
            fprintf(stderr, "mnv2det: %s\n", err);
            if (status == 0)
                status = EXIT_USAGE;
            continue;
        }
        detect_timing t;
        int n = detector_run(&d, &f, dets, SSD_MAX_DETECTIONS, &t);
        if (n < 0) {
            fprintf(stderr, "mnv2det: %s: out of memory for a %dx%d image\n", c.inputs[i], f.img.width, f.img.height);
            frame_free(&f);
            status = 1;
            continue;
        }
        if (c.json)
            report_json(stdout, &d, c.inputs[i], &f, dets, n, &t);
        else
            report_table(stdout, &d, c.inputs[i], &f, dets, n, &t);
        frame_free(&f);
        /* Each image's result goes out when it is ready (a pipe's reader sees
         * it now), and a failed write ends the run at once. */
        if (output_finish(stdout, "mnv2det") != 0) {
            status = 1;
            break;
        }
    }
    free(dets);
    detector_close(&d);
    free(c.inputs);
    return status;
}
