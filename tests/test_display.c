/*
 * display/: the overlay and the frame upload drawn by SDL's software
 * renderer (the canvas), checked pixel by pixel; bad frames and overlays;
 * and, with SDL's dummy video driver (no X server), the window's own code:
 * its screenshot equals the canvas, its keys map to actions, and it says
 * "no display" when no video driver starts.
 *
 *   test_display overlay   the canvas checks (no video driver at all)
 *   test_display window    the window checks (SDL_VIDEODRIVER=dummy)
 *   test_display palette ID...   prints "ID RRGGBB", each class's box colour
 *                          (overlay_class_color), one per line: the tests
 *                          of the program's screenshots take the colours
 *                          from here rather than a copy of the table
 */
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "check.h"
#include "display/display.h"
#include "picture.h"

#ifdef MNV_HAVE_SDL2
#include <SDL.h>
#endif

#define GREY 0x646464u

/* ---- SDL-free parts ---- */

static void test_model(void)
{
    for (int i = 0; i < 16; i++)
        for (int j = i + 1; j < 16; j++)
            CHECK(overlay_class_color(i) != overlay_class_color(j), "classes %d and %d share a colour", i, j);
    CHECK(overlay_class_color(3) == overlay_class_color(3), "colour not stable");
    CHECK(overlay_class_color(-1) == overlay_class_color(15), "negative ids wrap like the palette");
    CHECK(overlay_class_color(INT32_MIN) == overlay_class_color(INT32_MIN), "INT_MIN");

    overlay ov;
    overlay_init(&ov);
    char buf[256];
    int n = overlay_format_hud(&ov.hud, buf, sizeof buf);
    CHECK(strcmp(buf, "cam - fps  det -/s  infer - ms  e2e - ms  drop -  thr -  score -") == 0,
          "unknown figures: '%s'", buf);
    CHECK(n == (int)strlen(buf), "length %d of '%s'", n, buf);
    overlay_hud h = {29.97, 15.04, 11.26, 47.94, 3, 2, 0.5};
    n = overlay_format_hud(&h, buf, sizeof buf);
    CHECK(strcmp(buf, "cam 30.0 fps  det 15.0/s  infer 11.3 ms  e2e 47.9 ms  drop 3  thr 2  score 0.50") == 0,
          "figures: '%s'", buf);
    char small[10];
    int full = overlay_format_hud(&h, small, sizeof small);
    CHECK(full == n && strcmp(small, "cam 30.0 ") == 0, "truncated: %d '%s'", full, small);
    h.latency_ms = NAN;
    overlay_format_hud(&h, buf, sizeof buf);
    CHECK(strstr(buf, "e2e - ms") != NULL, "NaN is unknown: '%s'", buf);

    overlay_box b = {0, 0, 1, 1, 7, "Cat", 0.8472f};
    overlay_format_tag(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "Cat 85%") == 0, "tag '%s'", buf);
    b.label = NULL;
    b.score = -1;
    overlay_format_tag(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "class 7") == 0, "tag without label '%s'", buf);
    b.label = "";
    b.score = 1.5f;
    overlay_format_tag(&b, buf, sizeof buf);
    CHECK(strcmp(buf, "class 7 100%") == 0, "empty label, score over 1: '%s'", buf);
}

#ifdef MNV_HAVE_SDL2

typedef struct test_frame {
    uint8_t *data;
    mnv_image img;
} test_frame;

/* A w x h RGB24 frame of one colour, rows pad bytes longer than needed. */
static void frame_solid_rgb(test_frame *f, int w, int h, uint32_t rgb, size_t pad)
{
    size_t stride = (size_t)w * 3 + pad;
    f->data = malloc(stride * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = f->data + y * stride + x * 3;
            p[0] = (uint8_t)(rgb >> 16);
            p[1] = (uint8_t)(rgb >> 8);
            p[2] = (uint8_t)rgb;
        }
    memset(&f->img, 0, sizeof f->img);
    f->img.format = MNV_PIX_RGB24;
    f->img.width = w;
    f->img.height = h;
    f->img.plane[0] = f->data;
    f->img.stride[0] = stride;
}

/* A frame of format fmt whose four quadrants have the YUV colours q[0..3]
 * (top left, top right, bottom left, bottom right), every plane's rows pad
 * bytes longer than needed. RGB24 gets the colours' BT.601 RGB. */
