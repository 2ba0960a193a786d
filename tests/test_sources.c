/*
 * File sources against files this test writes itself: Y4M in every layout
 * with exact pixel checks, malformed and cut at every byte, images, a
 * directory, a chain of inputs, loop, pipes and standard input, the limit
 * of frames out, release from another thread. Runs in the robustness suite
 * too (ASan + UBSan): every bad input must fail cleanly.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "capture/capture.h"
#include "check.h"

static char tmp_dir[256];

/* dir/name in one of a few rotating buffers: callers hold several at once. */
static const char *join(const char *dir, const char *name)
{
    static char paths[16][600];
    static int next;
    char joined[sizeof paths[0]];
    snprintf(joined, sizeof joined, "%s/%s", dir, name);
    char *p = paths[next++ % 16];
    memcpy(p, joined, sizeof joined);
    return p;
}

static const char *tmp_path(const char *name)
{
    return join(tmp_dir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* ---- Y4M files made here ------------------------------------------------ */

typedef enum layout { L420, L422, L444, LMONO } layout;

static uint8_t sample(int frame, int plane, int x, int y)
{
    return (uint8_t)(frame * 37 + plane * 83 + x * 7 + y * 19 + (x * y) % 5);
}

static void plane_size(layout l, int w, int h, int plane, int *pw, int *ph)
{
    *pw = w;
    *ph = h;
    if (plane == 0 || l == L444)
        return;
    *pw = (w + 1) / 2;
    if (l == L420)
        *ph = (h + 1) / 2;
}

static size_t frame_bytes(layout l, int w, int h)
{
    size_t n = 0;
    for (int p = 0; p < (l == LMONO ? 1 : 3); p++) {
        int pw, ph;
        plane_size(l, w, h, p, &pw, &ph);
        n += (size_t)pw * (size_t)ph;
    }
    return n;
}

/* header (without its newline), then frames each led by frame_line. */
static uint8_t *make_y4m(const char *header, int w, int h, layout l, int frames, const char *frame_line,
                         size_t *len)
{
    size_t cap = strlen(header) + 1 + (size_t)frames * (strlen(frame_line) + 1 + frame_bytes(l, w, h));
    uint8_t *b = malloc(cap), *p = b;
    p += sprintf((char *)p, "%s\n", header);
    for (int n = 0; n < frames; n++) {
        p += sprintf((char *)p, "%s\n", frame_line);
        for (int pl = 0; pl < (l == LMONO ? 1 : 3); pl++) {
            int pw, ph;
            plane_size(l, w, h, pl, &pw, &ph);
            for (int y = 0; y < ph; y++)
                for (int x = 0; x < pw; x++)
                    *p++ = sample(n, pl, x, y);
        }
    }
    *len = (size_t)(p - b);
    return b;
}

static void write_y4m(const char *path, const char *header, int w, int h, layout l, int frames,
                      const char *frame_line)
{
    size_t len;
    uint8_t *b = make_y4m(header, w, h, l, frames, frame_line, &len);
    write_file(path, b, len);
    free(b);
}

/* What 4:4:4 chroma becomes: the rounded mean of each 2x2 block. */
static uint8_t halved(int n, int plane, int x, int y, int w, int h)
{
    unsigned sum = 0, count = 0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
            if (2 * x + dx < w && 2 * y + dy < h) {
                sum += sample(n, plane, 2 * x + dx, 2 * y + dy);
                count++;
            }
    return (uint8_t)((sum + count / 2) / count);
}

/* Every pixel of frame n of a file written by make_y4m, as handed out. */
static int frame_mismatches(const frame *f, layout l, int w, int h, int n)
{
    const mnv_image *im = &f->img;
    if (im->width != w || im->height != h)
        return -1;
    int bad = 0, cw = (w + 1) / 2, ch = (h + 1) / 2;
    if (l == L422) {
        if (im->format != MNV_PIX_YUYV)
            return -1;
        for (int y = 0; y < h; y++) {
            const uint8_t *r = im->plane[0] + (size_t)y * im->stride[0];
            for (int i = 0; i < cw; i++) {
                int x1 = 2 * i + 1 < w ? 2 * i + 1 : 2 * i;
                bad += r[4 * i] != sample(n, 0, 2 * i, y) || r[4 * i + 1] != sample(n, 1, i, y) ||
                       r[4 * i + 2] != sample(n, 0, x1, y) || r[4 * i + 3] != sample(n, 2, i, y);
            }
        }
        return bad;
    }
    if (im->format != MNV_PIX_I420)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            bad += im->plane[0][(size_t)y * im->stride[0] + (size_t)x] != sample(n, 0, x, y);
    for (int p = 1; p <= 2; p++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                uint8_t got = im->plane[p][(size_t)y * im->stride[p] + (size_t)x];
                uint8_t want = l == L420 ? sample(n, p, x, y) : l == L444 ? halved(n, p, x, y, w, h) : 128;
                bad += got != want;
            }
    return bad;
}

/* Reads a good Y4M file through y4m_source_open and checks all of it. */
static void check_y4m_file(const char *what, const char *header, int w, int h, layout l, const char *frame_line,
                           int rate_num, int rate_den)
{
    const char *path = tmp_path("good.y4m");
    const int frames = 3;
    write_y4m(path, header, w, h, l, frames, frame_line);
    frame_source *s;
    char err[512] = "";
    int rc = y4m_source_open(&s, path, err, sizeof err);
    CHECK(rc == 0, "%s: open: %d %s", what, rc, err);
    if (rc != 0)
        return;
    const source_info *info = source_get_info(s);
    CHECK(strcmp(info->kind, "y4m") == 0 && info->width == w && info->height == h, "%s: info %s %dx%d", what,
          info->kind, info->width, info->height);
    CHECK(info->format == (l == L422 ? MNV_PIX_YUYV : MNV_PIX_I420), "%s: info format %s", what,
          mnv_pixfmt_name(info->format));
    CHECK(fabs(info->fps - (double)rate_num / rate_den) < 1e-9, "%s: fps %g", what, info->fps);
    for (int n = 0; n < frames; n++) {
        frame f;
        rc = source_next(s, &f, err, sizeof err);
        CHECK(rc == 0, "%s: frame %d: %d %s", what, n, rc, err);
        if (rc != 0)
            break;
        int bad = frame_mismatches(&f, l, w, h, n);
        CHECK(bad == 0, "%s: frame %d: %d wrong pixels (-1: format %s or size %dx%d)", what, n, bad,
              mnv_pixfmt_name(f.img.format), f.img.width, f.img.height);
        CHECK(f.seq == (uint64_t)n, "%s: seq %llu", what, (unsigned long long)f.seq);
        CHECK(fabs(f.pts - (double)n * rate_den / rate_num) < 1e-12, "%s: frame %d pts %.17g", what, n, f.pts);
        CHECK(f.name && strcmp(f.name, path) == 0, "%s: name %s", what, f.name);
        CHECK(f.t_capture_ns > 0, "%s: no capture time", what);
        source_release(&f);
    }
    frame f;
    rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == MNV_END, "%s: after the last frame: %d %s", what, rc, err);
    CHECK(source_next(s, &f, err, sizeof err) == MNV_END, "%s: end is not sticky", what);
    source_close(s);
}

static void test_y4m_good(void)
{
    check_y4m_file("420 no C", "YUV4MPEG2 W7 H5 F30000:1001", 7, 5, L420, "FRAME", 30000, 1001);
    check_y4m_file("420jpeg", "YUV4MPEG2 W8 H6 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG", 8, 6, L420, "FRAME", 25, 1);
    check_y4m_file("420paldv", "YUV4MPEG2 W6 H4 F25:1 C420paldv", 6, 4, L420, "FRAME", 25, 1);
    check_y4m_file("420mpeg2", "YUV4MPEG2 W5 H3 F24:1 C420mpeg2", 5, 3, L420, "FRAME", 24, 1);
    check_y4m_file("420", "YUV4MPEG2 W1 H1 F1:1 C420", 1, 1, L420, "FRAME", 1, 1);
    check_y4m_file("422 odd", "YUV4MPEG2 C422 W5 H3 F30:1", 5, 3, L422, "FRAME", 30, 1);
    check_y4m_file("422 even", "YUV4MPEG2 W8 H2 F30:1 C422", 8, 2, L422, "FRAME", 30, 1);
    check_y4m_file("444 odd", "YUV4MPEG2 W5 H3 F30:1 C444", 5, 3, L444, "FRAME", 30, 1);
    check_y4m_file("444 even", "YUV4MPEG2 W6 H4 F30:1 C444", 6, 4, L444, "FRAME", 30, 1);
    check_y4m_file("mono", "YUV4MPEG2 W5 H3 F30:1 Cmono", 5, 3, LMONO, "FRAME", 30, 1);
    /* Parameters in any order, extra spaces, FRAME parameters. */
    check_y4m_file("order", "YUV4MPEG2 Ip XYSCSS=422 F50:2  H3 A10:11 C422 W5", 5, 3, L422, "FRAME Ip XFOO=1", 50, 2);
    /* No F, or F0:0 (unknown): 25 fps. */
    check_y4m_file("no F", "YUV4MPEG2 W4 H2", 4, 2, L420, "FRAME", 25, 1);
    check_y4m_file("F0:0", "YUV4MPEG2 W4 H2 F0:0", 4, 2, L420, "FRAME", 25, 1);
}

/* Opens content as a Y4M file and expects the open or the first frames to fail. */
static void expect_y4m_error(const char *content, size_t len, int want_rc, const char *needle)
{
    const char *path = tmp_path("clip.y4m");
    write_file(path, content, len);
    frame_source *s = NULL;
    char err[512] = "";
    int rc = y4m_source_open(&s, path, err, sizeof err);
    if (rc == 0) { /* the header was fine: the frames are not */
        frame f;
        for (int i = 0; i < 10 && (rc = source_next(s, &f, err, sizeof err)) == 0; i++)
            source_release(&f);
        char after[512];
        CHECK(rc != 0 && source_next(s, &f, after, sizeof after) == MNV_END, "%.40s: an error does not end the stream",
              content);
        source_close(s);
    } else {
        CHECK(s == NULL, "%.40s: source left after a failed open", content);
    }
    CHECK(rc == want_rc, "%.40s: rc %d, want %d (%s)", content, rc, want_rc, err);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, needle), "%.40s: message '%s' lacks the path or '%s'",
          content, err, needle);
    CHECK(!strchr(err, '\n'), "%.40s: message has a newline", content);
}

