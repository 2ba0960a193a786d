/*
 * The frame loop: a capture thread reads the source and posts each frame to
 * the mailbox; the calling thread (the detector, with its OpenMP team) takes
 * the newest, runs the model and hands the result to a sink.
 *
 * A camera, and a file paced with --realtime, produce at their own rate: the
 * mailbox keeps the newest frame and drops the one the detector did not get
 * to. Files read as fast as possible use the waiting put instead and lose
 * nothing. A camera that vanishes or stalls ends the run with its error, or,
 * with reconnect, is closed and reopened every 200 ms until it is back.
 * A camera that reports a change of format is closed and opened again
 * (negotiating the new format) either way.
 */
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"

struct pipeline {
    const pipeline_options *opt;
    frame_source *src;
    pthread_mutex_t src_mu;   /* src may be swapped by a reconnect while a signal interrupts it */
    pthread_cond_t wake;      /* interrupts the pacing and reconnect waits */
    mailbox mb;
    atomic_int stop;
    uint64_t captured, bad_inputs;
    atomic_ullong skipped;    /* read by the detector while capture adds */
    atomic_ullong unfinished; /* frames given back unprocessed when the run ended */
    atomic_ullong first_capture;
    int live;
};
typedef struct pipeline pipeline;

uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep until the monotonic time `until`, or until stop is asked. */
static void wait_until(pipeline *p, uint64_t until)
{
    struct timespec ts = {(time_t)(until / 1000000000u), (long)(until % 1000000000u)};
    pthread_mutex_lock(&p->src_mu);
    while (!atomic_load(&p->stop) && mono_ns() < until)
        if (pthread_cond_timedwait(&p->wake, &p->src_mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&p->src_mu);
}

/* Ask the capture thread and the detector loop to stop and wake them. */
static void stop_threads(pipeline *p)
{
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->src_mu);
    source_interrupt(p->src);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->src_mu);
    mailbox_close(&p->mb, MNV_EINTR, "interrupted");
}

static void on_signal(void *ctx, int sig)
{
    (void)sig;
    pipeline *p = ctx;
    stop_threads(p);
    const pipeline_control *c = p->opt->control;
    if (c && c->on_stop)
        c->on_stop(c->on_stop_ctx);
}

/* After a camera fault or a format change: give every frame back, close the
 * camera and open it again, negotiating afresh. With persist (--reconnect),
 * every RECONNECT_INTERVAL_MS until it is back; else once. 0 when it is back,
 * MNV_EINTR when asked to stop meanwhile, else the failed open's error, its
 * line in err. */
static int reopen_source(pipeline *p, int persist, char *err, size_t errlen)
{
    if (mailbox_drain(&p->mb))
        atomic_fetch_add(&p->unfinished, 1);
    mailbox_wait_idle(&p->mb);
    pthread_mutex_lock(&p->src_mu);
    source_close(p->src);
    p->src = NULL;
    pthread_mutex_unlock(&p->src_mu);
    char chosen[256];
    while (!atomic_load(&p->stop)) {
        frame_source *s = NULL;
        int rc = p->opt->reopen(p->opt->reopen_ctx, &s, chosen, sizeof chosen, err, errlen);
        if (rc == 0) {
            pthread_mutex_lock(&p->src_mu);
            p->src = s;
            if (atomic_load(&p->stop))
                source_interrupt(s);
            pthread_mutex_unlock(&p->src_mu);
            fprintf(stderr, "mnv2det: back: %s\n", chosen);
            return 0;
        }
        if (!persist)
            return rc;
        wait_until(p, mono_ns() + RECONNECT_INTERVAL_MS * 1000000ull);
    }
    return MNV_EINTR;
}

static void *capture_main(void *arg)
{
    pipeline *p = arg;
    char err[512];
    uint64_t start = 0;
    double first_pts = 0;
    int paced = p->opt->realtime && !p->live;
    while (!atomic_load(&p->stop)) {
        live_frame lf;
        memset(&lf, 0, sizeof lf);
        int rc = source_next(p->src, &lf.f, err, sizeof err);
        if (rc == 0) {
            uint64_t now = mono_ns();
            lf.t.captured = lf.f.t_capture_ns ? lf.f.t_capture_ns : now;
            if (paced) {
                /* A file frame is due when a camera would have delivered it. */
                if (!start) {
                    start = now;
                    first_pts = lf.f.pts;
                }
                uint64_t due = start + (uint64_t)((lf.f.pts - first_pts) * 1e9);
                wait_until(p, due);
                lf.t.captured = due;
            }
            lf.t.dequeued = mono_ns();
            p->captured++;
            unsigned long long none = 0;
            atomic_compare_exchange_strong(&p->first_capture, &none, lf.t.captured);
            atomic_fetch_add(&p->skipped, lf.f.skipped);
            if (mailbox_put(&p->mb, &lf, !paced && !p->live) == MNV_EINTR)
                atomic_fetch_add(&p->unfinished, 1);
            continue;
        }
        if (rc == MNV_END) {
            mailbox_close(&p->mb, 0, NULL);
            break;
        }
        if (rc == MNV_EINTR)
            break;
        /* A camera whose format changed is opened again in any case (the
         * run goes on in the new format); one that vanished or stalled
         * only with --reconnect, which also waits for it to come back. */
        int changed = rc == MNV_ECHANGED;
        if (p->opt->reopen && (changed || ((rc == MNV_ENODEV || rc == MNV_ETIMEOUT) && p->opt->reconnect))) {
            fprintf(stderr, changed ? "mnv2det: %s; opening it again\n"
                                    : "mnv2det: %s; waiting for it to come back (--reconnect)\n", err);
            rc = reopen_source(p, p->opt->reconnect, err, sizeof err);
            if (rc == 0)
                continue;
            if (rc == MNV_EINTR)
                break;
        }
        if (p->opt->skip_bad_inputs && (rc == MNV_EFORMAT || rc == MNV_EIO || rc == MNV_EUNSUPPORTED)) {
            /* One bad picture in a list of them (malformed, unreadable, or
             * well-formed but beyond what we take: over the memory cap, an
             * unsupported colourspace): say so, go on with the rest. */
            fprintf(stderr, "mnv2det: %s\n", err);
            p->bad_inputs++;
            continue;
        }
        mailbox_close(&p->mb, rc, err);
        break;
    }
    /* The detector may still be waiting. */
    mailbox_close(&p->mb, MNV_EINTR, NULL);
    return NULL;
}