static void frame_quadrants(test_frame *f, mnv_pixfmt fmt, int w, int h, const int q[4][3], size_t pad)
{
    memset(&f->img, 0, sizeof f->img);
    f->img.format = fmt;
    f->img.width = w;
    f->img.height = h;
    size_t total = 0, offset[3];
    int planes = mnv_pixfmt_planes(fmt);
    for (int p = 0; p < planes; p++) {
        size_t row = 0, size = mnv_plane_size(fmt, w, h, p, &row);
        f->img.stride[p] = row + pad;
        offset[p] = total;
        total += size / row * (row + pad);
    }
    f->data = calloc(1, total);
    for (int p = 0; p < planes; p++)
        f->img.plane[p] = f->data + offset[p];
#define Q(x, y) q[((y) >= h / 2) * 2 + ((x) >= w / 2)]
    uint8_t *d0 = f->data + offset[0];
    size_t s0 = f->img.stride[0];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int *c = Q(x, y);
            switch (fmt) {
            case MNV_PIX_RGB24: {
                uint32_t rgb = bt601_rgb(c[0], c[1], c[2]);
                uint8_t *px = d0 + y * s0 + x * 3;
                px[0] = (uint8_t)(rgb >> 16);
                px[1] = (uint8_t)(rgb >> 8);
                px[2] = (uint8_t)rgb;
                break;
            }
            case MNV_PIX_YUYV: {
                uint8_t *px = d0 + y * s0 + (x / 2) * 4;
                px[(x & 1) * 2] = (uint8_t)c[0];
                if (!(x & 1)) {
                    px[1] = (uint8_t)c[1];
                    px[3] = (uint8_t)c[2];
                }
                break;
            }
            case MNV_PIX_NV12:
            case MNV_PIX_I420:
                d0[y * s0 + x] = (uint8_t)c[0];
                if (!(x & 1) && !(y & 1)) {
                    if (fmt == MNV_PIX_NV12) {
                        uint8_t *uv = f->data + offset[1] + (y / 2) * f->img.stride[1] + x;
                        uv[0] = (uint8_t)c[1];
                        uv[1] = (uint8_t)c[2];
                    } else {
                        f->data[offset[1] + (y / 2) * f->img.stride[1] + x / 2] = (uint8_t)c[1];
                        f->data[offset[2] + (y / 2) * f->img.stride[2] + x / 2] = (uint8_t)c[2];
                    }
                }
                break;
            default:
                break;
            }
        }
#undef Q
}

static void frame_free_test(test_frame *f)
{
    free(f->data);
    f->data = NULL;
}

/* Length of the run of colour c starting at (x, y) going right. */
static int run_right(const mnv_image *img, int x, int y, uint32_t c)
{
    int n = 0;
    while (x + n < img->width && pic_at(img, x + n, y) == c)
        n++;
    return n;
}

/* Black bars of a letterboxed picture occupying columns [px0, px1). */
static int bars_dirty(const mnv_image *out, int px0, int px1)
{
    return pic_count(out, 0, 0, px0, out->height, is_not_color, 0) +
           pic_count(out, px1, 0, out->width, out->height, is_not_color, 0);
}

/* Draw boxes over a solid grey frame of fw x fh on a cw x ch canvas. */
static int draw_boxes(display_canvas *c, const overlay_box *boxes, int n, int fw, int fh,
                      mnv_image *out, test_frame *frame)
{
    overlay ov;
    overlay_init(&ov);
    ov.show_hud = 0;
    ov.boxes = boxes;
    ov.n_boxes = n;
    frame_solid_rgb(frame, fw, fh, GREY, 0);
    char err[256] = "";
    int rc = canvas_draw(c, &frame->img, &ov, out, err, sizeof err);
    CHECK(rc == 0, "canvas_draw: %s", err);
    return rc;
}

/* ---- the canvas ---- */

