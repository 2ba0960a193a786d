/*
 * The V4L2 camera source against the kernel's vivid driver (run inside the
 * test VM by tests/vivid/guest.sh, as root, with vivid loaded with its
 * defaults: input 0 is a webcam showing 75% colour bars).
 *
 * Checks: the listing; negotiation of YUYV, NV12, I420 and RGB24 at two
 * sizes, each native and the frames in that format; the colour bars' pixels
 * in each; conversion by libv4lconvert (UYVY, BGR3); increasing sequence
 * numbers and timestamps near CLOCK_MONOTONIC; skipped frames counted (vivid
 * drops a percentage of buffers on request); a stall (vivid drops them all)
 * -> MNV_ETIMEOUT, and recovery; source_interrupt -> MNV_EINTR; too many
 * frames out -> MNV_EBUSY; a second program -> MNV_EBUSY; the device
 * disconnecting mid-stream (vivid's Disconnect control) -> MNV_ENODEV, and
 * back after every handle is closed; a source change (vivid's Colorspace
 * control) -> MNV_ECHANGED; missing, non-capture and non-V4L2 devices; bad
 * options.
 *
 * It also serves the guest steps that run mnv2det itself:
 *   test_v4l2 disconnect DEVICE         press vivid's Disconnect button
 *   test_v4l2 control DEVICE NAME VALUE set dropped (percentage of dropped
 *                                       buffers) or colorspace (a menu index)
 *   test_v4l2 cycles DEVICE N PID FILE  pull the camera N times from under
 *                                       mnv2det --reconnect --json (pid PID,
 *                                       its output in FILE), timing each
 *                                       resume and sampling its memory,
 *                                       descriptors and threads (cycles.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "app/app.h"
#include "tests/check.h"
#include "tests/vivid/vivid_controls.h"

static char vivid_path[64];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set one of vivid's controls through a handle of its own, as another
 * program would; the handle is closed again. 0 or -errno. */
static int vivid_control(uint32_t id, int value)
{
    int fd = open(vivid_path, O_RDWR);
    if (fd < 0)
        return -errno;
    struct v4l2_control c = { .id = id, .value = value };
    int r = ioctl(fd, VIDIOC_S_CTRL, &c);
    int e = errno;
    close(fd);
    return r ? -e : 0;
}

static camera_options options(int format, int w, int h, int fps)
{
    camera_options o;
    memset(&o, 0, sizeof o);
    o.device = vivid_path;
    o.format = format;
    o.width = w;
    o.height = h;
    o.fps = fps;
    /* Frames are tested here, not stalls (those set their own): room for
     * vivid drawing 1280x720 under software emulation on a loaded host. */
    o.timeout_ms = 10000;
    return o;
}

/* ---- the colour bars ---------------------------------------------------- */

/* vivid's default pattern, "75% Colorbar" (v4l2-tpg-core.c, tpg_colors in
 * v4l2-tpg-colors.c): eight bars of equal width, in sRGB: white (75%: 191),
 * yellow, cyan, green, magenta, red, blue, black. RGB formats carry them full
 * range; YUV formats as BT.601 limited range (the webcam input's sRGB
 * colorspace maps to both by default, as `v4l2-ctl --all` shows). */
static const int bars_rgb[8][3] = {
    { 191, 191, 191 }, { 191, 191, 0 }, { 0, 191, 191 }, { 0, 191, 0 },
    { 191, 0, 191 },   { 191, 0, 0 },   { 0, 0, 191 },   { 0, 0, 0 },
};

static void bar_expected(int bar, int yuv, int out[3])
{
    double r = bars_rgb[bar][0], g = bars_rgb[bar][1], b = bars_rgb[bar][2];
    if (!yuv) {
        out[0] = (int)r, out[1] = (int)g, out[2] = (int)b;
        return;
    }
    out[0] = (int)(16 + (0.299 * r + 0.587 * g + 0.114 * b) * 219.0 / 255.0 + 0.5);
    out[1] = (int)(128 + (-0.1687 * r - 0.3313 * g + 0.5 * b) * 224.0 / 255.0 + 0.5);
    out[2] = (int)(128 + (0.5 * r - 0.4187 * g - 0.0813 * b) * 224.0 / 255.0 + 0.5);
}

