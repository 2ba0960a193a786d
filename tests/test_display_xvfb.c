/*
 * The window on a real X server: Debian's Xvfb, started here on a free
 * display number (-displayfd), with a small window manager (evilwm: SDL's
 * fullscreen on X11 asks the window manager, and with none the window keeps
 * its size while SDL believes it changed), and with key presses and a resize
 * from xdotool (XTEST), as a user's would arrive. A frame from tests/data/chelsea.300.png
 * with the cat's detection as a box; the s key makes the display report a
 * screenshot, which the test saves with display_screenshot and checks: its
 * size, the box's colour on the box's edges, the picture inside; after a
 * resize to a wider window, the black bars of the letterbox; the same frame
 * as I420 through the renderer's YUV path; fullscreen; every key.
 *
 * Reports SKIP (77) when Xvfb, evilwm or xdotool is missing.
 *
 *   test_display_xvfb [DIR]   DIR: keep the screenshots there
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "check.h"
#include "display/display.h"
#include "picture.h"

extern char **environ;

static const char *keep_dir;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char buf[4096];
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        p += len + (end ? 1 : 0);
    }
    return 0;
}

/* Start Xvfb on a display number it picks itself; its pid, or -1. */
static pid_t start_xvfb(int *display_no)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        char fd[16];
        snprintf(fd, sizeof fd, "%d", fds[1]);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("Xvfb", "Xvfb", "-displayfd", fd, "-screen", "0", "1024x768x24", "-nolisten", "tcp",
               "-noreset", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = "";
    size_t got = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    double until = now_s() + 20;
    while (got < sizeof buf - 1 && now_s() < until && poll(&p, 1, 500) >= 0) {
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(buf, '\n', got))
            break;
    }
    close(fds[0]);
    buf[got] = '\0';
    if (pid < 0 || !strchr(buf, '\n')) {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    *display_no = atoi(buf);
    return pid;
}

/* Run xdotool with these arguments; its exit status. */
static int xdotool(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
                   const char *a6, const char *a7, const char *a8, const char *a9, const char *a10)
{
    const char *argv[] = {"xdotool", a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "xdotool", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char title_re[128];

/* Focus our window and type keys into it through XTEST. */
static int type_keys(const char *keys)
{
    return xdotool("search", "--sync", "--name", title_re, "windowfocus", "--sync", "key", "--delay",
                   "30", keys);
}

typedef struct ctx {
    display *d;
    const mnv_image *img;
    const overlay *ov;
} ctx;

/* Show the frame at about 30 fps while waiting up to secs for an action;
 * returns it (DISPLAY_NONE on time out). */
static display_event wait_action(ctx *c, double secs)
{
    display_event ev = {DISPLAY_NONE, 0, 0};
    char err[256];
    double until = now_s() + secs;
    while (now_s() < until) {
        if (display_poll(c->d, &ev))
            return ev;
        if (display_show(c->d, c->img, c->ov, err, sizeof err) != 0) {
            CHECK(0, "display_show: %s", err);
            break;
        }
        sleep_ms(30);
    }
    ev.action = DISPLAY_NONE;
    return ev;
}

/* Screenshot into a file and load it back. */
static int shoot(display *d, const char *name, frame *shot)
{
    char path[512], err[512];
    if (keep_dir)
        snprintf(path, sizeof path, "%s/%s.png", keep_dir, name);
    else
        snprintf(path, sizeof path, "/tmp/mnv2det-xvfb-%d-%s.png", (int)getpid(), name);
    int rc = display_screenshot(d, path, err, sizeof err);
    CHECK(rc == 0, "display_screenshot: %s", err);
    if (rc == 0) {
        rc = image_load(shot, path, err, sizeof err);
        CHECK(rc == 0, "screenshot unreadable: %s", err);
    }
    if (!keep_dir)
        unlink(path);
    return rc;
}

/* Mean colour of a block of an RGB24 picture, per channel. */
static void block_mean(const mnv_image *img, int x0, int y0, int w, int h, double m[3])
{
    m[0] = m[1] = m[2] = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) {
            uint32_t c = pic_at(img, x, y);
            m[0] += c >> 16;
            m[1] += c >> 8 & 0xFF;
            m[2] += c & 0xFF;
        }
    for (int i = 0; i < 3; i++)
        m[i] /= (double)w * h;
}

/* The picture shown at (px, py) scaled by k: blocks of the screenshot
 * against the same blocks of the frame, away from the overlay. */
static void check_picture(const mnv_image *shot, const mnv_image *src, int px, int py, double k,
                          double tol, const char *what)
{
    const int spots[][2] = {{150, 150}, {100, 200}, {200, 230}, {250, 120}, {60, 260}};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        double a[3], b[3];
        int sx = spots[i][0], sy = spots[i][1];
        block_mean(src, sx, sy, 10, 10, a);
        block_mean(shot, px + (int)(sx * k + 0.5), py + (int)(sy * k + 0.5), (int)(10 * k), (int)(10 * k), b);
        double worst = 0;
        for (int j = 0; j < 3; j++)
            worst = fabs(a[j] - b[j]) > worst ? fabs(a[j] - b[j]) : worst;
        CHECK(worst <= tol, "%s: picture at (%d,%d) off by %.1f (tolerance %.0f)", what, sx, sy, worst, tol);
    }
}

