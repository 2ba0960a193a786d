/*
 * capture: frame sources. Knows nothing of models: produces frames in the
 * source's own pixel format (common.h's mnv_image), with a sequence number
 * and a capture time.
 *
 * Every source (still images, Y4M, FFmpeg, V4L2 camera) sits behind one
 * interface, frame_source: next / release / close. A source owns a small pool
 * of buffers; a frame handed out by source_next stays valid until it is given
 * back with source_release, from any thread (the capture thread takes frames,
 * the detector gives them back). At most SOURCE_MAX_OUTSTANDING frames may be
 * out at once; source_next on a source with that many out fails with
 * MNV_EBUSY rather than block.
 *
 * Errors: 0 on success or a negative mnv_status with one line in the caller's
 * err buffer naming the source and the reason. Nothing here prints or exits.
 */
#ifndef MNV2DET_CAPTURE_H
#define MNV2DET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

#define SOURCE_MAX_OUTSTANDING 4

typedef struct frame_source frame_source;

typedef struct frame {
    mnv_image img;            /* format, size, planes, strides */
    uint64_t seq;             /* the source's sequence number: 0, 1, 2, ... (a camera's own) */
    uint64_t t_capture_ns;    /* CLOCK_MONOTONIC ns: the driver's buffer time for a camera,
                                 the time it was read for a file */
    uint64_t skipped;         /* frames the source lost just before this one (sequence gap) */
    double pts;               /* seconds from the start of the stream (file sources'
                                 presentation time; n / fps for Y4M; 0 for still images) */
    const char *name;         /* what produced it: the image's path, the file, the device */
    int still;                /* a still image (reported per image), not a video frame */
    /* Private to the source that made the frame. */
    frame_source *src_;
    int slot_;
} frame;

/* What a source is, filled at open. */
typedef struct source_info {
    const char *kind;         /* "image", "y4m", "ffmpeg", "v4l2" */
    char name[256];           /* path or device (may be shortened with "...") */
    int width, height;        /* of the first frame; 0 if not known before reading */
    mnv_pixfmt format;
    double fps;               /* nominal frame rate, 0 if none (still images) */
    int live;                 /* 1 for a camera: frames come at the camera's pace */
} source_info;

/* The next frame. 0 and a frame in f; MNV_END (positive) at the end of a
 * stream (f left empty); negative on error (f left empty). A camera waits
 * up to its timeout and then fails with MNV_ETIMEOUT; MNV_EINTR when
 * source_interrupt was called. */
int source_next(frame_source *s, frame *f, char *err, size_t errlen);
/* Give a frame back to its source (safe on an empty frame); thread-safe. */
void source_release(frame *f);
/* Make a source_next that is waiting, or the next one, return MNV_EINTR.
 * Safe from any thread and from a signal handler's flag watcher. */
void source_interrupt(frame_source *s);
/* Close a source; every frame must have been released. Safe on NULL. */
void source_close(frame_source *s);
const source_info *source_get_info(const frame_source *s);

/* Decode an image file into a newly allocated RGB24 frame, upright: a
 * JPEG's EXIF orientation is applied, so the frame has the size the picture
 * is shown at. Formats: whatever libstb decodes (PNG, JPEG, BMP, GIF's first
 * frame, TGA, PSD, HDR, PIC, PNM: PPM and PGM). path may be a regular file,
 * a pipe or /dev/stdin, or "-" for standard input; it is read whole into
 * memory (at most 1 GiB). f->name = path. On failure f is left empty and err
 * names the file and the reason (missing, a directory, unreadable, not an
 * image). */
int image_load(frame *f, const char *path, char *err, size_t errlen);

/* Decode an image held in memory (any format image_load takes), applying a JPEG's EXIF orientation; name is what error messages call it. On failure f is left empty. */
int image_load_memory(frame *f, const uint8_t *data, size_t len, const char *name, char *err, size_t errlen);

/* image_load and image_load_memory under a cap on the memory decoding may
 * hold at once (0: MNV_DEFAULT_MAX_MEMORY, which the two above use): the
 * file's pixels at their own depth twice over (decoded and converted) plus
 * the RGB24 result and its upright copy, estimated from the header before
 * anything is decoded. Over the cap: MNV_EUNSUPPORTED naming the file, its
 * size, the need and the cap. Larger than 16384x16384 is refused whatever
 * the cap. */
int image_load_max(frame *f, const char *path, size_t max_bytes, char *err, size_t errlen);
int image_load_memory_max(frame *f, const uint8_t *data, size_t len, const char *name, size_t max_bytes,
                          char *err, size_t errlen);

/* Free the pixels of a frame made by image_load or image_load_memory; safe
 * on an empty frame. */
void frame_free(frame *f);