static void test_y4m_malformed(void)
{
    static const struct {
        const char *content;
        int rc;
        const char *needle;
    } cases[] = {
        {"", MNV_EFORMAT, "empty"},
        {"YUV4MPEG3 W4 H2 F25:1\n", MNV_EFORMAT, "not a Y4M file"},
        {"YUV4MPEG2W4 H2\n", MNV_EFORMAT, "not a Y4M file"},
        {"RIFF\x10\0\0\0AVI LIST", MNV_EFORMAT, "not a Y4M file"},
        {"YUV4MPEG2 H2 F25:1\n", MNV_EFORMAT, "missing W (width)"},
        {"YUV4MPEG2 W4 F25:1\n", MNV_EFORMAT, "missing H (height)"},
        {"YUV4MPEG2 W4 H2 F25\n", MNV_EFORMAT, "bad frame rate (want F<num>:<den>) 'F25'"},
        {"YUV4MPEG2 W4 H2 F25:0\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W4 H2 F0:1\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W4 H2 Fa:1\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W4 H2 F-25:1\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W4 H2 F:\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W4 H2 F99999999999:1\n", MNV_EFORMAT, "bad frame rate"},
        {"YUV4MPEG2 W0 H2\n", MNV_EFORMAT, "width must be 1 to 16384, not 'W0'"},
        {"YUV4MPEG2 W16385 H2\n", MNV_EFORMAT, "width must be 1 to 16384"},
        {"YUV4MPEG2 W H2\n", MNV_EFORMAT, "width must be"},
        {"YUV4MPEG2 W4x H2\n", MNV_EFORMAT, "width must be"},
        {"YUV4MPEG2 W4 H99999999999999999999999\n", MNV_EFORMAT, "height must be 1 to 16384"},
        {"YUV4MPEG2 W4 H-2\n", MNV_EFORMAT, "height must be"},
        {"YUV4MPEG2 W4 H2 C411\n", MNV_EUNSUPPORTED, "Y4M colourspace 'C411' is not supported"},
        {"YUV4MPEG2 W4 H2 C444alpha\n", MNV_EUNSUPPORTED, "'C444alpha' is not supported"},
        {"YUV4MPEG2 W4 H2 Cmono16\n", MNV_EUNSUPPORTED, "'Cmono16' is not supported"},
        {"YUV4MPEG2 W4 H2 C422p10\n", MNV_EUNSUPPORTED, "'C422p10' is not supported"},
        {"YUV4MPEG2 W4 H2 C\n", MNV_EUNSUPPORTED, "colourspace 'C' is not supported"},
        {"YUV4MPEG2 W4 H2 Q7\n", MNV_EFORMAT, "unknown parameter 'Q7'"},
        {"YUV4MPEG2 W4 H2 Ix\n", MNV_EFORMAT, "bad interlacing"},
        {"YUV4MPEG2 W4 H2 Ipp\n", MNV_EFORMAT, "bad interlacing"},
        {"YUV4MPEG2 W4 H2 A1\n", MNV_EFORMAT, "bad pixel aspect"},
        {"YUV4MPEG2 W4 H2 F25:1", MNV_EFORMAT, "header: truncated"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAMX\n", MNV_EFORMAT, "frame 0: missing FRAME marker (found 'FRAMX')"},
        {"YUV4MPEG2 W4 H2 F25:1\nframe\n", MNV_EFORMAT, "frame 0: missing FRAME marker"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAMEX\n", MNV_EFORMAT, "frame 0: missing FRAME marker"},
        {"YUV4MPEG2 W4 H2 F25:1\n\n", MNV_EFORMAT, "frame 0: missing FRAME marker (found '')"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRA", MNV_EFORMAT, "frame 0: truncated (the stream ends in its FRAME line)"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAME Ip", MNV_EFORMAT, "frame 0: truncated"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAME\n0123", MNV_EFORMAT, "frame 0: truncated (4 of 12 bytes)"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAME\n0123456789abGARBAGE\n", MNV_EFORMAT, "frame 1: missing FRAME marker (found 'GARBAGE')"},
        {"YUV4MPEG2 W4 H2 F25:1\nFRAME\n0123456789ab\x01\xff\n", MNV_EFORMAT, "frame 1: missing FRAME marker (found '?\?')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_y4m_error(cases[i].content, strlen(cases[i].content), cases[i].rc, cases[i].needle);

    /* The exact message for 10-bit video. */
    const char *path = tmp_path("clip.y4m");
    write_file(path, "YUV4MPEG2 W4 H2 F25:1 C420p10\n", 30);
    frame_source *s;
    char err[512], want[600];
    CHECK(y4m_source_open(&s, path, err, sizeof err) == MNV_EUNSUPPORTED, "10-bit accepted");
    snprintf(want, sizeof want, "%s: Y4M colourspace 'C420p10' is not supported (8-bit 420, 422, 444 and mono are)",
             path);
    CHECK(strcmp(err, want) == 0, "10-bit message: '%s'", err);

    /* A NUL byte in the header, an over-long header, an over-long FRAME line. */
    expect_y4m_error("YUV4MPEG2 W4 H2\0 F25:1\n", 24, MNV_EFORMAT, "NUL byte");
    char *long_line = malloc(9000);
    memset(long_line, 'x', 9000);
    memcpy(long_line, "YUV4MPEG2 W4 H2 X", 17);
    long_line[8999] = '\n';
    expect_y4m_error(long_line, 9000, MNV_EFORMAT, "header: longer than 4095 bytes");
    int n = sprintf(long_line, "YUV4MPEG2 W4 H2\nFRAME ");
    memset(long_line + n, 'x', 9000 - (size_t)n);
    long_line[8999] = '\n';
    expect_y4m_error(long_line, 9000, MNV_EFORMAT, "frame 0: FRAME line longer than 4095 bytes");
    free(long_line);

    /* Sizes at the limit are accepted (the header alone allocates nothing):
     * a 16384x16384 4:2:0 frame needs 384 MiB, within the default cap. */
    write_file(path, "YUV4MPEG2 W16384 H16384 F25:1 C420\n", 35);
    CHECK(y4m_source_open(&s, path, err, sizeof err) == 0, "16384x16384 refused: %s", err);
    if (s) {
        frame f;
        CHECK(source_next(s, &f, err, sizeof err) == MNV_END, "header-only file has frames");
        source_close(s);
    }
}

/* A 3-frame file cut after every byte: the complete frames read exactly,
 * then a clean end (cut between frames) or one error naming the frame. */
static void test_y4m_truncated(layout l, const char *header)
{
    const int w = 5, h = 3, frames = 3;
    size_t len;
    uint8_t *full = make_y4m(header, w, h, l, frames, "FRAME", &len);
    size_t header_len = strlen(header) + 1, per_frame = 6 + frame_bytes(l, w, h);
    const char *path = tmp_path("cut.y4m");
    int failures = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        write_file(path, full, cut);
        frame_source *s = NULL;
        char err[512] = "";
        int rc = y4m_source_open(&s, path, err, sizeof err);
        if (cut < header_len) {
            failures += !(rc == MNV_EFORMAT && s == NULL && strncmp(err, path, strlen(path)) == 0);
            continue;
        }
        if (rc != 0) {
            failures++;
            continue;
        }
        size_t whole = (cut - header_len) / per_frame, rest = (cut - header_len) % per_frame;
        frame f;
        for (size_t n = 0; n < whole; n++) {
            rc = source_next(s, &f, err, sizeof err);
            failures += rc != 0 || frame_mismatches(&f, l, w, h, (int)n) != 0;
            source_release(&f);
        }
        rc = source_next(s, &f, err, sizeof err);
        char needle[64];
        snprintf(needle, sizeof needle, ": frame %zu: ", whole);
        int ok = rest == 0 ? rc == MNV_END : rc == MNV_EFORMAT && strstr(err, needle) && strstr(err, "truncated");
        if (!ok) {
            fprintf(stderr, "cut at %zu: rc %d '%s'\n", cut, rc, err);
            failures++;
        }
        failures += source_next(s, &f, err, sizeof err) != MNV_END;
        source_close(s);
    }
    CHECK(failures == 0, "%s: %d of %zu truncations misread", header, failures, len + 1);
    free(full);
}

/* ---- images, directories, chains ---------------------------------------- */

static uint8_t rgb_at(int seed, int x, int y, int c)
{
    return (uint8_t)(seed * 53 + x * 11 + y * 29 + c * 91);
}

static void write_ppm(const char *path, int w, int h, int seed)
{
    FILE *f = fopen(path, "wb");
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                fputc(rgb_at(seed, x, y, c), f);
    fclose(f);
}

static void write_png(const char *path, int w, int h, int seed)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = rgb_at(seed, x, y, c);
    if (!stbi_write_png(path, w, h, 3, px, w * 3)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    free(px);
}

static int image_mismatches(const frame *f, int w, int h, int seed)
{
    if (f->img.format != MNV_PIX_RGB24 || f->img.width != w || f->img.height != h)
        return -1;
    int bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                bad += f->img.plane[0][(size_t)y * f->img.stride[0] + (size_t)x * 3 + (size_t)c] != rgb_at(seed, x, y, c);
    return bad;
}

static void expect_image(frame_source *s, const char *path, int w, int h, int seed, uint64_t seq)
{
    frame f;
    char err[512] = "";
    int rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "%s: %d %s", path, rc, err);
    if (rc != 0)
        return;
    CHECK(image_mismatches(&f, w, h, seed) == 0, "%s: wrong pixels (%s %dx%d)", path,
          mnv_pixfmt_name(f.img.format), f.img.width, f.img.height);
    CHECK(f.name && strcmp(f.name, path) == 0, "name %s, want %s", f.name, path);
    CHECK(f.seq == seq && f.pts == 0, "%s: seq %llu pts %g", path, (unsigned long long)f.seq, f.pts);
    source_release(&f);
}

static void expect_end(frame_source *s, const char *what)
{
    frame f;
    char err[512] = "";
    int rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == MNV_END, "%s: %d %s, want the end", what, rc, err);
    if (rc == 0)
        source_release(&f);
}

static void test_images(void)
{
    const char *png = tmp_path("one.png"), *ppm = tmp_path("two.ppm");
    write_png(png, 5, 4, 1);
    write_ppm(ppm, 3, 2, 2);
    const char *paths[] = {png, ppm};
    frame_source *s;
    char err[512] = "";
    int rc = image_source_open(&s, paths, 2, err, sizeof err);
    CHECK(rc == 0, "images: %s", err);
    if (rc == 0) {
        const source_info *info = source_get_info(s);
        CHECK(strcmp(info->kind, "image") == 0 && info->format == MNV_PIX_RGB24 && info->width == 5 &&
              info->height == 4 && info->fps == 0, "image info %s %dx%d", info->kind, info->width, info->height);
        expect_image(s, png, 5, 4, 1, 0);
        expect_image(s, ppm, 3, 2, 2, 1);
        expect_end(s, "images");
        source_close(s);
    }
    /* A missing file fails the open, naming it. */
    const char *missing[] = {png, tmp_path("missing.png")};
    rc = image_source_open(&s, missing, 2, err, sizeof err);
    CHECK(rc == MNV_EIO && strstr(err, "missing.png: No such file"), "missing image: %d %s", rc, err);
}

static void test_directory(void)
{
    char dir[600], bad_dir[600], empty[600];
    snprintf(dir, sizeof dir, "%s", tmp_path("pictures"));
    snprintf(bad_dir, sizeof bad_dir, "%s", tmp_path("with-bad"));
    snprintf(empty, sizeof empty, "%s", tmp_path("no-images"));
    mkdir(dir, 0755);
    write_ppm(join(dir, "b.ppm"), 2, 2, 11);
    write_png(join(dir, "a.png"), 3, 2, 10);
    write_ppm(join(dir, "c.PPM"), 4, 1, 12);
    write_png(join(dir, ".hidden.png"), 3, 2, 99);
    write_file(join(dir, "notes.txt"), "not a picture\n", 14);
    write_y4m(join(dir, "clip.y4m"), "YUV4MPEG2 W2 H2 F1:1", 2, 2, L420, 1, "FRAME");
    mkdir(join(dir, "sub.png"), 0755);

    const char *paths[] = {dir};
    frame_source *s;
    char err[512] = "";
    int rc = image_source_open(&s, paths, 1, err, sizeof err);
    CHECK(rc == 0, "directory: %s", err);
    if (rc == 0) {
        expect_image(s, join(dir, "a.png"), 3, 2, 10, 0);
        expect_image(s, join(dir, "b.ppm"), 2, 2, 11, 1);
        expect_image(s, join(dir, "c.PPM"), 4, 1, 12, 2);
        expect_end(s, "directory");
        source_close(s);
    }
    /* The same through source_open_inputs, with a trailing slash. */
    char p[700];
    snprintf(p, sizeof p, "%s/", dir);
    const char *slash[] = {p};
    rc = source_open_inputs(&s, slash, 1, NULL, err, sizeof err);
    CHECK(rc == 0, "directory input: %s", err);
    if (rc == 0) {
        expect_image(s, join(dir, "a.png"), 3, 2, 10, 0);
        expect_image(s, join(dir, "b.ppm"), 2, 2, 11, 1);
        expect_image(s, join(dir, "c.PPM"), 4, 1, 12, 2);
        expect_end(s, "directory input");
        source_close(s);
    }

    /* A picture that does not decode: an error naming it, then the next one. */
    mkdir(bad_dir, 0755);
    write_png(join(bad_dir, "1.png"), 2, 2, 20);
    write_file(join(bad_dir, "2.png"), "\x89PNG\r\n\x1a\n garbage", 17);
    write_png(join(bad_dir, "3.png"), 2, 3, 21);
    const char *bad_paths[] = {bad_dir};
    rc = image_source_open(&s, bad_paths, 1, err, sizeof err);
    CHECK(rc == 0, "directory with a bad picture: %s", err);
    if (rc == 0) {
        expect_image(s, join(bad_dir, "1.png"), 2, 2, 20, 0);
        frame f;
        rc = source_next(s, &f, err, sizeof err);
        snprintf(p, sizeof p, "%s/2.png: ", bad_dir);
        CHECK(rc < 0 && strncmp(err, p, strlen(p)) == 0, "bad picture: %d '%s'", rc, err);
        expect_image(s, join(bad_dir, "3.png"), 2, 3, 21, 1);
        expect_end(s, "directory with a bad picture");
        source_close(s);
    }

    /* A directory without images. */
    mkdir(empty, 0755);
    write_file(join(empty, "readme.txt"), "x", 1);
    const char *empty_paths[] = {empty};
    rc = source_open_inputs(&s, empty_paths, 1, NULL, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strstr(err, "no-images: no image files"), "empty directory: %d %s", rc, err);
}

/* Reads frame by frame, checking seq, pts and name. */
static void expect_frame(frame_source *s, uint64_t seq, double pts, const char *name)
{
    frame f;
    char err[512] = "";
    int rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "frame %llu: %d %s", (unsigned long long)seq, rc, err);
    if (rc != 0)
        return;
    CHECK(f.seq == seq, "seq %llu, want %llu", (unsigned long long)f.seq, (unsigned long long)seq);
    CHECK(fabs(f.pts - pts) < 1e-9, "frame %llu: pts %.12g, want %.12g", (unsigned long long)seq, f.pts, pts);
    CHECK(f.name && strcmp(f.name, name) == 0, "frame %llu: name %s, want %s", (unsigned long long)seq, f.name, name);
    source_release(&f);
}

