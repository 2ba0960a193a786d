/*
 * Y4M (YUV4MPEG2) video, read strictly front to back so that pipes work:
 *
 *   YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n
 *   FRAME\n <planes>   FRAME Ip\n <planes>   ...
 *
 * 8-bit only. 4:2:0 (any chroma siting) goes out as I420 untouched; 4:2:2 is
 * repacked losslessly into YUYV; 4:4:4 becomes I420 by averaging each 2x2
 * block of chroma (what the detector's 300x300 input keeps of it anyway);
 * mono becomes I420 with neutral chroma. Odd sizes: chroma planes are
 * ceil(w/2) x ceil(h/2) (4:2:0) or ceil(w/2) x h (4:2:2), as FFmpeg writes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/source_internal.h"

#define Y4M_MAGIC "YUV4MPEG2"
#define Y4M_MAX_SIDE 16384
/* Header and FRAME lines: the format sets no limit; real ones are < 100 bytes. */
#define Y4M_MAX_LINE 4096
/* F0:0 means "unknown" (mjpegtools); like FFmpeg we then assume 25 fps. */
#define Y4M_DEFAULT_RATE_NUM 25

typedef enum y4m_layout { Y4M_420, Y4M_422, Y4M_444, Y4M_MONO } y4m_layout;

static const struct {
    const char *name;
    y4m_layout layout;
} y4m_colourspaces[] = {
    {"420jpeg", Y4M_420}, {"420paldv", Y4M_420}, {"420mpeg2", Y4M_420}, {"420", Y4M_420},
    {"422", Y4M_422},     {"444", Y4M_444},      {"mono", Y4M_MONO},
};

typedef struct y4m_source {
    frame_source base;
    frame_pool pool;
    FILE *fp;
    int own_fp;
    uint8_t *pending;        /* bytes read before we got the stream (sniffing) */
    size_t pending_len, pending_pos;
    int width, height;
    y4m_layout layout;
    int rate_num, rate_den;
    size_t in_bytes;         /* one frame's planes as stored */
    size_t out_bytes;        /* as handed out */
    size_t max_frame_bytes;  /* in_bytes (when repacked) + out_bytes may not pass it */
    uint8_t *scratch;        /* one stored frame, for the layouts we repack */
    uint64_t frames;         /* read so far: the number of the next one */
    int ended;               /* end of stream or an error: only MNV_END from now on */
    atomic_int interrupted;
    char *name;
} y4m_source;

static size_t y4m_read(y4m_source *s, uint8_t *dst, size_t n)
{
    size_t got = 0;
    if (s->pending_pos < s->pending_len) {
        got = s->pending_len - s->pending_pos;
        if (got > n)
            got = n;
        memcpy(dst, s->pending + s->pending_pos, got);
        s->pending_pos += got;
    }
    if (got < n)
        got += fread(dst + got, 1, n - got, s->fp);
    return got;
}

static int y4m_getc(y4m_source *s)
{
    if (s->pending_pos < s->pending_len)
        return s->pending[s->pending_pos++];
    return getc(s->fp);
}

typedef enum line_end { LINE_OK, LINE_EOF, LINE_CUT, LINE_LONG } line_end;

/* One line without its '\n' into line (NUL-terminated, cap bytes), its
 * length in *len. LINE_EOF: the stream ended before any byte; LINE_CUT: the
 * stream ended inside the line; LINE_LONG: no '\n' within cap - 1 bytes. */
static line_end y4m_read_line(y4m_source *s, char *line, size_t cap, size_t *len)
{
    size_t n = 0;
    line_end end = LINE_OK;
    for (;;) {
        int c = y4m_getc(s);
        if (c == EOF) {
            end = n ? LINE_CUT : LINE_EOF;
            break;
        }
        if (c == '\n')
            break;
        if (n + 1 >= cap) {
            end = LINE_LONG;
            break;
        }
        line[n++] = (char)c;
    }
    line[n] = '\0';
    *len = n;
    return end;
}

