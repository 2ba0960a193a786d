/*
 * The overlay drawn with SDL's renderer API only (filled rectangles), so the
 * same code draws into a window and into the software renderer's surface.
 * Text is the built-in bitmap font: each run of ink pixels in a glyph row
 * becomes one rectangle, sent in batches.
 */
#include <math.h>

#include "display/display_internal.h"

#define BATCH 256
#define MAX_GLYPHS 512    /* a tag or heads-up line longer than this is cut */

typedef struct rect_batch {
    SDL_Renderer *r;
    int n;
    SDL_Rect rects[BATCH];
} rect_batch;

static void batch_flush(rect_batch *b)
{
    if (b->n)
        SDL_RenderFillRects(b->r, b->rects, b->n);
    b->n = 0;
}

static void batch_add(rect_batch *b, int x, int y, int w, int h)
{
    if (b->n == BATCH)
        batch_flush(b);
    b->rects[b->n++] = (SDL_Rect){x, y, w, h};
}

static void set_color(SDL_Renderer *r, uint32_t rgb, Uint8 alpha)
{
    SDL_SetRenderDrawColor(r, (Uint8)(rgb >> 16), (Uint8)(rgb >> 8), (Uint8)rgb, alpha);
}

/* Text on a coloured background: black or white, whichever contrasts more
 * (BT.601 luma of the background). */
static uint32_t text_color_on(uint32_t bg)
{
    unsigned luma = (299u * (bg >> 16 & 0xFF) + 587u * (bg >> 8 & 0xFF) + 114u * (bg & 0xFF)) / 1000;
    return luma >= 140 ? 0x000000 : 0xFFFFFF;
}

/* Width in pixels of n glyphs at scale s (no blank column after the last). */
static int text_width(size_t n, int s)
{
    return n ? (int)n * FONT_CELL_W * s - s : 0;
}

/* Draw n glyphs with their top-left at (x, y), in the current colour. */
static void draw_glyphs(SDL_Renderer *r, const unsigned char *g, size_t n, int x, int y, int s)
{
    rect_batch b;
    b.r = r;
    b.n = 0;
    for (size_t i = 0; i < n; i++) {
        int gx = x + (int)i * FONT_CELL_W * s;
        for (int row = 0; row < FONT_GLYPH_H; row++) {
            unsigned bits = font_row(g[i], row);
            for (int col = 0; col < FONT_GLYPH_W;) {
                if (!(bits >> (FONT_GLYPH_W - 1 - col) & 1)) {
                    col++;
                    continue;
                }
                int start = col;
                while (col < FONT_GLYPH_W && (bits >> (FONT_GLYPH_W - 1 - col) & 1))
                    col++;
                batch_add(&b, gx + start * s, y + row * s, (col - start) * s, s);
            }
        }
    }
    batch_flush(&b);
}

static void fill_clipped(SDL_Renderer *r, const SDL_Rect *pic, int x, int y, int w, int h)
{
    SDL_Rect a = {x, y, w, h}, out;
    if (SDL_IntersectRect(&a, pic, &out))
        SDL_RenderFillRect(r, &out);
}

/* A frame coordinate on screen, held to a band around the picture before it
 * becomes an int, so that a box at 1e30 (or -1e30) neither overflows nor
 * shows an edge. */
static int to_screen(float v, double origin, double scale, int lo, int hi)
{
    double p = origin + (double)v * scale;
    if (p < lo)
        p = lo;
    if (p > hi)
        p = hi;
    return (int)lround(p);
}

typedef struct box_px { int l, t, r, b; } box_px;