static void test_chain(void)
{
    /* Told by content: a Y4M named .png, a PPM named .y4m. */
    const char *a = tmp_path("a.png"), *b = tmp_path("b.y4m"), *pic = tmp_path("pic.y4m");
    write_y4m(a, "YUV4MPEG2 W4 H2 F10:1", 4, 2, L420, 3, "FRAME");
    write_y4m(b, "YUV4MPEG2 W6 H4 F5:1 C422", 6, 4, L422, 2, "FRAME");
    write_ppm(pic, 3, 3, 5);
    const char *paths[] = {a, b, pic, a};
    frame_source *s;
    char err[512] = "";
    int rc = source_open_inputs(&s, paths, 4, NULL, err, sizeof err);
    CHECK(rc == 0, "chain: %s", err);
    if (rc != 0)
        return;
    const source_info *info = source_get_info(s);
    CHECK(strcmp(info->kind, "y4m") == 0 && info->width == 4 && info->fps == 10 && strstr(info->name, "and 3 more"),
          "chain info %s %d %g %s", info->kind, info->width, info->fps, info->name);
    expect_frame(s, 0, 0.0, a);
    expect_frame(s, 1, 0.1, a);
    expect_frame(s, 2, 0.2, a);
    expect_frame(s, 3, 0.3, b);   /* a lasted 3 frames at 10 fps */
    expect_frame(s, 4, 0.5, b);
    expect_frame(s, 5, 0.7, pic); /* b lasted 2 frames at 5 fps */
    expect_frame(s, 6, 0.7, a);   /* a still image lasts nothing */
    expect_frame(s, 7, 0.8, a);
    expect_frame(s, 8, 0.9, a);
    expect_end(s, "chain");
    expect_end(s, "chain, again");
    source_close(s);

    /* An input that fails to open: an error, then the next input. */
    const char *broken = tmp_path("broken.y4m");
    write_file(broken, "YUV4MPEG2 W4 H2 C420p10\n", 24);
    const char *with_broken[] = {pic, broken, a};
    rc = source_open_inputs(&s, with_broken, 3, NULL, err, sizeof err);
    CHECK(rc == 0, "chain with a broken input: %s", err);
    if (rc == 0) {
        expect_frame(s, 0, 0, pic);
        frame f;
        rc = source_next(s, &f, err, sizeof err);
        CHECK(rc == MNV_EUNSUPPORTED && strstr(err, "broken.y4m: Y4M colourspace 'C420p10'"), "broken input: %d %s",
              rc, err);
        expect_frame(s, 1, 0, a);
        source_close(s); /* before the end: allowed */
    }

    /* The first input's errors fail the open. */
    const char *first_broken[] = {broken, a};
    rc = source_open_inputs(&s, first_broken, 2, NULL, err, sizeof err);
    CHECK(rc == MNV_EUNSUPPORTED && s == NULL, "first input broken: %d", rc);
    const char *missing[] = {a, tmp_path("nothing-here.y4m")};
    rc = source_open_inputs(&s, missing, 2, NULL, err, sizeof err);
    CHECK(rc == MNV_EIO && strstr(err, "nothing-here.y4m: No such file or directory"), "missing input: %d %s", rc,
          err);
    const char *empty = tmp_path("empty.bin");
    write_file(empty, "", 0);
    const char *empties[] = {empty};
    rc = source_open_inputs(&s, empties, 1, NULL, err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strstr(err, "empty.bin: empty file"), "empty input: %d %s", rc, err);
    rc = source_open_inputs(&s, paths, 0, NULL, err, sizeof err);
    CHECK(rc == MNV_EINVAL, "no inputs: %d", rc);

    /* Neither image nor Y4M: FFmpeg's turn, or the word on how to get it. */
    const char *garbage = tmp_path("x.mp4");
    uint8_t junk[3000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7919u >> 3);
    write_file(garbage, junk, sizeof junk);
    const char *garbage_paths[] = {garbage};
    rc = source_open_inputs(&s, garbage_paths, 1, NULL, err, sizeof err);
    char want[700];
    if (ffmpeg_source_available()) {
        snprintf(want, sizeof want, "%s: not an image, Y4M or video file FFmpeg can read (", garbage);
        CHECK(rc == MNV_EFORMAT && strncmp(err, want, strlen(want)) == 0, "garbage: %d %s", rc, err);
    } else {
        snprintf(want, sizeof want,
                 "%s: not an image or Y4M file, and this build has no FFmpeg for other video (install "
                 "libavformat-dev libavcodec-dev libswscale-dev and reconfigure with meson -Dffmpeg=enabled)",
                 garbage);
        CHECK(rc == MNV_EUNSUPPORTED && strcmp(err, want) == 0, "no FFmpeg: %d %s", rc, err);
    }
}

