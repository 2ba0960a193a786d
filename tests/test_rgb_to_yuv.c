/*
 * mnv_image_from_rgb24 (common.h): RGB24 into every frame format.
 *
 * - Hand-worked pixels and 2x2 / 2x1 / edge blocks.
 * - Every format at even and odd sizes with padded strides, against a
 *   reference written here in double precision (the formula of common.h
 *   straight; 1e-9 added before flooring so that an exact half, which double
 *   may compute a hair below, rounds up as the exact value does; any other
 *   value is at least 1 / 1020000 from a half, so the nudge moves nothing
 *   else); padding bytes must stay untouched.
 * - Round trip through backbone's mnv_image_to_rgb24 on flat colours. The
 *   bound, derived: Y, U and V are each within 0.5 of the exact value; the
 *   inverse turns that into at most 0.5 * (255/219 + 1.402 * 255/224) = 1.38
 *   levels of R, 0.5 * (255/219 + (0.344 + 0.714) * 255/224) = 1.18 of G and
 *   0.5 * (255/219 + 1.772 * 255/224) = 1.59 of B, then rounds (0.5 more)
 *   and clamps (which only brings values nearer to the 0..255 input): R and
 *   G come back within 1 level, B within 2.
 * - Bad arguments: MNV_EINVAL, nothing written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "check.h"

#define PAD_BYTE 0xA5

static uint8_t round_up(double v)
{
    return (uint8_t)floor(v + 0.5 + 1e-9);
}

static double ref_y(const uint8_t *p)
{
    return 16.0 + (65.481 * p[0] + 128.553 * p[1] + 24.966 * p[2]) / 255.0;
}

static double ref_u(const uint8_t *p)
{
    return 128.0 + (-37.797 * p[0] - 74.203 * p[1] + 112.0 * p[2]) / 255.0;
}

static double ref_v(const uint8_t *p)
{
    return 128.0 + (112.0 * p[0] - 93.786 * p[1] - 18.214 * p[2]) / 255.0;
}

/* A w x h image of format f with `pad` bytes after each row, each plane its
 * own allocation filled with PAD_BYTE. */
typedef struct owned_image {
    mnv_image img;
    uint8_t *plane[3];
    size_t bytes[3];
} owned_image;

static int owned_alloc(owned_image *o, mnv_pixfmt f, int w, int h, size_t pad)
{
    memset(o, 0, sizeof *o);
    o->img.format = f, o->img.width = w, o->img.height = h;
    for (int p = 0; p < mnv_pixfmt_planes(f); p++) {
        size_t row = 0, size = mnv_plane_size(f, w, h, p, &row), rows = size / row;
        o->img.stride[p] = row + pad;
        o->bytes[p] = rows * o->img.stride[p];
        o->plane[p] = malloc(o->bytes[p]);
        if (!o->plane[p])
            return -1;
        memset(o->plane[p], PAD_BYTE, o->bytes[p]);
        o->img.plane[p] = o->plane[p];
    }
    return 0;
}

static void owned_free(owned_image *o)
{
    for (int p = 0; p < 3; p++)
        free(o->plane[p]);
    memset(o, 0, sizeof *o);
}

static void random_rgb(uint8_t *rgb, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        rgb[i] = (uint8_t)(*seed >> 16);
    }
}

/* One pixel, any format: Y, U, V of a 1x1 picture. */
static void one_pixel(const uint8_t rgb[3], mnv_pixfmt f, int *y, int *u, int *v)
{
    uint8_t in[3] = {rgb[0], rgb[1], rgb[2]}, data[8];
    mnv_image src, out;
    mnv_image_pack(&src, MNV_PIX_RGB24, 1, 1, in);
    mnv_image_pack(&out, f, 1, 1, data);
    memset(data, 0, sizeof data);
    int rc = mnv_image_from_rgb24(&src, &out);
    CHECK(rc == 0, "1x1 %s: %d", mnv_pixfmt_name(f), rc);
    if (f == MNV_PIX_YUYV) {
        *y = data[0], *u = data[1], *v = data[3];
        CHECK(data[2] == data[0], "odd width: the last YUYV pair repeats its Y (%d, %d)", data[0], data[2]);
    } else if (f == MNV_PIX_NV12) {
        *y = data[0], *u = data[1], *v = data[2];
    } else {
        *y = data[0], *u = data[1], *v = data[2];
    }
}

