/*
 * Still images as frames: read the whole file (regular file, pipe, terminal
 * or "-" for stdin) into memory, decode it with libstb, and turn a JPEG
 * upright by its EXIF orientation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image.h>

#include "capture/source_internal.h"

/* 16k x 16k: far beyond any camera, far below what would exhaust memory. */
#define IMAGE_MAX_PIXELS (16384LL * 16384LL)
/* An uncompressed 16k x 16k BMP is 768 MiB; a wrong path (a disk, a video)
 * should not be read whole. */
#define IMAGE_MAX_BYTES ((size_t)1 << 30)

/* The shown pixel (x, y) of an image of stored size w x h under EXIF
 * orientation o (1..8) is the stored pixel (*sx, *sy). */
static void oriented_source(int o, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = w - 1 - x, *sy = y; break;         /* mirrored left-right */
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break; /* turned 180 degrees */
    case 4: *sx = x, *sy = h - 1 - y; break;         /* mirrored top-bottom */
    case 5: *sx = y, *sy = x; break;                 /* transposed */
    case 6: *sx = y, *sy = h - 1 - x; break;         /* shown turned 90 degrees clockwise */
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break; /* transverse */
    case 8: *sx = w - 1 - y, *sy = x; break;         /* shown turned 90 degrees anticlockwise */
    default: *sx = x, *sy = y; break;
    }
}

/* RGB24 pixels of w x h turned upright by orientation o, in a new buffer
 * (malloc; NULL when out of memory); *ow x *oh: the upright size. */
static uint8_t *orient_rgb24(const uint8_t *px, int w, int h, int o, int *ow, int *oh)
{
    int swap = o >= 5;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
    uint8_t *out = malloc((size_t)w * (size_t)h * 3);
    if (!out)
        return NULL;
    for (int y = 0; y < *oh; y++)
        for (int x = 0; x < *ow; x++) {
            int sx, sy;
            oriented_source(o, w, h, x, y, &sx, &sy);
            memcpy(out + ((size_t)y * (size_t)*ow + (size_t)x) * 3,
                   px + ((size_t)sy * (size_t)w + (size_t)sx) * 3, 3);
        }
    return out;
}

/* RGB24 from libstb's 16-bit samples of a PNM (comp 1 or 3 channels as in
 * the file, each sample's two bytes as they were in the file: high byte
 * first). Frees px; NULL when px is, when out of memory or comp is neither. */
static uint8_t *pnm16_to_rgb24(uint16_t *px, int w, int h, int comp)
{
    if (!px)
        return NULL;
    size_t pixels = (size_t)w * (size_t)h;
    uint8_t *rgb = comp == 1 || comp == 3 ? malloc(pixels * 3) : NULL;
    const uint8_t *bytes = (const uint8_t *)px;
    for (size_t i = 0; rgb && i < pixels; i++)
        for (int c = 0; c < 3; c++)
            rgb[3 * i + (size_t)c] = bytes[2 * (comp == 1 ? i : 3 * i + (size_t)c)];
    stbi_image_free(px);
    return rgb;
}

/* libstb's reason for the last failure, made printable: for an unknown PNG
 * chunk it quotes the chunk's four bytes from the file, which may be a
 * newline (found by fuzzing). */
static const char *stb_reason(char *buf, size_t len)
{
    const char *r = stbi_failure_reason();
    size_t n = 0;
    for (; r && r[n] && n + 1 < len; n++)
        buf[n] = r[n] >= 0x20 && r[n] < 0x7f ? r[n] : '?';
    buf[n] = '\0';
    return buf;
}

/* What decoding a w x h picture of comp channels may hold at once, by the
 * header: libstb's picture at the file's depth (8 or 16 bits, float for
 * HDR) and its working copy of the same size, the RGB24 result, and the
 * upright copy when an EXIF orientation turns it. SIZE_MAX when it does not
 * fit a size_t. */
static size_t decode_need(int w, int h, int comp, int depth_bytes, int turned)
{
    size_t pixels, per_pixel = 2 * (size_t)(comp > 0 ? comp : 4) * (size_t)depth_bytes + 3 + (turned ? 3 : 0), need;
    if (w <= 0 || h <= 0)
        return 0;
    if (__builtin_mul_overflow((size_t)w, (size_t)h, &pixels) || __builtin_mul_overflow(pixels, per_pixel, &need))
        return SIZE_MAX;
    return need;
}