/* The pixel at x, y: R, G, B for RGB24, else Y, U, V. */
static void pixel_at(const mnv_image *im, int x, int y, int v[3])
{
    const uint8_t *p0 = im->plane[0] + (size_t)y * im->stride[0];
    switch (im->format) {
    case MNV_PIX_RGB24:
        v[0] = p0[3 * x], v[1] = p0[3 * x + 1], v[2] = p0[3 * x + 2];
        break;
    case MNV_PIX_YUYV:
        v[0] = p0[2 * x], v[1] = p0[4 * (x / 2) + 1], v[2] = p0[4 * (x / 2) + 3];
        break;
    case MNV_PIX_NV12: {
        const uint8_t *uv = im->plane[1] + (size_t)(y / 2) * im->stride[1];
        v[0] = p0[x], v[1] = uv[2 * (x / 2)], v[2] = uv[2 * (x / 2) + 1];
        break;
    }
    case MNV_PIX_I420:
        v[0] = p0[x];
        v[1] = im->plane[1][(size_t)(y / 2) * im->stride[1] + x / 2];
        v[2] = im->plane[2][(size_t)(y / 2) * im->stride[2] + x / 2];
        break;
    default:
        v[0] = v[1] = v[2] = -1;
    }
}

/* Every bar's centre on two rows below vivid's text (which fills the top
 * 16 * 10 rows at most), each channel within tol. */
static void check_bars(const frame *f, int tol, const char *what)
{
    const mnv_image *im = &f->img;
    int yuv = im->format != MNV_PIX_RGB24;
    int rows[2] = { im->height / 2 > 176 ? im->height / 2 : 176, im->height * 7 / 8 };
    int worst = 0;
    for (int r = 0; r < 2; r++) {
        for (int bar = 0; bar < 8; bar++) {
            int x = (2 * bar + 1) * im->width / 16, want[3], got[3];
            bar_expected(bar, yuv, want);
            pixel_at(im, x, rows[r], got);
            for (int c = 0; c < 3; c++) {
                int d = abs(got[c] - want[c]);
                if (d > worst)
                    worst = d;
                CHECK(d <= tol, "%s: bar %d at (%d,%d) channel %d is %d, expected %d +- %d",
                      what, bar, x, rows[r], c, got[c], want[c], tol);
            }
        }
    }
    printf("  %s: 16 bar centres match the 75%% colour bars (worst difference %d, tolerance %d)\n",
           what, worst, tol);
}

/* ---- streams ------------------------------------------------------------ */

typedef struct stream_stats {
    int frames;
    uint64_t first_seq, last_seq;
    uint64_t skipped;         /* between the frames taken */
    uint64_t skipped_before;  /* just before the first of them */
    double driver_fps;        /* from the driver's timestamps and sequence */
    double delivered_fps;     /* frames per second of wall time */
} stream_stats;

/* Take n frames, checking each against the last: sequence strictly
 * increasing, skipped = the gap, timestamps increasing and near now. */
static void take_frames(frame_source *s, int n, stream_stats *st, const char *what)
{
    memset(st, 0, sizeof *st);
    char err[256];
    frame f, prev;
    memset(&prev, 0, sizeof prev);
    uint64_t wall0 = now_ns(), t_first = 0, t_last = 0;
    for (int i = 0; i < n; i++) {
        int rc = source_next(s, &f, err, sizeof err);
        CHECK(rc == 0, "%s: frame %d: %s", what, i, err);
        if (rc)
            return;
        uint64_t now = now_ns();
        int64_t age = (int64_t)now - (int64_t)f.t_capture_ns;
        /* vivid stamps the end of the frame period, so a timestamp can lead
         * the dequeue by most of one frame. */
        CHECK(age > -1000000000LL && age < 1000000000LL, "%s: frame %d timestamp is %.3f s from now",
              what, i, age / 1e9);
        if (i > 0) {
            CHECK(f.seq > prev.seq, "%s: sequence %llu after %llu", what,
                  (unsigned long long)f.seq, (unsigned long long)prev.seq);
            CHECK(f.skipped == f.seq - prev.seq - 1, "%s: skipped %llu but the gap is %llu -> %llu", what,
                  (unsigned long long)f.skipped, (unsigned long long)prev.seq, (unsigned long long)f.seq);
            CHECK(f.t_capture_ns > prev.t_capture_ns, "%s: timestamp did not increase", what);
            st->skipped += f.skipped;
        } else {
            st->first_seq = f.seq;
            st->skipped_before = f.skipped;
            t_first = f.t_capture_ns;
        }
        st->last_seq = f.seq;
        t_last = f.t_capture_ns;
        prev = f;
        source_release(&f);
        st->frames++;
    }
    if (st->last_seq > st->first_seq)
        st->driver_fps = (double)(st->last_seq - st->first_seq) / ((t_last - t_first) / 1e9);
    st->delivered_fps = (st->frames - 1) / ((now_ns() - wall0) / 1e9);
}