static void test_hand_worked(void)
{
    static const struct {
        uint8_t rgb[3];
        int y, u, v;
        const char *what;
    } cases[] = {
        {{0, 0, 0}, 16, 128, 128, "black"},
        {{255, 255, 255}, 235, 128, 128, "white: 16 + 219"},
        {{128, 128, 128}, 126, 128, 128, "grey: 16 + 219 * 128 / 255 = 125.93"},
        {{255, 0, 0}, 81, 90, 240, "red: Y 81.48, U 128 - 37.797 = 90.20, V 240"},
        {{0, 255, 0}, 145, 54, 34, "green: Y 144.55, U 53.80, V 34.21"},
        {{0, 0, 255}, 41, 240, 110, "blue: Y 40.97, U 240, V 109.79"},
        {{0, 204, 68}, 126, 99, 48, "Y exactly 125.5 (27922.5 / 255 + 16) rounds up; U 98.50, V 48.11"},
    };
    const mnv_pixfmt fmts[] = {MNV_PIX_YUYV, MNV_PIX_NV12, MNV_PIX_I420};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t f = 0; f < 3; f++) {
            int y, u, v;
            one_pixel(cases[i].rgb, fmts[f], &y, &u, &v);
            CHECK(y == cases[i].y && u == cases[i].u && v == cases[i].v, "%s as %s: got Y %d U %d V %d, want %d %d %d",
                  cases[i].what, mnv_pixfmt_name(fmts[f]), y, u, v, cases[i].y, cases[i].u, cases[i].v);
        }

    /* A 3x3 I420 picture: block (0,0) is red over three black pixels, block
     * (1,0) a red column of two (the odd width's last column), block (0,1)
     * a row of two (the odd height's last row), block (1,1) one pixel. */
    uint8_t rgb[27] = {0};
    rgb[0] = 255;                 /* (0,0) red */
    rgb[6] = 255, rgb[15] = 255;  /* (2,0), (2,1) red */
    rgb[18 + 2] = 255;            /* (0,2) blue */
    rgb[18 + 6 + 1] = 255;        /* (2,2) green */
    uint8_t data[9 + 4 + 4];
    mnv_image src, out;
    mnv_image_pack(&src, MNV_PIX_RGB24, 3, 3, rgb);
    mnv_image_pack(&out, MNV_PIX_I420, 3, 3, data);
    CHECK(mnv_image_from_rgb24(&src, &out) == 0, "3x3 i420");
    const uint8_t *u = out.plane[1], *v = out.plane[2];
    /* red + 3 black: U 128 - 37.797 / 4 = 118.55, V 128 + 112 / 4 = 156 */
    CHECK(u[0] == 119 && v[0] == 156, "2x2 block: U %d V %d, want 119 156", u[0], v[0]);
    /* two red: U 90.20, V 240 */
    CHECK(u[1] == 90 && v[1] == 240, "1x2 block: U %d V %d, want 90 240", u[1], v[1]);
    /* blue + black: U 128 + 56 = 184, V 128 - 9.107 = 118.89 */
    CHECK(u[2] == 184 && v[2] == 119, "2x1 block: U %d V %d, want 184 119", u[2], v[2]);
    /* green: U 53.80, V 34.21 */
    CHECK(u[3] == 54 && v[3] == 34, "1x1 block: U %d V %d, want 54 34", u[3], v[3]);
    CHECK(data[2] == 81 && data[4] == 16 && data[8] == 145, "luma: %d %d %d, want 81 16 145", data[2], data[4],
          data[8]);

    /* YUYV, 3x1: pair (red, black) then green alone. */
    uint8_t row[9] = {255, 0, 0, 0, 0, 0, 0, 255, 0}, yuyv[8];
    mnv_image_pack(&src, MNV_PIX_RGB24, 3, 1, row);
    mnv_image_pack(&out, MNV_PIX_YUYV, 3, 1, yuyv);
    CHECK(mnv_image_from_rgb24(&src, &out) == 0, "3x1 yuyv");
    /* red + black: U 128 - 37.797 / 2 = 109.10, V 128 + 56 = 184 */
    CHECK(yuyv[0] == 81 && yuyv[1] == 109 && yuyv[2] == 16 && yuyv[3] == 184, "yuyv pair: %d %d %d %d", yuyv[0],
          yuyv[1], yuyv[2], yuyv[3]);
    CHECK(yuyv[4] == 145 && yuyv[5] == 54 && yuyv[6] == 145 && yuyv[7] == 34, "yuyv last pair: %d %d %d %d",
          yuyv[4], yuyv[5], yuyv[6], yuyv[7]);
}

/* Expected sample of plane p at (x, y) (chroma: the sample's own indices)
 * by the double reference; -1 for a padding byte. */
