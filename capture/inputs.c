/*
 * Files and pipes given on the command line as one frame source: each input
 * is sniffed by its first bytes at open (directories expand to their image
 * files), then they are played in order, each through the source for its
 * kind, opened when its turn comes. Consecutive images share one image
 * source. With loop, the end of the last input rewinds to the first; seq
 * keeps counting and pts keeps growing by what was played.
 *
 * A source that ended may still have frames out: it is retired and closed
 * once they are all back. Every source has one frame out at least while it
 * is retired, so SOURCE_MAX_OUTSTANDING places for them are enough.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/source_internal.h"

#define SNIFF_BYTES 64
/* A pipe that is not Y4M is read whole before decoding. */
#define PIPE_MAX_BYTES (256u << 20)

typedef struct chain_input {
    char *path;             /* as given, or "dir/name" for a directory's images */
    input_kind kind;
    FILE *stream;           /* a pipe or standard input: read once, opened at sniffing */
    uint8_t head[SNIFF_BYTES];
    size_t head_len;        /* the stream's bytes read by sniffing (Y4M) */
    uint8_t *memory;        /* the whole stream (images, other video) */
    size_t memory_len;
} chain_input;

typedef struct chain_slot {
    int taken;
    frame inner;            /* the frame as its source gave it */
    frame_source *from;     /* NULL until handed out */
} chain_slot;

typedef struct chain_source {
    frame_source base;
    file_source_options opt;
    chain_input *inputs;
    int count, cap;
    int index;              /* first input of the current source */
    int group_end;          /* one past its last input */
    frame_source *current;
    frame_source *retired[SOURCE_MAX_OUTSTANDING];
    pthread_mutex_t lock;   /* guards slots: release runs on the consumer's thread */
    chain_slot slots[SOURCE_MAX_OUTSTANDING];
    uint64_t seq;
    uint64_t pass_frames;   /* frames given since the last rewind */
    double pts_offset;      /* what the inputs before the current one lasted */
    uint64_t current_frames;
    double last_pts, prev_pts; /* of the current source's last two frames */
    atomic_int interrupted;
} chain_source;

static int slot_in_use_by(chain_source *c, const frame_source *s)
{
    int used = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        used |= c->slots[i].taken && c->slots[i].from == s;
    pthread_mutex_unlock(&c->lock);
    return used;
}

static void close_returned(chain_source *c)
{
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        if (c->retired[i] && !slot_in_use_by(c, c->retired[i])) {
            source_close(c->retired[i]);
            c->retired[i] = NULL;
        }
}

/* The current source ended: account for its duration and move on. */
static void retire_current(chain_source *c)
{
    if (c->current_frames) {
        double fps = c->current->info.fps;
        double step = fps > 0 ? 1.0 / fps : c->current_frames > 1 ? c->last_pts - c->prev_pts : 0;
        c->pts_offset += c->last_pts + step;
    }
    int placed = 0;
    if (slot_in_use_by(c, c->current))
        for (int i = 0; i < SOURCE_MAX_OUTSTANDING && !placed; i++)
            if (!c->retired[i]) {
                c->retired[i] = c->current;
                placed = 1;
            }
    if (!placed)
        source_close(c->current);
    c->current = NULL;
    c->current_frames = 0;
    c->index = c->group_end;
}

static int open_current(chain_source *c, char *err, size_t errlen)
{
    chain_input *in = &c->inputs[c->index];
    c->group_end = c->index + 1;
    switch (in->kind) {
    case INPUT_Y4M:
        return y4m_source_open_max(&c->current, in->path, in->stream, in->head, in->stream ? in->head_len : 0,
                                   c->opt.max_frame_bytes, err, errlen);
    case INPUT_VIDEO:
        return ffmpeg_source_open_max(&c->current, in->path, in->memory, in->memory_len, c->opt.max_frame_bytes,
                                      err, errlen);
    case INPUT_IMAGE:
        break;
    }
    while (c->group_end < c->count && c->inputs[c->group_end].kind == INPUT_IMAGE)
        c->group_end++;
    int n = c->group_end - c->index;
    image_entry *entries = calloc((size_t)n, sizeof *entries);
    if (!entries)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", in->path);
    for (int i = 0; i < n; i++)
        entries[i] = (image_entry){in[i].path, in[i].memory, in[i].memory_len};
    int rc = image_source_open_entries(&c->current, entries, n, c->opt.max_frame_bytes, err, errlen);
    free(entries);
    return rc;
}

