/*
 * The hand-off between threads: the mailbox (newest wins, counting what it
 * drops; the waiting put losing nothing) on frames of a real Y4M source, and
 * the whole pipeline on a clip: every frame read as fast as the detector
 * takes them, --realtime pacing at the clip's frame rate, a signal mid-run,
 * and --reconnect's close-and-reopen across the threads, on a camera
 * stand-in that vanishes (what the threads do; the real camera's faults are
 * the vivid VM test's). scripts/test runs this under ThreadSanitizer.
 *
 *   test_pipeline mailbox
 *   test_pipeline pipeline MODEL   (suite model)
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "capture/source_internal.h"
#include "tests/check.h"

static char tmpdir[256];

/* A Y4M 4:2:0 clip whose frame n has luma n everywhere, so that a frame
 * tells which one it is by its pixels as well as its sequence number. */
static void write_clip(const char *path, int w, int h, int frames, int fps)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        exit(1);
    }
    fprintf(fp, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w, h, fps);
    size_t luma = (size_t)w * h, chroma = (size_t)((w + 1) / 2) * ((h + 1) / 2);
    uint8_t *buf = malloc(luma + 2 * chroma);
    for (int n = 0; n < frames; n++) {
        memset(buf, 16 + n % 200, luma);
        memset(buf + luma, 128, 2 * chroma);
        fputs("FRAME\n", fp);
        fwrite(buf, 1, luma + 2 * chroma, fp);
    }
    free(buf);
    fclose(fp);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct producer {
    frame_source *src;
    mailbox *mb;
    int wait, pause_ms, sent, errors;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    char err[256];
    for (;;) {
        live_frame lf;
        memset(&lf, 0, sizeof lf);
        int rc = source_next(p->src, &lf.f, err, sizeof err);
        if (rc == MNV_EBUSY) { /* every buffer is out: the consumer is slow */
            sleep_ms(1);
            continue;
        }
        if (rc != 0) {
            if (rc != MNV_END)
                p->errors++;
            break;
        }
        p->sent++;
        mailbox_put(p->mb, &lf, p->wait);
        if (p->pause_ms)
            sleep_ms(p->pause_ms);
    }
    mailbox_close(p->mb, 0, NULL);
    return NULL;
}