/* A token for an error message: at most 40 bytes, unprintable bytes as '?'. */
static const char *printable(char *out, size_t cap, const char *tok, size_t len)
{
    size_t n = 0;
    for (; n < len && n < 40 && n + 1 < cap; n++)
        out[n] = tok[n] >= 0x20 && tok[n] < 0x7f ? tok[n] : '?';
    if (len > n && n + 4 < cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* Decimal digits only, value <= max. */
static int parse_uint(const char *p, size_t len, long max, long *v)
{
    if (len == 0)
        return -1;
    long x = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (p[i] - '0');
        if (x > max)
            return -1;
    }
    *v = x;
    return 0;
}

/* "n:d", both decimal. */
static int parse_ratio(const char *p, size_t len, long *n, long *d)
{
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return -1;
    size_t nl = (size_t)(colon - p);
    return parse_uint(p, nl, 0x7fffffffL, n) || parse_uint(colon + 1, len - nl - 1, 0x7fffffffL, d)
               ? -1 : 0;
}

static int header_error(y4m_source *s, char *err, size_t errlen, int code, const char *what,
                        const char *tok, size_t len)
{
    char shown[48];
    if (tok)
        return mnv_error(err, errlen, code, "%s: Y4M header: %s '%s'", s->name, what,
                         printable(shown, sizeof shown, tok, len));
    return mnv_error(err, errlen, code, "%s: Y4M header: %s", s->name, what);
}

static int parse_header(y4m_source *s, const char *line, size_t len, char *err, size_t errlen)
{
    const size_t magic = sizeof Y4M_MAGIC - 1;
    if (len < magic || memcmp(line, Y4M_MAGIC, magic) != 0 || (len > magic && line[magic] != ' '))
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: not a Y4M file (no YUV4MPEG2 signature)",
                         s->name);
    if (memchr(line, '\0', len))
        return header_error(s, err, errlen, MNV_EFORMAT, "contains a NUL byte", NULL, 0);
    long w = 0, h = 0, rn = -1, rd = -1;
    s->layout = Y4M_420;
    for (size_t i = magic; i < len;) {
        if (line[i] == ' ') {
            i++;
            continue;
        }
        size_t end = i;
        while (end < len && line[end] != ' ')
            end++;
        const char *tok = line + i, *val = tok + 1;
        size_t tlen = end - i, vlen = tlen - 1;
        i = end;
        long a, b;
        switch (tok[0]) {
        case 'W':
            if (parse_uint(val, vlen, Y4M_MAX_SIDE, &w) || w == 0)
                return header_error(s, err, errlen, MNV_EFORMAT, "width must be 1 to 16384, not", tok, tlen);
            break;
        case 'H':
            if (parse_uint(val, vlen, Y4M_MAX_SIDE, &h) || h == 0)
                return header_error(s, err, errlen, MNV_EFORMAT, "height must be 1 to 16384, not", tok, tlen);
            break;
        case 'F':
            if (parse_ratio(val, vlen, &rn, &rd) || (rn == 0) != (rd == 0))
                return header_error(s, err, errlen, MNV_EFORMAT, "bad frame rate (want F<num>:<den>)", tok, tlen);
            break;
        case 'A':
            if (parse_ratio(val, vlen, &a, &b))
                return header_error(s, err, errlen, MNV_EFORMAT, "bad pixel aspect (want A<num>:<den>)", tok, tlen);
            break;
        case 'I':
            /* Progressive or not, frames are taken whole. */
            if (vlen != 1 || !strchr("ptbm?", val[0]))
                return header_error(s, err, errlen, MNV_EFORMAT, "bad interlacing (want Ip, It, Ib, Im or I?)", tok, tlen);
            break;
        case 'C': {
            size_t k = 0, count = sizeof y4m_colourspaces / sizeof y4m_colourspaces[0];
            while (k < count && !(strlen(y4m_colourspaces[k].name) == vlen &&
                                  memcmp(y4m_colourspaces[k].name, val, vlen) == 0))
                k++;
            if (k == count) {
                char shown[48];
                return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                                 "%s: Y4M colourspace '%s' is not supported (8-bit 420, 422, 444 and mono are)",
                                 s->name, printable(shown, sizeof shown, tok, tlen));
            }
            s->layout = y4m_colourspaces[k].layout;
            break;
        }
        case 'X':
            break; /* extensions: nothing we need */
        default:
            return header_error(s, err, errlen, MNV_EFORMAT, "unknown parameter", tok, tlen);
        }
    }
    if (w == 0)
        return header_error(s, err, errlen, MNV_EFORMAT, "missing W (width)", NULL, 0);
    if (h == 0)
        return header_error(s, err, errlen, MNV_EFORMAT, "missing H (height)", NULL, 0);
    if (rn <= 0) {
        rn = Y4M_DEFAULT_RATE_NUM;
        rd = 1;
    }
    s->width = (int)w;
    s->height = (int)h;
    s->rate_num = (int)rn;
    s->rate_den = (int)rd;
    size_t luma = (size_t)w * (size_t)h, cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
    switch (s->layout) {
    case Y4M_420: s->in_bytes = luma + 2 * cw * ch; break;
    case Y4M_422: s->in_bytes = luma + 2 * cw * (size_t)h; break;
    case Y4M_444: s->in_bytes = 3 * luma; break;
    case Y4M_MONO: s->in_bytes = luma; break;
    }
    mnv_pixfmt out = s->layout == Y4M_422 ? MNV_PIX_YUYV : MNV_PIX_I420;
    s->out_bytes = mnv_image_size(out, s->width, s->height);
    /* Sides of at most 16384 keep these sums far inside a size_t. */
    size_t need = s->out_bytes + (s->layout == Y4M_422 || s->layout == Y4M_444 ? s->in_bytes : 0);
    if (need > s->max_frame_bytes)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "%s: Y4M header: a %ldx%ld frame needs %zu MiB, more than the memory limit of %zu MiB",
                         s->name, w, h, mnv_mib(need), mnv_mib(s->max_frame_bytes));
    return 0;
}