/* Columns [x0, x1) of rows [y0, y1) all of colour c. */
static int all_color(const mnv_image *img, int x0, int x1, int y0, int y1, uint32_t c)
{
    return pic_count(img, x0, y0, x1, y1, is_not_color, c) == 0;
}

/* RGB24 -> I420 (BT.601 limited range), to send the same picture through
 * the renderer's YUV path. */
static uint8_t *to_i420(const mnv_image *rgb, mnv_image *out)
{
    int w = rgb->width, h = rgb->height;
    uint8_t *data = malloc(mnv_image_size(MNV_PIX_I420, w, h));
    mnv_image_pack(out, MNV_PIX_I420, w, h, data);
    uint8_t *Y = data, *U = (uint8_t *)out->plane[1], *V = (uint8_t *)out->plane[2];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t c = pic_at(rgb, x, y);
            double r = c >> 16, g = c >> 8 & 0xFF, b = c & 0xFF;
            Y[y * w + x] = (uint8_t)lround(16 + 0.256788 * r + 0.504129 * g + 0.097906 * b);
            if (!(x & 1) && !(y & 1)) {
                size_t i = (size_t)(y / 2) * out->stride[1] + x / 2;
                U[i] = (uint8_t)lround(128 - 0.148223 * r - 0.290993 * g + 0.439216 * b);
                V[i] = (uint8_t)lround(128 + 0.439216 * r - 0.367788 * g - 0.071427 * b);
            }
        }
    return data;
}

