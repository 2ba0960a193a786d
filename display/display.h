/*
 * display: shows frames with their detections drawn over them. Knows nothing
 * of inference: the caller hands over a frame in its source's own pixel
 * format (common.h's mnv_image) and an overlay (boxes in frame pixels with
 * labels, a heads-up line of figures), and the display draws them.
 *
 * One drawing code (SDL2's renderer API) serves two targets:
 * - display_*: a window. The frame goes to a streaming texture of its own
 *   format (RGB24, YUY2, NV12, IYUV), so the renderer converts it, not our
 *   code; the picture keeps its aspect ratio (black bars) whatever the
 *   window's size; the overlay is drawn at the picture's on-screen scale.
 * - canvas_*: an off-screen RGB picture drawn by SDL's software renderer,
 *   no video driver needed (annotated recordings, tests).
 *
 * YUV frames are shown as BT.601 limited range (common.h) at every size:
 * opening a display or a canvas sets SDL's process-wide YUV conversion mode
 * to BT.601 (SDL's default, which SDL_SetYUVConversionMode can change to
 * JPEG's full range, or to BT.709 above 576 rows).
 *
 * Geometry of the overlay on a picture shown h pixels high: box outlines are
 * max(2, h / 270) pixels thick and lie inside the box's own pixels (a box
 * from x0 to x1 covers columns round(x0) to round(x1) - 1); text is a built-in
 * 6x10 bitmap font scaled by max(1, (h + 160) / 320) (integer: 1 below 480
 * rows, 2 up to 799, 3 up to 1119, ...). The heads-up line is a dark band
 * across the picture's top (wrapped between its fields when the picture is
 * narrow). Each box's tag (its label and score on a filled rectangle of the
 * box's colour, black or white text, whichever contrasts more) sits above the
 * box, or inside it at the top when there is no room above, never under the
 * heads-up band and never outside the picture; where tags overlap, earlier
 * boxes' tags are on top. Everything is clipped to the picture.
 *
 * Built without SDL2 (meson -Ddisplay=disabled, or no libsdl2-dev), the
 * overlay helpers and the recorder still work, and display_open and
 * canvas_open fail with MNV_EUNSUPPORTED and say why.
 *
 * Threads: a display belongs to the thread that opened it (SDL's video
 * functions must run on one thread, the main thread on some platforms).
 *
 * Errors: 0 on success or a negative mnv_status with one line in the
 * caller's err buffer. Nothing here prints or exits.
 */
#ifndef MNV2DET_DISPLAY_H
#define MNV2DET_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* One detection to draw. */
typedef struct overlay_box {
    float x0, y0, x1, y1;   /* left, top, right, bottom in frame pixels (x1, y1
                               exclusive); may reach outside the frame; a box
                               with no area or a non-finite corner is skipped */
    int class_id;           /* picks the colour (overlay_class_color) */
    const char *label;      /* tag text, any bytes (only printable ASCII is drawn
                               as itself); NULL or "": "class N" */
    float score;            /* in [0, 1], shown as a percentage; < 0: not shown */
} overlay_box;

/* The heads-up line's figures; a negative value is unknown and shown as "-". */
typedef struct overlay_hud {
    double camera_fps;        /* frames per second arriving from the source */
    double detections_per_s;  /* detector passes finished per second */
    double inference_ms;      /* the network's time on a recent frame */
    double latency_ms;        /* end to end: capture to present */
    long long dropped;        /* frames dropped so far */
    int threads;              /* the detector's threads */
    double score_threshold;   /* the current threshold (+ and - change it) */
} overlay_hud;

/* What to draw over one frame. The display copies what it needs: boxes and
 * labels need only live for the call. */
typedef struct overlay {
    const overlay_box *boxes;
    int n_boxes;
    overlay_hud hud;
    int show_hud;             /* draw the heads-up line across the picture's top */
    int paused;               /* draw a "PAUSED" tag at the picture's top right */
} overlay;

/* An empty overlay: no boxes, every figure unknown, heads-up line shown. */
void overlay_init(overlay *ov);

/* The colour of a class as 0xRRGGBB: one of a fixed palette of saturated,
 * mutually distinct colours, indexed by the class id (any int, negative too). */
uint32_t overlay_class_color(int class_id);

/* The heads-up line as text, e.g. "cam 30.0 fps  det 29.8/s  infer 11.2 ms
 * e2e 47.9 ms  drop 0  thr 2  score 0.50". snprintf's contract: writes at
 * most n bytes, always terminated when n > 0, returns the full length. */
int overlay_format_hud(const overlay_hud *hud, char *buf, size_t n);

/* The tag text of a box, "label 85%" ("class N" without a label; no
 * percentage when score < 0), same contract as overlay_format_hud. */
int overlay_format_tag(const overlay_box *b, char *buf, size_t n);

/* ---- off-screen canvas -------------------------------------------------- */

typedef struct display_canvas display_canvas;

/* A width x height canvas drawn by SDL's software renderer. MNV_EINVAL for a
 * size outside 1..16384, MNV_EUNSUPPORTED without SDL2. */
int canvas_open(display_canvas **out, int width, int height, char *err, size_t errlen);

/* Draw img letterboxed into the canvas (black bars), ov over it (NULL: no
 * overlay), exactly as a window of the canvas's size would. On success *out
 * views the result as RGB24 (valid until the next canvas call). Bad image
 * geometry (size, planes, strides) is MNV_EINVAL. Allocates only when the
 * frame's size or format or the overlay's box count or text grows. */