/* 4:2:2 planes -> Y0 U Y1 V; an odd width's last pair repeats its Y. */
static void repack_422(const uint8_t *in, uint8_t *out, int w, int h)
{
    size_t cw = (size_t)(w + 1) / 2, pairs = (size_t)w / 2;
    const uint8_t *u0 = in + (size_t)w * (size_t)h, *v0 = u0 + cw * (size_t)h;
    for (int y = 0; y < h; y++) {
        const uint8_t *yr = in + (size_t)y * (size_t)w, *ur = u0 + (size_t)y * cw, *vr = v0 + (size_t)y * cw;
        uint8_t *o = out + (size_t)y * cw * 4;
        for (size_t i = 0; i < pairs; i++) {
            o[4 * i] = yr[2 * i];
            o[4 * i + 1] = ur[i];
            o[4 * i + 2] = yr[2 * i + 1];
            o[4 * i + 3] = vr[i];
        }
        if (pairs < cw) {
            o[4 * pairs] = o[4 * pairs + 2] = yr[w - 1];
            o[4 * pairs + 1] = ur[pairs];
            o[4 * pairs + 3] = vr[pairs];
        }
    }
}

/* A full-resolution chroma plane -> half size, each sample the rounded mean
 * of its 2x2 block (of the 2x1, 1x2 or 1x1 left at an odd edge). */
