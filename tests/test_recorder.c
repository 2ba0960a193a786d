/*
 * The recorder (display.h) against the project's own readers (capture.h).
 *
 * usage: test_recorder y4m     Y4M files of structured frames (flat blocks
 *                              and a gradient, even and odd sizes) read back
 *                              by the Y4M source: header, frame count, frame
 *                              rate, planes equal to mnv_image_from_rgb24's,
 *                              and RGB close to the original (bounds derived
 *                              below)
 *        test_recorder ffmpeg  .mkv, .mp4 and .avi through FFmpeg, read back
 *                              by the FFmpeg source: frame count, size, rate,
 *                              the colours of flat blocks; nothing printed by
 *                              FFmpeg. SKIP (77) in a build without FFmpeg.
 *        test_recorder errors  bad arguments, bad images, paths that cannot
 *                              be created, unknown extensions, a full disk
 *        test_recorder time [W H [FRAMES]]
 *                              (not a test) milliseconds per recorder_write
 *                              of a W x H frame (640x480) for .y4m and .mkv
 *
 * Bounds of the Y4M round trip (RGB -> I420 -> RGB), derived as in
 * test_rgb_to_yuv.c: a flat 2x2 block comes back within 1 level of R and G
 * and 2 of B (rounding of Y, U and V costs at most 1.38, 1.18 and 1.59
 * levels before the final rounding). In the gradient, R grows 4 levels a
 * column and G 4 a row, so a pixel is within 2 levels of R and of G of its
 * 2x2 block's mean, whose chroma it gets: its own would differ by at most
 * (37.797 + 74.203) * 2 / 255 = 0.88 in U and (112 + 93.786) * 2 / 255 =
 * 1.61 in V, which the inverse turns into at most 1.596 * 1.61 = 2.58
 * levels of R, 0.392 * 0.88 + 0.813 * 1.61 = 1.66 of G and 2.017 * 0.88 =
 * 1.77 of B. With the rounding above and the final rounding: within 4
 * levels of R and 3 of G and B.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backbone/backbone.h"
#include "capture/capture.h"
#include "display/display.h"
#include "check.h"

static char tmp_dir[256];

/* LeakSanitizer's hook (read only in sanitized builds): Debian 12's FFmpeg
 * 5.1 libx264 wrapper leaks x264's parameter strings (166 bytes) when the
 * encoder refuses to open, as it does odd sizes; a program of a dozen lines
 * that opens libx264 at 65x48 and frees the context shows the same leak. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx264.so\n";
}

static const char *tmp_path(const char *name)
{
    static char paths[8][600];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

static const uint8_t palette[][3] = {
    {255, 0, 0},   {0, 255, 0},     {0, 0, 255},    {255, 255, 0}, {0, 255, 255},
    {255, 0, 255}, {255, 255, 255}, {0, 0, 0},      {128, 128, 128}, {255, 128, 0},
    {40, 90, 160}, {200, 170, 120},
};
#define PALETTE_N ((int)(sizeof palette / sizeof palette[0]))

/* First row of the gradient band (even: no 2x2 chroma block straddles it). */
static int gradient_top(int h)
{
    return (h * 3 / 4) & ~1;
}

/* Frame k of a w x h test video: flat block x block squares (block even)
 * whose colours move along the palette from frame to frame, above a
 * gradient band (R 4 levels a column, G 4 a row, B by frame). */
static void make_picture(uint8_t *rgb, int w, int h, int k, int block)
{
    const int top = gradient_top(h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *px = rgb + ((size_t)y * w + x) * 3;
            if (y < top) {
                const uint8_t *c = palette[(x / block + 3 * (y / block) + k) % PALETTE_N];
                px[0] = c[0], px[1] = c[1], px[2] = c[2];
            } else {
                px[0] = (uint8_t)(4 * x < 255 ? 4 * x : 255);
                px[1] = (uint8_t)(4 * (y - top) < 255 ? 4 * (y - top) : 255);
                px[2] = (uint8_t)(30 * k % 256);
            }
        }
}