/* The box on screen; 0 when it has no area or no part in the picture. */
static int box_on_screen(const overlay_box *bx, const SDL_Rect *pic, double sx, double sy,
                         int margin, box_px *o)
{
    if (!isfinite(bx->x0) || !isfinite(bx->y0) || !isfinite(bx->x1) || !isfinite(bx->y1))
        return 0;
    int xlo = pic->x - margin, xhi = pic->x + pic->w + margin;
    int ylo = pic->y - margin, yhi = pic->y + pic->h + margin;
    o->l = to_screen(bx->x0, pic->x, sx, xlo, xhi);
    o->r = to_screen(bx->x1, pic->x, sx, xlo, xhi);
    o->t = to_screen(bx->y0, pic->y, sy, ylo, yhi);
    o->b = to_screen(bx->y1, pic->y, sy, ylo, yhi);
    if (o->r <= o->l || o->b <= o->t)
        return 0;
    return o->r > pic->x && o->l < pic->x + pic->w && o->b > pic->y && o->t < pic->y + pic->h;
}

static void draw_outline(SDL_Renderer *r, const box_px *p, const SDL_Rect *pic, int t, uint32_t rgb)
{
    set_color(r, rgb, 255);
    int w = p->r - p->l, h = p->b - p->t;
    fill_clipped(r, pic, p->l, p->t, w, t);
    fill_clipped(r, pic, p->l, p->b - t, w, t);
    fill_clipped(r, pic, p->l, p->t, t, h);
    fill_clipped(r, pic, p->r - t, p->t, t, h);
}

/* A text on a filled rectangle: at most as many glyphs as fit the picture's
 * width. x, y: where the tag wants its top-left; moved to stay inside the
 * picture. Draws nothing when not even one glyph fits. */
static void draw_tag(SDL_Renderer *r, const SDL_Rect *pic, const char *text, int x, int y,
                     int s, uint32_t bg)
{
    unsigned char g[MAX_GLYPHS];
    size_t n = font_glyphs(text, g, MAX_GLYPHS);
    int pad_x = 2 * s, pad_y = s;
    int th = FONT_GLYPH_H * s + 2 * pad_y;
    if (n == 0 || th > pic->h)
        return;
    int max_glyphs = (pic->w - 2 * pad_x + s) / (FONT_CELL_W * s);
    if (max_glyphs < 1)
        return;
    if (n > (size_t)max_glyphs)
        n = (size_t)max_glyphs;
    int tw = text_width(n, s) + 2 * pad_x;
    if (x + tw > pic->x + pic->w)
        x = pic->x + pic->w - tw;
    if (x < pic->x)
        x = pic->x;
    if (y + th > pic->y + pic->h)
        y = pic->y + pic->h - th;
    if (y < pic->y)
        y = pic->y;
    set_color(r, bg, 255);
    SDL_RenderFillRect(r, &(SDL_Rect){x, y, tw, th});
    set_color(r, text_color_on(bg), 255);
    draw_glyphs(r, g, n, x + pad_x, y + pad_y, s);
}

static int tag_height(int s)
{
    return FONT_GLYPH_H * s + 2 * s;
}

/* The heads-up line, wrapped at its fields (two spaces apart) when the
 * picture is too narrow for one line, on a dark translucent band (only
 * measured unless paint). Returns the band's height. */
static int draw_hud(SDL_Renderer *r, const SDL_Rect *pic, const overlay_hud *hud, int s, int paint)
{
    char text[MAX_GLYPHS];
    overlay_format_hud(hud, text, sizeof text);
    unsigned char g[MAX_GLYPHS];
    size_t n = font_glyphs(text, g, MAX_GLYPHS);
    int pad_x = 2 * s, pad_y = s, line_h = FONT_CELL_H * s;
    int per_line = (pic->w - 2 * pad_x + s) / (FONT_CELL_W * s);
    if (per_line < 1 || n == 0)
        return 0;

    /* Lines as [start, end) glyph ranges: whole fields while they fit; a
     * field longer than a line is cut. */
    size_t starts[MAX_GLYPHS], ends[MAX_GLYPHS];
    int lines = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = i, k = i;
        while (k < n) {
            size_t field_end = k;
            while (field_end < n && !(g[field_end] == ' ' && field_end + 1 < n && g[field_end + 1] == ' '))
                field_end++;
            if (field_end - i > (size_t)per_line) {
                if (end == i)
                    end = i + (size_t)per_line;
                break;
            }
            end = field_end;
            k = field_end;
            while (k < n && g[k] == ' ')
                k++;
        }
        if (end == i)
            end = i + 1;
        starts[lines] = i;
        ends[lines] = end;
        lines++;
        i = end;
        while (i < n && g[i] == ' ')
            i++;
    }
    int band_h = lines * line_h + pad_y;
    if (band_h > pic->h)
        band_h = pic->h;
    if (!paint)
        return band_h;
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(r, 0, 0, 0, 170);
    SDL_RenderFillRect(r, &(SDL_Rect){pic->x, pic->y, pic->w, band_h});
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
    for (int l = 0; l < lines; l++)
        draw_glyphs(r, g + starts[l], ends[l] - starts[l], pic->x + pad_x,
                    pic->y + pad_y + l * line_h, s);
    return band_h;
}