static int expected(const uint8_t *rgb, int w, int h, mnv_pixfmt f, int p, int x, int y)
{
    const int cw = (w + 1) / 2;
    if (f == MNV_PIX_RGB24)
        return x < 3 * w ? rgb[(size_t)y * w * 3 + x] : -1;
    if (f == MNV_PIX_YUYV) {
        if (x >= 4 * cw)
            return -1;
        int j = x / 4, k = x % 4, px = 2 * j + (k == 2);
        if (k == 2 && px >= w)
            px = w - 1; /* the repeated Y */
        if (k == 0 || k == 2)
            return round_up(ref_y(rgb + ((size_t)y * w + px) * 3));
        double sum = 0;
        int n = 0;
        for (int c = 2 * j; c < 2 * j + 2 && c < w; c++, n++)
            sum += k == 1 ? ref_u(rgb + ((size_t)y * w + c) * 3) : ref_v(rgb + ((size_t)y * w + c) * 3);
        return round_up(sum / n);
    }
    if (p == 0)
        return x < w ? round_up(ref_y(rgb + ((size_t)y * w + x) * 3)) : -1;
    int which = p; /* I420: 1 U, 2 V */
    int j = x;
    if (f == MNV_PIX_NV12) {
        if (x >= 2 * cw)
            return -1;
        j = x / 2, which = 1 + x % 2;
    } else if (x >= cw) {
        return -1;
    }
    double sum = 0;
    int n = 0;
    for (int r = 2 * y; r < 2 * y + 2 && r < h; r++)
        for (int c = 2 * j; c < 2 * j + 2 && c < w; c++, n++)
            sum += which == 1 ? ref_u(rgb + ((size_t)r * w + c) * 3) : ref_v(rgb + ((size_t)r * w + c) * 3);
    return round_up(sum / n);
}

static void test_against_reference(void)
{
    static const int sizes[][2] = {{1, 1}, {2, 2}, {3, 1}, {1, 3}, {5, 3}, {16, 9}, {33, 17}, {64, 48}};
    unsigned seed = 7;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int w = sizes[s][0], h = sizes[s][1];
        uint8_t *rgb = malloc((size_t)w * h * 3);
        if (!rgb) {
            CHECK(0, "out of memory");
            return;
        }
        random_rgb(rgb, (size_t)w * h * 3, &seed);
        mnv_image src;
        mnv_image_pack(&src, MNV_PIX_RGB24, w, h, rgb);
        for (int f = 0; f < MNV_PIX_COUNT; f++) {
            owned_image o;
            size_t pad = s % 2 ? 5 : 0;
            if (owned_alloc(&o, (mnv_pixfmt)f, w, h, pad) != 0) {
                CHECK(0, "out of memory");
                owned_free(&o);
                continue;
            }
            int rc = mnv_image_from_rgb24(&src, &o.img);
            CHECK(rc == 0, "%dx%d %s: %d", w, h, mnv_pixfmt_name((mnv_pixfmt)f), rc);
            int bad = 0;
            for (int p = 0; p < mnv_pixfmt_planes((mnv_pixfmt)f) && !bad; p++) {
                size_t rows = o.bytes[p] / o.img.stride[p];
                for (size_t y = 0; y < rows && !bad; y++)
                    for (size_t x = 0; x < o.img.stride[p] && !bad; x++) {
                        int want = expected(rgb, w, h, (mnv_pixfmt)f, p, (int)x, (int)y);
                        int got = o.plane[p][y * o.img.stride[p] + x];
                        if (want < 0 ? got != PAD_BYTE : got != want) {
                            CHECK(0, "%dx%d %s plane %d (%zu, %zu): got %d, want %d%s", w, h,
                                  mnv_pixfmt_name((mnv_pixfmt)f), p, x, y, got, want < 0 ? PAD_BYTE : want,
                                  want < 0 ? " (padding, untouched)" : "");
                            bad = 1;
                        }
                    }
            }
            CHECK(!bad, "%dx%d %s equals the reference", w, h, mnv_pixfmt_name((mnv_pixfmt)f));
            owned_free(&o);
        }
        free(rgb);
    }
}

/* Every colour with channels in steps of 5 (0, 5, ..., 255), each a flat
 * 2x2 block of a 104 x 5408 picture, through each YUV format and back. */