static int contains(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

/* ---- y4m ----------------------------------------------------------------- */

/* The file's first line (without '\n') into line; its length, or -1. */
static long first_line(const char *path, char *line, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    long n = fgets(line, (int)cap, fp) ? (long)strlen(line) : -1;
    fclose(fp);
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return n;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Write frames 0..n-1 of the test video at w x h to path; 0 on success. */
static int record_video(const char *path, int w, int h, double fps, int n, int block)
{
    char err[512];
    recorder *r = NULL;
    int rc = recorder_open(&r, path, w, h, fps, err, sizeof err);
    CHECK(rc == 0 && r, "%s: open: %s", path, err);
    if (rc != 0)
        return rc;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int k = 0; k < n && rc == 0 && rgb; k++) {
        make_picture(rgb, w, h, k, block);
        mnv_image img;
        mnv_image_pack(&img, MNV_PIX_RGB24, w, h, rgb);
        rc = recorder_write(r, &img, err, sizeof err);
        CHECK(rc == 0, "%s: frame %d: %s", path, k, err);
    }
    CHECK(rgb, "out of memory");
    free(rgb);
    int closed = recorder_close(r, err, sizeof err);
    CHECK(closed == 0, "%s: close: %s", path, err);
    return rc ? rc : closed;
}

static int planes_equal(const mnv_image *a, const mnv_image *b)
{
    for (int p = 0; p < 3; p++) {
        size_t row = 0, size = mnv_plane_size(MNV_PIX_I420, a->width, a->height, p, &row);
        for (size_t y = 0; y < size / row; y++)
            if (memcmp(a->plane[p] + y * a->stride[p], b->plane[p] + y * b->stride[p], row) != 0)
                return 0;
    }
    return 1;
}

static void check_y4m_video(int w, int h, double fps, const char *rate, double rate_value)
{
    const int n = 5, block = 8;
    char name[64], err[512], want[160], line[256];
    snprintf(name, sizeof name, "v%dx%d.y4m", w, h);
    const char *path = tmp_path(name);
    if (record_video(path, w, h, fps, n, block) != 0)
        return;
    int header = snprintf(want, sizeof want, "YUV4MPEG2 W%d H%d F%s Ip A1:1 C420jpeg XCOLORRANGE=LIMITED", w, h, rate);
    long len = first_line(path, line, sizeof line);
    CHECK(len > 0 && strcmp(line, want) == 0, "%s: header '%s', want '%s'", path, len > 0 ? line : "?", want);
    size_t frame_bytes = mnv_image_size(MNV_PIX_I420, w, h);
    long long expect_size = header + 1 + (long long)n * (6 + (long long)frame_bytes);
    CHECK(file_size(path) == expect_size, "%s: %lld bytes, want %lld", path, file_size(path), expect_size);

    frame_source *src = NULL;
    const char *paths[1] = {path};
    int rc = source_open_inputs(&src, paths, 1, NULL, err, sizeof err);
    CHECK(rc == 0, "%s: read back: %s", path, err);
    if (rc != 0)
        return;
    const source_info *info = source_get_info(src);
    CHECK(strcmp(info->kind, "y4m") == 0 && info->width == w && info->height == h && info->format == MNV_PIX_I420,
          "%s: read as %s %dx%d %s", path, info->kind, info->width, info->height, mnv_pixfmt_name(info->format));
    CHECK(fabs(info->fps - rate_value) < 1e-9, "%s: %.9f fps, want %.9f", path, info->fps, rate_value);

    uint8_t *rgb = malloc((size_t)w * h * 3), *back = malloc((size_t)w * h * 3), *i420 = malloc(frame_bytes);
    int frames = 0, worst_flat[3] = {0, 0, 0}, worst_gradient[3] = {0, 0, 0}, same = 1;
    frame f;
    while (rgb && back && i420 && (rc = source_next(src, &f, err, sizeof err)) == 0) {
        make_picture(rgb, w, h, frames, block);
        mnv_image img, expect;
        mnv_image_pack(&img, MNV_PIX_RGB24, w, h, rgb);
        mnv_image_pack(&expect, MNV_PIX_I420, w, h, i420);
        mnv_image_from_rgb24(&img, &expect);
        same &= f.img.width == w && f.img.height == h && planes_equal(&f.img, &expect);
        CHECK(mnv_image_to_rgb24(&f.img, back, (size_t)w * 3) == 0, "%s: frame %d to rgb", path, frames);
        CHECK(fabs(f.pts - frames / rate_value) < 1e-9, "%s: frame %d at %.6f s", path, frames, f.pts);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w * 3; x++) {
                size_t i = (size_t)y * w * 3 + (size_t)x;
                int d = abs((int)back[i] - (int)rgb[i]), *worst = y < gradient_top(h) ? worst_flat : worst_gradient;
                if (d > worst[x % 3])
                    worst[x % 3] = d;
            }
        source_release(&f);
        frames++;
    }
    CHECK(rc == MNV_END, "%s: after %d frames: %d %s", path, frames, rc, rc < 0 ? err : "");
    CHECK(frames == n, "%s: %d frames read back, %d written", path, frames, n);
    CHECK(same, "%s: the planes read back differ from mnv_image_from_rgb24's", path);
    CHECK(worst_flat[0] <= 1 && worst_flat[1] <= 1 && worst_flat[2] <= 2,
          "%s: flat blocks came back within R %d G %d B %d levels (derived bound 1 1 2)", path, worst_flat[0],
          worst_flat[1], worst_flat[2]);
    CHECK(worst_gradient[0] <= 4 && worst_gradient[1] <= 3 && worst_gradient[2] <= 3,
          "%s: the gradient came back within R %d G %d B %d levels (derived bound 4 3 3)", path, worst_gradient[0],
          worst_gradient[1], worst_gradient[2]);
    printf("%s: %d frames, largest error flat R %d G %d B %d, gradient R %d G %d B %d\n", name, frames,
           worst_flat[0], worst_flat[1], worst_flat[2], worst_gradient[0], worst_gradient[1], worst_gradient[2]);
    free(rgb), free(back), free(i420);
    source_close(src);
}