int pipeline_control_init(pipeline_control *c)
{
    memset(c, 0, sizeof *c);
    return pthread_mutex_init(&c->mu, NULL) ? MNV_ENOMEM : 0;
}

void pipeline_control_destroy(pipeline_control *c)
{
    pthread_mutex_destroy(&c->mu);
}

void pipeline_control_stop(pipeline_control *c)
{
    pthread_mutex_lock(&c->mu);
    c->stop_requested = 1;
    /* Under the control's lock: the run cannot end and free itself meanwhile. */
    if (c->running)
        stop_threads(c->running);
    pthread_mutex_unlock(&c->mu);
    /* Also when no run is going on: the caller may be waiting for itself. */
    if (c->on_stop)
        c->on_stop(c->on_stop_ctx);
}

static void control_detach(pipeline_control *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->running = NULL;
    pthread_mutex_unlock(&c->mu);
}

int pipeline_run(detector *d, frame_source **src, const pipeline_options *o, frame_sink sink,
                 void *ctx, pipeline_stats *st, char *err, size_t errlen)
{
    pipeline p;
    memset(&p, 0, sizeof p);
    memset(st, 0, sizeof *st);
    p.opt = o;
    p.src = *src;
    p.live = source_get_info(*src)->live;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&p.src_mu, NULL) || pthread_cond_init(&p.wake, &ca) || mailbox_init(&p.mb))
        return mnv_error(err, errlen, MNV_ENOMEM, "cannot create the pipeline's locks");
    pthread_condattr_destroy(&ca);

    detection *dets = malloc(SSD_MAX_DETECTIONS * sizeof *dets);
    if (!dets)
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory");
    signals_set_handler(on_signal, &p);
    if (o->threads > 0)
        omp_set_num_threads(o->threads);
    if (o->control) {
        pthread_mutex_lock(&o->control->mu);
        o->control->running = &p;
        if (o->control->stop_requested)
            atomic_store(&p.stop, 1);
        pthread_mutex_unlock(&o->control->mu);
    }
    pthread_t cap;
    if (pthread_create(&cap, NULL, capture_main, &p) != 0) {
        signals_set_handler(NULL, NULL);
        control_detach(o->control);
        free(dets);
        return mnv_error(err, errlen, MNV_ENOMEM, "cannot start the capture thread");
    }

    int rc = 0;
    for (;;) {
        live_frame lf;
        uint64_t dropped;
        int got = mailbox_take(&p.mb, &lf, &dropped);
        st->dropped = dropped;
        if (got != 0) {
            if (got != MNV_END && got != MNV_EINTR) {
                pthread_mutex_lock(&p.mb.mu);
                rc = mnv_error(err, errlen, got, "%s", p.mb.err);
                pthread_mutex_unlock(&p.mb.mu);
            }
            st->interrupted = got == MNV_EINTR && atomic_load(&p.stop);
            break;
        }
        if (atomic_load(&p.stop)) {
            source_release(&lf.f);
            mailbox_done(&p.mb);
            atomic_fetch_add(&p.unfinished, 1);
            st->interrupted = 1;
            break;
        }
        lf.t.taken = mono_ns();
        lf.dropped = dropped;
        lf.skipped = atomic_load(&p.skipped);
        detect_timing t;
        lf.t.detect_start = lf.t.taken;
        int n = detector_run(d, &lf.f, dets, SSD_MAX_DETECTIONS, &t);
        lf.t.detect_end = mono_ns();
        int stop = 0;
        if (n < 0) {
            rc = mnv_error(err, errlen, n, "%s: cannot run the detector on a %dx%d %s frame",
                           lf.f.name ? lf.f.name : "frame", lf.f.img.width, lf.f.img.height,
                           mnv_pixfmt_name(lf.f.img.format));
            stop = 1;
        } else {
            st->processed++;
            stop = sink(ctx, &lf, dets, n, &t) != 0;
        }
        source_release(&lf.f);
        mailbox_done(&p.mb);
        if (stop || (o->max_frames > 0 && st->processed >= (uint64_t)o->max_frames))
            break;
    }
    int was_stopped = atomic_load(&p.stop);
    control_detach(o->control);
    stop_threads(&p);
    pthread_join(cap, NULL);
    signals_set_handler(NULL, NULL);
    if (was_stopped && rc == 0)
        st->interrupted = 1;
    /* A frame still waiting when the run ends was neither processed nor dropped. */
    if (mailbox_drain(&p.mb))
        atomic_fetch_add(&p.unfinished, 1);
    st->unfinished = atomic_load(&p.unfinished);
    st->t_first_capture = atomic_load(&p.first_capture);
    st->captured = p.captured;
    st->skipped = atomic_load(&p.skipped);
    st->bad_inputs = p.bad_inputs;
    st->dropped = p.mb.dropped;
    mailbox_destroy(&p.mb);
    pthread_cond_destroy(&p.wake);
    pthread_mutex_destroy(&p.src_mu);
    *src = p.src;
    free(dets);
    return rc;
}