static void test_format(int format, int w, int h, int fps)
{
    char what[64], chosen[256], err[256];
    snprintf(what, sizeof what, "%s %dx%d", mnv_pixfmt_name(format), w, h);
    camera_options o = options(format, w, h, fps);
    frame_source *s;
    int rc = source_open_camera(&s, &o, chosen, sizeof chosen, err, sizeof err);
    CHECK(rc == 0, "%s: open: %s", what, err);
    if (rc)
        return;
    printf("%s: %s\n", what, chosen);
    const source_info *info = source_get_info(s);
    CHECK(info->format == (mnv_pixfmt)format, "%s: negotiated %s", what, mnv_pixfmt_name(info->format));
    CHECK(info->width == w && info->height == h, "%s: negotiated %dx%d", what, info->width, info->height);
    CHECK(strstr(chosen, "libv4lconvert") == NULL, "%s: converted although native: %s", what, chosen);
    CHECK(strcmp(info->kind, "v4l2") == 0 && info->live == 1, "%s: info kind %s live %d", what,
          info->kind, info->live);

    frame f;
    rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "%s: first frame: %s", what, err);
    if (rc == 0) {
        CHECK(f.img.format == (mnv_pixfmt)format, "%s: frame format %s", what, mnv_pixfmt_name(f.img.format));
        CHECK(f.img.width == w && f.img.height == h, "%s: frame %dx%d", what, f.img.width, f.img.height);
        CHECK(f.name && strcmp(f.name, vivid_path) == 0, "%s: frame name %s", what, f.name ? f.name : "(null)");
        check_bars(&f, 2, what);
        source_release(&f);
    }
    stream_stats st;
    take_frames(s, 12, &st, what);
    printf("  %s: %d frames, sequence %llu..%llu, %llu skipped by the driver; driver rate %.2f fps "
           "(asked %d, got %.4g), delivered %.2f fps\n", what, st.frames,
           (unsigned long long)st.first_seq, (unsigned long long)st.last_seq,
           (unsigned long long)st.skipped, st.driver_fps, fps, info->fps, st.delivered_fps);
    CHECK(info->fps > 0 && st.driver_fps > 0.5 * info->fps && st.driver_fps < 2.0 * info->fps,
          "%s: driver timestamps say %.2f fps, negotiated %.4g", what, st.driver_fps, info->fps);
    source_close(s);
}

/* Converted from YUV by libv4lconvert, whose arithmetic is its own (it reads
 * YUV as full range, with approximate coefficients): each bar's channels
 * must be on (75%) or off as the bar says, and white must stay grey. */
static void check_bar_levels(const frame *f, const char *what)
{
    const mnv_image *im = &f->img;
    int y = im->height * 7 / 8;
    for (int bar = 0; bar < 8; bar++) {
        int x = (2 * bar + 1) * im->width / 16, got[3];
        pixel_at(im, x, y, got);
        for (int c = 0; c < 3; c++) {
            int on = bars_rgb[bar][c] > 0;
            CHECK(on ? got[c] >= 150 && got[c] <= 230 : got[c] <= 40,
                  "%s: bar %d channel %d is %d, expected %s", what, bar, c, got[c],
                  on ? "150..230 (75%)" : "0..40 (off)");
        }
        if (bar == 0)
            CHECK(abs(got[0] - got[1]) <= 4 && abs(got[1] - got[2]) <= 4, "%s: white bar is %d,%d,%d",
                  what, got[0], got[1], got[2]);
    }
    printf("  %s: the 8 bars have the right channels on and off\n", what);
}