/* F as written for fps, and the rate the Y4M source reads from it. */
static void check_rate(double fps, const char *rate, double value)
{
    char name[64], err[512], line[256], want[128];
    snprintf(name, sizeof name, "rate%g.y4m", fps);
    const char *path = tmp_path(name);
    recorder *r = NULL;
    int rc = recorder_open(&r, path, 2, 2, fps, err, sizeof err);
    CHECK(rc == 0, "%g fps: %s", fps, err);
    CHECK(recorder_close(r, err, sizeof err) == 0, "%g fps: close: %s", fps, err);
    snprintf(want, sizeof want, "YUV4MPEG2 W2 H2 F%s Ip A1:1 C420jpeg XCOLORRANGE=LIMITED", rate);
    CHECK(first_line(path, line, sizeof line) > 0 && strcmp(line, want) == 0, "%g fps: header '%s', want '%s'", fps,
          line, want);
    frame_source *src = NULL;
    rc = y4m_source_open(&src, path, err, sizeof err);
    CHECK(rc == 0, "%g fps: read back: %s", fps, err);
    if (rc == 0) {
        CHECK(fabs(source_get_info(src)->fps - value) < 1e-9, "%g fps: read back as %.9f", fps,
              source_get_info(src)->fps);
        frame f;
        CHECK(source_next(src, &f, err, sizeof err) == MNV_END, "%g fps: a recording without frames has frames", fps);
        source_close(src);
    }
}