static void test_round_trip(void)
{
    const int levels = 52, w = 2 * levels, h = 2 * levels * levels;
    uint8_t *rgb = malloc((size_t)w * h * 3), *back = malloc((size_t)w * h * 3);
    if (!rgb || !back) {
        CHECK(0, "out of memory");
        free(rgb), free(back);
        return;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *px = rgb + ((size_t)y * w + x) * 3;
            px[0] = (uint8_t)(5 * (x / 2));
            px[1] = (uint8_t)(5 * ((y / 2) % levels));
            px[2] = (uint8_t)(5 * (y / 2 / levels));
        }
    mnv_image src;
    mnv_image_pack(&src, MNV_PIX_RGB24, w, h, rgb);
    const mnv_pixfmt fmts[] = {MNV_PIX_YUYV, MNV_PIX_NV12, MNV_PIX_I420};
    for (size_t f = 0; f < 3; f++) {
        owned_image o;
        if (owned_alloc(&o, fmts[f], w, h, 0) != 0) {
            CHECK(0, "out of memory");
            owned_free(&o);
            continue;
        }
        CHECK(mnv_image_from_rgb24(&src, &o.img) == 0, "%s", mnv_pixfmt_name(fmts[f]));
        CHECK(mnv_image_to_rgb24(&o.img, back, (size_t)w * 3) == 0, "back from %s", mnv_pixfmt_name(fmts[f]));
        int worst[3] = {0, 0, 0};
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            int d = abs((int)back[i] - (int)rgb[i]);
            if (d > worst[i % 3])
                worst[i % 3] = d;
        }
        CHECK(worst[0] <= 1 && worst[1] <= 1 && worst[2] <= 2,
              "%s round trip: largest error R %d G %d B %d, derived bound 1 1 2", mnv_pixfmt_name(fmts[f]), worst[0],
              worst[1], worst[2]);
        /* The bound is not slack everywhere: the 140608 colours reach it. */
        CHECK(worst[0] >= 1 && worst[2] >= 1, "%s: a round trip without any error (R %d, B %d)?",
              mnv_pixfmt_name(fmts[f]), worst[0], worst[2]);
        owned_free(&o);
    }
    free(rgb), free(back);
}

static void test_bad_arguments(void)
{
    uint8_t rgb[4 * 4 * 3], data[64];
    memset(rgb, 200, sizeof rgb);
    mnv_image src, out;
    mnv_image_pack(&src, MNV_PIX_RGB24, 4, 4, rgb);
    struct {
        const char *what;
        mnv_image src, out;
    } cases[8];
    int n = 0;
    mnv_image_pack(&out, MNV_PIX_I420, 4, 4, data);
    cases[n].what = "source not rgb24", cases[n].src = out, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_I420, 4, 2, data);
    cases[n].what = "heights differ", cases[n].src = src, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_I420, 2, 4, data);
    cases[n].what = "widths differ", cases[n].src = src, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_I420, 4, 4, data);
    out.plane[2] = NULL;
    cases[n].what = "missing V plane", cases[n].src = src, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_NV12, 4, 4, data);
    out.stride[1] = 3;
    cases[n].what = "NV12 chroma stride below 2 * ceil(w / 2)", cases[n].src = src, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_YUYV, 4, 4, data);
    out.format = MNV_PIX_COUNT;
    cases[n].what = "no such format", cases[n].src = src, cases[n].out = out, n++;
    mnv_image_pack(&out, MNV_PIX_YUYV, 4, 4, data);
    cases[n].what = "rgb stride below 3 * width", cases[n].src = src, cases[n].out = out;
    cases[n].src.stride[0] = 11, n++;
    mnv_image zero_src = src, zero_out;
    zero_src.width = zero_src.height = 0;
    mnv_image_pack(&zero_out, MNV_PIX_I420, 0, 0, data);
    cases[n].what = "no pixels", cases[n].src = zero_src, cases[n].out = zero_out, n++;
    for (int i = 0; i < n; i++) {
        memset(data, 0x5A, sizeof data);
        int rc = mnv_image_from_rgb24(&cases[i].src, &cases[i].out);
        int untouched = 1;
        for (size_t k = 0; k < sizeof data; k++)
            untouched &= data[k] == 0x5A;
        CHECK(rc == MNV_EINVAL && untouched, "%s: got %d (want MNV_EINVAL), output %s", cases[i].what, rc,
              untouched ? "untouched" : "written");
    }
    mnv_image_pack(&out, MNV_PIX_I420, 4, 4, data);
    CHECK(mnv_image_from_rgb24(NULL, &out) == MNV_EINVAL, "NULL source");
    CHECK(mnv_image_from_rgb24(&src, NULL) == MNV_EINVAL, "NULL destination");
}

int main(void)
{
    test_hand_worked();
    test_against_reference();
    test_round_trip();
    test_bad_arguments();
    return check_finish("test_rgb_to_yuv");
}