/* A format frames cannot carry as they are: libv4lconvert makes RGB24.
 * tol < 0: compare levels only (see check_bar_levels). */
static void test_conversion(const char *name, int tol)
{
    char what[64], chosen[256], err[256];
    snprintf(what, sizeof what, "%s -> rgb24", name);
    camera_options o = options(-1, 640, 480, 25);
    CHECK(camera_fourcc_parse(name, &o.fourcc) == 0, "fourcc %s", name);
    frame_source *s;
    int rc = source_open_camera(&s, &o, chosen, sizeof chosen, err, sizeof err);
    CHECK(rc == 0, "%s: open: %s", what, err);
    if (rc)
        return;
    printf("%s: %s\n", what, chosen);
    CHECK(strstr(chosen, "libv4lconvert") != NULL, "%s: chosen does not say it converts: %s", what, chosen);
    frame f;
    rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "%s: frame: %s", what, err);
    if (rc == 0) {
        CHECK(f.img.format == MNV_PIX_RGB24, "%s: frame format %s", what, mnv_pixfmt_name(f.img.format));
        if (tol >= 0)
            check_bars(&f, tol, what);
        else
            check_bar_levels(&f, what);
        source_release(&f);
    }
    source_close(s);
}

/* vivid drops a share of its buffers on request: the gaps in the sequence
 * numbers must come out as skipped frames. */
static void test_skipped(void)
{
    char err[256];
    camera_options o = options(MNV_PIX_YUYV, 320, 180, 60);
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "skipped: open: %s", err);
    if (rc)
        return;
    CHECK(vivid_control(VIVID_CID_PERC_DROPPED, 50) == 0, "set percentage_of_dropped_buffers");
    stream_stats st;
    take_frames(s, 30, &st, "50% dropped");
    printf("skipped: with vivid dropping 50%% of buffers, 30 frames span sequence %llu..%llu, "
           "%llu counted as skipped\n", (unsigned long long)st.first_seq, (unsigned long long)st.last_seq,
           (unsigned long long)st.skipped);
    CHECK(st.skipped >= 5, "only %llu frames counted as skipped with half dropped",
          (unsigned long long)st.skipped);
    CHECK(st.last_seq - st.first_seq == (uint64_t)st.frames - 1 + st.skipped,
          "the sequence span is not frames + skipped");

    CHECK(vivid_control(VIVID_CID_PERC_DROPPED, 0) == 0, "reset percentage_of_dropped_buffers");
    source_close(s);

    /* A buffer the driver marks as damaged is given back, and counted. At
     * 5 fps the driver loses no frame of its own (checked first), so the
     * one skipped is the damaged one. */
    o = options(MNV_PIX_YUYV, 320, 180, 5);
    rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "damaged buffer: open: %s", err);
    if (rc)
        return;
    take_frames(s, 6, &st, "before a damaged buffer");
    uint64_t before = st.skipped_before + st.skipped;
    CHECK(vivid_control(VIVID_CID_DQBUF_ERROR, 1) == 0, "inject_v4l2_buf_flag_error");
    take_frames(s, 6, &st, "after a damaged buffer");
    uint64_t after = st.skipped_before + st.skipped;
    printf("skipped: %llu frames skipped in 6 before a buffer flagged V4L2_BUF_FLAG_ERROR, %llu in 6 after\n",
           (unsigned long long)before, (unsigned long long)after);
    CHECK(before == 0, "frames lost at 5 fps without any injected error");
    CHECK(after >= 1, "the damaged buffer was not counted as skipped");
    source_close(s);
}

typedef struct interrupter {
    frame_source *s;
    int delay_ms;
} interrupter;

static void *interrupt_later(void *arg)
{
    interrupter *it = arg;
    struct timespec d = { it->delay_ms / 1000, (long)(it->delay_ms % 1000) * 1000000L };
    nanosleep(&d, NULL);
    source_interrupt(it->s);
    return NULL;
}