static int run_y4m(void)
{
    check_y4m_video(64, 48, 30, "30:1", 30);
    check_y4m_video(33, 17, 29.97, "30000:1001", 30000.0 / 1001);
    check_y4m_video(7, 1, 10, "10:1", 10);
    check_y4m_video(1, 1, 12.5, "25:2", 12.5);
    check_y4m_video(2, 3, 25, "25:1", 25);
    check_rate(10, "10:1", 10);
    check_rate(29.97, "30000:1001", 30000.0 / 1001);
    check_rate(30000.0 / 1001, "30000:1001", 30000.0 / 1001);
    check_rate(23.976, "24000:1001", 24000.0 / 1001);
    check_rate(59.94, "60000:1001", 60000.0 / 1001);
    check_rate(60, "60:1", 60);
    check_rate(12.5, "25:2", 12.5);
    check_rate(7.3, "73:10", 7.3);
    check_rate(0.5, "1:2", 0.5);
    check_rate(0.001, "1:1000", 0.001);
    check_rate(1000, "1000:1", 1000);

    /* The extension in any case is ours. */
    const char *upper = tmp_path("UPPER.Y4M");
    char line[256];
    if (record_video(upper, 4, 2, 5, 1, 2) == 0)
        CHECK(first_line(upper, line, sizeof line) > 0 && strncmp(line, "YUV4MPEG2 W4 H2 F5:1 ", 21) == 0,
              "%s: header '%s'", upper, line);
    return 0;
}

/* ---- ffmpeg -------------------------------------------------------------- */

#define FF_FRAMES 12
#define FF_BLOCK 16

/* Mean of channel c over the interior (inset 4) of block (bx, by) of a w
 * wide RGB picture. */
static double block_mean(const uint8_t *rgb, int w, int bx, int by, int c)
{
    double sum = 0;
    int n = 0;
    for (int y = by * FF_BLOCK + 4; y < (by + 1) * FF_BLOCK - 4; y++)
        for (int x = bx * FF_BLOCK + 4; x < (bx + 1) * FF_BLOCK - 4; x++, n++)
            sum += rgb[((size_t)y * w + x) * 3 + c];
    return sum / n;
}

/* The video at path, read by the FFmpeg source: n frames of w x h at fps,
 * each whole flat block's interior within tol levels of its colour. */
static void check_ffmpeg_video(const char *path, int w, int h, double fps, int n, double tol)
{
    char err[512];
    frame_source *src = NULL;
    int rc = ffmpeg_source_open(&src, path, err, sizeof err);
    CHECK(rc == 0, "%s: read back: %s", path, err);
    if (rc != 0)
        return;
    const source_info *info = source_get_info(src);
    CHECK(info->width == w && info->height == h, "%s: %dx%d, want %dx%d", path, info->width, info->height, w, h);
    CHECK(fabs(info->fps - fps) < 0.01, "%s: %.4f fps, want %.4f", path, info->fps, fps);
    uint8_t *rgb = malloc((size_t)w * h * 3), *back = malloc((size_t)w * h * 3);
    int frames = 0;
    double worst = 0;
    frame f;
    while (rgb && back && (rc = source_next(src, &f, err, sizeof err)) == 0) {
        int fits = f.img.width == w && f.img.height == h;
        CHECK(fits, "%s: frame %d is %dx%d", path, frames, f.img.width, f.img.height);
        if (frames < n && fits) {
            make_picture(rgb, w, h, frames, FF_BLOCK);
            CHECK(mnv_image_to_rgb24(&f.img, back, (size_t)w * 3) == 0, "%s: frame %d to rgb", path, frames);
            CHECK(fabs(f.pts - frames / fps) < 0.002, "%s: frame %d at %.4f s, want %.4f", path, frames, f.pts,
                  frames / fps);
            for (int by = 0; by < gradient_top(h) / FF_BLOCK; by++)
                for (int bx = 0; bx < w / FF_BLOCK; bx++)
                    for (int c = 0; c < 3; c++) {
                        double d = fabs(block_mean(back, w, bx, by, c) - block_mean(rgb, w, bx, by, c));
                        if (d > worst)
                            worst = d;
                    }
        }
        source_release(&f);
        frames++;
    }
    CHECK(rc == MNV_END, "%s: after %d frames: %s", path, frames, rc < 0 ? err : "?");
    CHECK(frames == n, "%s: %d frames read back, %d written", path, frames, n);
    /* Each frame moves the palette along: a frame out of place would be off
     * by a whole palette step (127 levels or more in some channel). */
    CHECK(worst <= tol, "%s: a flat block's mean is %.2f levels off (tolerance %.1f)", path, worst, tol);
    printf("%s: %d frames %dx%d at %.3f fps (%s), flat blocks within %.2f levels\n", strrchr(path, '/') + 1, frames,
           info->width, info->height, info->fps, mnv_pixfmt_name(info->format), worst);
    free(rgb), free(back);
    source_close(src);
}