static void test_loop(void)
{
    const char *clip = tmp_path("loop.y4m");
    write_y4m(clip, "YUV4MPEG2 W4 H2 F4:1", 4, 2, L420, 3, "FRAME");
    const char *paths[] = {clip};
    file_source_options opt = {.loop = 1};
    frame_source *s;
    char err[512] = "";
    int rc = source_open_inputs(&s, paths, 1, &opt, err, sizeof err);
    CHECK(rc == 0, "loop: %s", err);
    if (rc == 0) {
        for (int n = 0; n < 10; n++) {
            frame f;
            rc = source_next(s, &f, err, sizeof err);
            CHECK(rc == 0, "loop frame %d: %d %s", n, rc, err);
            if (rc != 0)
                break;
            CHECK(f.seq == (uint64_t)n && fabs(f.pts - n * 0.25) < 1e-9, "loop frame %d: seq %llu pts %g", n,
                  (unsigned long long)f.seq, f.pts);
            CHECK(frame_mismatches(&f, L420, 4, 2, n % 3) == 0, "loop frame %d: wrong pixels", n);
            source_release(&f);
        }
        source_close(s);
    }
    /* A loop over inputs without frames ends instead of spinning. */
    const char *empty = tmp_path("no-frames.y4m");
    write_file(empty, "YUV4MPEG2 W4 H2 F4:1\n", 21);
    const char *empty_paths[] = {empty, empty};
    rc = source_open_inputs(&s, empty_paths, 2, &opt, err, sizeof err);
    CHECK(rc == 0, "loop over empty: %s", err);
    if (rc == 0) {
        expect_end(s, "loop over empty");
        source_close(s);
    }
}