static void halve_plane(const uint8_t *in, uint8_t *out, int w, int h)
{
    int cw = (w + 1) / 2, ch = (h + 1) / 2, full_w = w / 2;
    for (int y = 0; y < ch; y++) {
        const uint8_t *r0 = in + (size_t)(2 * y) * (size_t)w;
        const uint8_t *r1 = 2 * y + 1 < h ? r0 + w : r0; /* a last odd row pairs with itself */
        uint8_t *o = out + (size_t)y * (size_t)cw;
        for (int x = 0; x < full_w; x++)
            o[x] = (uint8_t)((r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1] + 2) >> 2);
        if (full_w < cw) /* odd width: the last column pairs with itself */
            o[full_w] = (uint8_t)((r0[w - 1] + r1[w - 1] + 1) >> 1);
    }
}

/* MNV_END at a clean end of stream, 0 when a frame's planes follow. */
static int read_frame_header(y4m_source *s, char *err, size_t errlen)
{
    char line[Y4M_MAX_LINE];
    size_t len;
    line_end end = y4m_read_line(s, line, sizeof line, &len);
    if (end == LINE_EOF)
        return MNV_END;
    unsigned long long number = (unsigned long long)s->frames;
    int frame_prefix = memcmp(line, "FRAME", len < 5 ? len : 5) == 0 && (len <= 5 || line[5] == ' ');
    if (frame_prefix && end == LINE_CUT)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: truncated (the stream ends in its FRAME line)",
                         s->name, number);
    if (!frame_prefix || len < 5) {
        char shown[48];
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: missing FRAME marker (found '%s')", s->name,
                         number, printable(shown, sizeof shown, line, len));
    }
    if (end == LINE_LONG)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: FRAME line longer than %d bytes", s->name,
                         number, Y4M_MAX_LINE - 1);
    return 0;
}

static int y4m_next(frame_source *base, frame *f, char *err, size_t errlen)
{
    y4m_source *s = (y4m_source *)base;
    int slot, rc = source_next_begin(&s->interrupted, s->ended, &s->pool, s->name, &slot, err, errlen);
    if (rc != 0)
        return rc;
    rc = read_frame_header(s, err, errlen);
    if (rc != 0)
        goto fail;
    uint8_t *out = frame_pool_buffer(&s->pool, slot, s->out_bytes);
    int repack = s->layout == Y4M_422 || s->layout == Y4M_444;
    if (repack && !s->scratch)
        s->scratch = malloc(s->in_bytes);
    if (!out || (repack && !s->scratch)) {
        rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: frame %llu: out of memory for a %dx%d frame", s->name,
                       (unsigned long long)s->frames, s->width, s->height);
        goto fail;
    }
    size_t got = y4m_read(s, repack ? s->scratch : out, s->in_bytes);
    if (got != s->in_bytes) {
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: frame %llu: truncated (%zu of %zu bytes)%s", s->name,
                       (unsigned long long)s->frames, got, s->in_bytes, ferror(s->fp) ? ": read error" : "");
        goto fail;
    }
    size_t luma = (size_t)s->width * (size_t)s->height;
    size_t chroma = mnv_plane_size(MNV_PIX_I420, s->width, s->height, 1, NULL);
    switch (s->layout) {
    case Y4M_420: break;
    case Y4M_422: repack_422(s->scratch, out, s->width, s->height); break;
    case Y4M_444:
        memcpy(out, s->scratch, luma);
        halve_plane(s->scratch + luma, out + luma, s->width, s->height);
        halve_plane(s->scratch + 2 * luma, out + luma + chroma, s->width, s->height);
        break;
    case Y4M_MONO: memset(out + luma, 128, 2 * chroma); break;
    }
    mnv_image_pack(&f->img, s->base.info.format, s->width, s->height, out);
    f->seq = s->frames;
    f->t_capture_ns = source_now_ns();
    f->pts = (double)s->frames * s->rate_den / s->rate_num;
    f->name = s->name;
    f->slot_ = slot;
    s->frames++;
    return 0;
fail:
    frame_pool_give(&s->pool, slot);
    s->ended = 1;
    return rc;
}

static void y4m_release(frame_source *base, frame *f)
{
    frame_pool_give(&((y4m_source *)base)->pool, f->slot_);
}