static int run_ffmpeg(void)
{
    if (!ffmpeg_source_available()) {
        printf("SKIP: this build has no FFmpeg (install libavformat-dev libavcodec-dev libswscale-dev, "
               "meson -Dffmpeg=enabled): only .y4m recordings\n");
        return 77;
    }
    /* Lossy: a flat block's mean stays within a few levels (measured: at
     * most 1.5 with the encoders' defaults). An odd size goes to MPEG-4
     * (.avi), which takes it, and to H.264 (.mkv), whose libx264 wants even
     * sizes: recorded, or refused at open naming the encoder. */
    static const struct {
        const char *name;
        int w, h;
        double fps, tol;
    } clips[] = {
        {"clip.mkv", 160, 120, 10, 6}, {"clip.mp4", 160, 120, 10, 6}, {"clip.avi", 160, 120, 10, 6},
        {"ntsc.mkv", 160, 120, 30000.0 / 1001, 6}, {"odd.avi", 161, 121, 10, 6}, {"odd.mkv", 161, 121, 10, 6},
    };
    enum { N_CLIPS = sizeof clips / sizeof clips[0] };
    /* Recorded before any FFmpeg source opens (a source installs the same
     * log callback): FFmpeg must print nothing, its encoders' statistics
     * included, with only the recorder having told it so. */
    const char *log_path = tmp_path("stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved < 0 || fd < 0 || dup2(fd, 2) < 0) {
        CHECK(0, "cannot redirect stderr to %s", log_path);
        return 1;
    }
    close(fd);
    int rc[N_CLIPS];
    char why[N_CLIPS][512];
    for (int i = 0; i < N_CLIPS; i++) {
        const char *path = tmp_path(clips[i].name);
        recorder *r = NULL;
        rc[i] = recorder_open(&r, path, clips[i].w, clips[i].h, clips[i].fps, why[i], sizeof why[i]);
        recorder_close(r, why[i], sizeof why[i]);
        if (rc[i] == 0) /* again, with frames */
            rc[i] = record_video(path, clips[i].w, clips[i].h, clips[i].fps, FF_FRAMES, FF_BLOCK);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long long printed = file_size(log_path);
    CHECK(printed == 0, "FFmpeg printed %lld bytes while recording (in %s)", printed, log_path);
    if (printed > 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "head -c 2000 '%s' >&2", log_path);
        if (system(cmd) != 0)
            fprintf(stderr, "(cannot show it)\n");
    }
    for (int i = 0; i < N_CLIPS; i++) {
        const char *path = tmp_path(clips[i].name);
        int odd_h264 = strcmp(clips[i].name, "odd.mkv") == 0;
        if (odd_h264 && rc[i] != 0) {
            CHECK(rc[i] == MNV_EUNSUPPORTED && contains(why[i], path) && contains(why[i], "encoder") &&
                      access(path, F_OK) != 0,
                  "%s: refused with %d '%s'%s", path, rc[i], why[i], access(path, F_OK) == 0 ? ", file left" : "");
            printf("%s: refused: %s\n", clips[i].name, why[i]);
            continue;
        }
        CHECK(rc[i] == 0, "%s: %s", path, why[i]);
        if (rc[i] == 0)
            check_ffmpeg_video(path, clips[i].w, clips[i].h, clips[i].fps, FF_FRAMES, clips[i].tol);
    }
    return 0;
}