/* vivid dropping every buffer is a camera that stalls. */
static void test_stall_and_interrupt(void)
{
    char err[256];
    camera_options o = options(MNV_PIX_YUYV, 320, 180, 30);
    o.timeout_ms = 500;
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "stall: open: %s", err);
    if (rc)
        return;
    frame f;
    CHECK(source_next(s, &f, err, sizeof err) == 0, "stall: first frame: %s", err);
    source_release(&f);
    CHECK(vivid_control(VIVID_CID_PERC_DROPPED, 100) == 0, "set percentage_of_dropped_buffers 100");
    /* Buffers the driver filled before the control took effect still come
     * (at most the 4 buffers); the stall is timed from the last of them. */
    uint64_t t0;
    int early = 0;
    for (;;) {
        err[0] = '\0';
        t0 = now_ns();
        rc = source_next(s, &f, err, sizeof err);
        if (rc != 0 || early == 4)
            break;
        source_release(&f);
        early++;
    }
    if (rc == 0)
        source_release(&f);
    double waited = (now_ns() - t0) / 1e6;
    printf("stall: %s (%d after %.0f ms, %d frames filled before it came first)\n", err, rc, waited, early);
    CHECK(rc == MNV_ETIMEOUT, "stall: expected MNV_ETIMEOUT, got %d: %s", rc, err);
    CHECK(strstr(err, vivid_path) && strstr(err, "no frame in 500 ms"), "stall message: %s", err);
    CHECK(waited >= 450 && waited < 3000, "stall: gave up after %.0f ms, timeout 500", waited);

    /* Interrupted from another thread while waiting for a frame that does
     * not come (a source with a long timeout, so that only the interrupt
     * can end the wait early). */
    source_close(s);
    o.timeout_ms = 10000;
    rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "interrupt: open: %s", err);
    if (rc)
        return;
    interrupter it = { s, 150 };
    pthread_t th;
    pthread_create(&th, NULL, interrupt_later, &it);
    t0 = now_ns();
    rc = source_next(s, &f, err, sizeof err);
    waited = (now_ns() - t0) / 1e6;
    pthread_join(th, NULL);
    printf("interrupt: %s (%d after %.0f ms)\n", err, rc, waited);
    CHECK(rc == MNV_EINTR, "interrupt: expected MNV_EINTR, got %d: %s", rc, err);
    CHECK(waited >= 140 && waited < 5000, "interrupt: returned after %.0f ms, interrupted at 150", waited);

    /* The camera comes back: frames again. An interrupt before the call
     * makes that call return at once, and only that one. */
    CHECK(vivid_control(VIVID_CID_PERC_DROPPED, 0) == 0, "reset percentage_of_dropped_buffers");
    source_interrupt(s);
    CHECK(source_next(s, &f, err, sizeof err) == MNV_EINTR, "interrupt before next: %s", err);
    rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "after the stall: %s", err);
    source_release(&f);
    source_close(s);
}

static void *release_in_thread(void *arg)
{
    source_release(arg);
    return NULL;
}

/* buffers - 1 frames may be out; one more is refused, not waited for.
 * Frames go back from another thread. */
static void test_outstanding(void)
{
    char err[256];
    camera_options o = options(MNV_PIX_NV12, 320, 180, 60);
    o.buffers = 4;
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "outstanding: open: %s", err);
    if (rc)
        return;
    frame f[4];
    for (int i = 0; i < 3; i++)
        CHECK(source_next(s, &f[i], err, sizeof err) == 0, "outstanding: frame %d: %s", i, err);
    rc = source_next(s, &f[3], err, sizeof err);
    printf("outstanding: 4th frame with 3 out of 4 buffers: %s (%d)\n", err, rc);
    CHECK(rc == MNV_EBUSY, "outstanding: expected MNV_EBUSY, got %d", rc);
    pthread_t th;
    pthread_create(&th, NULL, release_in_thread, &f[0]);
    pthread_join(th, NULL);
    CHECK(source_next(s, &f[3], err, sizeof err) == 0, "outstanding: after a release: %s", err);
    CHECK(f[3].seq > f[2].seq, "outstanding: sequence went back");
    for (int i = 1; i < 4; i++)
        source_release(&f[i]);
    source_close(s);
}

