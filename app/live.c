/*
 * What happens to each frame after detection: printed, timed, recorded,
 * shown. Two shapes:
 *
 * - headless: pipeline_run on the calling thread; its sink does everything.
 * - window: the calling (main) thread owns the SDL window, as SDL wants;
 *   pipeline_run runs on a detection thread of its own (which leads the
 *   OpenMP team) and its sink hands each frame, copied, with its detections
 *   to the main thread through three buffers (the detector fills one, one
 *   waits, the window shows one), so neither waits for the other. The
 *   window shows every frame with the detections computed for that very
 *   frame; when the window falls behind, the waiting frame is replaced by
 *   a newer one (counted as not presented), as the capture mailbox does.
 *   Files read as fast as possible (no --realtime) wait instead and lose
 *   nothing.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"

#define HUD_WINDOW_NS 1000000000ull   /* rates over the last second */
#define HUD_RING 128
#define PROGRESS_EVERY_NS 200000000ull
#define SCORE_STEP 0.05f

/* A frame copied out of its source, with its detections. */
typedef struct shown_frame {
    uint8_t *pixels;
    size_t cap;
    mnv_image img;
    frame_times t;
    uint64_t seq, dropped, skipped;
    detect_timing timing;
    detection dets[SSD_MAX_DETECTIONS];
    int n;
} shown_frame;

/* Recent frames, for the heads-up line's rates. */
typedef struct hud_ring {
    uint64_t seq[HUD_RING], captured[HUD_RING], done[HUD_RING];
    int head, count;
} hud_ring;

typedef struct live {
    const live_config *cfg;
    detector *d;
    latency_run *lat;         /* NULL: not kept */
    int lat_lost;             /* records stopped when memory ran out */
    const char *source_name;
    double source_fps;
    int wait_for_window;      /* files at full speed: lose nothing */

    /* window mode: shared between the detection and the main thread */
    pthread_mutex_t mu;
    pthread_cond_t changed;
    shown_frame buf[3];
    shown_frame *back, *mid, *front;  /* detector fills back; mid waits; window shows front */
    int mid_full, finished, quit;
    float score;              /* the threshold the keys set; the detector picks it up */
    int score_changed;
    uint64_t not_presented;

    /* recording */
    display_canvas *canvas;
    recorder *rec;
    int rec_failed;
    char rec_err[APP_ERR_MAX];

    /* either thread, one at a time (the sink headless, the main thread with a window) */
    hud_ring ring;
    uint64_t last_progress;
    long done;
    int write_failed;
    overlay_box boxes[SSD_MAX_DETECTIONS];
    char labels[SSD_MAX_DETECTIONS][64];

    /* detection thread */
    pipeline_control ctl;
    detector *det;
    frame_source **src;
    const pipeline_options *po;
    pipeline_stats *st;
    int rc;
    char err[APP_ERR_MAX];
} live;

static int image_copy(shown_frame *s, const mnv_image *img)
{
    size_t need = mnv_image_size(img->format, img->width, img->height);
    if (need > s->cap) {
        uint8_t *p = realloc(s->pixels, need);
        if (!p)
            return MNV_ENOMEM;
        s->pixels = p;
        s->cap = need;
    }
    uint8_t *o = s->pixels;
    for (int p = 0; p < mnv_pixfmt_planes(img->format); p++) {
        size_t stride = 0, size = mnv_plane_size(img->format, img->width, img->height, p, &stride);
        size_t rows = stride ? size / stride : 0;
        for (size_t y = 0; y < rows; y++)
            memcpy(o + y * stride, img->plane[p] + y * img->stride[p], stride);
        o += size;
    }
    mnv_image_pack(&s->img, img->format, img->width, img->height, s->pixels);
    return 0;
}

static void ring_add(hud_ring *r, const shown_frame *s)
{
    r->seq[r->head] = s->seq;
    r->captured[r->head] = s->t.captured;
    r->done[r->head] = s->t.detect_end;
    r->head = (r->head + 1) % HUD_RING;
    if (r->count < HUD_RING)
        r->count++;
}

/* Camera rate from sequence numbers (they count the frames the detector
 * never saw) and capture times; detection rate from the frames done. */