int canvas_draw(display_canvas *c, const mnv_image *img, const overlay *ov, mnv_image *out,
                char *err, size_t errlen);

/* Safe on NULL. */
void canvas_close(display_canvas *c);

/* ---- window ------------------------------------------------------------- */

typedef struct display display;

typedef struct display_options {
    const char *title;        /* window title (copied) */
    int width, height;        /* initial window size in pixels */
    int fullscreen;           /* start fullscreen (on the desktop's resolution) */
    int vsync;                /* 1: present waits for the screen's refresh (no tearing,
                                 up to one refresh more latency); 0: at once */
    int show_hud;             /* initial state of the h key's toggle */
} display_options;

/* Defaults: "mnv2det", 960x540, windowed, no vsync, heads-up line shown. */
void display_options_init(display_options *o);

/* Open a window. SDL picks the video driver (X11, Wayland, KMSDRM, ...; the
 * SDL_VIDEODRIVER environment variable overrides). When none starts, or no
 * window can be made, returns MNV_EUNSUPPORTED with a line beginning "no
 * display: " so that the caller can run headless. SDL is told to leave the
 * process's signal handlers alone. */
int display_open(display **out, const display_options *o, char *err, size_t errlen);

/* Upload img (texture recreated only when the size or format changes), draw
 * it letterboxed with ov over it (NULL: nothing), present. The display keeps
 * a copy of the overlay, so that it can redraw (resize, h, f, screenshots)
 * without the caller. The heads-up line shows when ov->show_hud and the h
 * toggle are both on. Bad image geometry is MNV_EINVAL. */
int display_show(display *d, const mnv_image *img, const overlay *ov, char *err, size_t errlen);

typedef enum display_action {
    DISPLAY_NONE = 0,
    DISPLAY_QUIT,             /* q, Esc, or the window was closed */
    DISPLAY_PAUSE,            /* space: the caller pauses or resumes */
    DISPLAY_SCREENSHOT,       /* s: the caller saves one (display_screenshot) */
    DISPLAY_SCORE_UP,         /* + (or =, keypad +) */
    DISPLAY_SCORE_DOWN,       /* - (keypad -) */
    DISPLAY_FULLSCREEN,       /* f: already done; .fullscreen is the new state */
    DISPLAY_HUD,              /* h: already done; .hud_visible is the new state */
} display_action;

typedef struct display_event {
    display_action action;
    int fullscreen;           /* after the event */
    int hud_visible;          /* after the event */
} display_event;

/* Handle pending window events without waiting: redraws after a resize or
 * exposure, toggles fullscreen (f) and the heads-up line (h) itself, and
 * returns 1 with the first user action in *ev, or 0 (ev->action
 * DISPLAY_NONE) when none is pending. Call it between frames, and in a loop
 * with a short sleep while paused. */
int display_poll(display *d, display_event *ev);

/* Write what the window shows now (frame, overlay, bars; the window's pixel
 * size) as a PNG file. MNV_EINVAL when nothing was shown yet, MNV_EIO
 * naming the path when the file cannot be written. */
int display_screenshot(display *d, const char *path, char *err, size_t errlen);

/* One line on what SDL chose, e.g. "video x11, renderer opengl, vsync off,
 * frame texture NV12 (native)". */
void display_describe(const display *d, char *buf, size_t n);

/* Close the window and release SDL's video subsystem. Safe on NULL. */
void display_close(display *d);

/* ---- recordings ---------------------------------------------------------- */

/* A video file of annotated frames (what canvas_draw makes). The container
 * follows the path's extension: ".y4m" is YUV4MPEG2 4:2:0 (I420, BT.601
 * limited range, written by our own code, always available); any other
 * extension FFmpeg knows (.mkv, .mp4, .avi, ...) is encoded by FFmpeg with
 * that container's default video codec when the build has the ffmpeg
 * feature, else MNV_EUNSUPPORTED naming the path and saying to use .y4m.
 * An encoder may refuse a size (libx264, the default of .mkv and .mp4,
 * wants even sizes): MNV_EUNSUPPORTED at open with FFmpeg's reason. FFmpeg's
 * log callback is set process-wide, to the one the FFmpeg source sets
 * (common/ffmpeg_log.h): FFmpeg prints nothing. */
typedef struct recorder recorder;

/* Open path for width x height frames (1 to 16384 a side) at fps (the frame
 * rate written in the file, 0.001 to 1000, as a rational: n:1 for whole
 * numbers, n*1000:1001 for NTSC's (29.97 is 30000:1001), else thousandths;
 * MNV_EINVAL otherwise). The file is created or truncated: MNV_EIO naming
 * the path when it cannot be. */
int recorder_open(recorder **out, const char *path, int width, int height, double fps,
                  char *err, size_t errlen);

/* Append one frame: an RGB24 image of the recorder's size (else MNV_EINVAL,
 * and the recording goes on). Converts into buffers made at open: nothing
 * is allocated per frame (but by FFmpeg's encoders, for their packets).
 * MNV_EIO naming the path when the write fails (disk full); the file is
 * then damaged and later writes fail too. */
int recorder_write(recorder *r, const mnv_image *rgb, char *err, size_t errlen);

/* Flush, finish the container (trailer) and close; 0, or MNV_EIO when any
 * write failed, naming the path. Frees r in any case; safe on NULL. */
int recorder_close(recorder *r, char *err, size_t errlen);

#endif