static void expect_open_error(const char *what, const camera_options *o, int want, const char *words)
{
    char err[256] = "", chosen[256] = "x";
    frame_source *s = (frame_source *)1;
    int rc = source_open_camera(&s, o, chosen, sizeof chosen, err, sizeof err);
    printf("%s: %s (%d)\n", what, err, rc);
    CHECK(rc == want, "%s: expected %d, got %d: %s", what, want, rc, err);
    CHECK(s == NULL && chosen[0] == '\0', "%s: source or chosen left set on failure", what);
    CHECK(strstr(err, words) != NULL, "%s: message lacks '%s': %s", what, words, err);
    CHECK(strchr(err, '\n') == NULL, "%s: message is not one line", what);
    if (rc == 0)
        source_close(s);
}

static void test_busy(void)
{
    char err[256];
    camera_options o = options(MNV_PIX_YUYV, 640, 480, 25);
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "busy: open: %s", err);
    if (rc)
        return;
    frame f;
    CHECK(source_next(s, &f, err, sizeof err) == 0, "busy: frame: %s", err);
    source_release(&f);
    expect_open_error("busy: a second open while streaming", &o, MNV_EBUSY, "busy");
    source_close(s);
    rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "busy: open after the first closed: %s", err);
    if (rc == 0)
        source_close(s);
}

static void test_disconnect(void)
{
    char err[256], chosen[256];
    camera_options o = options(MNV_PIX_YUYV, 640, 480, 25);
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "disconnect: open: %s", err);
    if (rc)
        return;
    frame held, f;
    CHECK(source_next(s, &held, err, sizeof err) == 0, "disconnect: frame: %s", err);
    CHECK(vivid_control(VIVID_CID_DISCONNECT, 1) == 0, "press vivid's Disconnect");
    uint64_t t0 = now_ns();
    rc = source_next(s, &f, err, sizeof err);
    printf("disconnect: %s (%d after %.0f ms)\n", err, rc, (now_ns() - t0) / 1e6);
    CHECK(rc == MNV_ENODEV, "disconnect: expected MNV_ENODEV, got %d: %s", rc, err);
    char want[128];
    snprintf(want, sizeof want, "%s: disconnected", vivid_path);
    CHECK(strcmp(err, want) == 0, "disconnect message: '%s', expected '%s'", err, want);
    CHECK(source_next(s, &f, err, sizeof err) == MNV_ENODEV, "disconnect: a second next: %s", err);
    /* While a handle is open the node stays unregistered. */
    expect_open_error("disconnect: opening it meanwhile", &o, MNV_ENODEV, "no such device");
    source_release(&held);
    source_close(s);
    /* Every handle closed: vivid registers the node again. */
    rc = source_open_camera(&s, &o, chosen, sizeof chosen, err, sizeof err);
    CHECK(rc == 0, "disconnect: reopen after closing: %s", err);
    if (rc == 0) {
        printf("disconnect: back: %s\n", chosen);
        CHECK(source_next(s, &f, err, sizeof err) == 0, "disconnect: frame after reopening: %s", err);
        source_release(&f);
        source_close(s);
    }
}

/* vivid's Colorspace control changes the picture's colorimetry, part of
 * the format, and vivid reports it as a source change: source_next says so
 * (MNV_ECHANGED), and the camera opens again. */
static void test_source_change(void)
{
    char err[256];
    camera_options o = options(MNV_PIX_YUYV, 640, 480, 25);
    frame_source *s;
    int rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "source change: open: %s", err);
    if (rc)
        return;
    frame f;
    CHECK(source_next(s, &f, err, sizeof err) == 0, "source change: frame: %s", err);
    source_release(&f);
    CHECK(vivid_control(VIVID_CID_COLORSPACE, 1) == 0, "set vivid's Colorspace to Rec. 709");
    uint64_t t0 = now_ns();
    rc = source_next(s, &f, err, sizeof err);
    printf("source change: %s (%d after %.0f ms)\n", err, rc, (now_ns() - t0) / 1e6);
    CHECK(rc == MNV_ECHANGED, "source change: expected MNV_ECHANGED, got %d: %s", rc, err);
    char want[160];
    snprintf(want, sizeof want, "%s: the camera changed its format mid-stream (a V4L2 source change)", vivid_path);
    CHECK(strcmp(err, want) == 0, "source change message: '%s', expected '%s'", err, want);
    if (rc == 0)
        source_release(&f);
    source_close(s);
    rc = source_open_camera(&s, &o, NULL, 0, err, sizeof err);
    CHECK(rc == 0, "source change: open again: %s", err);
    if (rc == 0) {
        CHECK(source_next(s, &f, err, sizeof err) == 0, "source change: frame after opening again: %s", err);
        source_release(&f);
        source_close(s);
    }
    /* Back to the default (sRGB) with nothing streaming. */
    CHECK(vivid_control(VIVID_CID_COLORSPACE, 2) == 0, "set vivid's Colorspace back to sRGB");
}