/* ---- limits and threads ---------------------------------------------------- */

static void *release_in_thread(void *arg)
{
    source_release(arg);
    return NULL;
}

static void check_outstanding_limit(frame_source *s, const char *what)
{
    frame f[SOURCE_MAX_OUTSTANDING + 1];
    char err[512] = "";
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++) {
        int rc = source_next(s, &f[i], err, sizeof err);
        CHECK(rc == 0, "%s: frame %d: %d %s", what, i, rc, err);
    }
    int rc = source_next(s, &f[SOURCE_MAX_OUTSTANDING], err, sizeof err);
    CHECK(rc == MNV_EBUSY && strstr(err, "release one first"), "%s: frame past the limit: %d %s", what, rc, err);
    /* Given back from another thread, a slot serves again, and the frame
     * still out keeps its pixels. */
    uint8_t first = f[1].img.plane[0][0];
    pthread_t t;
    pthread_create(&t, NULL, release_in_thread, &f[0]);
    pthread_join(t, NULL);
    rc = source_next(s, &f[0], err, sizeof err);
    CHECK(rc == 0, "%s: after a release: %d %s", what, rc, err);
    CHECK(f[1].img.plane[0][0] == first, "%s: a frame out was overwritten", what);
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        source_release(&f[i]);
    source_release(&f[0]); /* an empty frame: nothing */
}

