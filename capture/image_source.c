/*
 * Still images as a frame source: a list of files (directories expanded to
 * their image files, sorted by name), each decoded by image_load into an RGB24
 * frame when its turn comes. A slot holds the decoded picture until the
 * frame is released; stb_image allocates each picture itself, so unlike the
 * video sources this one allocates per frame.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb/stb_image.h>

#include "capture/source_internal.h"

typedef struct image_source {
    frame_source base;
    frame_pool pool;
    frame held[SOURCE_MAX_OUTSTANDING]; /* the decoded picture each taken slot hands out */
    image_entry *entries;               /* paths owned, data borrowed */
    int count, next_index;
    uint64_t seq;
    size_t max_frame_bytes;             /* each picture's cap (0: the default) */
    atomic_int interrupted;
} image_source;

/* The extensions a directory's image files are recognized by (what
 * stb_image decodes); files named on their own are judged by content. */
int image_file_extension_ok(const char *name)
{
    static const char *const exts[] = {"png", "jpg", "jpeg", "bmp", "gif", "tga",
                                       "ppm", "pgm", "pnm", "psd", "hdr"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A growing array of owned strings. */
typedef struct name_list {
    char **v;
    int n, cap;
} name_list;

/* Append path (taken over: freed here when it cannot be added); 0 or MNV_ENOMEM. */
static int name_list_add(name_list *l, char *path)
{
    if (path && l->n == l->cap && l->cap < INT_MAX / 2) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->v, (size_t)cap * sizeof *grown);
        if (grown) {
            l->v = grown;
            l->cap = cap;
        }
    }
    if (!path || l->n == l->cap) {
        free(path);
        return MNV_ENOMEM;
    }
    l->v[l->n++] = path;
    return 0;
}

static void name_list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static char *join_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir), len = dlen + strlen(name) + 2;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", name);
    return path;
}

/* Append dir's image files, sorted, to l. */
static int list_dir_into(const char *dir, name_list *l, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return mnv_error(err, errlen, MNV_EIO, "%s: %s", dir, strerror(errno));
    int first = l->n, rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        /* Hidden files are skipped, as ls does: editors' and tools' leftovers. */
        if (e->d_name[0] == '.' || !image_file_extension_ok(e->d_name))
            continue;
        char *path = join_path(dir, e->d_name);
        struct stat st;
        if (path && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
            free(path);
            continue;
        }
        rc = name_list_add(l, path);
    }
    closedir(d);
    if (rc != 0)
        return mnv_error(err, errlen, rc, "%s: out of memory listing the directory", dir);
    if (l->n == first)
        return mnv_error(err, errlen, MNV_EFORMAT,
                         "%s: no image files in this directory (png, jpg, jpeg, bmp, gif, tga, ppm, pgm, pnm, "
                         "psd, hdr)", dir);
    qsort(l->v + first, (size_t)(l->n - first), sizeof *l->v, compare_names);
    return 0;
}

int image_dir_list(const char *dir, char ***paths, int *n, char *err, size_t errlen)
{
    name_list l = {0};
    int rc = list_dir_into(dir, &l, err, errlen);
    if (rc != 0)
        name_list_free(&l);
    *paths = l.v;
    *n = l.n;
    return rc;
}

static int image_next(frame_source *base, frame *f, char *err, size_t errlen)
{
    image_source *s = (image_source *)base;
    if (atomic_exchange(&s->interrupted, 0))
        return mnv_error(err, errlen, MNV_EINTR, "%s: interrupted", s->base.info.name);
    if (s->next_index >= s->count)
        return MNV_END;
    int slot = frame_pool_take(&s->pool);
    if (slot < 0)
        return source_busy_error(s->entries[s->next_index].path, err, errlen);
    /* A picture that does not decode is skipped: the caller may go on with
     * the next one. */
    const image_entry *e = &s->entries[s->next_index++];
    frame *held = &s->held[slot];
    int rc = e->data ? image_load_memory_max(held, e->data, e->len, e->path, s->max_frame_bytes, err, errlen)
                     : image_load_max(held, e->path, s->max_frame_bytes, err, errlen);
    if (rc != 0) {
        frame_pool_give(&s->pool, slot);
        return rc < 0 ? rc : MNV_EFORMAT;
    }
    f->img = held->img;
    f->seq = s->seq++;
    f->t_capture_ns = source_now_ns();
    f->pts = 0;
    f->still = 1;
    f->name = e->path;
    f->slot_ = slot;
    return 0;
}

static void image_release(frame_source *base, frame *f)
{
    image_source *s = (image_source *)base;
    frame_free(&s->held[f->slot_]);
    frame_pool_give(&s->pool, f->slot_);
}

static void image_interrupt(frame_source *base)
{
    atomic_store(&((image_source *)base)->interrupted, 1);
}

static void image_close(frame_source *base)
{
    image_source *s = (image_source *)base;
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        frame_free(&s->held[i]);
    for (int i = 0; i < s->count; i++)
        free((char *)s->entries[i].path);
    free(s->entries);
    frame_pool_destroy(&s->pool);
    free(s);
}

static const source_ops image_ops = {image_next, image_release, image_interrupt, image_close};

int image_source_open_entries(frame_source **out, const image_entry *entries, int n, size_t max_frame_bytes,
                              char *err, size_t errlen)
{
    *out = NULL;
    if (n <= 0)
        return mnv_error(err, errlen, MNV_EINVAL, "no images given");
    image_source *s = calloc(1, sizeof *s);
    if (!s || frame_pool_init(&s->pool) != 0) {
        free(s);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", entries[0].path);
    }
    s->base.ops = &image_ops;
    s->max_frame_bytes = max_frame_bytes;
    atomic_init(&s->interrupted, 0);
    s->entries = calloc((size_t)n, sizeof *s->entries);
    for (; s->entries && s->count < n; s->count++) {
        s->entries[s->count] = entries[s->count];
        if (!(s->entries[s->count].path = strdup(entries[s->count].path)))
            break;
    }
    if (s->count < n) {
        image_close(&s->base);
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", entries[0].path);
    }
    source_info *info = &s->base.info;
    info->kind = "image";
    if (n == 1)
        snprintf(info->name, sizeof info->name, "%s", entries[0].path);
    else
        snprintf(info->name, sizeof info->name, "%s (and %d more images)", entries[0].path, n - 1);
    info->format = MNV_PIX_RGB24;
    /* The first picture's size from its header, without decoding it. */
    int w, h;
    if (image_peek_size(&entries[0], &w, &h)) {
        info->width = w;
        info->height = h;
    }
    *out = &s->base;
    return 0;
}

int image_source_open(frame_source **out, const char *const *paths, int n, char *err, size_t errlen)
{
    *out = NULL;
    name_list l = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0)
            rc = mnv_error(err, errlen, MNV_EIO, "%s: %s", paths[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = list_dir_into(paths[i], &l, err, errlen);
        else if (name_list_add(&l, strdup(paths[i])) != 0)
            rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", paths[i]);
    }
    image_entry *entries = rc == 0 ? calloc((size_t)(l.n ? l.n : 1), sizeof *entries) : NULL;
    if (rc == 0 && !entries)
        rc = mnv_error(err, errlen, MNV_ENOMEM, "out of memory for %d image paths", l.n);
    for (int i = 0; rc == 0 && i < l.n; i++)
        entries[i].path = l.v[i];
    if (rc == 0)
        rc = image_source_open_entries(out, entries, l.n, 0, err, errlen);
    free(entries);
    name_list_free(&l);
    return rc;
}