static void test_open_errors(void)
{
    camera_options o = options(-1, 0, 0, 0);
    o.device = "/dev/video99";
    expect_open_error("missing device", &o, MNV_ENODEV, "/dev/video99: no such device");
    o.device = "/dev/null";
    expect_open_error("/dev/null", &o, MNV_EUNSUPPORTED, "/dev/null: not a V4L2 device");
    o.device = "/init";
    expect_open_error("a regular file", &o, MNV_EUNSUPPORTED, "/init: not a V4L2 device");

    /* vivid's other nodes: output, metadata, touch. */
    int non_capture = 0;
    for (int i = 0; i < 16; i++) {
        char path[32], err[256];
        snprintf(path, sizeof path, "/dev/video%d", i);
        if (access(path, F_OK) != 0 || strcmp(path, vivid_path) == 0)
            continue;
        int fd = open(path, O_RDWR);
        struct v4l2_capability cap;
        if (fd < 0 || ioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        close(fd);
        uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
        if (caps & V4L2_CAP_VIDEO_CAPTURE)
            continue;
        o.device = path;
        snprintf(err, sizeof err, "%s: not a video capture device", path);
        expect_open_error("a node that does not capture video", &o, MNV_EUNSUPPORTED, err);
        non_capture++;
    }
    CHECK(non_capture > 0, "vivid made no node other than video capture to test with");

    o = options(-1, 0, 0, 0);
    o.buffers = 2;
    expect_open_error("2 buffers", &o, MNV_EINVAL, "buffers 2");
    o = options(-1, -5, 480, 0);
    expect_open_error("width -5", &o, MNV_EINVAL, "size -5x480");
    o = options(-1, 0, 0, 0);
    camera_fourcc_parse("mjpeg", &o.fourcc);
    expect_open_error("a format vivid lacks", &o, MNV_EUNSUPPORTED, "does not offer MJPG");
}

static void test_listing(void)
{
    camera_device *devs;
    int n;
    char err[256];
    int rc = camera_list(&devs, &n, err, sizeof err);
    CHECK(rc == 0, "camera_list: %s", err);
    if (rc)
        return;
    const camera_device *vivid = NULL;
    for (int i = 0; i < n; i++)
        if (!devs[i].error[0] && strcmp(devs[i].driver, "vivid") == 0 && !vivid)
            vivid = &devs[i];
    CHECK(vivid != NULL, "vivid is not among %d listed devices", n);
    if (vivid) {
        snprintf(vivid_path, sizeof vivid_path, "%s", vivid->path);
        CHECK(vivid->caps & V4L2_CAP_VIDEO_CAPTURE, "vivid's node lacks V4L2_CAP_VIDEO_CAPTURE");
        const char *need[] = { "yuyv", "nv12", "yu12", "rgb3" };
        for (int k = 0; k < 4; k++) {
            uint32_t cc;
            camera_fourcc_parse(need[k], &cc);
            const camera_format *f = NULL;
            for (int j = 0; j < vivid->n_formats; j++)
                if (vivid->formats[j].fourcc == cc)
                    f = &vivid->formats[j];
            CHECK(f != NULL, "vivid does not list %s", need[k]);
            if (!f)
                continue;
            CHECK(!f->emulated, "%s listed as emulated", need[k]);
            CHECK(f->pixfmt >= 0, "%s not marked as read natively", need[k]);
            int has_vga = 0, has_hd = 0;
            for (int z = 0; z < f->n_sizes; z++) {
                const camera_size *s = &f->sizes[z];
                if (!s->stepwise && s->width == 640 && s->height == 480 && s->n_rates > 0)
                    has_vga = 1;
                if (!s->stepwise && s->width == 1280 && s->height == 720 && s->n_rates > 0)
                    has_hd = 1;
            }
            CHECK(has_vga && has_hd, "%s lacks 640x480 or 1280x720 with frame rates", need[k]);
        }
    }
    char first[64];
    CHECK(camera_find_first(first, sizeof first, err, sizeof err) == 0, "camera_find_first: %s", err);
    CHECK(n > 0 && strcmp(first, devs[0].path) == 0, "camera_find_first gave %s", first);
    camera_list_free(devs, n);

    /* The listing as mnv2det --list-devices prints it. */
    printf("---- the listing (table) ----\n");
    fflush(stdout);
    CHECK(devices_print(stdout, 0, err, sizeof err) == 0, "devices_print: %s", err);
    char *json = NULL;
    size_t json_len = 0;
    FILE *mem = open_memstream(&json, &json_len);
    CHECK(devices_print(mem, 1, err, sizeof err) == 0, "devices_print json: %s", err);
    fclose(mem);
    printf("---- the listing (JSON, first 300 bytes) ----\n%.300s...\n", json);
    CHECK(json && strncmp(json, "{\"devices\":[{\"path\":", 20) == 0, "JSON listing starts %.40s", json);
    CHECK(json && strstr(json, "\"driver\":\"vivid\"") && strstr(json, "{\"fourcc\":\"YUYV\"") &&
          strstr(json, "{\"width\":640,\"height\":480,\"fps\":["), "JSON listing lacks vivid's YUYV 640x480");
    CHECK(json && json_len > 0 && json[json_len - 1] == '\n' && !memchr(json, '\n', json_len - 1),
          "JSON listing is not one line");
    free(json);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* `test_v4l2 disconnect DEVICE`: press vivid's Disconnect button, for the
     * guest steps that pull the camera from under a running mnv2det. */
    if (argc == 3 && strcmp(argv[1], "disconnect") == 0) {
        snprintf(vivid_path, sizeof vivid_path, "%s", argv[2]);
        int r = vivid_control(VIVID_CID_DISCONNECT, 1);
        if (r)
            fprintf(stderr, "%s: disconnect: %s\n", argv[2], strerror(-r));
        return r ? 1 : 0;
    }
    /* `test_v4l2 control DEVICE dropped|colorspace VALUE`. */
    if (argc == 5 && strcmp(argv[1], "control") == 0) {
        snprintf(vivid_path, sizeof vivid_path, "%s", argv[2]);
        uint32_t id = strcmp(argv[3], "dropped") == 0      ? VIVID_CID_PERC_DROPPED
                      : strcmp(argv[3], "colorspace") == 0 ? VIVID_CID_COLORSPACE
                                                           : 0;
        if (!id) {
            fprintf(stderr, "test_v4l2 control: unknown control '%s' (dropped, colorspace)\n", argv[3]);
            return 2;
        }
        int r = vivid_control(id, atoi(argv[4]));
        if (r)
            fprintf(stderr, "%s: set %s to %s: %s\n", argv[2], argv[3], argv[4], strerror(-r));
        return r ? 1 : 0;
    }
    /* `test_v4l2 cycles DEVICE N PID FILE`. */
    if (argc == 6 && strcmp(argv[1], "cycles") == 0)
        return reconnect_cycles(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    uint64_t t0 = now_ns();
    test_listing();
    if (!vivid_path[0]) {
        fprintf(stderr, "vivid's capture device was not found: nothing else can run\n");
        return check_finish("test_v4l2");
    }
    printf("vivid's video capture device: %s\n", vivid_path);
    static const int sizes[2][3] = { { 640, 480, 25 }, { 1280, 720, 10 } };
    for (int z = 0; z < 2; z++)
        for (int fmt = 0; fmt < MNV_PIX_COUNT; fmt++)
            test_format(fmt, sizes[z][0], sizes[z][1], sizes[z][2]);
    test_conversion("bgr3", 0);
    test_conversion("uyvy", -1);
    test_skipped();
    test_stall_and_interrupt();
    test_outstanding();
    test_busy();
    test_disconnect();
    test_source_change();
    test_open_errors();
    printf("test_v4l2: %.1f s\n", (now_ns() - t0) / 1e9);
    return check_finish("test_v4l2");
}