static void y4m_interrupt(frame_source *base)
{
    atomic_store(&((y4m_source *)base)->interrupted, 1);
}

static void y4m_close(frame_source *base)
{
    y4m_source *s = (y4m_source *)base;
    if (s->own_fp && s->fp)
        fclose(s->fp);
    frame_pool_destroy(&s->pool);
    free(s->scratch);
    free(s->pending);
    free(s->name);
    free(s);
}

static const source_ops y4m_ops = {y4m_next, y4m_release, y4m_interrupt, y4m_close};

static int y4m_open(frame_source **out, FILE *fp, int own_fp, const char *name, const uint8_t *already_read,
                    size_t already_read_len, size_t max_frame_bytes, char *err, size_t errlen)
{
    y4m_source *s = calloc(1, sizeof *s);
    if (!s || frame_pool_init(&s->pool) != 0) {
        free(s);
        if (own_fp)
            fclose(fp);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name);
    }
    s->base.ops = &y4m_ops;
    s->max_frame_bytes = max_frame_bytes ? max_frame_bytes : MNV_DEFAULT_MAX_MEMORY;
    s->fp = fp;
    s->own_fp = own_fp;
    atomic_init(&s->interrupted, 0);
    s->name = strdup(name);
    if (already_read_len) {
        s->pending = malloc(already_read_len);
        if (s->pending)
            memcpy(s->pending, already_read, already_read_len);
        s->pending_len = already_read_len;
    }
    if (!s->name || (already_read_len && !s->pending)) {
        y4m_close(&s->base);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", name);
    }
    char line[Y4M_MAX_LINE];
    size_t len;
    line_end end = y4m_read_line(s, line, sizeof line, &len);
    const size_t magic = sizeof Y4M_MAGIC - 1;
    int rc;
    if (end == LINE_EOF)
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: empty, not a Y4M file", name);
    else if (len < magic || memcmp(line, Y4M_MAGIC, magic) != 0)
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: not a Y4M file (no YUV4MPEG2 signature)", name);
    else if (end == LINE_CUT)
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: Y4M header: truncated (the stream ends before its end of line)",
                       name);
    else if (end == LINE_LONG)
        rc = mnv_error(err, errlen, MNV_EFORMAT, "%s: Y4M header: longer than %d bytes", name, Y4M_MAX_LINE - 1);
    else
        rc = parse_header(s, line, len, err, errlen);
    if (rc != 0) {
        y4m_close(&s->base);
        return rc;
    }
    source_info *info = &s->base.info;
    info->kind = "y4m";
    snprintf(info->name, sizeof info->name, "%s", name);
    info->width = s->width;
    info->height = s->height;
    info->format = s->layout == Y4M_422 ? MNV_PIX_YUYV : MNV_PIX_I420;
    info->fps = (double)s->rate_num / s->rate_den;
    *out = &s->base;
    return 0;
}

int y4m_source_open_max(frame_source **out, const char *name, FILE *fp, const uint8_t *already_read,
                        size_t already_read_len, size_t max_frame_bytes, char *err, size_t errlen)
{
    *out = NULL;
    if (fp)
        return y4m_open(out, fp, 0, name, already_read, already_read_len, max_frame_bytes, err, errlen);
    fp = fopen(name, "rb");
    if (!fp)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", name, strerror(errno));
    return y4m_open(out, fp, 1, name, NULL, 0, max_frame_bytes, err, errlen);
}

int y4m_source_open(frame_source **out, const char *path, char *err, size_t errlen)
{
    return y4m_source_open_max(out, path, NULL, NULL, 0, 0, err, errlen);
}

int y4m_source_open_stream(frame_source **out, FILE *fp, const char *name, const uint8_t *already_read,
                           size_t already_read_len, char *err, size_t errlen)
{
    return y4m_source_open_max(out, name, fp, already_read, already_read_len, 0, err, errlen);
}