/* ---- errors -------------------------------------------------------------- */

static void check_open_fails(const char *path, int w, int h, double fps, int want, const char *must_say,
                             const char *what)
{
    char err[1024] = "";
    recorder *r = (recorder *)&err; /* not NULL: open must clear it */
    int rc = recorder_open(&r, path, w, h, fps, err, sizeof err);
    CHECK(rc == want && r == NULL, "%s: got %d, want %d (%s)", what, rc, want, err);
    CHECK(must_say == NULL || contains(err, must_say), "%s: message '%s' does not say '%s'", what, err, must_say);
    if (rc == 0)
        recorder_close(r, err, sizeof err);
}

static void bad_images(const char *path)
{
    char err[512];
    recorder *r = NULL;
    int rc = recorder_open(&r, path, 8, 6, 10, err, sizeof err);
    CHECK(rc == 0, "%s: %s", path, err);
    if (rc != 0)
        return;
    uint8_t rgb[8 * 6 * 3], other[10 * 6 * 3];
    memset(rgb, 100, sizeof rgb);
    memset(other, 100, sizeof other);
    mnv_image good, img;
    mnv_image_pack(&good, MNV_PIX_RGB24, 8, 6, rgb);
    mnv_image_pack(&img, MNV_PIX_RGB24, 10, 6, other);
    rc = recorder_write(r, &img, err, sizeof err);
    CHECK(rc == MNV_EINVAL && contains(err, path) && contains(err, "10x6") && contains(err, "8x6"),
          "%s: a 10x6 image into 8x6: %d '%s'", path, rc, err);
    mnv_image_pack(&img, MNV_PIX_I420, 8, 6, other);
    rc = recorder_write(r, &img, err, sizeof err);
    CHECK(rc == MNV_EINVAL && contains(err, "i420"), "%s: an i420 image: %d '%s'", path, rc, err);
    img = good;
    img.stride[0] = 8 * 3 - 1;
    rc = recorder_write(r, &img, err, sizeof err);
    CHECK(rc == MNV_EINVAL && contains(err, path), "%s: a short stride: %d '%s'", path, rc, err);
    img = good;
    img.plane[0] = NULL;
    rc = recorder_write(r, &img, err, sizeof err);
    CHECK(rc == MNV_EINVAL, "%s: no pixels: %d '%s'", path, rc, err);
    rc = recorder_write(r, NULL, err, sizeof err);
    CHECK(rc == MNV_EINVAL, "%s: NULL image: %d '%s'", path, rc, err);
    rc = recorder_write(NULL, &good, err, sizeof err);
    CHECK(rc == MNV_EINVAL, "NULL recorder: %d '%s'", rc, err);
    /* Refused images leave the recording good. */
    rc = recorder_write(r, &good, err, sizeof err);
    CHECK(rc == 0, "%s: a good frame after bad ones: %s", path, err);
    rc = recorder_close(r, err, sizeof err);
    CHECK(rc == 0, "%s: close: %s", path, err);
}

/* Recording to path, a link to /dev/full: MNV_EIO naming the path, at a
 * write or at close, and at close whenever a write failed. A Y4M frame
 * larger than stdio's buffer fails at its own write (at_once). */