static void test_box_pixels(void)
{
    display_canvas *c;
    char err[256];
    CHECK(canvas_open(&c, 320, 240, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    overlay_box box = {40, 60, 200, 180, 3, "dog", 0.9f};
    test_frame f;
    mnv_image out;
    if (draw_boxes(c, &box, 1, 320, 240, &out, &f) == 0) {
        uint32_t C = overlay_class_color(3);
        CHECK(out.width == 320 && out.height == 240 && out.format == MNV_PIX_RGB24, "result geometry");
        /* 240 rows: lines 2 pixels thick, inside the box's pixels [40, 200) x [60, 180). */
        int bad = 0;
        for (int y = 60; y < 180; y++)
            bad += pic_at(&out, 40, y) != C || pic_at(&out, 41, y) != C ||
                   pic_at(&out, 198, y) != C || pic_at(&out, 199, y) != C;
        CHECK(bad == 0, "%d rows without the left and right edges in the class colour", bad);
        bad = 0;
        for (int y = 62; y < 178; y++)
            bad += pic_at(&out, 39, y) != GREY || pic_at(&out, 42, y) != GREY ||
                   pic_at(&out, 197, y) != GREY || pic_at(&out, 200, y) != GREY;
        CHECK(bad == 0, "%d rows with the vertical edges too thick or misplaced", bad);
        bad = 0;
        for (int x = 40; x < 200; x++)
            bad += pic_at(&out, x, 60) != C || pic_at(&out, x, 61) != C ||
                   pic_at(&out, x, 178) != C || pic_at(&out, x, 179) != C ||
                   pic_at(&out, x, 180) != GREY ||
                   (x >= 42 && x < 198 && (pic_at(&out, x, 62) != GREY || pic_at(&out, x, 177) != GREY));
        CHECK(bad == 0, "%d columns with the top or bottom edge wrong", bad);
        /* The tag "dog 90%": 7 glyphs of the 6-pixel font, 2 pixels of
         * padding each side, 11 rows, right above the box. */
        int tw = 7 * 6 - 1 + 4;
        CHECK(run_right(&out, 40, 49, C) == tw, "tag's top row: %d pixels of the class colour, want %d",
              run_right(&out, 40, 49, C), tw);
        CHECK(pic_at(&out, 39, 49) == GREY && pic_at(&out, 40, 48) == GREY, "tag larger than expected");
        int text = pic_count(&out, 40, 49, 40 + tw, 60, is_color, 0xFFFFFF);
        CHECK(text > 40, "white text on the dark violet tag: %d pixels", text);
        /* Nothing else: outline area plus tag area are the only non-grey pixels. */
        int drawn = pic_count(&out, 0, 0, 320, 240, is_not_color, GREY);
        int want = 160 * 120 - 156 * 116 + tw * 11;
        CHECK(drawn == want, "%d pixels drawn, want %d (outline + tag)", drawn, want);
        frame_free_test(&f);
    }
    canvas_close(c);
}

static void test_clipping(void)
{
    /* A 300x300 frame on a 400x300 canvas: the picture is columns 50..349. */
    display_canvas *c;
    char err[256];
    CHECK(canvas_open(&c, 400, 300, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    test_frame f;
    mnv_image out;
    uint32_t C0 = overlay_class_color(0);

    overlay_box partly = {-50, 100, 100, 200, 0, NULL, -1};
    if (draw_boxes(c, &partly, 1, 300, 300, &out, &f) == 0) {
        CHECK(bars_dirty(&out, 50, 350) == 0, "partly outside: drawn over the bars");
        CHECK(run_right(&out, 50, 100, C0) == 100, "top edge from the picture's left: %d pixels",
              run_right(&out, 50, 100, C0));
        CHECK(pic_at(&out, 50, 150) == GREY, "the left edge is outside the picture, yet drawn");
        CHECK(pic_at(&out, 148, 150) == C0 && pic_at(&out, 149, 150) == C0, "right edge");
        /* Tag "class 0" above the box, from the picture's left edge. */
        CHECK(run_right(&out, 50, 89, C0) == 7 * 6 - 1 + 4, "tag of a clipped box: %d",
              run_right(&out, 50, 89, C0));
        frame_free_test(&f);
    }

    overlay_box outside[] = {
        {310, 10, 400, 50, 1, "right", 0.5f},  {-100, -100, -1, -1, 2, "above left", 0.5f},
        {0, 400, 300, 500, 3, "below", 0.5f},  {300, 0, 350, 300, 4, "touching", 0.5f},
        {100, 100, 100, 200, 5, "no width", 0.5f}, {150, 160, 140, 170, 6, "inverted", 0.5f},
        {NAN, 10, 20, 30, 7, "nan", 0.5f},     {10, 10, INFINITY, 30, 8, "inf", 0.5f},
        {-INFINITY, 10, 20, 30, 9, "-inf", 0.5f},
    };
    int n = (int)(sizeof outside / sizeof outside[0]);
    if (draw_boxes(c, outside, n, 300, 300, &out, &f) == 0) {
        CHECK(bars_dirty(&out, 50, 350) == 0, "outside/degenerate boxes: drawn over the bars");
        int drawn = pic_count(&out, 50, 0, 350, 300, is_not_color, GREY);
        CHECK(drawn == 0, "boxes outside the picture or without area drew %d pixels", drawn);
        frame_free_test(&f);
    }

    overlay_box huge[] = {{-1e30f, -1e30f, 1e30f, 1e30f, 1, "all", -1},
                          {-1e30f, 200, 1e30f, 250, 2, NULL, -1}};
    if (draw_boxes(c, huge, 2, 300, 300, &out, &f) == 0) {
        uint32_t C1 = overlay_class_color(1), C2 = overlay_class_color(2);
        CHECK(bars_dirty(&out, 50, 350) == 0, "huge boxes: drawn over the bars");
        CHECK(run_right(&out, 50, 200, C2) == 300, "wide box's top edge across the picture: %d",
              run_right(&out, 50, 200, C2));
        CHECK(pic_at(&out, 50, 225) == GREY && pic_at(&out, 349, 225) == GREY,
              "wide box's side edges are outside, yet drawn");
        /* The all-covering box has no edge on the picture; its tag goes to
         * the picture's top left. */
        CHECK(pic_at(&out, 50, 0) == C1 && pic_at(&out, 50, 150) == GREY, "covering box: tag %06x",
              pic_at(&out, 50, 0));
        frame_free_test(&f);
    }
    canvas_close(c);
}

static void test_hundred_boxes(void)
{
    display_canvas *c;
    char err[256];
    CHECK(canvas_open(&c, 640, 400, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    overlay_box boxes[100];
    char labels[100][16];
    for (int i = 0; i < 100; i++) {
        float cx = (float)(i % 10) * 64, cy = (float)(i / 10) * 40;
        snprintf(labels[i], sizeof labels[i], "c%d", i);
        boxes[i] = (overlay_box){cx + 4, cy + 14, cx + 60, cy + 38, i, labels[i], 0.5f};
    }
    test_frame f;
    mnv_image out;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = draw_boxes(c, boxes, 100, 640, 400, &out, &f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0) {
        int bad = 0;
        for (int i = 0; i < 100; i++) {
            int cx = (i % 10) * 64, cy = (i / 10) * 40;
            uint32_t C = overlay_class_color(i);
            bad += pic_at(&out, cx + 59, cy + 37) != C || pic_at(&out, cx + 4, cy + 30) != C ||
                   pic_at(&out, cx + 30, cy + 30) != GREY || pic_at(&out, cx + 4, cy + 3) != C;
        }
        CHECK(bad == 0, "%d of 100 boxes without their edges and tag in their colour", bad);
        printf("100 boxes with tags on a 640x400 canvas: %.2f ms (software renderer, upload included)\n",
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        frame_free_test(&f);
    }
    canvas_close(c);
}

static void test_labels(void)
{
    display_canvas *c;
    char err[256];
    CHECK(canvas_open(&c, 400, 300, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    char *longest = malloc(5001);
    memset(longest, 'W', 5000);
    longest[5000] = '\0';
    const char *odd[] = {
        "Katze \xC3\xA9\xE7\x8C\xAB \xF0\x9F\x90\x88", "\x01\x02\t\n\r\x1b[31m\x7f",
        "\xff\xfe\x80\x80\xc3", longest, "", NULL, "%s%n%d",
    };
    test_frame f;
    mnv_image out;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        /* Near the right edge: the tag must move left to stay in the picture. */
        overlay_box b = {200, 100, 299, 200, 5, odd[i], 0.75f};
        if (draw_boxes(c, &b, 1, 300, 300, &out, &f) != 0)
            continue;
        CHECK(bars_dirty(&out, 50, 350) == 0, "label %zu: tag drawn outside the picture", i);
        uint32_t C = overlay_class_color(5);
        int tag_row = 100 - 11, x = 50;
        while (x < 350 && pic_at(&out, x, tag_row) != C)
            x++;
        int run = run_right(&out, x, tag_row, C);
        CHECK(run > 0 && x + run <= 350, "label %zu: tag from %d, %d wide", i, x, run);
        if (odd[i] == longest)
            CHECK(x + run == 350 && run == 49 * 6 - 1 + 4, "the long label's tag: 49 glyphs' width at "
                  "the picture's right edge: %d at %d", run, x);
        frame_free_test(&f);
    }
    free(longest);

    /* One glyph per character: a UTF-8 sequence is one replacement glyph,
     * as is a stray continuation byte or a control byte. */
    struct { const char *label; int glyphs; } count[] = {
        {"\xC3\xA9", 1}, {"\xC3\xA9\xC3\xA9", 2}, {"\x80", 1}, {"a\x80", 2},
        {"\xF0\x9F\x90\x88", 1}, {"\x01\x02", 2}, {"ab", 2},
    };
    for (size_t i = 0; i < sizeof count / sizeof count[0]; i++) {
        overlay_box b = {100, 100, 200, 200, 5, count[i].label, -1};
        if (draw_boxes(c, &b, 1, 300, 300, &out, &f) != 0)
            continue;
        int run = run_right(&out, 150, 89, overlay_class_color(5));
        CHECK(run == count[i].glyphs * 6 - 1 + 4, "label %zu: tag %d wide, want %d glyphs", i, run,
              count[i].glyphs);
        frame_free_test(&f);
    }
    canvas_close(c);
}

static void test_hud(void)
{
    char err[256];
    overlay ov;
    overlay_init(&ov);
    ov.hud = (overlay_hud){30, 29.8, 11.2, 47.9, 3, 2, 0.5};
    test_frame f;
    mnv_image out;
    const uint32_t bright = 0xC8C8C8;

    display_canvas *c;
    CHECK(canvas_open(&c, 640, 360, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    frame_solid_rgb(&f, 640, 360, bright, 0);
    if (canvas_draw(c, &f.img, &ov, &out, err, sizeof err) == 0) {
        /* One line: 11 rows of black at alpha 170 over 200 = 67. */
        CHECK(rgb_near(pic_at(&out, 635, 5), 0x434343, 2), "band at the right: %06x", pic_at(&out, 635, 5));
        CHECK(pic_at(&out, 635, 11) == bright, "band too high: %06x", pic_at(&out, 635, 11));
        int white = pic_count(&out, 0, 0, 640, 11, is_color, 0xFFFFFF);
        CHECK(white > 300, "heads-up text: %d white pixels", white);
    } else {
        CHECK(0, "canvas_draw: %s", err);
    }
    ov.paused = 1;
    if (canvas_draw(c, &f.img, &ov, &out, err, sizeof err) == 0) {
        CHECK(run_right(&out, 601, 11, 0xFFE53B) == 39, "PAUSED tag under the band at the right: %d",
              run_right(&out, 601, 11, 0xFFE53B));
        CHECK(pic_at(&out, 600, 11) == bright, "PAUSED tag too wide");
    }
    /* A box at the top: its tag goes inside it, under the band. */
    overlay_box top = {100, 0, 300, 200, 4, "top", 0.5f};
    ov.paused = 0;
    ov.boxes = &top;
    ov.n_boxes = 1;
    if (canvas_draw(c, &f.img, &ov, &out, err, sizeof err) == 0) {
        uint32_t C4 = overlay_class_color(4);
        CHECK(run_right(&out, 102, 11, C4) == 7 * 6 - 1 + 4 - 2, "tag under the band: %d",
              run_right(&out, 102, 11, C4));
        CHECK(pic_count(&out, 100, 0, 300, 11, is_color, C4) == 0, "tag or edge over the band");
    }
    ov.boxes = NULL;
    ov.n_boxes = 0;
    ov.paused = 0;
    ov.show_hud = 0;
    if (canvas_draw(c, &f.img, &ov, &out, err, sizeof err) == 0)
        CHECK(pic_count(&out, 0, 0, 640, 360, is_not_color, bright) == 0, "heads-up line hidden, yet drawn");
    frame_free_test(&f);
    canvas_close(c);

    /* A narrow picture: the line wraps between its fields. */
    CHECK(canvas_open(&c, 300, 300, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    ov.show_hud = 1;
    frame_solid_rgb(&f, 300, 300, bright, 0);
    if (canvas_draw(c, &f.img, &ov, &out, err, sizeof err) == 0) {
        CHECK(rgb_near(pic_at(&out, 297, 15), 0x434343, 2), "second line of the band: %06x",
              pic_at(&out, 297, 15));
        CHECK(pic_at(&out, 297, 21) == bright, "band of two lines too high");
        int white2 = pic_count(&out, 0, 11, 300, 21, is_color, 0xFFFFFF);
        CHECK(white2 > 100, "second line's text: %d white pixels", white2);
    }
    frame_free_test(&f);
    canvas_close(c);
}

static void test_formats(void)
{
    /* Four quadrants of distinct colours with strong chroma (BT.709 would
     * put them 5-12 levels away), rows padded past the width. */
    const int q[4][3] = {{110, 90, 190}, {150, 60, 100}, {60, 200, 120}, {200, 128, 128}};
    const mnv_pixfmt fmts[] = {MNV_PIX_RGB24, MNV_PIX_YUYV, MNV_PIX_NV12, MNV_PIX_I420};
    char err[256];
    display_canvas *c;
    CHECK(canvas_open(&c, 64, 48, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    for (int k = 0; k < 4; k++) {
        test_frame f;
        mnv_image out;
        frame_quadrants(&f, fmts[k], 64, 48, q, 7);
        if (canvas_draw(c, &f.img, NULL, &out, err, sizeof err) == 0) {
            const int at[4][2] = {{16, 12}, {48, 12}, {16, 36}, {48, 36}};
            for (int i = 0; i < 4; i++) {
                uint32_t want = bt601_rgb(q[i][0], q[i][1], q[i][2]);
                uint32_t got = pic_at(&out, at[i][0], at[i][1]);
                CHECK(rgb_near(got, want, fmts[k] == MNV_PIX_RGB24 ? 0 : 3),
                      "%s quadrant %d: %06x, want %06x", mnv_pixfmt_name(fmts[k]), i, got, want);
            }
        } else {
            CHECK(0, "%s: %s", mnv_pixfmt_name(fmts[k]), err);
        }
        frame_free_test(&f);
    }
    canvas_close(c);

    /* Whatever YUV mode the process left SDL in (here: BT.709 from 720 rows
     * on), a canvas shows BT.601, as common.h says frames are. */
    const int one[4][3] = {{110, 90, 190}, {110, 90, 190}, {110, 90, 190}, {110, 90, 190}};
    SDL_SetYUVConversionMode(SDL_YUV_CONVERSION_AUTOMATIC);
    CHECK(canvas_open(&c, 1280, 720, err, sizeof err) == 0, "canvas_open: %s", err);
    if (c) {
        test_frame f;
        mnv_image out;
        frame_quadrants(&f, MNV_PIX_I420, 1280, 720, one, 0);
        if (canvas_draw(c, &f.img, NULL, &out, err, sizeof err) == 0) {
            uint32_t want = bt601_rgb(110, 90, 190), got = pic_at(&out, 640, 360);
            CHECK(rgb_near(got, want, 3), "1280x720 i420: %06x, want BT.601 %06x", got, want);
        } else {
            CHECK(0, "1280x720 i420: %s", err);
        }
        frame_free_test(&f);
        canvas_close(c);
    }

    /* Odd sizes: chroma of (w + 1) / 2 samples and rows. */
    CHECK(canvas_open(&c, 33, 17, err, sizeof err) == 0, "canvas_open: %s", err);
    if (c) {
        for (int k = 1; k < 4; k++) {
            test_frame f;
            mnv_image out;
            frame_quadrants(&f, fmts[k], 33, 17, one, 3);
            if (canvas_draw(c, &f.img, NULL, &out, err, sizeof err) == 0) {
                uint32_t want = bt601_rgb(110, 90, 190);
                int bad = 0;
                for (int y = 0; y < 17; y++)
                    for (int x = 0; x < 33; x++)
                        bad += !rgb_near(pic_at(&out, x, y), want, 3);
                CHECK(bad == 0, "33x17 %s: %d pixels not %06x (corner %06x)", mnv_pixfmt_name(fmts[k]),
                      bad, want, pic_at(&out, 32, 16));
            } else {
                CHECK(0, "33x17 %s: %s", mnv_pixfmt_name(fmts[k]), err);
            }
            frame_free_test(&f);
        }
        canvas_close(c);
    }
}

static void test_bad_input(void)
{
    char err[256];
    display_canvas *c = NULL;
    CHECK(canvas_open(&c, 0, 10, err, sizeof err) == MNV_EINVAL && !c, "canvas 0x10 accepted");
    CHECK(canvas_open(&c, 10, 20000, err, sizeof err) == MNV_EINVAL && !c, "canvas 10x20000 accepted");
    CHECK(canvas_open(&c, 64, 48, err, sizeof err) == 0, "canvas_open: %s", err);
    if (!c)
        return;
    const int q[4][3] = {{110, 90, 190}, {150, 60, 100}, {60, 200, 120}, {200, 128, 128}};
    test_frame good;
    frame_quadrants(&good, MNV_PIX_NV12, 64, 48, q, 0);
    mnv_image out;
    struct { const char *what, *says; mnv_image img; } bad[8];
    for (int i = 0; i < 8; i++)
        bad[i].img = good.img;
    bad[0].what = "no chroma plane"; bad[0].says = "plane 1 missing"; bad[0].img.plane[1] = NULL;
    bad[1].what = "short stride"; bad[1].says = "stride 10"; bad[1].img.stride[0] = 10;
    bad[2].what = "width 0"; bad[2].says = "0x48"; bad[2].img.width = 0;
    bad[3].what = "unknown format"; bad[3].says = "format 99"; bad[3].img.format = (mnv_pixfmt)99;
    bad[4].what = "huge"; bad[4].says = "size outside"; bad[4].img.height = 1 << 20;
    bad[5].what = "negative height"; bad[5].says = "size outside"; bad[5].img.height = -4;
    bad[6].what = "chroma stride"; bad[6].says = "plane 1 stride"; bad[6].img.stride[1] = 63;
    bad[7].what = "stride past INT_MAX"; bad[7].says = "stride"; bad[7].img.stride[0] = (size_t)INT_MAX + 1;
    for (int i = 0; i < 8; i++) {
        err[0] = '\0';
        int rc = canvas_draw(c, &bad[i].img, NULL, &out, err, sizeof err);
        CHECK(rc == MNV_EINVAL && strstr(err, bad[i].says) && strncmp(err, "display: ", 9) == 0,
              "%s: rc %d, '%s' (want '%s')", bad[i].what, rc, err, bad[i].says);
    }
    CHECK(canvas_draw(c, NULL, NULL, &out, err, sizeof err) == MNV_EINVAL, "NULL image accepted");
    overlay ov;
    overlay_init(&ov);
    ov.n_boxes = -1;
    CHECK(canvas_draw(c, &good.img, &ov, &out, err, sizeof err) == MNV_EINVAL, "-1 boxes accepted");
    ov.n_boxes = 3;
    CHECK(canvas_draw(c, &good.img, &ov, &out, err, sizeof err) == MNV_EINVAL, "3 boxes at NULL accepted");
    /* Still usable, and the texture follows the frame's size and format. */
    CHECK(canvas_draw(c, &good.img, NULL, &out, err, sizeof err) == 0, "good frame after bad ones: %s", err);
    test_frame other;
    frame_quadrants(&other, MNV_PIX_YUYV, 32, 24, q, 0);
    CHECK(canvas_draw(c, &other.img, NULL, &out, err, sizeof err) == 0, "another size and format: %s", err);
    if (out.width == 64)
        CHECK(rgb_near(pic_at(&out, 8, 6), bt601_rgb(110, 90, 190), 3), "32x24 scaled up: %06x",
              pic_at(&out, 8, 6));
    frame_free_test(&other);
    frame_free_test(&good);
    canvas_close(c);
    canvas_close(NULL);
}

/* ---- the window, on SDL's dummy video driver ---- */

static void push_key(SDL_Keycode k, int repeat)
{
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.state = SDL_PRESSED;
    e.key.repeat = (Uint8)repeat;
    e.key.keysym.sym = k;
    e.key.keysym.scancode = SDL_GetScancodeFromKey(k);
    SDL_PushEvent(&e);
}

static void test_window_dummy(void)
{
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    char err[256];
    display *d = NULL;
    display_options o;
    display_options_init(&o);
    o.width = 400;
    o.height = 300;
    o.title = "mnv2det dummy";
    int rc = display_open(&d, &o, err, sizeof err);
    CHECK(rc == 0, "display_open on the dummy driver: %s", err);
    if (rc)
        return;
    char path[] = "/tmp/mnv2det-display-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temporary file");
    if (fd >= 0)
        close(fd);
    CHECK(display_screenshot(d, path, err, sizeof err) == MNV_EINVAL && strstr(err, "nothing shown"),
          "screenshot before any frame: '%s'", err);

    const int q[4][3] = {{110, 90, 190}, {150, 60, 100}, {60, 200, 120}, {200, 128, 128}};
    test_frame f;
    frame_quadrants(&f, MNV_PIX_I420, 320, 240, q, 0);
    overlay_box boxes[] = {{20, 30, 150, 200, 8, "Cat", 0.85f}, {200, 10, 310, 120, 1, "Dog", 0.6f}};
    overlay ov;
    overlay_init(&ov);
    ov.boxes = boxes;
    ov.n_boxes = 2;
    ov.hud = (overlay_hud){30, 29.8, 11.2, 47.9, 0, 2, 0.5};
    CHECK(display_show(d, &f.img, &ov, err, sizeof err) == 0, "display_show: %s", err);
    char desc[256];
    display_describe(d, desc, sizeof desc);
    CHECK(strstr(desc, "video dummy") && strstr(desc, "IYUV"), "describe: '%s'", desc);
    printf("dummy driver: %s\n", desc);

    /* The window's screenshot is what the canvas draws at the window's size. */
    display_canvas *c = NULL;
    canvas_open(&c, 400, 300, err, sizeof err);
    mnv_image want;
    frame shot = {0};
    if (c && canvas_draw(c, &f.img, &ov, &want, err, sizeof err) == 0 &&
        display_screenshot(d, path, err, sizeof err) == 0 && image_load(&shot, path, err, sizeof err) == 0) {
        CHECK(shot.img.width == 400 && shot.img.height == 300, "screenshot %dx%d", shot.img.width,
              shot.img.height);
        int differ = 0;
        for (int y = 0; y < 300 && shot.img.width == 400; y++)
            for (int x = 0; x < 400; x++)
                differ += !rgb_near(pic_at(&shot.img, x, y), pic_at(&want, x, y), 1);
        CHECK(differ == 0, "%d pixels of the window's screenshot differ from the canvas", differ);
    } else {
        CHECK(0, "canvas or screenshot: %s", err);
    }
    frame_free(&shot);

    /* Keys: each maps to its action; toggles ignore auto-repeat. */
    display_event ev;
    while (display_poll(d, &ev))
        ;
    CHECK(display_poll(d, &ev) == 0 && ev.action == DISPLAY_NONE, "events with no input");
    struct { SDL_Keycode key; int repeat; display_action want; } keys[] = {
        {SDLK_SPACE, 0, DISPLAY_PAUSE},     {SDLK_SPACE, 1, DISPLAY_NONE},
        {SDLK_s, 0, DISPLAY_SCREENSHOT},    {SDLK_PLUS, 0, DISPLAY_SCORE_UP},
        {SDLK_EQUALS, 1, DISPLAY_SCORE_UP}, {SDLK_KP_PLUS, 0, DISPLAY_SCORE_UP},
        {SDLK_MINUS, 0, DISPLAY_SCORE_DOWN}, {SDLK_KP_MINUS, 1, DISPLAY_SCORE_DOWN},
        {SDLK_x, 0, DISPLAY_NONE},          {SDLK_h, 0, DISPLAY_HUD},
        {SDLK_q, 0, DISPLAY_QUIT},          {SDLK_ESCAPE, 0, DISPLAY_QUIT},
    };
    int nkeys = (int)(sizeof keys / sizeof keys[0]);
    for (int i = 0; i < nkeys; i++)
        push_key(keys[i].key, keys[i].repeat);
    display_action got[32];
    int n = 0;
    while (n < 32 && display_poll(d, &ev))
        got[n++] = ev.action;
    int k = 0;
    for (int i = 0; i < nkeys; i++) {
        if (keys[i].want == DISPLAY_NONE)
            continue;
        CHECK(k < n && got[k] == keys[i].want, "key %d: action %d, want %d", i, k < n ? (int)got[k] : -1,
              (int)keys[i].want);
        k++;
    }
    CHECK(n == k, "%d actions, want %d", n, k);
    SDL_Event close_ev;
    memset(&close_ev, 0, sizeof close_ev);
    close_ev.type = SDL_WINDOWEVENT;
    close_ev.window.event = SDL_WINDOWEVENT_CLOSE;
    SDL_PushEvent(&close_ev);
    CHECK(display_poll(d, &ev) == 1 && ev.action == DISPLAY_QUIT, "closing the window: action %d", (int)ev.action);
    CHECK(ev.hud_visible == 0, "h did not hide the heads-up line");

    /* h was handled inside: the next screenshot has no heads-up line. */
    ov.show_hud = 0;
    if (c && canvas_draw(c, &f.img, &ov, &want, err, sizeof err) == 0 &&
        display_screenshot(d, path, err, sizeof err) == 0 && image_load(&shot, path, err, sizeof err) == 0) {
        int differ = 0;
        for (int y = 0; y < 300 && shot.img.width == 400; y++)
            for (int x = 0; x < 400; x++)
                differ += !rgb_near(pic_at(&shot.img, x, y), pic_at(&want, x, y), 1);
        CHECK(differ == 0, "after h: %d pixels differ from the canvas without heads-up line", differ);
    } else {
        CHECK(0, "canvas or screenshot after h: %s", err);
    }
    frame_free(&shot);
    canvas_close(c);

    CHECK(display_screenshot(d, "/nonexistent-dir/shot.png", err, sizeof err) == MNV_EIO &&
              strstr(err, "/nonexistent-dir/shot.png"),
          "screenshot into a missing folder: '%s'", err);
    /* Bad frames are refused and the window goes on. */
    mnv_image bad = f.img;
    bad.plane[2] = NULL;
    CHECK(display_show(d, &bad, &ov, err, sizeof err) == MNV_EINVAL, "frame without V plane shown");
    CHECK(display_show(d, &f.img, &ov, err, sizeof err) == 0, "display_show after a bad frame: %s", err);
    unlink(path);
    frame_free_test(&f);
    display_close(d);
    display_close(NULL);
}

static void test_no_video(void)
{
    /* An X11 display that does not exist and nothing else allowed. */
    setenv("SDL_VIDEODRIVER", "x11", 1);
    setenv("DISPLAY", ":65000", 1);
    unsetenv("WAYLAND_DISPLAY");
    char err[256] = "";
    display *d = NULL;
    int rc = display_open(&d, NULL, err, sizeof err);
    CHECK(rc == MNV_EUNSUPPORTED && !d, "display_open without a video driver: %d", rc);
    CHECK(strncmp(err, "no display: SDL could not start a video driver (", 48) == 0 && !strchr(err, '\n'),
          "message: '%s'", err);
    printf("without a display: %s\n", err);
    display_close(d);
}

#endif /* MNV_HAVE_SDL2 */

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "overlay";
    if (strcmp(what, "palette") == 0) {
        for (int i = 2; i < argc; i++) {
            int id;
            char *end;
            long v = strtol(argv[i], &end, 10);
            if (end == argv[i] || *end || v < INT_MIN || v > INT_MAX) {
                fprintf(stderr, "test_display palette: '%s' is not a class id\n", argv[i]);
                return 2;
            }
            id = (int)v;
            printf("%d %06X\n", id, (unsigned)overlay_class_color(id));
        }
        return fflush(stdout) == 0 ? 0 : 1;
    }
    test_model();
#ifdef MNV_HAVE_SDL2
    if (strcmp(what, "window") == 0) {
        test_window_dummy();
        test_no_video();
    } else {
        test_box_pixels();
        test_clipping();
        test_hundred_boxes();
        test_labels();
        test_hud();
        test_formats();
        test_bad_input();
    }
#else
    (void)what;
    char err[256];
    display_canvas *c = NULL;
    CHECK(canvas_open(&c, 8, 8, err, sizeof err) == MNV_EUNSUPPORTED, "canvas without SDL2");
    if (check_finish("display"))
        return 1;
    printf("SKIP: built without SDL2 (%s); only the overlay model was tested\n", err);
    return 77;
#endif
    return check_finish(strcmp(what, "window") == 0 ? "display window" : "display overlay");
}