/* frames through the mailbox with a consumer that takes consumer_ms each. */
static void run_mailbox(const char *clip, int frames, int wait, int producer_ms, int consumer_ms)
{
    char err[256];
    frame_source *src;
    int rc = y4m_source_open(&src, clip, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    mailbox mb;
    CHECK(mailbox_init(&mb) == 0, "mailbox_init");
    producer p = {src, &mb, wait, producer_ms, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce, &p);
    int taken = 0;
    long last_seq = -1;
    uint64_t dropped = 0;
    for (;;) {
        live_frame lf;
        rc = mailbox_take(&mb, &lf, &dropped);
        if (rc != 0) {
            CHECK(rc == MNV_END, "take after the end: %d", rc);
            break;
        }
        CHECK((long)lf.f.seq > last_seq, "seq %llu after %ld", (unsigned long long)lf.f.seq, last_seq);
        CHECK(lf.f.img.plane[0][0] == 16 + lf.f.seq % 200, "frame %llu holds luma %d",
              (unsigned long long)lf.f.seq, lf.f.img.plane[0][0]);
        if (wait)
            CHECK((long)lf.f.seq == last_seq + 1, "waiting put lost frames before %llu",
                  (unsigned long long)lf.f.seq);
        last_seq = (long)lf.f.seq;
        taken++;
        sleep_ms(consumer_ms);
        source_release(&lf.f);
        mailbox_done(&mb);
    }
    pthread_join(t, NULL);
    CHECK(p.errors == 0, "producer errors");
    CHECK(p.sent == frames, "sent %d of %d", p.sent, frames);
    CHECK(mb.put == (uint64_t)frames, "put %llu", (unsigned long long)mb.put);
    CHECK((uint64_t)taken + mb.dropped == (uint64_t)frames, "taken %d + dropped %llu != %d", taken,
          (unsigned long long)mb.dropped, frames);
    CHECK(last_seq == frames - 1, "the newest frame (%d) was not the last taken (%ld)", frames - 1, last_seq);
    if (wait)
        CHECK(mb.dropped == 0, "the waiting put dropped %llu", (unsigned long long)mb.dropped);
    else
        CHECK(mb.dropped > 0 && taken < frames, "a slow consumer (%d ms a frame against %d) dropped nothing",
              consumer_ms, producer_ms);
    printf("mailbox wait=%d: %d frames, %d taken, %llu dropped\n", wait, frames, taken,
           (unsigned long long)mb.dropped);
    mailbox_destroy(&mb);
    /* Every frame went back (else the source's pool would refuse more). */
    source_close(src);
}

static void *close_later(void *arg)
{
    sleep_ms(50);
    mailbox_close(arg, MNV_ENODEV, "gone");
    return NULL;
}

static void test_mailbox(void)
{
    char clip[300];
    snprintf(clip, sizeof clip, "%s/clip.y4m", tmpdir);
    write_clip(clip, 64, 48, 60, 25);
    run_mailbox(clip, 60, 0, 1, 8);  /* consumer 8x slower: newest wins */
    run_mailbox(clip, 60, 1, 0, 1);  /* as fast as the consumer: nothing lost */

    /* A blocked taker wakes up with the close status. */
    mailbox mb;
    mailbox_init(&mb);
    pthread_t t;
    pthread_create(&t, NULL, close_later, &mb);
    live_frame lf;
    int rc = mailbox_take(&mb, &lf, NULL);
    CHECK(rc == MNV_ENODEV, "take woke with %d", rc);
    pthread_join(t, NULL);
    /* A put after the close gives the frame back at once. */
    memset(&lf, 0, sizeof lf);
    CHECK(mailbox_put(&mb, &lf, 1) == MNV_EINTR, "put after close");
    mailbox_destroy(&mb);
}

typedef struct sink_log {
    int n;
    uint64_t captured[400];
    uint64_t seq[400];
    int bad_order;
} sink_log;

static int log_frame(void *ctx, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    (void)dets, (void)n, (void)t;
    sink_log *l = ctx;
    const frame_times *ft = &lf->t;
    if (!(ft->captured <= ft->dequeued && ft->dequeued <= ft->taken && ft->taken <= ft->detect_start &&
          ft->detect_start <= ft->detect_end))
        l->bad_order++;
    if (l->n < 400) {
        l->captured[l->n] = ft->captured;
        l->seq[l->n] = lf->f.seq;
    }
    l->n++;
    return 0;
}

static void *send_sigterm(void *arg)
{
    (void)arg;
    sleep_ms(400);
    kill(getpid(), SIGTERM);
    return NULL;
}

/* ---- a camera that vanishes: a Y4M source behind a switch ---------------
 * Reads a looping clip (not live: the mailbox waits for the detector, so
 * that every frame is processed and the counts are exact) and, after
 * `life` frames, fails as a vanished V4L2 device does (MNV_ENODEV) from then
 * on. The reopen callback fails `absent` times (the device not back yet),
 * then opens a new one. */
typedef struct flaky_source {
    frame_source base;
    frame_source *inner;
    int life, served;
} flaky_source;

static int flaky_next(frame_source *s, frame *f, char *err, size_t errlen)
{
    flaky_source *c = (flaky_source *)s;
    if (c->served >= c->life) {
        snprintf(err, errlen, "flaky camera: device vanished");
        return MNV_ENODEV;
    }
    int rc = c->inner->ops->next(c->inner, f, err, errlen);
    if (rc == 0)
        c->served++;
    return rc;
}

static void flaky_release(frame_source *s, frame *f)
{
    flaky_source *c = (flaky_source *)s;
    c->inner->ops->release(c->inner, f);
}

static void flaky_interrupt(frame_source *s)
{
    source_interrupt(((flaky_source *)s)->inner);
}

static void flaky_close(frame_source *s)
{
    flaky_source *c = (flaky_source *)s;
    source_close(c->inner);
    free(c);
}

static const source_ops flaky_ops = {flaky_next, flaky_release, flaky_interrupt, flaky_close};

typedef struct flaky_camera {
    const char *clip;
    int life, absent;        /* frames per connection; failed reopens before each success */
    int failed_reopens, reopens;
    atomic_int tries;        /* failed reopens, for another thread to watch */
    pipeline_control *ctl;   /* stop_when_reconnecting stops it */
    _Atomic uint64_t stop_ns; /* when it did */
} flaky_camera;

static int flaky_open(flaky_camera *cam, frame_source **out, char *err, size_t errlen)
{
    flaky_source *c = calloc(1, sizeof *c);
    if (!c)
        return MNV_ENOMEM;
    file_source_options fo = {.loop = 1};
    const char *inputs[1] = {cam->clip};
    int rc = source_open_inputs(&c->inner, inputs, 1, &fo, err, errlen);
    if (rc) {
        free(c);
        return rc;
    }
    c->base.ops = &flaky_ops;
    c->base.info = c->inner->info;
    c->life = cam->life;
    *out = &c->base;
    return 0;
}

static int flaky_reopen(void *ctx, frame_source **src, char *chosen, size_t chosenlen, char *err, size_t errlen)
{
    flaky_camera *cam = ctx;
    if (cam->failed_reopens < cam->absent * (cam->reopens + 1)) {
        cam->failed_reopens++;
        atomic_fetch_add(&cam->tries, 1);
        snprintf(err, errlen, "flaky camera: no such device");
        return MNV_ENODEV;
    }
    cam->reopens++;
    snprintf(chosen, chosenlen, "flaky camera, connection %d", cam->reopens + 1);
    return flaky_open(cam, src, err, errlen);
}

static int count_frame(void *ctx, const live_frame *lf, const detection *dets, int n, const detect_timing *t)
{
    (void)lf, (void)dets, (void)n, (void)t;
    (*(int *)ctx)++;
    return 0;
}

/* Stop the run once the camera has vanished and a reopen has failed twice
 * (the capture thread waits between tries): whatever the detector's pace. */
static void *stop_when_reconnecting(void *arg)
{
    flaky_camera *cam = arg;
    for (int i = 0; i < 3000 && atomic_load(&cam->tries) < 2; i++)
        sleep_ms(10);
    atomic_store(&cam->stop_ns, mono_ns());
    pipeline_control_stop(cam->ctl);
    return NULL;
}

/* --reconnect: the capture thread closes the vanished camera once the
 * detector has given its frames back, retries every RECONNECT_INTERVAL_MS,
 * and the run goes on with the new one; four times over. */
static void test_reconnect(detector *d, const char *clip)
{
    char err[512];
    flaky_camera cam = {.clip = clip, .life = 6, .absent = 2};
    frame_source *src;
    int rc = flaky_open(&cam, &src, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    pipeline_options o = {.reconnect = 1, .reopen = flaky_reopen, .reopen_ctx = &cam, .max_frames = 27};
    pipeline_stats st;
    int frames = 0;
    rc = pipeline_run(d, &src, &o, count_frame, &frames, &st, err, sizeof err);
    CHECK(rc == 0, "reconnect: %s", err);
    /* 27 frames at 6 a connection: at least five connections (more when
     * the capture thread has read ahead, a frame left waiting in the mailbox
     * is given back before the camera is closed: unfinished), each after
     * two failed tries. */
    CHECK(cam.reopens >= 4 && cam.reopens <= 6 && cam.failed_reopens == 2 * cam.reopens,
          "reconnect: %d reopens, %d failed", cam.reopens, cam.failed_reopens);
    CHECK(frames == 27 && st.processed == 27, "reconnect: %d frames seen, %llu processed", frames,
          (unsigned long long)st.processed);
    CHECK(st.captured == st.processed + st.dropped + st.unfinished,
          "reconnect: captured %llu != processed %llu + dropped %llu + unfinished %llu",
          (unsigned long long)st.captured, (unsigned long long)st.processed, (unsigned long long)st.dropped,
          (unsigned long long)st.unfinished);
    printf("reconnect: %d reopens after %d failed tries, %llu frames captured, %llu processed, %llu dropped, "
           "%llu unfinished\n", cam.reopens, cam.failed_reopens, (unsigned long long)st.captured,
           (unsigned long long)st.processed, (unsigned long long)st.dropped, (unsigned long long)st.unfinished);
    source_close(src);

    /* Stopped (q, SIGINT) while waiting for a camera that never comes back:
     * the run ends within a retry interval, interrupted, not failed. */
    pipeline_control ctl;
    CHECK(pipeline_control_init(&ctl) == 0, "pipeline_control_init");
    cam = (flaky_camera){.clip = clip, .life = 3, .absent = 1000000, .ctl = &ctl};
    rc = flaky_open(&cam, &src, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    o = (pipeline_options){.reconnect = 1, .reopen = flaky_reopen, .reopen_ctx = &cam, .control = &ctl};
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_when_reconnecting, &cam);
    rc = pipeline_run(d, &src, &o, count_frame, &frames, &st, err, sizeof err);
    double took = (mono_ns() - atomic_load(&cam.stop_ns)) / 1e9;
    pthread_join(stopper, NULL);
    CHECK(rc == 0 && st.interrupted, "stopped while reconnecting: rc %d interrupted %d (%s)", rc, st.interrupted, err);
    CHECK(cam.reopens == 0 && cam.failed_reopens >= 2, "stopped while reconnecting: %d reopens, %d failed",
          cam.reopens, cam.failed_reopens);
    /* Within a retry interval; the bound leaves room for a loaded machine
     * (a hang is what it catches). */
    CHECK(took < 5.0, "stopped while reconnecting: the run went on %.3f s after the stop", took);
    pipeline_control_destroy(&ctl);
    source_close(src);

    /* Without --reconnect the vanished camera ends the run with its error. */
    cam = (flaky_camera){.clip = clip, .life = 4, .absent = 0};
    rc = flaky_open(&cam, &src, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    o = (pipeline_options){0};
    frames = 0;
    rc = pipeline_run(d, &src, &o, count_frame, &frames, &st, err, sizeof err);
    CHECK(rc == MNV_ENODEV && strstr(err, "vanished"), "no reconnect: rc %d (%s)", rc, err);
    CHECK(cam.reopens == 0 && st.processed <= 4, "no reconnect: %d reopens, %llu processed", cam.reopens,
          (unsigned long long)st.processed);
    source_close(src);
}

static void test_pipeline(const char *model)
{
    char err[512], clip[300];
    if (access(model, R_OK) != 0) {
        printf("SKIP: no model at %s\n", model);
        exit(77);
    }
    CHECK(signals_start() == 0, "signals_start");
    detector d;
    net_options nopt = {.max_isa = isa_select()};
    detector_paths paths = {model, NULL, NULL};
    int rc = detector_open(&d, &paths, &nopt, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc)
        return;
    snprintf(clip, sizeof clip, "%s/clip300.y4m", tmpdir);
    write_clip(clip, 320, 240, 30, 20);

    /* As fast as the detector takes them: every frame, in order. */
    frame_source *src;
    rc = y4m_source_open(&src, clip, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    pipeline_options o = {0};
    pipeline_stats st;
    sink_log *log = calloc(1, sizeof *log);
    rc = pipeline_run(&d, &src, &o, log_frame, log, &st, err, sizeof err);
    CHECK(rc == 0, "pipeline: %s", err);
    CHECK(st.processed == 30 && st.captured == 30 && st.dropped == 0 && log->n == 30,
          "processed %llu captured %llu dropped %llu", (unsigned long long)st.processed,
          (unsigned long long)st.captured, (unsigned long long)st.dropped);
    for (int i = 0; i < log->n && i < 30; i++)
        CHECK(log->seq[i] == (uint64_t)i, "frame %d has seq %llu", i, (unsigned long long)log->seq[i]);
    CHECK(log->bad_order == 0, "%d frames with timestamps out of order", log->bad_order);
    source_close(src);

    /* --realtime: frames are due every 1/20 s from the first; the detector
     * (much faster than 50 ms here) sees them as a camera would. */
    memset(log, 0, sizeof *log);
    rc = y4m_source_open(&src, clip, err, sizeof err);
    o.realtime = 1;
    uint64_t t0 = mono_ns();
    rc = pipeline_run(&d, &src, &o, log_frame, log, &st, err, sizeof err);
    double wall = (mono_ns() - t0) / 1e9;
    CHECK(rc == 0, "pipeline: %s", err);
    CHECK(st.captured == 30 && st.processed + st.dropped == 30, "realtime: captured %llu processed %llu dropped %llu",
          (unsigned long long)st.captured, (unsigned long long)st.processed, (unsigned long long)st.dropped);
    /* 29 frame periods of 50 ms; the upper bound leaves room for a loaded machine. */
    CHECK(wall >= 1.45 && wall < 4.0, "realtime: 30 frames at 20 fps took %.3f s", wall);
    for (int i = 1; i < log->n && i < 400; i++) {
        uint64_t want = (log->seq[i] - log->seq[0]) * 50000000ull;
        uint64_t got = log->captured[i] - log->captured[0];
        CHECK(got + 1000 >= want && got <= want + 1000, "frame %llu due at +%llu ns, stamped +%llu",
              (unsigned long long)log->seq[i], (unsigned long long)want, (unsigned long long)got);
    }
    printf("realtime: 30 frames at 20 fps in %.3f s, %llu processed, %llu dropped\n", wall,
           (unsigned long long)st.processed, (unsigned long long)st.dropped);
    source_close(src);

    /* SIGTERM mid-run: the pipeline stops cleanly and says it was interrupted. */
    memset(log, 0, sizeof *log);
    file_source_options fo = {.loop = 1};
    const char *inputs[1] = {clip};
    rc = source_open_inputs(&src, inputs, 1, &fo, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    pthread_t killer;
    pthread_create(&killer, NULL, send_sigterm, NULL);
    rc = pipeline_run(&d, &src, &o, log_frame, log, &st, err, sizeof err);
    pthread_join(killer, NULL);
    CHECK(rc == 0 && st.interrupted, "SIGTERM: rc %d interrupted %d (%s)", rc, st.interrupted, err);
    CHECK(log->n > 0, "nothing processed before SIGTERM");
    source_close(src);
    free(log);
    test_reconnect(&d, clip);
    detector_close(&d);
}

int main(int argc, char **argv)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mnv2det-pipeline-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "mailbox") == 0)
        test_mailbox();
    else if (argc >= 3 && strcmp(argv[1], "pipeline") == 0)
        test_pipeline(argv[2]);
    else {
        fprintf(stderr, "usage: test_pipeline mailbox | pipeline MODEL\n");
        return 2;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_finish("pipeline");
}
