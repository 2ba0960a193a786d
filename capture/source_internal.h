/*
 * What a frame source implements: a method table, as SQLite's io_methods.
 * Each source embeds struct frame_source first in its own state.
 */
#ifndef MNV2DET_SOURCE_INTERNAL_H
#define MNV2DET_SOURCE_INTERNAL_H

#include <pthread.h>

#include <stdatomic.h>

#include "capture/capture.h"

typedef struct source_ops {
    /* Fill f (img, seq, t_capture_ns, skipped, pts, name, slot_); see source_next. */
    int (*next)(frame_source *s, frame *f, char *err, size_t errlen);
    /* Take back the frame's buffer (f->slot_); called from any thread. */
    void (*release)(frame_source *s, frame *f);
    /* Optional: wake a blocked next with MNV_EINTR. */
    void (*interrupt)(frame_source *s);
    /* Free everything, the source itself included. */
    void (*close)(frame_source *s);
} source_ops;

struct frame_source {
    const source_ops *ops;
    source_info info;
};

/* Frames handed out and not yet released: a slot each, at most
 * SOURCE_MAX_OUTSTANDING. A slot keeps its buffer when released, so a source
 * that reads frames of one size allocates only for its first few frames.
 * Taking and giving back are thread-safe (the consumer releases from its own
 * thread); the buffer of a taken slot belongs to the taker until it gives the
 * slot back. */
typedef struct frame_pool {
    pthread_mutex_t lock;
    unsigned char taken[SOURCE_MAX_OUTSTANDING];
    uint8_t *buf[SOURCE_MAX_OUTSTANDING];
    size_t cap[SOURCE_MAX_OUTSTANDING];
} frame_pool;

/* 0, or MNV_ENOMEM when the mutex cannot be made. */
int frame_pool_init(frame_pool *p);
/* A free slot (0 .. SOURCE_MAX_OUTSTANDING - 1), or MNV_EBUSY when all are out. */
int frame_pool_take(frame_pool *p);
/* The taken slot's buffer, grown to hold at least bytes; NULL when out of memory. */
uint8_t *frame_pool_buffer(frame_pool *p, int slot, size_t bytes);
/* Give a taken slot back; any thread. */
void frame_pool_give(frame_pool *p, int slot);
/* Free the buffers; every slot must have been given back. */
void frame_pool_destroy(frame_pool *p);

/* The start of a file source's next: MNV_EINTR (clearing *interrupted) after
 * source_interrupt, MNV_END once the source has ended, MNV_EBUSY with its
 * message when every slot is out; else 0 and a taken slot in *slot. */
int source_next_begin(atomic_int *interrupted, int ended, frame_pool *pool, const char *name, int *slot,
                      char *err, size_t errlen);
/* The message a source returns when all its slots are out. */
int source_busy_error(const char *name, char *err, size_t errlen);
/* CLOCK_MONOTONIC now, in nanoseconds (t_capture_ns of file frames). */
uint64_t source_now_ns(void);

/* One still image to decode: a file, or bytes already in memory (standard
 * input; data is borrowed and must outlive the source). */
typedef struct image_entry {
    const char *path;         /* the file, or the name to report for data */
    const uint8_t *data;
    size_t len;
} image_entry;

/* An image source over entries taken as they are (no directory expansion);
 * the paths are copied, the data borrowed. Each picture is decoded under
 * max_frame_bytes (image_load_max; 0: the default cap). */
int image_source_open_entries(frame_source **out, const image_entry *entries, int n,
                              size_t max_frame_bytes, char *err, size_t errlen);
/* 1 when name ends in an image extension (png jpg jpeg bmp gif tga ppm pgm
 * pnm psd hdr, any case). */
int image_file_extension_ok(const char *name);
/* The image files of directory dir (by extension, see
 * image_file_extension_ok), sorted by name, as newly allocated "dir/name"
 * strings in *paths (free each, then the array). A directory without any
 * is an error naming it. */
int image_dir_list(const char *dir, char ***paths, int *n, char *err, size_t errlen);

/* An FFmpeg source on the file name, or (data not NULL) decoding len bytes
 * at data (borrowed, must outlive the source), reported as name. A frame
 * whose size would need more than max_frame_bytes (0: the default cap) as
 * decoded plus as converted is refused: at open by the stream's declared
 * size, later by the decoder (its max_pixels) and before converting. */
int ffmpeg_source_open_max(frame_source **out, const char *name, const uint8_t *data, size_t len,
                           size_t max_frame_bytes, char *err, size_t errlen);

/* y4m_source_open (fp NULL: open the file name) or y4m_source_open_stream
 * (fp given, name for messages), refusing at open a header whose frame
 * would need more than max_frame_bytes (0: the default cap) as stored plus
 * as handed out. */
int y4m_source_open_max(frame_source **out, const char *name, FILE *fp, const uint8_t *already_read,
                        size_t already_read_len, size_t max_frame_bytes, char *err, size_t errlen);

/* 1 when data is not a JPEG, or when every Huffman table it defines
 * declares at most 256 codes (libstb 2.27 overruns its tables on more) and
 * every scan uses tables defined before it (libstb decodes with whatever
 * its memory held); 0 when a table declares more, -1 when a scan uses an
 * undefined one. With until_frame, only the tables before the first frame
 * header are looked at (what libstb's stbi_info reads), and 0 also when no
 * frame header comes within len. stb_guard.c. */
int jpeg_tables_ok(const uint8_t *data, size_t len, int until_frame);
/* 1 when data is not a PNG, or when each of its chunks up to IEND lies
 * inside the data; 0 and the chunk's length field in *bad_length when one
 * claims more bytes than follow (libstb 2.27 allocates what an image data
 * chunk claims before reading it). stb_guard.c. */
int png_chunks_ok(const uint8_t *data, size_t len, uint32_t *bad_length);

/* The size of entry e's picture from its header (the first MiB of a file),
 * without decoding it: 1 and *w, *h, or 0 when it cannot be told. */
int image_peek_size(const image_entry *e, int *w, int *h);

/* What the first bytes of an input say it is. */
typedef enum input_kind { INPUT_Y4M, INPUT_IMAGE, INPUT_VIDEO } input_kind;
/* Decided from at least the first 64 bytes (fewer only for a shorter input):
 * the Y4M signature, an image signature stb_image reads, else video. */
input_kind sniff_input_kind(const uint8_t *head, size_t n);

#endif