/* File sources. An error from source_next on one of them concerns the
 * current input only and source_next may be called again: an image source
 * goes on with the next image, a Y4M or FFmpeg source then reports MNV_END,
 * a chain of inputs (source_open_inputs) goes on with the next input.
 * Their info.live is 0 and t_capture_ns is when the frame was read.
 * source_interrupt takes effect at the next call: a read blocked on a pipe
 * waits for data or for the writer to close it. */

/* Still images: paths are files or directories (a directory gives its image
 * files by extension - png jpg jpeg bmp gif tga ppm pgm pnm psd hdr, any
 * case, hidden files skipped - sorted by name in byte order). Frames are
 * RGB24 from image_load, pts 0; a file that does not decode fails its
 * source_next with the file named. */
int image_source_open(frame_source **out, const char *const *paths, int n, char *err, size_t errlen);

/* Y4M video (YUV4MPEG2, 8-bit): 4:2:0 as I420 unconverted, 4:2:2 repacked
 * into YUYV, 4:4:4 as I420 (chroma averaged over 2x2), mono as I420 with
 * neutral chroma; other colourspaces are refused by name. pts is
 * n * den / num from the header's F (25 fps when it has none or F0:0). The
 * header is read here: a malformed one fails the open. */
int y4m_source_open(frame_source **out, const char *path, char *err, size_t errlen);
/* The same from a stream read front to back (a pipe, standard input, an
 * fmemopen buffer): already_read holds bytes taken from the stream's start
 * before (sniffing), read again first. fp stays the caller's: close it
 * after source_close. */
int y4m_source_open_stream(frame_source **out, FILE *fp, const char *name, const uint8_t *already_read,
                           size_t already_read_len, char *err, size_t errlen);

/* Any video FFmpeg decodes. YUV420P, NV12 and YUYV422 frames are handed out
 * as decoded (no copy); others are converted to I420. pts in seconds from
 * the stream's first time stamp; info.fps from its average frame rate.
 * FFmpeg's log callback is set process-wide to keep its messages out of
 * stderr (each source keeps the last one for its errors). In a build
 * without FFmpeg this fails with MNV_EUNSUPPORTED saying how to get it. */
int ffmpeg_source_open(frame_source **out, const char *path, char *err, size_t errlen);
/* 1 when this build decodes video through FFmpeg, else 0. */
int ffmpeg_source_available(void);

typedef struct file_source_options {
    int loop;   /* after the last input, start again from the first */
    size_t max_frame_bytes; /* the most one picture (see image_load_max) or one video frame
                               (as stored plus as handed out) may need by its declared
                               size; 0: MNV_DEFAULT_MAX_MEMORY. Over it: refused (the
                               Y4M or FFmpeg open, the picture's source_next) before
                               allocating, the need and the cap named */
} file_source_options;

/* Inputs played in order as one source; each is a file, a directory (its
 * images, as image_source_open), or "-" for standard input, and is told by
 * its first bytes, not its name: Y4M, an image, else video for FFmpeg.
 * Pipes and standard input: Y4M is read as it comes, anything else whole
 * into memory first (256 MB at most); they cannot be looped (an error
 * here). Every input is checked here and the first one opened; the others
 * open when reached. seq counts over all inputs and loops; pts grows over
 * them by what each lasted (still images last 0). f->name is the input's
 * path. info is the first input's, named after the paths. opt may be NULL. */
int source_open_inputs(frame_source **out, const char *const *paths, int n, const file_source_options *opt,
                       char *err, size_t errlen);
/* The EXIF orientation (TIFF tag 0x0112, 1 to 8) of the JPEG in data[0..len):
 * how its stored pixels are to be shown. 1 = as stored, 2 mirrored
 * left-right, 3 turned 180 degrees, 4 mirrored top-bottom, 5 transposed
 * (stored row 0 becomes the left column, column 0 the top row), 6 stored
 * turned 90 degrees clockwise to show (row 0 becomes the right column), 7
 * transverse (row 0 the right column, column 0 the bottom row), 8 turned 90
 * degrees anticlockwise (row 0 becomes the left column). 1 also when data
 * is not a JPEG or its EXIF block is missing or malformed: every offset in
 * it is checked against len before use (exif.c). */
int exif_orientation(const uint8_t *data, size_t len);
/* ---- Cameras: V4L2 devices through libv4l2 (capture/v4l2*.c) ----------- */