static void test_limits(void)
{
    const char *clip = tmp_path("limit.y4m");
    write_y4m(clip, "YUV4MPEG2 W4 H2 F4:1", 4, 2, L420, 8, "FRAME");
    frame_source *s;
    char err[512] = "";
    if (y4m_source_open(&s, clip, err, sizeof err) == 0) {
        check_outstanding_limit(s, "y4m");
        source_close(s);
    }
    const char *pic = tmp_path("limit.ppm");
    write_ppm(pic, 2, 2, 3);
    const char *pics[] = {pic, pic, pic, pic, pic, pic};
    if (image_source_open(&s, pics, 6, err, sizeof err) == 0) {
        check_outstanding_limit(s, "images");
        source_close(s);
    }
    /* A chain crossing from one input to the next with frames out. */
    const char *short_clip = tmp_path("short.y4m");
    write_y4m(short_clip, "YUV4MPEG2 W4 H2 F4:1", 4, 2, L420, 2, "FRAME");
    const char *inputs[] = {short_clip, pic, short_clip};
    if (source_open_inputs(&s, inputs, 3, NULL, err, sizeof err) == 0) {
        check_outstanding_limit(s, "chain");
        source_close(s);
    } else {
        CHECK(0, "chain for the limit: %s", err);
    }

    /* Interrupt: the next call says so, the one after goes on. */
    if (source_open_inputs(&s, inputs, 1, NULL, err, sizeof err) == 0) {
        frame f;
        source_interrupt(s);
        CHECK(source_next(s, &f, err, sizeof err) == MNV_EINTR, "interrupt ignored");
        CHECK(source_next(s, &f, err, sizeof err) == 0, "interrupt sticks");
        source_release(&f);
        source_close(s);
    }
}

/* The memory cap (file_source_options.max_frame_bytes, by default
 * MNV_DEFAULT_MAX_MEMORY): a Y4M header or a picture declaring a frame that
 * would need more is refused with the input, its size, the need and the
 * cap, before the frame is allocated (the Y4M files hold only their
 * headers: a reader that went on would end with MNV_END or fail on the
 * missing pixels instead). */