int image_load_memory_max(frame *f, const uint8_t *data, size_t len, const char *name, size_t max_bytes,
                          char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (max_bytes == 0)
        max_bytes = MNV_DEFAULT_MAX_MEMORY;
    if (len == 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: empty, not an image", name);
    if (len > IMAGE_MAX_BYTES || len > INT_MAX)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: larger than %zu bytes", name,
                         IMAGE_MAX_BYTES);
    int w = 0, h = 0, comp = 0;
    char why[64];
    /* Refuse absurd sizes before decoding: a tiny corrupt header could
     * otherwise ask for gigabytes. A header libstb cannot read is one it
     * cannot decode either. */
    int tables = jpeg_tables_ok(data, len, 0);
    if (tables <= 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot decode image (corrupt JPEG: %s)", name,
                         tables == 0 ? "a Huffman table of more than 256 codes" : "a scan uses an undefined Huffman table");
    uint32_t chunk;
    if (!png_chunks_ok(data, len, &chunk))
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot decode image (truncated PNG: a chunk of %u bytes "
                         "runs past the end of the file)", name, (unsigned)chunk);
    if (!stbi_info_from_memory(data, (int)len, &w, &h, &comp))
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot decode image (%s)", name,
                         stb_reason(why, sizeof why));
    if ((long long)w * h > IMAGE_MAX_PIXELS)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: image too large (%dx%d, at most 16384x16384)", name,
                         w, h);
    int depth = stbi_is_hdr_from_memory(data, (int)len) ? 4 : stbi_is_16_bit_from_memory(data, (int)len) ? 2 : 1;
    int o = exif_orientation(data, len);
    size_t need = decode_need(w, h, comp, depth, o != 1);
    if (need > max_bytes)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: decoding a %dx%d picture needs %zu MiB, more than the memory limit of %zu MiB", name,
                         w, h, mnv_mib(need), mnv_mib(max_bytes));
    int hw = w, hh = h;
    /* libstb (Debian 12's, 2.27) gets 16-bit PNM wrong twice: asked for
     * other channels than the file's, it converts them as if 8-bit and
     * then reads twice that buffer (found by fuzzing a 16-bit PGM); and it
     * takes each sample in the machine's byte order where PNM's is
     * big-endian. So there: the file's own channels at 16 bits, untouched,
     * whose first byte in memory is the sample's high byte as in the file. */
    int pnm16 = depth == 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6');
    uint8_t *px;
    if (pnm16)
        px = pnm16_to_rgb24(stbi_load_16_from_memory(data, (int)len, &w, &h, &comp, comp), w, h, comp);
    else
        px = stbi_load_from_memory(data, (int)len, &w, &h, &comp, 3);
    if (!px)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: cannot decode image (%s)", name,
                         stb_reason(why, sizeof why));
    if (w != hw || h != hh) { /* the header said one size, the decoder made another */
        stbi_image_free(px);
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: decoded %dx%d, its header says %dx%d", name, w, h, hw, hh);
    }
    if (w <= 0 || h <= 0) {
        stbi_image_free(px);
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: image has no pixels", name);
    }
    if (o != 1) {
        int ow, oh;
        uint8_t *upright = orient_rgb24(px, w, h, o, &ow, &oh);
        stbi_image_free(px);
        if (!upright)
            return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory for a %dx%d image", name, w, h);
        px = upright;
        w = ow;
        h = oh;
    }
    mnv_image_pack(&f->img, MNV_PIX_RGB24, w, h, px);
    f->name = name;
    return 0;
}

/* All of fd (a file of known size, or a stream read to its end) into a new
 * buffer. */
static int read_all(int fd, const char *name, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", name, strerror(EISDIR));
    int regular = S_ISREG(st.st_mode);
    if (regular && (uint64_t)st.st_size > IMAGE_MAX_BYTES)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: larger than %zu bytes", name,
                         IMAGE_MAX_BYTES);
    /* A regular file's size is known (one byte more tells if it grew); a
     * pipe's is not: grow as it comes, up to the limit. */
    size_t cap = regular ? (size_t)st.st_size + 1 : 65536, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name);
    for (;;) {
        if (n == cap) {
            if (n > IMAGE_MAX_BYTES) {
                free(buf);
                return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: larger than %zu bytes", name,
                                 IMAGE_MAX_BYTES);
            }
            size_t more = cap * 2 > IMAGE_MAX_BYTES + 1 ? IMAGE_MAX_BYTES + 1 : cap * 2;
            uint8_t *grown = realloc(buf, more);
            if (!grown) {
                free(buf);
                return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name);
            }
            buf = grown;
            cap = more;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            return mnv_error(err, errlen, MNV_EIO, "%s: %s", name, strerror(e));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *out = buf;
    *len = n;
    return 0;
}

int image_load_memory(frame *f, const uint8_t *data, size_t len, const char *name, char *err, size_t errlen)
{
    return image_load_memory_max(f, data, len, name, 0, err, errlen);
}

int image_load_max(frame *f, const char *path, size_t max_bytes, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = read_all(fd, name, &data, &len, err, errlen);
    if (!is_stdin)
        close(fd);
    if (rc)
        return rc;
    rc = image_load_memory_max(f, data, len, name, max_bytes, err, errlen);
    free(data);
    if (rc == 0)
        f->name = path;
    return rc;
}

void frame_free(frame *f)
{
    /* libstb's pixels come from malloc (its default STBI_MALLOC, which
     * Debian's libstb keeps), as turned ones do: free fits both. */
    free((void *)f->img.plane[0]);
    memset(f, 0, sizeof *f);
}

int image_load(frame *f, const char *path, char *err, size_t errlen)
{
    return image_load_max(f, path, 0, err, errlen);
}

/* A header is at the start of every format libstb reads; a JPEG's frame
 * header may follow 64 KiB APP segments, hence a MiB. */
#define PEEK_BYTES ((size_t)1 << 20)

int image_peek_size(const image_entry *e, int *w, int *h)
{
    int comp, known = 0;
    if (e->data)
        return e->len <= INT_MAX && jpeg_tables_ok(e->data, e->len, 1) > 0 &&
               stbi_info_from_memory(e->data, (int)e->len, w, h, &comp);
    int fd = open(e->path, O_RDONLY | O_CLOEXEC);
    uint8_t *head = fd >= 0 ? malloc(PEEK_BYTES) : NULL;
    size_t n = 0;
    for (ssize_t got = 1; head && n < PEEK_BYTES && got > 0; n += got > 0 ? (size_t)got : 0)
        got = read(fd, head + n, PEEK_BYTES - n);
    if (head && n > 0)
        known = jpeg_tables_ok(head, n, 1) > 0 && stbi_info_from_memory(head, (int)n, w, h, &comp);
    free(head);
    if (fd >= 0)
        close(fd);
    return known;
}