/* What to ask a camera for; zero-initialized means the defaults. */
typedef struct camera_options {
    const char *device;       /* NULL: the first capture device */
    int width, height;        /* 0: 640x480; the nearest size offered is taken */
    int fps;                  /* 0: the driver's default; else the nearest offered */
    int format;               /* an mnv_pixfmt, or -1: the best the camera offers
                                 (0 is RGB24: set -1 for "any") */
    uint32_t fourcc;          /* nonzero: ask exactly this V4L2 fourcc (converted to
                                 RGB24 by libv4lconvert if not native); overrides format */
    int buffers;              /* 0: 4; at least 3 */
    int timeout_ms;           /* no frame within this: MNV_ETIMEOUT; 0: 2000 */
} camera_options;

/* Open a camera and start streaming. Negotiates the pixel format (a native
 * YUYV, NV12, I420 or RGB24 handed on unconverted; only when the camera
 * offers none of them, RGB24 converted by libv4lconvert from what it does
 * offer), the nearest size and frame rate, and mmap buffers. chosen (may be
 * NULL) gets one line saying what was negotiated, e.g.
 * "/dev/video0 (vivid, 'vivid'): yuyv 640x480 at 30 fps, 4 mmap buffers".
 * Frames carry the driver's CLOCK_MONOTONIC timestamp and sequence number;
 * skipped is the gap in sequence numbers. Errors name the device: MNV_ENODEV
 * (no such device; or, from source_next, "disconnected" when it goes away
 * while streaming), MNV_ECHANGED (from source_next: the driver reported a
 * source change, e.g. a capture card's input changed resolution: close and
 * open again to negotiate the new format), MNV_EBUSY (in use by another
 * program), MNV_EUNSUPPORTED
 * (not a video capture device, no usable format, or no camera support in
 * this build), MNV_EIO (permission denied, driver errors). At most
 * buffers - 1 frames (and SOURCE_MAX_OUTSTANDING) may be out at once. */
int source_open_camera(frame_source **out, const camera_options *o,
                       char *chosen, size_t chosenlen, char *err, size_t errlen);

/* The V4L2 fourcc a format name means: yuyv, uyvy, nv12, nv21, yu12 or i420,
 * yv12, rgb24 or rgb3, bgr24 or bgr3, mjpeg or mjpg, jpeg, grey, h264, or
 * any raw four-character code such as "BA81" (case kept for raw codes,
 * spaces padding short ones). 0 and *fourcc set; -1 if the name is empty
 * or longer than 4 characters and not a known name. */
int camera_fourcc_parse(const char *name, uint32_t *fourcc);
/* The fourcc as its four characters, trailing spaces cut ("YUYV", "Y10"),
 * "-BE" added for big-endian variants ("Y16-BE"); non-printable bytes shown
 * as '.'. Returns buf, which holds 8 bytes. */
const char *camera_fourcc_str(uint32_t fourcc, char buf[8]);
/* The mnv_pixfmt a fourcc is read as without conversion, or -1. */
int camera_fourcc_pixfmt(uint32_t fourcc);

#define CAMERA_MAX_RATES 16

/* One frame size a format offers, with its frame rates. */
typedef struct camera_size {
    int stepwise;             /* 0: width x height; 1: any size from width x height
                                 to max_width x max_height in steps */
    int width, height;
    int max_width, max_height, step_width, step_height;
    int n_rates;              /* frame rates in fps, as the driver lists them;
                                 for a stepwise interval: rates[0] min, rates[1] max */
    int rates_stepwise;       /* 1: any rate between rates[0] and rates[1] */
    double rates[CAMERA_MAX_RATES];
} camera_size;

typedef struct camera_format {
    uint32_t fourcc;
    char description[32];     /* the driver's, e.g. "YUYV 4:2:2" */
    int emulated;             /* 1: made by libv4lconvert, not the camera's own */
    int pixfmt;               /* camera_fourcc_pixfmt(fourcc) */
    int n_sizes;
    camera_size *sizes;       /* for a stepwise range, rates at its largest size */
} camera_format;

typedef struct camera_device {
    char path[64];            /* /dev/videoN */
    char driver[32], card[64], bus_info[64];
    uint32_t caps;            /* the node's V4L2_CAP_* */
    char error[128];          /* why it could not be opened ("permission denied");
                                 empty when the fields above are filled */
    int n_formats;
    camera_format *formats;
} camera_device;

/* Every video capture device under /dev (video0, video1, ... in numeric
 * order), with its formats, sizes and frame rates. Nodes that are not video
 * capture devices (metadata, output, codecs) are left out; nodes that cannot
 * be opened are listed with the reason in error. *out is NULL and *n 0 when
 * there is none (that is not an error). */
int camera_list(camera_device **out, int *n, char *err, size_t errlen);
void camera_list_free(camera_device *d, int n);

/* The path of the first video capture device (the default --device);
 * MNV_ENODEV "no camera found" when there is none. */
int camera_find_first(char *path, size_t len, char *err, size_t errlen);

#endif