static void ring_rates(const hud_ring *r, uint64_t now, double *cam_fps, double *det_fps)
{
    *cam_fps = *det_fps = -1;
    if (r->count < 2)
        return;
    int newest = (r->head + HUD_RING - 1) % HUD_RING, oldest = newest, n = 1;
    for (int k = 1; k < r->count; k++) {
        int i = (newest + HUD_RING - k) % HUD_RING;
        if (now - r->done[i] > HUD_WINDOW_NS)
            break;
        oldest = i;
        n++;
    }
    if (oldest == newest)
        return;
    double span = (double)(r->captured[newest] - r->captured[oldest]) * 1e-9;
    if (span > 0 && r->seq[newest] > r->seq[oldest])
        *cam_fps = (double)(r->seq[newest] - r->seq[oldest]) / span;
    double dspan = (double)(r->done[newest] - r->done[oldest]) * 1e-9;
    if (dspan > 0)
        *det_fps = (n - 1) / dspan;
}

/* Keep s's timestamps; the record's index, or -1 when the run is not timed.
 * With a window, under L->mu, in the order frames leave mid (frame order):
 * a shown frame's record is kept when it is taken and completed once it is
 * on screen. */
static long record_latency(live *L, const shown_frame *s)
{
    if (!L->lat)
        return -1;
    latency_record r;
    memset(&r, 0, sizeof r);
    r.seq = s->seq;
    r.t = s->t;
    r.preprocess_ms = s->timing.preprocess_ms;
    r.inference_ms = s->timing.inference_ms;
    r.postprocess_ms = s->timing.postprocess_ms;
    r.dropped = s->dropped;
    r.skipped = s->skipped;
    r.n_detections = s->n;
    if (latency_run_add(L->lat, &r) != 0) {
        L->lat = NULL; /* out of memory: the run goes on untimed; live_run reports it */
        L->lat_lost = 1;
        return -1;
    }
    return (long)L->lat->n - 1;
}

/* The progress line on a terminal: carriage return, no newline. */
static void progress(live *L, uint64_t now, double e2e_ms)
{
    if (!L->cfg->progress)
        return;
    if (L->done < L->cfg->progress_total && now - L->last_progress < PROGRESS_EVERY_NS)
        return;
    L->last_progress = now;
    double cam, det;
    ring_rates(&L->ring, now, &cam, &det);
    fprintf(stderr, "\r\033[Kbench, %d thread%s: frame %ld/%ld  end to end %.1f ms  %.1f detections/s",
            L->cfg->threads, L->cfg->threads == 1 ? "" : "s", L->done, L->cfg->progress_total, e2e_ms,
            det > 0 ? det : 0.0);
    fflush(stderr);
}

static void overlay_from(live *L, const shown_frame *s, overlay *ov)
{
    overlay_init(ov);
    int w = s->img.width, h = s->img.height;
    for (int i = 0; i < s->n; i++) {
        const detection *det = &s->dets[i];
        overlay_box *b = &L->boxes[i];
        b->x0 = det->bbox.xmin * (float)w;
        b->x1 = det->bbox.xmax * (float)w;
        b->y0 = det->bbox.ymin * (float)h;
        b->y1 = det->bbox.ymax * (float)h;
        b->class_id = det->class_id;
        b->score = det->score;
        const char *l = detector_label(L->d, det->class_id, L->labels[i], sizeof L->labels[i]);
        if (l != L->labels[i])
            snprintf(L->labels[i], sizeof L->labels[i], "%s", l);
        b->label = L->labels[i];
    }
    ov->boxes = L->boxes;
    ov->n_boxes = s->n;
}

/* Append the annotated frame to --record's file (opened at the first frame,
 * at that frame's size: later frames of another size are letterboxed). */
static void record_frame(live *L, const shown_frame *s, const overlay *ov)
{
    if (!L->cfg->record || L->rec_failed)
        return;
    char err[APP_ERR_MAX];
    int rc = 0;
    if (!L->canvas) {
        double fps = L->source_fps > 0 ? L->source_fps : 1.0;
        if ((rc = canvas_open(&L->canvas, s->img.width, s->img.height, err, sizeof err)) == 0)
            rc = recorder_open(&L->rec, L->cfg->record, s->img.width, s->img.height, fps, err, sizeof err);
    }
    /* The recording has the boxes and tags; the heads-up line's figures
     * are about the run, not the picture, and a paused tag would be wrong. */
    overlay plain = *ov;
    plain.show_hud = 0;
    plain.paused = 0;
    mnv_image out;
    if (rc == 0)
        rc = canvas_draw(L->canvas, &s->img, &plain, &out, err, sizeof err);
    if (rc == 0)
        rc = recorder_write(L->rec, &out, err, sizeof err);
    if (rc != 0) {
        L->rec_failed = 1;
        snprintf(L->rec_err, sizeof L->rec_err, "%s", err);
    }
}