static void disk_full(const char *path, int at_once)
{
    const int w = 64, h = 48;
    char err[512];
    if (symlink("/dev/full", path) != 0) {
        CHECK(0, "symlink %s", path);
        return;
    }
    recorder *r = NULL;
    int rc = recorder_open(&r, path, w, h, 25, err, sizeof err);
    if (rc != 0) {
        CHECK(rc == MNV_EIO && contains(err, path), "%s: open: %d '%s'", path, rc, err);
        return;
    }
    uint8_t *rgb = malloc((size_t)w * h * 3);
    int failed_at = -1, writes = 0;
    for (int k = 0; k < 30 && rgb && failed_at < 0; k++, writes++) {
        make_picture(rgb, w, h, k, 8);
        mnv_image img;
        mnv_image_pack(&img, MNV_PIX_RGB24, w, h, rgb);
        rc = recorder_write(r, &img, err, sizeof err);
        if (rc != 0) {
            failed_at = k;
            CHECK(rc == MNV_EIO && contains(err, path), "%s: write: %d '%s'", path, rc, err);
            /* A damaged recording takes no more frames. */
            rc = recorder_write(r, &img, err, sizeof err);
            CHECK(rc == MNV_EIO && contains(err, "earlier write failed"), "%s: write after a failure: %d '%s'", path,
                  rc, err);
        }
    }
    free(rgb);
    CHECK(!at_once || failed_at == 0, "%s: the first frame's write did not fail (%d)", path, failed_at);
    rc = recorder_close(r, err, sizeof err);
    CHECK(rc == MNV_EIO && contains(err, path), "%s: close after %d writes (%s): %d '%s'", path, writes,
          failed_at >= 0 ? "one failed" : "all accepted", rc, err);
    printf("%s: %s%s\n", strrchr(path, '/') + 1, failed_at >= 0 ? "a write failed; close: " : "close: ", err);
}

static int run_errors(void)
{
    char err[512];
    const char *good = tmp_path("good.y4m");
    int rc = recorder_open(NULL, good, 8, 8, 10, err, sizeof err);
    CHECK(rc == MNV_EINVAL, "NULL out: %d", rc);
    check_open_fails(NULL, 8, 8, 10, MNV_EINVAL, NULL, "NULL path");
    check_open_fails("", 8, 8, 10, MNV_EINVAL, NULL, "empty path");
    check_open_fails(good, 0, 8, 10, MNV_EINVAL, good, "width 0");
    check_open_fails(good, 8, -1, 10, MNV_EINVAL, "8x-1", "height -1");
    check_open_fails(good, 16385, 8, 10, MNV_EINVAL, "16384", "width 16385");
    check_open_fails(good, 8, 8, 0, MNV_EINVAL, "frame rate", "0 fps");
    check_open_fails(good, 8, 8, -25, MNV_EINVAL, "frame rate", "-25 fps");
    check_open_fails(good, 8, 8, NAN, MNV_EINVAL, "frame rate", "NaN fps");
    check_open_fails(good, 8, 8, INFINITY, MNV_EINVAL, "frame rate", "infinite fps");
    check_open_fails(good, 8, 8, 0.0001, MNV_EINVAL, "frame rate", "0.0001 fps");
    check_open_fails(good, 8, 8, 5000, MNV_EINVAL, "frame rate", "5000 fps");
    CHECK(access(good, F_OK) != 0, "%s exists after refused opens", good);
    CHECK(recorder_close(NULL, err, sizeof err) == 0, "close(NULL)");

    /* Paths that cannot be created: named, MNV_EIO. */
    const char *missing_y4m = tmp_path("no-such-dir/out.y4m");
    check_open_fails(missing_y4m, 8, 8, 10, MNV_EIO, missing_y4m, "a directory that does not exist (.y4m)");
    const char *dir_y4m = tmp_path("dir.y4m");
    CHECK(mkdir(dir_y4m, 0755) == 0, "mkdir %s", dir_y4m);
    check_open_fails(dir_y4m, 8, 8, 10, MNV_EIO, dir_y4m, "a directory named .y4m");

    /* Other extensions: FFmpeg's, or refused saying to use .y4m. */
    const char *xyz = tmp_path("out.xyz"), *noext = tmp_path("out"), *wav = tmp_path("out.wav");
    const char *png = tmp_path("out.png"), *missing_mkv = tmp_path("no-such-dir/out.mkv");
    if (ffmpeg_source_available()) {
        check_open_fails(xyz, 8, 8, 10, MNV_EUNSUPPORTED, xyz, "unknown extension");
        check_open_fails(noext, 8, 8, 10, MNV_EUNSUPPORTED, noext, "no extension");
        check_open_fails(wav, 8, 8, 10, MNV_EUNSUPPORTED, "no video", "an audio container");
        check_open_fails(png, 8, 8, 10, MNV_EUNSUPPORTED, ".mkv", "an image sequence");
        check_open_fails(missing_mkv, 16, 16, 10, MNV_EIO, missing_mkv, "a directory that does not exist (.mkv)");
    } else {
        check_open_fails(tmp_path("out.mkv"), 8, 8, 10, MNV_EUNSUPPORTED, ".y4m", ".mkv without FFmpeg");
        check_open_fails(xyz, 8, 8, 10, MNV_EUNSUPPORTED, ".y4m", "unknown extension without FFmpeg");
    }
    CHECK(access(xyz, F_OK) != 0 && access(noext, F_OK) != 0, "refused extensions left files behind");

    /* Images the recording does not take. */
    bad_images(tmp_path("images.y4m"));
    char line[256];
    CHECK(file_size(tmp_path("images.y4m")) == first_line(tmp_path("images.y4m"), line, sizeof line) + 6 +
                                                   (long long)mnv_image_size(MNV_PIX_I420, 8, 6),
          "images.y4m: not one frame long");
    if (ffmpeg_source_available())
        bad_images(tmp_path("images.mkv"));

    /* A full disk, through links named for the writer to use. */
    if (access("/dev/full", W_OK) == 0) {
        disk_full(tmp_path("full.y4m"), 1);
        if (ffmpeg_source_available())
            disk_full(tmp_path("full.mkv"), 0);
    } else {
        printf("note: no writable /dev/full here: the full-disk cases did not run\n");
    }
    return 0;
}