static int chain_next(frame_source *base, frame *f, char *err, size_t errlen)
{
    chain_source *c = (chain_source *)base;
    if (atomic_exchange(&c->interrupted, 0))
        return mnv_error(err, errlen, MNV_EINTR, "%s: interrupted", c->base.info.name);
    int slot = -1;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING && slot < 0; i++)
        if (!c->slots[i].taken) {
            c->slots[i].taken = 1;
            slot = i;
        }
    pthread_mutex_unlock(&c->lock);
    if (slot < 0)
        return source_busy_error(c->base.info.name, err, errlen);
    close_returned(c);
    frame inner;
    int rc;
    for (;;) {
        if (!c->current) {
            if (c->index >= c->count) {
                /* A pass without a single frame would rewind forever. */
                if (!c->opt.loop || c->pass_frames == 0) {
                    rc = MNV_END;
                    break;
                }
                c->index = 0;
                c->pass_frames = 0;
            }
            rc = open_current(c, err, errlen);
            if (rc != 0) { /* the caller may go on with the next input */
                c->current = NULL;
                c->index = c->group_end;
                break;
            }
        }
        rc = source_next(c->current, &inner, err, errlen);
        if (rc != MNV_END)
            break;
        retire_current(c);
    }
    if (rc != 0) {
        pthread_mutex_lock(&c->lock);
        c->slots[slot].taken = 0;
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    c->prev_pts = c->last_pts;
    c->last_pts = inner.pts;
    c->current_frames++;
    c->pass_frames++;
    *f = inner;
    f->seq = c->seq++;
    f->pts = c->pts_offset + inner.pts;
    f->slot_ = slot;
    pthread_mutex_lock(&c->lock);
    c->slots[slot].inner = inner;
    c->slots[slot].from = c->current;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void chain_release(frame_source *base, frame *f)
{
    chain_source *c = (chain_source *)base;
    pthread_mutex_lock(&c->lock);
    frame inner = c->slots[f->slot_].inner;
    pthread_mutex_unlock(&c->lock);
    /* Before the slot is free: a retired source stays open until then. */
    source_release(&inner);
    pthread_mutex_lock(&c->lock);
    c->slots[f->slot_].taken = 0;
    c->slots[f->slot_].from = NULL;
    pthread_mutex_unlock(&c->lock);
}

static void chain_interrupt(frame_source *base)
{
    atomic_store(&((chain_source *)base)->interrupted, 1);
}

static void chain_close(frame_source *base)
{
    chain_source *c = (chain_source *)base;
    source_close(c->current);
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        source_close(c->retired[i]);
    for (int i = 0; i < c->count; i++) {
        if (c->inputs[i].stream && c->inputs[i].stream != stdin)
            fclose(c->inputs[i].stream);
        free(c->inputs[i].memory);
        free(c->inputs[i].path);
    }
    free(c->inputs);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const source_ops chain_ops = {chain_next, chain_release, chain_interrupt, chain_close};

/* A new input at the end of c's list (path taken over); NULL when out of memory. */
static chain_input *add_input(chain_source *c, char *path)
{
    if (path && c->count == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        chain_input *grown = realloc(c->inputs, (size_t)cap * sizeof *grown);
        if (grown) {
            c->inputs = grown;
            c->cap = cap;
        }
    }
    if (!path || c->count == c->cap) {
        free(path);
        return NULL;
    }
    chain_input *in = &c->inputs[c->count++];
    memset(in, 0, sizeof *in);
    in->path = path;
    return in;
}

/* A pipe's first bytes: Y4M is read from there as it comes; anything else
 * is read whole into memory. */
static int sniff_stream(chain_input *in, char *err, size_t errlen)
{
    in->head_len = fread(in->head, 1, sizeof in->head, in->stream);
    if (in->head_len == 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: %s", strcmp(in->path, "-") ? in->path : "stdin",
                         ferror(in->stream) ? strerror(errno) : "empty, not an image");
    in->kind = sniff_input_kind(in->head, in->head_len);
    if (in->kind == INPUT_Y4M)
        return 0;
    size_t cap = 1u << 20, len = in->head_len;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory reading it", in->path);
    memcpy(buf, in->head, len);
    for (;;) {
        if (len == cap && cap >= PIPE_MAX_BYTES) {
            if (getc(in->stream) == EOF)
                break;
            free(buf);
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "%s: more than %u MB to read from a pipe (give it as a file instead)", in->path,
                             PIPE_MAX_BYTES >> 20);
        }
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory reading it", in->path);
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, in->stream);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(in->stream)) {
        free(buf);
        return mnv_error(err, errlen, MNV_EIO, "%s: read error: %s", in->path, strerror(errno));
    }
    in->memory = buf;
    in->memory_len = len;
    return 0;
}