/* Print a frame's results; 1 when the output failed. */
static int print_results(live *L, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    if (!L->cfg->print)
        return 0;
    const frame *f = &lf->f;
    if (f->still && L->cfg->json)
        report_json(stdout, L->d, f->name, f, dets, n, t);
    else if (f->still)
        report_table(stdout, L->d, f->name, f, dets, n, t);
    else if (L->cfg->json)
        report_frame_json(stdout, L->d, lf, dets, n, t);
    else
        report_frame_table(stdout, L->d, lf, dets, n, t);
    /* Each result goes out when it is ready (a pipe's reader sees it now),
     * and a failed write ends the run at once. */
    if (output_finish(stdout, "mnv2det") != 0) {
        L->write_failed = 1;
        return 1;
    }
    return 0;
}

static void fill(shown_frame *s, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    s->t = lf->t;
    s->seq = lf->f.seq;
    s->dropped = lf->dropped;
    s->skipped = lf->skipped;
    s->timing = *t;
    s->n = n;
    memcpy(s->dets, dets, (size_t)n * sizeof *dets);
}

/* ---- headless ---------------------------------------------------------- */

static int headless_sink(void *ctx, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    live *L = ctx;
    if (print_results(L, lf, dets, n, t))
        return 1;
    shown_frame *s = &L->buf[0];
    fill(s, lf, dets, n, t);
    s->t.display_start = mono_ns();
    if (L->cfg->record) {
        /* The source's own pixels: the frame is held until the sink returns,
         * and the canvas draws it before then. */
        s->img = lf->f.img;
        overlay ov;
        overlay_from(L, s, &ov);
        record_frame(L, s, &ov);
    }
    record_latency(L, s);
    ring_add(&L->ring, s);
    L->done++;
    uint64_t now = mono_ns();
    progress(L, now, (double)(s->t.detect_end - s->t.captured) * 1e-6);
    return L->rec_failed;
}

/* ---- window ------------------------------------------------------------ */

static int window_sink(void *ctx, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    live *L = ctx;
    if (print_results(L, lf, dets, n, t))
        return 1;
    shown_frame *s = L->back;
    if (image_copy(s, &lf->f.img) != 0) {
        pthread_mutex_lock(&L->mu);
        L->quit = 1;
        pthread_mutex_unlock(&L->mu);
        snprintf(L->err, sizeof L->err, "out of memory copying a %dx%d frame", lf->f.img.width,
                 lf->f.img.height);
        L->rc = MNV_ENOMEM;
        return 1;
    }
    fill(s, lf, dets, n, t);
    pthread_mutex_lock(&L->mu);
    while (L->wait_for_window && L->mid_full && !L->quit)
        pthread_cond_wait(&L->changed, &L->mu);
    if (L->mid_full) {
        /* The window has not shown the waiting frame: a newer one replaces it. */
        L->not_presented++;
        record_latency(L, L->mid);
    }
    L->back = L->mid;
    L->mid = s;
    L->mid_full = 1;
    if (L->score_changed) {
        L->d->cfg.score_threshold = L->score;
        L->score_changed = 0;
    }
    int quit = L->quit;
    pthread_cond_broadcast(&L->changed);
    pthread_mutex_unlock(&L->mu);
    return quit;
}

/* Any stop (q, a signal, a failure): the sink must not wait for a window
 * that is paused, and the window need not show what is left. */
static void window_stop(void *ctx)
{
    live *L = ctx;
    pthread_mutex_lock(&L->mu);
    L->quit = 1;
    pthread_cond_broadcast(&L->changed);
    pthread_mutex_unlock(&L->mu);
}

/* SIGINT/SIGTERM once the run has ended and the window waits (paused at
 * the end of a file): close the window as q would, so that the program
 * still writes its files and exits 0. */
static void window_signal(void *ctx, int sig)
{
    (void)sig;
    window_stop(ctx);
}