static void test_memory_cap(void)
{
    char err[512] = "", want[640];
    frame_source *s = NULL;
    frame f;
    /* 4:4:4 at 16384x16384: 768 MiB as stored + 384 MiB as handed out */
    const char *big = tmp_path("big444.y4m");
    write_file(big, "YUV4MPEG2 W16384 H16384 F25:1 C444\n", 35);
    int rc = y4m_source_open(&s, big, err, sizeof err);
    snprintf(want, sizeof want, "%s: Y4M header: a 16384x16384 frame needs 1152 MiB, more than the memory limit "
             "of 1024 MiB", big);
    CHECK(rc == MNV_EUNSUPPORTED && s == NULL && strcmp(err, want) == 0, "16384x16384 4:4:4: %d '%s'", rc, err);

    /* a 1024x1024 clip under a 1 MiB cap, through the inputs as the program opens them */
    const char *clip = tmp_path("cap.y4m");
    write_file(clip, "YUV4MPEG2 W1024 H1024 F25:1\n", 28);
    file_source_options opt = {.max_frame_bytes = (size_t)1 << 20};
    const char *inputs[] = {clip};
    rc = source_open_inputs(&s, inputs, 1, &opt, err, sizeof err);
    snprintf(want, sizeof want, "%s: Y4M header: a 1024x1024 frame needs 2 MiB, more than the memory limit of 1 MiB",
             clip);
    CHECK(rc == MNV_EUNSUPPORTED && strcmp(err, want) == 0, "Y4M over the cap: %d '%s'", rc, err);
    opt.max_frame_bytes = (size_t)2 << 20;
    rc = source_open_inputs(&s, inputs, 1, &opt, err, sizeof err);
    CHECK(rc == 0, "Y4M at the cap: '%s'", err);
    if (rc == 0) {
        CHECK(source_next(s, &f, err, sizeof err) == MNV_END, "header-only clip has frames");
        source_close(s);
    }

    /* a PPM header of 2000x2000 under a 16 MiB cap: libstb would hold
     * 2 x 12 MB and the result 12 MB */
    const char *pic = tmp_path("cap.ppm");
    write_file(pic, "P6\n2000 2000\n255\n", 17);
    const char *pics[] = {pic};
    opt.max_frame_bytes = (size_t)16 << 20;
    rc = source_open_inputs(&s, pics, 1, &opt, err, sizeof err);
    CHECK(rc == 0, "picture input: '%s'", err);
    if (rc == 0) {
        rc = source_next(s, &f, err, sizeof err);
        snprintf(want, sizeof want, "%s: decoding a 2000x2000 picture needs 35 MiB, more than the memory limit of 16 MiB",
                 pic);
        CHECK(rc == MNV_EUNSUPPORTED && strcmp(err, want) == 0, "picture over the cap: %d '%s'", rc, err);
        source_close(s);
    }
    /* the default cap lets it through to the decoder (libstb takes the
     * missing pixels as black) */
    rc = image_load(&f, pic, err, sizeof err);
    CHECK(rc == 0 && f.img.width == 2000 && f.img.height == 2000, "picture within the default cap: %d '%s'", rc,
          err);
    frame_free(&f);
}

/* The consumer of test_threads: checks and releases frames in its own
 * thread, a little behind, as the detector would. */
typedef struct hand_off {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    frame queue[SOURCE_MAX_OUTSTANDING];
    int head, count, done, consumed, wrong;
} hand_off;

static void *consume(void *arg)
{
    hand_off *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (h->count == 0 && !h->done)
            pthread_cond_wait(&h->changed, &h->lock);
        if (h->count == 0) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        frame f = h->queue[h->head];
        pthread_mutex_unlock(&h->lock);
        usleep(50);
        /* Frames of the clip carry their number in their pixels; the pictures in between are seed 4. */
        int n = (int)(f.seq % 33);
        int bad = n < 30 ? frame_mismatches(&f, L420, 16, 8, n % 15) : image_mismatches(&f, 3, 2, 4);
        source_release(&f);
        pthread_mutex_lock(&h->lock);
        h->head = (h->head + 1) % SOURCE_MAX_OUTSTANDING;
        h->count--;
        h->consumed++;
        h->wrong += bad != 0;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
    }
}

static void test_threads(void)
{
    const char *clip = tmp_path("thread.y4m"), *pic = tmp_path("thread.ppm");
    write_y4m(clip, "YUV4MPEG2 W16 H8 F30:1", 16, 8, L420, 15, "FRAME");
    write_ppm(pic, 3, 2, 4);
    /* Per pass: 15 + 15 clip frames, 3 pictures = 33 frames. */
    const char *inputs[] = {clip, clip, pic, pic, pic};
    file_source_options opt = {.loop = 1};
    frame_source *s;
    char err[512] = "";
    if (source_open_inputs(&s, inputs, 5, &opt, err, sizeof err) != 0) {
        CHECK(0, "threads: %s", err);
        return;
    }
    hand_off h = {.head = 0};
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.changed, NULL);
    pthread_t t;
    pthread_create(&t, NULL, consume, &h);
    const int total = 33 * 6;
    int errors = 0;
    for (int i = 0; i < total; i++) {
        pthread_mutex_lock(&h.lock);
        while (h.count == SOURCE_MAX_OUTSTANDING)
            pthread_cond_wait(&h.changed, &h.lock);
        pthread_mutex_unlock(&h.lock);
        frame f;
        int rc = source_next(s, &f, err, sizeof err);
        if (rc != 0) {
            errors++;
            fprintf(stderr, "threads: frame %d: %d %s\n", i, rc, err);
            break;
        }
        errors += f.seq != (uint64_t)i;
        pthread_mutex_lock(&h.lock);
        h.queue[(h.head + h.count) % SOURCE_MAX_OUTSTANDING] = f;
        h.count++;
        pthread_cond_broadcast(&h.changed);
        pthread_mutex_unlock(&h.lock);
    }
    pthread_mutex_lock(&h.lock);
    h.done = 1;
    pthread_cond_broadcast(&h.changed);
    pthread_mutex_unlock(&h.lock);
    pthread_join(t, NULL);
    CHECK(errors == 0 && h.consumed == total && h.wrong == 0, "threads: %d errors, %d of %d consumed, %d wrong",
          errors, h.consumed, total, h.wrong);
    source_close(s);
    pthread_mutex_destroy(&h.lock);
    pthread_cond_destroy(&h.changed);
}

/* ---- pipes and standard input --------------------------------------------- */

typedef struct pipe_writer {
    int fd;
    const uint8_t *data;
    size_t len;
} pipe_writer;

static void *write_pipe(void *arg)
{
    pipe_writer *w = arg;
    for (size_t off = 0; off < w->len;) {
        ssize_t n = write(w->fd, w->data + off, w->len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(w->fd);
    return NULL;
}

/* Opens "-" or /dev/fd/N on a pipe fed by a thread with data; reads it all
 * through check(). */
static void through_pipe(const char *what, int use_stdin, const uint8_t *data, size_t len,
                         void (*check)(frame_source *, const char *))
{
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "%s: pipe", what);
        return;
    }
    pipe_writer w = {fds[1], data, len};
    pthread_t t;
    pthread_create(&t, NULL, write_pipe, &w);
    char name[64];
    int saved_stdin = -1;
    if (use_stdin) {
        saved_stdin = dup(0);
        dup2(fds[0], 0);
        snprintf(name, sizeof name, "-");
    } else {
        snprintf(name, sizeof name, "/dev/fd/%d", fds[0]);
    }
    const char *paths[] = {name};
    frame_source *s;
    char err[512] = "";
    int rc = source_open_inputs(&s, paths, 1, NULL, err, sizeof err);
    CHECK(rc == 0, "%s: %s", what, err);
    if (rc == 0) {
        check(s, name);
        source_close(s);
    }
    /* Let the writer finish even if the reader stopped early. */
    char sink[4096];
    while (read(fds[0], sink, sizeof sink) > 0) {
    }
    pthread_join(t, NULL);
    close(fds[0]);
    if (use_stdin) {
        dup2(saved_stdin, 0);
        close(saved_stdin);
        clearerr(stdin);
    }
}