/* ---- time ---------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int run_time(int w, int h, int frames)
{
    const char *names[] = {"time.y4m", "time.mkv"};
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return 1;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !ffmpeg_source_available())
            break;
        char err[512];
        recorder *r = NULL;
        if (recorder_open(&r, tmp_path(names[i]), w, h, 30, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            free(rgb);
            return 1;
        }
        double total = 0;
        for (int k = 0; k < frames; k++) {
            make_picture(rgb, w, h, k, 32);
            mnv_image img;
            mnv_image_pack(&img, MNV_PIX_RGB24, w, h, rgb);
            double t0 = now_ms();
            if (recorder_write(r, &img, err, sizeof err) != 0)
                fprintf(stderr, "%s\n", err);
            total += now_ms() - t0;
        }
        double t0 = now_ms();
        int rc = recorder_close(r, err, sizeof err);
        double close_ms = now_ms() - t0;
        printf("%s: %dx%d, %d frames: recorder_write %.2f ms a frame, recorder_close %.1f ms%s%s\n", names[i], w, h,
               frames, total / frames, close_ms, rc ? ": " : "", rc ? err : "");
    }
    free(rgb);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mnv2det-recorder-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc;
    if (strcmp(mode, "y4m") == 0)
        rc = run_y4m();
    else if (strcmp(mode, "ffmpeg") == 0)
        rc = run_ffmpeg();
    else if (strcmp(mode, "errors") == 0)
        rc = run_errors();
    else if (strcmp(mode, "time") == 0)
        rc = run_time(argc > 3 ? atoi(argv[2]) : 640, argc > 3 ? atoi(argv[3]) : 480, argc > 4 ? atoi(argv[4]) : 100);
    else {
        fprintf(stderr, "usage: test_recorder y4m | ffmpeg | errors | time [W H [FRAMES]]\n");
        rc = 2;
    }
    nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc != 0 || strcmp(mode, "time") == 0)
        return rc;
    return check_finish(argv[0]);
}