/* Adds one command-line input (or a directory's images) to c. */
static int add_path(chain_source *c, const char *path, char *err, size_t errlen)
{
    int is_stdin = strcmp(path, "-") == 0;
    struct stat st;
    if (!is_stdin && stat(path, &st) != 0)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    if (!is_stdin && S_ISDIR(st.st_mode)) {
        char **listed;
        int n, rc = image_dir_list(path, &listed, &n, err, errlen);
        for (int i = 0; i < n; i++) {
            chain_input *in = rc == 0 ? add_input(c, listed[i]) : NULL;
            if (in)
                in->kind = INPUT_IMAGE;
            else if (rc == 0) /* add_input freed the path */
                rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
            else
                free(listed[i]);
        }
        free(listed);
        return rc;
    }
    int is_pipe = is_stdin || !S_ISREG(st.st_mode);
    if (is_pipe && c->opt.loop)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: %s cannot be rewound to loop (give a file instead)", path,
                         is_stdin ? "standard input" : "a pipe");
    chain_input *in = add_input(c, strdup(path));
    if (!in)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", path, strerror(errno));
    if (is_pipe) {
        in->stream = fp;
        return sniff_stream(in, err, errlen);
    }
    uint8_t head[SNIFF_BYTES];
    size_t n = fread(head, 1, sizeof head, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (failed)
        return mnv_error(err, errlen, MNV_EIO, "%s: read error: %s", path, strerror(errno));
    if (n == 0)
        return mnv_error(err, errlen, MNV_EFORMAT, "%s: empty file", path);
    in->kind = sniff_input_kind(head, n);
    /* Content no image decoder knows, in a file named as a picture: it is a
     * broken picture, and saying so beats FFmpeg's guess. */
    if (in->kind == INPUT_VIDEO && image_file_extension_ok(path))
        in->kind = INPUT_IMAGE;
    return 0;
}

int source_open_inputs(frame_source **out, const char *const *paths, int n, const file_source_options *opt,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (n <= 0)
        return mnv_error(err, errlen, MNV_EINVAL, "no inputs given");
    chain_source *c = calloc(1, sizeof *c);
    if (!c || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", paths[0]);
    }
    c->base.ops = &chain_ops;
    if (opt)
        c->opt = *opt;
    atomic_init(&c->interrupted, 0);
    int stdin_count = 0, rc = 0;
    for (int i = 0; i < n; i++)
        stdin_count += strcmp(paths[i], "-") == 0;
    if (stdin_count > 1)
        rc = mnv_error(err, errlen, MNV_EINVAL, "-: standard input given twice");
    for (int i = 0; i < n && rc == 0; i++)
        rc = add_path(c, paths[i], err, errlen);
    /* The first input opens now: its header errors and size are known at once. */
    if (rc == 0)
        rc = open_current(c, err, errlen);
    if (rc != 0) {
        c->current = NULL;
        chain_close(&c->base);
        return rc;
    }
    c->base.info = c->current->info;
    if (n > 1)
        snprintf(c->base.info.name, sizeof c->base.info.name, "%s (and %d more inputs)", paths[0], n - 1);
    else
        snprintf(c->base.info.name, sizeof c->base.info.name, "%s", paths[0]);
    *out = &c->base;
    return 0;
}
