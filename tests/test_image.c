/*
 * capture/: still images. Real files of every format the README lists
 * (written here: PNG, BMP, TGA and JPEG by libstb's writer, PPM, PGM and GIF
 * by hand) decode to the picture they hold; JPEGs carrying each of the eight
 * EXIF orientations, in both TIFF byte orders, come out upright with the
 * upright size; malformed EXIF blocks (every truncation, every byte changed)
 * never read outside the buffer and mean "as stored"; files that are not
 * images, directories and missing files fail with the name and the reason.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "capture/capture.h"
#include "check.h"

/* The test picture: W x H in four flat quadrants, so that JPEG's loss does
 * not matter at their centres and every turn and mirror shows. */
#define W 32
#define H 16
enum { TL, TR, BL, BR };
static const uint8_t quadrant_rgb[4][3] = {
    [TL] = {220, 30, 30}, [TR] = {30, 200, 40}, [BL] = {40, 40, 220}, [BR] = {240, 240, 240}};

static void make_picture(uint8_t *rgb)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(rgb + (y * W + x) * 3, quadrant_rgb[(y >= H / 2) * 2 + (x >= W / 2)], 3);
}

/* A growing byte buffer, for the writers' callbacks. */
typedef struct bytes { uint8_t *p; size_t n, cap; } bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_byte(bytes *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void stb_sink(void *ctx, void *data, int size)
{
    put(ctx, data, (size_t)size);
}

static int write_bytes(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A GIF of the picture: a 4-colour palette and LZW codes kept at 3 bits by
 * a clear code every two pixels (valid, if not small). */
static void make_gif(bytes *b)
{
    put(b, "GIF89a", 6);
    put_byte(b, W), put_byte(b, 0), put_byte(b, H), put_byte(b, 0);
    put_byte(b, 0x81); /* global palette of 2^(1+1) = 4 colours */
    put_byte(b, 0), put_byte(b, 0);
    for (int q = 0; q < 4; q++)
        put(b, quadrant_rgb[q], 3);
    put_byte(b, 0x2C); /* image descriptor: whole screen, no local palette */
    for (int i = 0; i < 4; i++)
        put_byte(b, 0);
    put_byte(b, W), put_byte(b, 0), put_byte(b, H), put_byte(b, 0), put_byte(b, 0);
    put_byte(b, 2); /* LZW minimum code size: clear = 4, end = 5, codes of 3 bits */
    bytes codes = {0};
    uint32_t acc = 0;
    int bits = 0;
#define EMIT(code)                                                   \
    do {                                                             \
        acc |= (uint32_t)(code) << bits, bits += 3;                  \
        while (bits >= 8)                                            \
            put_byte(&codes, acc & 0xFF), acc >>= 8, bits -= 8;      \
    } while (0)
    for (int i = 0; i < W * H; i++) {
        if (i % 2 == 0)
            EMIT(4);
        int x = i % W, y = i / W;
        EMIT((y >= H / 2) * 2 + (x >= W / 2));
    }
    EMIT(5);
#undef EMIT
    if (bits > 0)
        put_byte(&codes, acc & 0xFF);
    for (size_t at = 0; at < codes.n; at += 255) {
        size_t n = codes.n - at < 255 ? codes.n - at : 255;
        put_byte(b, (unsigned)n);
        put(b, codes.p + at, n);
    }
    put_byte(b, 0);
    put_byte(b, 0x3B);
    free(codes.p);
}

/* A JPEG of the picture with an APP1 Exif block right after SOI holding
 * orientation o in IFD0 (o = 0: no Exif block). */
static void make_jpeg(bytes *b, int o, int big_endian)
{
    uint8_t rgb[W * H * 3];
    make_picture(rgb);
    bytes plain = {0};
    if (!stbi_write_jpg_to_func(stb_sink, &plain, W, H, 3, rgb, 95)) {
        fprintf(stderr, "stbi_write_jpg failed\n");
        exit(1);
    }
    put(b, plain.p, 2); /* SOI */
    if (o) {
        uint8_t tiff[26];
        /* header, IFD0 at 8 with one entry (0x0112, SHORT, 1, o), no next IFD */
        static const uint8_t le[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                                       1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t be[26] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                       0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(tiff, big_endian ? be : le, sizeof tiff);
        tiff[big_endian ? 19 : 18] = (uint8_t)o;
        unsigned seg = 2 + 6 + sizeof tiff;
        put_byte(b, 0xFF), put_byte(b, 0xE1), put_byte(b, seg >> 8), put_byte(b, seg & 0xFF);
        put(b, "Exif\0\0", 6);
        put(b, tiff, sizeof tiff);
    }
    put(b, plain.p + 2, plain.n - 2);
    free(plain.p);
}

static int near(const uint8_t *px, const uint8_t *want, int tol)
{
    for (int c = 0; c < 3; c++)
        if (abs(px[c] - want[c]) > tol)
            return 0;
    return 1;
}

/* The frame shows quadrants shown[TL..BR] (indices into quadrant_rgb). */
static void check_quadrants(const frame *f, const int shown[4], int tol, const char *what)
{
    int w = f->img.width, h = f->img.height;
    const int cx[4] = {w / 4, 3 * w / 4, w / 4, 3 * w / 4}, cy[4] = {h / 4, h / 4, 3 * h / 4, 3 * h / 4};
    for (int q = 0; q < 4; q++) {
        const uint8_t *px = f->img.plane[0] + (size_t)cy[q] * f->img.stride[0] + (size_t)cx[q] * 3;
        CHECK(near(px, quadrant_rgb[shown[q]], tol), "%s: quadrant %d is (%d %d %d), expected (%d %d %d)",
              what, q, px[0], px[1], px[2], quadrant_rgb[shown[q]][0], quadrant_rgb[shown[q]][1],
              quadrant_rgb[shown[q]][2]);
    }
}

/* Which stored quadrant each shown quadrant (TL, TR, BL, BR) is, for every
 * orientation, from the EXIF definition of where the stored row 0 and
 * column 0 go (1: top, left; 6: right, top; ...), not from the code. */
static const int upright[9][4] = {
    [1] = {TL, TR, BL, BR}, [2] = {TR, TL, BR, BL}, [3] = {BR, BL, TR, TL},
    [4] = {BL, BR, TL, TR}, [5] = {TL, BL, TR, BR}, [6] = {BL, TL, BR, TR},
    [7] = {BR, TR, BL, TL}, [8] = {TR, BR, TL, BL},
};

static void test_orientations(const char *dir)
{
    char err[512];
    for (int be = 0; be <= 1; be++)
        for (int o = 1; o <= 8; o++) {
            bytes b = {0};
            make_jpeg(&b, o, be);
            char what[64];
            snprintf(what, sizeof what, "orientation %d (%s)", o, be ? "MM" : "II");
            CHECK(exif_orientation(b.p, b.n) == o, "%s: read %d", what, exif_orientation(b.p, b.n));
            frame f;
            int rc = image_load_memory(&f, b.p, b.n, "mem.jpg", err, sizeof err);
            CHECK(rc == 0, "%s: %s", what, err);
            if (rc == 0) {
                int ww = o >= 5 ? H : W, wh = o >= 5 ? W : H;
                CHECK(f.img.width == ww && f.img.height == wh && f.img.format == MNV_PIX_RGB24 &&
                          f.img.stride[0] == (size_t)ww * 3,
                      "%s: %dx%d, expected %dx%d", what, f.img.width, f.img.height, ww, wh);
                CHECK(f.name && strcmp(f.name, "mem.jpg") == 0, "%s: name", what);
                check_quadrants(&f, upright[o], 12, what);
            }
            frame_free(&f);
            CHECK(f.img.plane[0] == NULL, "frame_free empties the frame");
            free(b.p);
        }

    /* the same through a file: image_load applies it too */
    char path[1024];
    snprintf(path, sizeof path, "%s/turned.jpg", dir);
    bytes b = {0};
    make_jpeg(&b, 6, 0);
    CHECK(write_bytes(path, b.p, b.n) == 0, "write %s", path);
    free(b.p);
    frame f;
    int rc = image_load(&f, path, err, sizeof err);
    CHECK(rc == 0 && f.img.width == H && f.img.height == W && f.name == path, "file: %s", err);
    if (rc == 0)
        check_quadrants(&f, upright[6], 12, "file, orientation 6");
    frame_free(&f);
    remove(path);

    /* no Exif block: as stored */
    b = (bytes){0};
    make_jpeg(&b, 0, 0);
    CHECK(exif_orientation(b.p, b.n) == 1, "no Exif block");
    free(b.p);
}

/* Put extra bytes at offset at of a buffer, for layouts around the block. */
static bytes spliced(const bytes *src, size_t at, const void *extra, size_t n)
{
    bytes out = {0};
    put(&out, src->p, at);
    put(&out, extra, n);
    put(&out, src->p + at, src->n - at);
    return out;
}

static int orientation_of_copy(const uint8_t *p, size_t n)
{
    /* an exactly sized copy, so that AddressSanitizer sees any overrun */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return -1;
    memcpy(copy, p, n);
    int o = exif_orientation(copy, n);
    free(copy);
    return o;
}

static void test_exif_malformed(void)
{
    bytes good = {0};
    make_jpeg(&good, 6, 0);
    /* offsets in good: SOI 0, APP1 marker 2, length 4, "Exif" 6, TIFF 12 */
    const size_t tiff = 12;

    /* every truncation: orientation 6 or, once the block is cut, 1 */
    int bad = 0;
    for (size_t n = 0; n <= good.n; n++) {
        int o = orientation_of_copy(good.p, n);
        if (o != 1 && o != 6)
            bad++;
        if (n < tiff + 26 && o != 1)
            bad++;
    }
    CHECK(bad == 0, "%d truncations gave a wrong orientation", bad);

    /* every byte of the segment changed to each of a few values: never out
     * of bounds, always 1..8 */
    bad = 0;
    static const uint8_t values[] = {0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF};
    for (size_t i = 2; i < tiff + 26; i++)
        for (size_t v = 0; v < sizeof values; v++) {
            uint8_t keep = good.p[i];
            good.p[i] = values[v];
            int o = orientation_of_copy(good.p, good.n);
            good.p[i] = keep;
            if (o < 1 || o > 8)
                bad++;
        }
    CHECK(bad == 0, "%d changed bytes gave an orientation outside 1..8", bad);

    static const struct {
        size_t at;      /* offset into good */
        uint8_t value[4];
        size_t n;       /* bytes of value written over good at at */
        const char *what;
    } cases[] = {
        {tiff + 0, {'I', 'M'}, 2, "byte order neither II nor MM"},
        {tiff + 2, {43, 0}, 2, "TIFF magic not 42"},
        {tiff + 4, {200, 0, 0, 0}, 4, "IFD0 beyond the block"},
        {tiff + 4, {0xFF, 0xFF, 0xFF, 0xFF}, 4, "IFD0 offset 2^32 - 1"},
        {tiff + 4, {4, 0, 0, 0}, 4, "IFD0 inside the header"},
        {tiff + 8, {2, 0}, 2, "two entries where one fits"},
        {tiff + 8, {0xFF, 0xFF}, 2, "65535 entries"},
        {tiff + 12, {4, 0}, 2, "orientation as a LONG"},
        {tiff + 14, {2, 0, 0, 0}, 4, "two orientation values"},
        {tiff + 18, {9, 0}, 2, "orientation 9"},
        {tiff + 18, {0, 0}, 2, "orientation 0"},
        {4, {0xFF, 0xFF}, 2, "segment longer than the file"},
        {4, {0, 1}, 2, "segment length 1"},
        {6, {'E', 'x', 'i', 'x'}, 4, "not an Exif block"},
        {0, {0x89, 'P'}, 2, "not a JPEG"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t keep[4];
        memcpy(keep, good.p + cases[i].at, cases[i].n);
        memcpy(good.p + cases[i].at, cases[i].value, cases[i].n);
        int o = orientation_of_copy(good.p, good.n);
        CHECK(o == 1, "%s: orientation %d, expected 1 (as stored)", cases[i].what, o);
        memcpy(good.p + cases[i].at, keep, cases[i].n);
    }
    CHECK(orientation_of_copy(good.p, good.n) == 6, "the cases left the file as it was");

    /* layouts a real file has: other APP segments first, XMP in an APP1 of
     * its own, fill bytes before a marker */
    static const uint8_t app0[] = {0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    static const uint8_t xmp[] = {0xFF, 0xE1, 0, 12, 'h', 't', 't', 'p', ':', '/', '/', 'n', 's', '.'};
    static const uint8_t fill[] = {0xFF, 0xFF};
    bytes b = spliced(&good, 2, app0, sizeof app0);
    CHECK(orientation_of_copy(b.p, b.n) == 6, "after an APP0 JFIF segment");
    free(b.p);
    b = spliced(&good, 2, xmp, sizeof xmp);
    CHECK(orientation_of_copy(b.p, b.n) == 6, "after an XMP APP1 segment");
    free(b.p);
    b = spliced(&good, 2, fill, sizeof fill);
    CHECK(orientation_of_copy(b.p, b.n) == 6, "after fill bytes");
    free(b.p);
    /* an Exif block after the start of scan is not looked for */
    bytes plain = {0};
    make_jpeg(&plain, 0, 0);
    size_t sos = 2;
    while (sos + 1 < plain.n && !(plain.p[sos] == 0xFF && plain.p[sos + 1] == 0xDA))
        sos++;
    b = spliced(&plain, sos + 2, good.p + 2, tiff + 26 - 2);
    CHECK(orientation_of_copy(b.p, b.n) == 1, "Exif block inside the image data");
    free(b.p);
    free(plain.p);
    free(good.p);
}

/* Every format the README lists, as a real file read by image_load. */
static void test_formats(const char *dir)
{
    uint8_t rgb[W * H * 3];
    make_picture(rgb);
    static const int as_is[4] = {TL, TR, BL, BR};
    char path[1024], err[512];
    struct { const char *name; int lossless; } formats[] = {
        {"png", 1}, {"bmp", 1}, {"tga", 1}, {"ppm", 1}, {"gif", 1}, {"jpg", 0}, {"pgm", 0},
    };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const char *name = formats[i].name;
        snprintf(path, sizeof path, "%s/picture.%s", dir, name);
        bytes b = {0};
        char header[64];
        if (strcmp(name, "png") == 0)
            stbi_write_png_to_func(stb_sink, &b, W, H, 3, rgb, W * 3);
        else if (strcmp(name, "bmp") == 0)
            stbi_write_bmp_to_func(stb_sink, &b, W, H, 3, rgb);
        else if (strcmp(name, "tga") == 0)
            stbi_write_tga_to_func(stb_sink, &b, W, H, 3, rgb);
        else if (strcmp(name, "jpg") == 0)
            make_jpeg(&b, 0, 0);
        else if (strcmp(name, "gif") == 0)
            make_gif(&b);
        else if (strcmp(name, "ppm") == 0) {
            put(&b, header, (size_t)snprintf(header, sizeof header, "P6\n%d %d\n255\n", W, H));
            put(&b, rgb, sizeof rgb);
        } else { /* pgm: the grey of each quadrant's green */
            put(&b, header, (size_t)snprintf(header, sizeof header, "P5\n%d %d\n255\n", W, H));
            for (int p = 0; p < W * H; p++)
                put_byte(&b, rgb[p * 3 + 1]);
        }
        CHECK(b.n > 0 && write_bytes(path, b.p, b.n) == 0, "%s: written", name);
        free(b.p);
        frame f;
        int rc = image_load(&f, path, err, sizeof err);
        CHECK(rc == 0 && f.img.width == W && f.img.height == H, "%s: %s", name, err);
        if (rc == 0 && strcmp(name, "pgm") == 0) {
            const uint8_t *px = f.img.plane[0] + (size_t)(H / 4) * f.img.stride[0] + (W * 3 / 4) * 3;
            CHECK(px[0] == quadrant_rgb[TR][1] && px[1] == px[0] && px[2] == px[0],
                  "pgm: grey (%d %d %d)", px[0], px[1], px[2]);
        } else if (rc == 0) {
            check_quadrants(&f, as_is, formats[i].lossless ? 0 : 12, name);
        }
        frame_free(&f);
        remove(path);
    }
}

/* 16-bit PNM (the 16-bit PGM that libstb 2.27 overruns its buffer on
 * when asked for RGB; found by fuzzing): grey and RGB narrowed to their
 * high bytes. */
static void test_pnm16(void)
{
    static const uint8_t pgm[] = "P5\n2 1\n65535\n\x12\x34\xab\xcd";
    static const uint8_t ppm[] = "P6\n1 1\n65535\n\x01\x02\x80\x00\xfe\xff";
    frame f;
    char err[512];
    int rc = image_load_memory(&f, pgm, sizeof pgm - 1, "grey16.pgm", err, sizeof err);
    CHECK(rc == 0 && f.img.width == 2 && f.img.height == 1, "16-bit PGM: %d '%s'", rc, err);
    if (rc == 0) {
        const uint8_t *p = f.img.plane[0];
        CHECK(p[0] == 0x12 && p[1] == 0x12 && p[2] == 0x12 && p[3] == 0xab && p[4] == 0xab && p[5] == 0xab,
              "16-bit PGM pixels %02x %02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3], p[4], p[5]);
        frame_free(&f);
    }
    rc = image_load_memory(&f, ppm, sizeof ppm - 1, "rgb16.ppm", err, sizeof err);
    CHECK(rc == 0 && f.img.width == 1 && f.img.height == 1, "16-bit PPM: %d '%s'", rc, err);
    if (rc == 0) {
        const uint8_t *p = f.img.plane[0];
        CHECK(p[0] == 0x01 && p[1] == 0x80 && p[2] == 0xfe, "16-bit PPM pixel %02x %02x %02x", p[0], p[1], p[2]);
        frame_free(&f);
    }
}

/* What libstb 2.27 trusts and the loader checks first (capture/stb_guard.c;
 * each found by fuzzing): a JPEG Huffman table of more than 256 codes
 * (libstb wrote them past its tables), here before the frame header and
 * between scans; a scan using tables never defined (libstb decoded with
 * whatever its memory held); a PNG chunk longer than the file (libstb
 * allocated what it claimed). The pictures are otherwise the valid ones of make_jpeg and
 * stbi_write_png. */
static void test_stb_guards(void)
{
    frame f;
    char err[512];
    bytes good = {0}, bad = {0};
    make_jpeg(&good, 0, 0);
    static const uint8_t dht[] = {0xFF, 0xC4, 0x00, 0x13, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    put(&bad, good.p, 2);
    put(&bad, dht, sizeof dht);
    put(&bad, good.p + 2, good.n - 2);
    int rc = image_load_memory(&f, bad.p, bad.n, "dht.jpg", err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strcmp(err, "dht.jpg: cannot decode image (corrupt JPEG: a Huffman table of more "
                                           "than 256 codes)") == 0, "4080 codes before the frame: %d '%s'", rc, err);
    /* the same table just before the end of the image (after the scan) */
    bad.n = 0;
    put(&bad, good.p, good.n - 2);
    put(&bad, dht, sizeof dht);
    put(&bad, good.p + good.n - 2, 2);
    rc = image_load_memory(&f, bad.p, bad.n, "dht_late.jpg", err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strstr(err, "dht_late.jpg: cannot decode image (corrupt JPEG"), "4080 codes after the "
          "scan: %d '%s'", rc, err);
    rc = image_load_memory(&f, good.p, good.n, "good.jpg", err, sizeof err);
    CHECK(rc == 0, "the JPEG itself: '%s'", err);
    frame_free(&f);
    /* the JPEG without its Huffman tables: its scan uses undefined ones */
    bad.n = 0;
    put(&bad, good.p, 2);
    size_t at = 2;
    while (at + 4 <= good.n && good.p[at] == 0xFF && good.p[at + 1] != 0xDA) {
        size_t seg = 2 + ((size_t)good.p[at + 2] << 8 | good.p[at + 3]);
        if (good.p[at + 1] != 0xC4)
            put(&bad, good.p + at, seg);
        at += seg;
    }
    put(&bad, good.p + at, good.n - at);
    CHECK(bad.n < good.n, "the JPEG has no DHT segment to leave out");
    rc = image_load_memory(&f, bad.p, bad.n, "no_dht.jpg", err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strcmp(err, "no_dht.jpg: cannot decode image (corrupt JPEG: a scan uses an undefined "
                                           "Huffman table)") == 0, "no tables: %d '%s'", rc, err);

    uint8_t rgb[W * H * 3];
    make_picture(rgb);
    bytes png = {0};
    CHECK(stbi_write_png_to_func(stb_sink, &png, W, H, 3, rgb, W * 3) != 0, "stbi_write_png");
    size_t idat = 8;
    while (idat + 8 <= png.n && memcmp(png.p + idat + 4, "IDAT", 4) != 0)
        idat += 12 + ((size_t)png.p[idat] << 24 | (size_t)png.p[idat + 1] << 16 | (size_t)png.p[idat + 2] << 8 |
                      png.p[idat + 3]);
    CHECK(idat + 8 <= png.n, "no IDAT in the PNG");
    if (idat + 8 <= png.n) {
        png.p[idat] = 0x68, png.p[idat + 1] = 0x68, png.p[idat + 2] = 0x68, png.p[idat + 3] = 0x1b;
        rc = image_load_memory(&f, png.p, png.n, "idat.png", err, sizeof err);
        CHECK(rc == MNV_EFORMAT && strcmp(err, "idat.png: cannot decode image (truncated PNG: a chunk of 1751672859 "
                                               "bytes runs past the end of the file)") == 0, "IDAT: %d '%s'", rc, err);
    }
    free(good.p), free(bad.p), free(png.p);
}

static void test_errors(const char *dir)
{
    char path[1024], want[1200], err[512];
    frame f;
    /* a directory */
    int rc = image_load(&f, dir, err, sizeof err);
    snprintf(want, sizeof want, "%s: %s", dir, strerror(EISDIR));
    CHECK(rc != 0 && strcmp(err, want) == 0 && f.img.plane[0] == NULL, "directory: '%s'", err);
    /* missing */
    snprintf(path, sizeof path, "%s/missing.png", dir);
    rc = image_load(&f, path, err, sizeof err);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    CHECK(rc == MNV_EIO && strcmp(err, want) == 0, "missing: '%s'", err);
    /* empty and not an image */
    snprintf(path, sizeof path, "%s/empty.png", dir);
    CHECK(write_bytes(path, (const uint8_t *)"", 0) == 0, "write");
    rc = image_load(&f, path, err, sizeof err);
    snprintf(want, sizeof want, "%s: empty, not an image", path);
    CHECK(rc == MNV_EFORMAT && strcmp(err, want) == 0, "empty: '%s'", err);
    remove(path);
    static const uint8_t text[] = "not an image at all\n";
    rc = image_load_memory(&f, text, sizeof text - 1, "text.png", err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strncmp(err, "text.png: cannot decode image", 29) == 0 &&
              f.img.plane[0] == NULL && f.name == NULL,
          "text: '%s'", err);
    /* a JPEG cut inside its header */
    bytes b = {0};
    make_jpeg(&b, 3, 0);
    rc = image_load_memory(&f, b.p, 60, "cut.jpg", err, sizeof err);
    CHECK(rc == MNV_EFORMAT && strstr(err, "cut.jpg: cannot decode image"), "cut JPEG: '%s'", err);
    free(b.p);
    /* a header claiming 100000 x 100000 pixels is refused before decoding */
    static const uint8_t huge[] = "P6\n100000 100000\n255\n";
    rc = image_load_memory(&f, huge, sizeof huge - 1, "huge.ppm", err, sizeof err);
    CHECK(rc == MNV_EUNSUPPORTED && strcmp(err, "huge.ppm: image too large (100000x100000, at most 16384x16384)") == 0,
          "huge: %d '%s'", rc, err);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/test_image.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    test_orientations(dir);
    test_exif_malformed();
    test_formats(dir);
    test_pnm16();
    test_stb_guards();
    test_errors(dir);
    rmdir(dir);
    return check_finish("still images");
}
