/*
 * display's internals shared by its files: the font, the recorder's split
 * between its own Y4M writer and FFmpeg, the overlay drawing on any
 * SDL_Renderer, and the scene (frame texture + kept overlay) that both the
 * window and the canvas draw from.
 */
#ifndef MNV2DET_DISPLAY_INTERNAL_H
#define MNV2DET_DISPLAY_INTERNAL_H

#include <stddef.h>

#include "display/display.h"

/* ---- font.c ---- */

#define FONT_GLYPH_W 5    /* ink columns */
#define FONT_GLYPH_H 9    /* ink rows: 7 above the baseline, 2 below */
#define FONT_CELL_W 6     /* advance: one blank column */
#define FONT_CELL_H 10    /* line: one blank row */
#define FONT_TOFU 127     /* the glyph for anything not printable ASCII */

/* Row `row` of the glyph for byte c as 5 bits, leftmost pixel in bit 4. */
unsigned font_row(unsigned char c, int row);
/* The glyphs string s draws, at most max of them: printable ASCII as
 * itself, one FONT_TOFU per other character (a UTF-8 sequence counts once). */
size_t font_glyphs(const char *s, unsigned char *out, size_t max);

/* ---- record.c, record_ffmpeg.c ---- */

/* fps as the rational num / den written in a file: n:1 for a whole number,
 * n*1000:1001 for the NTSC-style rates (29.97 -> 30000:1001), else fps in
 * thousandths, reduced (12.5 -> 25:2). -1 when fps is not within
 * RECORD_MIN_FPS .. RECORD_MAX_FPS (or not a number). */
#define RECORD_MIN_FPS 0.001
#define RECORD_MAX_FPS 1000.0
int record_rate(double fps, int *num, int *den);

/* A recording through FFmpeg (record_ffmpeg.c; only in builds with the
 * ffmpeg feature, MNV_HAVE_FFMPEG): display.h's recorder_* contracts for a
 * path whose extension is not .y4m, at the frame rate rate_num / rate_den.
 * record.c checks the arguments and the images before these see them. */
typedef struct record_ffmpeg record_ffmpeg;
int record_ffmpeg_open(record_ffmpeg **out, const char *path, int width, int height, int rate_num,
                       int rate_den, char *err, size_t errlen);
int record_ffmpeg_write(record_ffmpeg *f, const mnv_image *rgb, char *err, size_t errlen);
int record_ffmpeg_close(record_ffmpeg *f, char *err, size_t errlen);

#ifdef MNV_HAVE_SDL2
#include <SDL.h>

/* ---- draw.c ---- */

/* Draw ov over the picture of a frame_w x frame_h frame shown at pic on r;
 * the heads-up line only when ov->show_hud and hud_allowed. Leaves r's clip
 * rectangle unset and its blend mode at none. */
void overlay_render(SDL_Renderer *r, const overlay *ov, int frame_w, int frame_h,
                    const SDL_Rect *pic, int hud_allowed);

/* Where a frame_w x frame_h picture goes in an out_w x out_h target, keeping
 * its aspect ratio, centred. */
SDL_Rect letterbox(int frame_w, int frame_h, int out_w, int out_h);

/* ---- scene.c ---- */

/* What is on screen: the last frame (in its texture) and a copy of the last
 * overlay, so that it can be drawn again without the caller. */
typedef struct scene {
    SDL_Renderer *renderer;        /* not owned */
    SDL_Texture *texture;          /* the frame, in its own format */
    int tex_w, tex_h;
    mnv_pixfmt tex_format;
    int tex_native;                /* the renderer has this format itself (no SDL conversion) */
    int have_frame;
    overlay ov;                    /* ov.boxes points into boxes, labels into text */
    overlay_box *boxes;
    int box_cap;
    char *text;
    size_t text_cap;
} scene;

/* Check an image's geometry: format, size 1..16384, planes present, strides
 * at least a row. */
int image_check(const mnv_image *img, char *err, size_t errlen);
/* Upload img into the scene's texture (made again only on a size or format
 * change). */
int scene_upload(scene *s, const mnv_image *img, char *err, size_t errlen);
/* Keep a copy of ov (NULL: an empty overlay with no heads-up line). */
int scene_keep_overlay(scene *s, const overlay *ov, char *err, size_t errlen);
/* Clear the out_w x out_h target and draw the frame and the overlay. */
void scene_draw(scene *s, int out_w, int out_h, int hud_allowed);
void scene_free(scene *s);

/* SDL's name of the texture format used for f. */
Uint32 scene_sdl_format(mnv_pixfmt f);

#endif

#endif