static void *detect_main(void *arg)
{
    live *L = arg;
    char err[APP_ERR_MAX];
    int rc = pipeline_run(L->det, L->src, L->po, window_sink, L, L->st, err, sizeof err);
    signals_set_handler(window_signal, L);
    pthread_mutex_lock(&L->mu);
    if (rc != 0 && L->rc == 0) {
        L->rc = rc;
        snprintf(L->err, sizeof L->err, "%s", err);
    }
    L->finished = 1;
    pthread_cond_broadcast(&L->changed);
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* "mnv2det-20261201-140512-3.png" in the current folder: a new name each time. */
static void screenshot(live *L, display *dsp, int *count)
{
    char name[96], when[32], err[APP_ERR_MAX];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    do
        snprintf(name, sizeof name, "mnv2det-%s-%d.png", when, ++*count);
    while (access(name, F_OK) == 0);
    if (display_screenshot(dsp, name, err, sizeof err) == 0)
        fprintf(stderr, "mnv2det: screenshot %s (frame %llu)\n", name, (unsigned long long)L->front->seq);
    else
        fprintf(stderr, "mnv2det: %s\n", err);
}

static void wait_ms(pthread_cond_t *c, pthread_mutex_t *mu, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(c, mu, &ts);
}

/* The main thread's loop: show frames as they come, answer keys. */
static int window_loop(live *L, display *dsp)
{
    int paused = 0, shots = 0, have = 0, stopping = 0, told_end = 0;
    char err[APP_ERR_MAX];
    double last_e2e = -1;
    overlay ov;
    overlay_init(&ov);
    for (;;) {
        pthread_mutex_lock(&L->mu);
        /* Paused, a frame may wait in mid: the loop still sleeps between
         * looks at the keys. A run that was stopped ends even while paused;
         * one that came to its end waits for the user to resume. */
        if ((paused || !L->mid_full) && !(L->finished && (!L->mid_full || L->quit)))
            wait_ms(&L->changed, &L->mu, 10);
        int fresh = 0;
        long rec_at = -1;
        /* Paused before anything was shown: the first frame is shown (and
         * held), so that a paused window is never an empty one. */
        if (L->mid_full && (!paused || !have)) {
            shown_frame *t = L->front;
            L->front = L->mid;
            L->mid = t;
            L->mid_full = 0;
            fresh = 1;
            rec_at = record_latency(L, L->front);
            pthread_cond_broadcast(&L->changed);
        }
        int finished = L->finished && (!L->mid_full || L->quit);
        int ended_paused = L->finished && !finished && paused && !told_end;
        float score = L->score_changed ? L->score : L->d->cfg.score_threshold;
        pthread_mutex_unlock(&L->mu);

        if (ended_paused) {
            /* The window stays, paused, on its frame: say why nothing moves. */
            fprintf(stderr, "mnv2det: the input has ended while paused: space (the last frame) or q closes the window\n");
            told_end = 1;
        }
        if (fresh) {
            shown_frame *s = L->front;
            s->t.display_start = mono_ns();
            ring_add(&L->ring, s);
            double cam, det;
            ring_rates(&L->ring, s->t.display_start, &cam, &det);
            overlay_from(L, s, &ov);
            ov.hud.camera_fps = cam;
            ov.hud.detections_per_s = det;
            ov.hud.inference_ms = s->timing.inference_ms;
            ov.hud.latency_ms = last_e2e;
            ov.hud.dropped = (long long)(s->dropped + s->skipped);
            ov.hud.threads = L->cfg->threads;
            ov.hud.score_threshold = score;
            ov.paused = paused;
            if (display_show(dsp, &s->img, &ov, err, sizeof err) == 0) {
                s->t.presented = mono_ns();
                last_e2e = (double)(s->t.presented - s->t.captured) * 1e-6;
                have = 1;
            } else {
                fprintf(stderr, "mnv2det: %s\n", err);
                pipeline_control_stop(&L->ctl);
                stopping = 1;
            }
            pthread_mutex_lock(&L->mu);
            if (rec_at >= 0 && L->lat) {
                L->lat->rec[rec_at].t.display_start = s->t.display_start;
                L->lat->rec[rec_at].t.presented = s->t.presented;
            }
            pthread_mutex_unlock(&L->mu);
            record_frame(L, s, &ov);
            L->done++;
            progress(L, mono_ns(), last_e2e);
            if (L->rec_failed && !stopping) {
                pipeline_control_stop(&L->ctl);
                stopping = 1;
            }
        }

        display_event ev;
        while (display_poll(dsp, &ev)) {
            switch (ev.action) {
            case DISPLAY_QUIT:
                /* Also once the run has ended (paused at its end). */
                pipeline_control_stop(&L->ctl);
                stopping = 1;
                break;
            case DISPLAY_PAUSE:
                paused = !paused;
                if (have) {
                    ov.paused = paused;
                    display_show(dsp, &L->front->img, &ov, err, sizeof err);
                }
                break;
            case DISPLAY_SCREENSHOT:
                screenshot(L, dsp, &shots);
                break;
            case DISPLAY_SCORE_UP:
            case DISPLAY_SCORE_DOWN: {
                float step = ev.action == DISPLAY_SCORE_UP ? SCORE_STEP : -SCORE_STEP;
                pthread_mutex_lock(&L->mu);
                float now = L->score_changed ? L->score : L->d->cfg.score_threshold;
                /* Round to the step so that repeated presses land on 0.05s. */
                float next = roundf((now + step) / SCORE_STEP) * SCORE_STEP;
                L->score = next < SCORE_STEP ? SCORE_STEP : next > 1.0f ? 1.0f : next;
                L->score_changed = 1;
                ov.hud.score_threshold = L->score;
                pthread_mutex_unlock(&L->mu);
                if (have)
                    display_show(dsp, &L->front->img, &ov, err, sizeof err);
                break;
            }
            default:
                break;
            }
        }
        if (finished)
            break;
    }
    return 0;
}

/* ---- entry ------------------------------------------------------------- */

int live_run(const live_config *cfg, detector *d, frame_source **src, const pipeline_options *po,
             display *dsp, latency_run *lat, pipeline_stats *st, char *err, size_t errlen)
{
    live *L = calloc(1, sizeof *L);
    if (!L)
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
    L->cfg = cfg;
    L->d = d;
    L->lat = lat;
    const source_info *info = source_get_info(*src);
    L->source_fps = info->fps;
    L->wait_for_window = !info->live && !po->realtime;
    L->back = &L->buf[0];
    L->mid = &L->buf[1];
    L->front = &L->buf[2];
    int rc = 0;
    if (!dsp) {
        rc = pipeline_run(d, src, po, headless_sink, L, st, err, errlen);
    } else {
        pipeline_options o = *po;
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (pthread_mutex_init(&L->mu, NULL) || pthread_cond_init(&L->changed, &ca) ||
            pipeline_control_init(&L->ctl)) {
            free(L);
            return mnv_error(err, errlen, MNV_ENOMEM, "cannot create the display's locks");
        }
        pthread_condattr_destroy(&ca);
        L->ctl.on_stop = window_stop;
        L->ctl.on_stop_ctx = L;
        o.control = &L->ctl;
        L->det = d;
        L->src = src;
        L->po = &o;
        L->st = st;
        pthread_t th;
        if (pthread_create(&th, NULL, detect_main, L) != 0) {
            rc = mnv_error(err, errlen, MNV_ENOMEM, "cannot start the detection thread");
        } else {
            window_loop(L, dsp);
            pthread_join(th, NULL);
            signals_set_handler(NULL, NULL);
            if (L->mid_full) {
                /* Stopped while paused: processed, never shown. */
                L->not_presented++;
                record_latency(L, L->mid);
            }
            rc = L->rc;
            if (rc != 0)
                mnv_error(err, errlen, rc, "%s", L->err);
        }
        pthread_cond_destroy(&L->changed);
        pthread_mutex_destroy(&L->mu);
        pipeline_control_destroy(&L->ctl);
    }
    if (L->cfg->progress && L->done > 0)
        fputs("\r\033[K", stderr);
    st->not_presented = L->not_presented;
    char rerr[APP_ERR_MAX];
    if (L->rec && recorder_close(L->rec, rerr, sizeof rerr) != 0 && !L->rec_failed) {
        L->rec_failed = 1;
        snprintf(L->rec_err, sizeof L->rec_err, "%s", rerr);
    }
    canvas_close(L->canvas);
    if (L->rec_failed && rc == 0)
        rc = mnv_error(err, errlen, MNV_EIO, "%s", L->rec_err);
    if (L->lat_lost && rc == 0)
        rc = mnv_error(err, errlen, MNV_ENOMEM, "out of memory keeping the frames' latency records");
    if (L->write_failed)
        st->output_failed = 1;
    for (int i = 0; i < 3; i++)
        free(L->buf[i].pixels);
    free(L);
    return rc;
}