SDL_Rect letterbox(int frame_w, int frame_h, int out_w, int out_h)
{
    SDL_Rect p;
    if (frame_w <= 0 || frame_h <= 0 || out_w <= 0 || out_h <= 0)
        return (SDL_Rect){0, 0, out_w > 0 ? out_w : 0, out_h > 0 ? out_h : 0};
    if ((long long)out_w * frame_h <= (long long)out_h * frame_w) {
        p.w = out_w;
        p.h = (int)(((long long)frame_h * out_w + frame_w / 2) / frame_w);
    } else {
        p.h = out_h;
        p.w = (int)(((long long)frame_w * out_h + frame_h / 2) / frame_h);
    }
    if (p.w < 1)
        p.w = 1;
    if (p.h < 1)
        p.h = 1;
    p.x = (out_w - p.w) / 2;
    p.y = (out_h - p.h) / 2;
    return p;
}

void overlay_render(SDL_Renderer *r, const overlay *ov, int frame_w, int frame_h,
                    const SDL_Rect *pic, int hud_allowed)
{
    if (!ov || frame_w <= 0 || frame_h <= 0 || pic->w <= 0 || pic->h <= 0)
        return;
    int t = pic->h / 270 > 2 ? pic->h / 270 : 2;
    int s = (pic->h + 160) / 320 > 1 ? (pic->h + 160) / 320 : 1;
    double sx = (double)pic->w / frame_w, sy = (double)pic->h / frame_h;
    int margin = 4 * t;

    SDL_RenderSetClipRect(r, pic);
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
    /* All outlines first, then the tags over them, so that no box's line
     * crosses another box's text. */
    for (int i = 0; i < ov->n_boxes; i++) {
        box_px p;
        if (box_on_screen(&ov->boxes[i], pic, sx, sy, margin, &p))
            draw_outline(r, &p, pic, t, overlay_class_color(ov->boxes[i].class_id));
    }
    /* The heads-up band is measured first so that tags go below it; it is
     * drawn last, over the outlines. */
    int hud_h = 0;
    if (ov->show_hud && hud_allowed)
        hud_h = draw_hud(r, pic, &ov->hud, s, 0);
    SDL_Rect below_hud = {pic->x, pic->y + hud_h, pic->w, pic->h - hud_h};
    int th = tag_height(s);
    /* Last box first: where tags overlap, the first boxes' (the best, in
     * a detector's order) stay on top. */
    for (int i = ov->n_boxes - 1; i >= 0 && below_hud.h > 0; i--) {
        box_px p;
        const overlay_box *b = &ov->boxes[i];
        if (!box_on_screen(b, pic, sx, sy, margin, &p))
            continue;
        char text[MAX_GLYPHS];
        overlay_format_tag(b, text, sizeof text);
        int x = p.l > pic->x ? p.l : pic->x;
        int y = p.t - th >= below_hud.y ? p.t - th : p.t;
        draw_tag(r, &below_hud, text, x, y, s, overlay_class_color(b->class_id));
    }
    if (hud_h)
        draw_hud(r, pic, &ov->hud, s, 1);
    if (ov->paused)
        draw_tag(r, pic, "PAUSED", pic->x + pic->w, pic->y + hud_h, s, 0xFFE53B);
    SDL_RenderSetClipRect(r, NULL);
}