static void check_piped_y4m(frame_source *s, const char *name)
{
    CHECK(strcmp(source_get_info(s)->kind, "y4m") == 0, "piped y4m kind %s", source_get_info(s)->kind);
    char err[512] = "";
    for (int n = 0; n < 20; n++) {
        frame f;
        int rc = source_next(s, &f, err, sizeof err);
        CHECK(rc == 0, "piped y4m frame %d: %d %s", n, rc, err);
        if (rc != 0)
            return;
        CHECK(frame_mismatches(&f, L422, 33, 17, n) == 0 && strcmp(f.name, name) == 0, "piped y4m frame %d", n);
        source_release(&f);
    }
    expect_end(s, "piped y4m");
}

static void check_piped_image(frame_source *s, const char *name)
{
    CHECK(strcmp(source_get_info(s)->kind, "image") == 0, "piped image kind %s", source_get_info(s)->kind);
    expect_image(s, name, 7, 5, 8, 0);
    expect_end(s, "piped image");
}

static void check_piped_truncated(frame_source *s, const char *name)
{
    char err[512] = "";
    frame f;
    int rc = source_next(s, &f, err, sizeof err);
    CHECK(rc == 0, "truncated pipe, first frame: %s", err);
    source_release(&f);
    rc = source_next(s, &f, err, sizeof err);
    char want[100];
    snprintf(want, sizeof want, "%s: frame 1: truncated", name);
    CHECK(rc == MNV_EFORMAT && strncmp(err, want, strlen(want)) == 0, "truncated pipe: %d %s", rc, err);
}

static void test_pipes(void)
{
    size_t len;
    /* Large frames: the writer blocks on a full pipe while we read. */
    uint8_t *y4m = make_y4m("YUV4MPEG2 W33 H17 F30:1 C422", 33, 17, L422, 20, "FRAME", &len);
    through_pipe("y4m on a pipe", 0, y4m, len, check_piped_y4m);
    through_pipe("y4m on standard input", 1, y4m, len, check_piped_y4m);
    through_pipe("cut y4m on a pipe", 0, y4m, len / 20 + 100, check_piped_truncated);
    free(y4m);

    const char *png = tmp_path("piped.png");
    write_png(png, 7, 5, 8);
    FILE *f = fopen(png, "rb");
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    through_pipe("png on standard input", 1, buf, n, check_piped_image);
    through_pipe("png on a pipe", 0, buf, n, check_piped_image);

    /* A pipe cannot be looped; standard input cannot come twice. */
    int fds[2];
    if (pipe(fds) == 0) {
        char name[64];
        snprintf(name, sizeof name, "/dev/fd/%d", fds[0]);
        const char *paths[] = {name};
        file_source_options opt = {.loop = 1};
        frame_source *s;
        char err[512] = "";
        int rc = source_open_inputs(&s, paths, 1, &opt, err, sizeof err);
        CHECK(rc == MNV_EINVAL && strstr(err, "a pipe cannot be rewound to loop"), "looped pipe: %d %s", rc, err);
        const char *twice[] = {"-", "-"};
        close(fds[1]);
        int saved = dup(0);
        dup2(fds[0], 0);
        rc = source_open_inputs(&s, twice, 2, NULL, err, sizeof err);
        CHECK(rc == MNV_EINVAL && strstr(err, "-: standard input given twice"), "standard input twice: %d %s", rc,
              err);
        rc = source_open_inputs(&s, twice, 1, NULL, err, sizeof err); /* a closed, empty pipe */
        CHECK(rc == MNV_EFORMAT && strstr(err, "stdin: empty, not an image"), "empty standard input: %d %s", rc, err);
        dup2(saved, 0);
        close(saved);
        close(fds[0]);
        clearerr(stdin);
    }
}

/* ---- the Y4M reader on a stream, as the fuzzer drives it ------------------ */

static void test_stream_prefix(void)
{
    size_t len;
    uint8_t *y4m = make_y4m("YUV4MPEG2 W4 H2 F25:1", 4, 2, L420, 2, "FRAME", &len);
    /* Any split between bytes already read and the stream reads the same. */
    int failures = 0;
    for (size_t split = 0; split <= len; split += 7) {
        static uint8_t one_byte;
        FILE *fp = split < len ? fmemopen(y4m + split, len - split, "rb") : fmemopen(&one_byte, 1, "rb");
        if (split == len)
            fgetc(fp); /* glibc's fmemopen wants a size > 0: an empty stream is one read byte */
        frame_source *s;
        char err[512];
        int rc = y4m_source_open_stream(&s, fp, "memory", y4m, split, err, sizeof err);
        int frames = 0;
        frame f;
        while (rc == 0 && (rc = source_next(s, &f, err, sizeof err)) == 0) {
            failures += frame_mismatches(&f, L420, 4, 2, frames++) != 0;
            source_release(&f);
        }
        failures += rc != MNV_END || frames != 2;
        if (rc != 0 && rc != MNV_END)
            fprintf(stderr, "split %zu: %s\n", split, err);
        source_close(s);
        fclose(fp);
    }
    CHECK(failures == 0, "stream with bytes already read: %d failures", failures);
    free(y4m);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mnv2det-sources-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_y4m_good();
    test_y4m_malformed();
    test_y4m_truncated(L420, "YUV4MPEG2 W5 H3 F25:1");
    test_y4m_truncated(L444, "YUV4MPEG2 W5 H3 F25:1 C444");
    test_y4m_truncated(L422, "YUV4MPEG2 W5 H3 F25:1 C422");
    test_stream_prefix();
    test_images();
    test_directory();
    test_chain();
    test_loop();
    test_limits();
    test_memory_cap();
    test_threads();
    test_pipes();
    nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_finish("test_sources");
}