static void run(const char *data_dir)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/chelsea.300.png", data_dir);
    frame cat = {0};
    if (image_load(&cat, path, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return;
    }
    /* tests/data/chelsea.detections.json: Cat (class 8), 0.8472, ymin
     * 0.0025, xmin 0.00661, ymax 0.99849, xmax 0.93929. */
    const float ymin = 0.0025f, xmin = 0.00661f, ymax = 0.99849f, xmax = 0.93929f;
    overlay_box box = {xmin * 300, ymin * 300, xmax * 300, ymax * 300, 8, "Cat", 0.8472f};
    overlay ov;
    overlay_init(&ov);
    ov.boxes = &box;
    ov.n_boxes = 1;
    ov.hud = (overlay_hud){30.0, 29.6, 11.4, 48.2, 0, 2, 0.5};
    const uint32_t C = overlay_class_color(8);

    display_options o;
    display_options_init(&o);
    char title[64];
    snprintf(title, sizeof title, "mnv2det xvfb test %d", (int)getpid());
    snprintf(title_re, sizeof title_re, "^%s$", title);
    o.title = title;
    o.width = 600;
    o.height = 600;
    display *d = NULL;
    if (display_open(&d, &o, err, sizeof err) != 0) {
        CHECK(0, "display_open under Xvfb: %s", err);
        frame_free(&cat);
        return;
    }
    ctx c = {d, &cat.img, &ov};
    wait_action(&c, 0.3);
    char desc[256];
    display_describe(d, desc, sizeof desc);
    printf("under Xvfb: %s\n", desc);

    /* s: the display reports it; the caller saves the screenshot. */
    CHECK(type_keys("s") == 0, "xdotool key s failed");
    display_event ev = wait_action(&c, 5);
    CHECK(ev.action == DISPLAY_SCREENSHOT, "s gave action %d", (int)ev.action);
    frame shot = {0};
    if (ev.action == DISPLAY_SCREENSHOT && shoot(d, "window-600x600", &shot) == 0) {
        const mnv_image *s = &shot.img;
        CHECK(s->width == 600 && s->height == 600, "screenshot %dx%d, want 600x600", s->width, s->height);
        if (s->width == 600 && s->height == 600) {
            /* Scale 2, lines 2 thick inside the box: left edge at
             * round(2 * 1.983) = 4, right edge ends at round(2 * 281.79) = 564,
             * bottom at round(2 * 299.55) = 599. */
            int l = (int)lround(2 * xmin * 300), r = (int)lround(2 * xmax * 300), b = (int)lround(2 * ymax * 300);
            CHECK(all_color(s, l, l + 2, 100, 580, C), "left edge not in the class colour");
            CHECK(all_color(s, r - 2, r, 100, 580, C), "right edge not in the class colour");
            CHECK(all_color(s, 40, 540, b - 2, b, C), "bottom edge not in the class colour");
            CHECK(pic_count(s, l + 2, 100, l + 3, 580, is_color, C) == 0, "left edge thicker than 2");
            check_picture(s, &cat.img, 0, 0, 2.0, 4, "600x600");
        }
    }
    frame_free(&shot);

    /* A wider window: the picture keeps its aspect ratio between black bars. */
    CHECK(xdotool("search", "--sync", "--name", title_re, "windowsize", "--sync", "900", "450", NULL, NULL) == 0,
          "xdotool windowsize failed");
    int resized = 0;
    for (double until = now_s() + 5; !resized && now_s() < until;) {
        wait_action(&c, 0.1);
        if (shoot(d, "window-900x450", &shot) == 0) {
            resized = shot.img.width == 900 && shot.img.height == 450;
            if (!resized)
                frame_free(&shot);
        }
    }
    CHECK(resized, "the window did not become 900x450");
    if (resized) {
        const mnv_image *s = &shot.img;
        /* 300x300 at scale 1.5: columns 225..674. */
        CHECK(all_color(s, 0, 225, 0, 450, 0) && all_color(s, 675, 900, 0, 450, 0),
              "letterbox bars not black: %d and %d other pixels",
              pic_count(s, 0, 0, 225, 450, is_not_color, 0), pic_count(s, 675, 0, 900, 450, is_not_color, 0));
        int l = 225 + (int)lround(1.5 * xmin * 300);
        CHECK(all_color(s, l, l + 2, 80, 430, C), "left edge after the resize (column %d): %06x", l,
              pic_at(s, l, 200));
        check_picture(s, &cat.img, 225, 0, 1.5, 5, "900x450");
    }
    frame_free(&shot);

    /* The same picture as I420: the renderer's YUV conversion. */
    mnv_image yuv;
    uint8_t *yuv_data = to_i420(&cat.img, &yuv);
    c.img = &yuv;
    wait_action(&c, 0.2);
    if (shoot(d, "window-i420", &shot) == 0 && shot.img.width == 900) {
        check_picture(&shot.img, &cat.img, 225, 0, 1.5, 6, "I420 900x450");
        int l = 225 + (int)lround(1.5 * xmin * 300);
        CHECK(all_color(&shot.img, l, l + 2, 80, 430, C), "box over the I420 frame");
    }
    frame_free(&shot);
    display_describe(d, desc, sizeof desc);
    printf("under Xvfb, I420 frame: %s\n", desc);

    /* f: fullscreen on the 1024x768 screen, then back. */
    CHECK(type_keys("f") == 0, "xdotool key f failed");
    ev = wait_action(&c, 5);
    CHECK(ev.action == DISPLAY_FULLSCREEN && ev.fullscreen == 1, "f: action %d fullscreen %d",
          (int)ev.action, ev.fullscreen);
    int full = 0;
    for (double until = now_s() + 5; !full && now_s() < until;) {
        wait_action(&c, 0.1);
        if (shoot(d, "window-fullscreen", &shot) == 0) {
            full = shot.img.width == 1024 && shot.img.height == 768;
            if (!full)
                frame_free(&shot);
        }
    }
    CHECK(full, "fullscreen did not fill the 1024x768 screen");
    if (full) {
        /* 300x300 at scale 2.56: columns 128..895. */
        CHECK(all_color(&shot.img, 0, 128, 0, 768, 0) && all_color(&shot.img, 896, 1024, 0, 768, 0),
              "fullscreen letterbox bars not black");
        check_picture(&shot.img, &cat.img, 128, 0, 768.0 / 300, 6, "fullscreen");
        int l = 128 + (int)lround(2.56 * xmin * 300);
        CHECK(all_color(&shot.img, l, l + 2, 100, 700, C), "left edge in fullscreen (column %d): %06x", l,
              pic_at(&shot.img, l, 400));
    }
    frame_free(&shot);
    CHECK(type_keys("f") == 0, "xdotool key f failed");
    ev = wait_action(&c, 5);
    CHECK(ev.action == DISPLAY_FULLSCREEN && ev.fullscreen == 0, "f again: action %d fullscreen %d",
          (int)ev.action, ev.fullscreen);

    /* Every other key, in order. */
    CHECK(type_keys("plus") == 0 && type_keys("minus") == 0 && type_keys("KP_Add") == 0 &&
              type_keys("KP_Subtract") == 0 && type_keys("h") == 0 && type_keys("space") == 0 &&
              type_keys("Escape") == 0 && type_keys("q") == 0,
          "xdotool key failed");
    const display_action want[] = {DISPLAY_SCORE_UP, DISPLAY_SCORE_DOWN, DISPLAY_SCORE_UP, DISPLAY_SCORE_DOWN,
                                   DISPLAY_HUD,      DISPLAY_PAUSE,      DISPLAY_QUIT,     DISPLAY_QUIT};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ev = wait_action(&c, 5);
        CHECK(ev.action == want[i], "key %zu: action %d, want %d", i, (int)ev.action, (int)want[i]);
        if (want[i] == DISPLAY_HUD)
            CHECK(ev.hud_visible == 0, "h did not hide the heads-up line");
    }
    display_close(d);
    free(yuv_data);
    frame_free(&cat);
}

int main(int argc, char **argv)
{
    keep_dir = argc > 1 ? argv[1] : NULL;
    const char *data_dir = test_env("MNV2DET_TEST_DATA");
    if (!in_path("Xvfb")) {
        printf("SKIP: Xvfb not found (Debian package xvfb; scripts/setup installs it)\n");
        return 77;
    }
    if (!in_path("evilwm")) {
        printf("SKIP: evilwm not found (Debian package evilwm; scripts/setup installs it)\n");
        return 77;
    }
    if (!in_path("xdotool")) {
        printf("SKIP: xdotool not found (Debian package xdotool; scripts/setup installs it)\n");
        return 77;
    }
    int no = -1;
    pid_t xvfb = start_xvfb(&no);
    if (xvfb < 0) {
        fprintf(stderr, "Xvfb did not start\n");
        return 1;
    }
    char disp[32];
    snprintf(disp, sizeof disp, ":%d", no);
    setenv("DISPLAY", disp, 1);
    setenv("SDL_VIDEODRIVER", "x11", 1);
    unsetenv("WAYLAND_DISPLAY");
    printf("Xvfb on %s\n", disp);
    /* "fixed" is the X server's built-in font: evilwm needs one. */
    const char *wm_argv[] = {"evilwm", "-fn", "fixed", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t wm = -1;
    if (posix_spawnp(&wm, "evilwm", &fa, NULL, (char *const *)wm_argv, environ) != 0)
        wm = -1;
    posix_spawn_file_actions_destroy(&fa);
    CHECK(wm > 0, "evilwm did not start");
    sleep_ms(300);
    CHECK(waitpid(wm, NULL, WNOHANG) == 0, "evilwm exited at once");
    run(data_dir);
    if (wm > 0) {
        kill(wm, SIGTERM);
        waitpid(wm, NULL, 0);
    }
    kill(xvfb, SIGTERM);
    waitpid(xvfb, NULL, 0);
    return check_finish("display under Xvfb");
}
