/*
 * What a window or canvas shows: the frame in a streaming texture of its own
 * pixel format (the renderer converts YUV to RGB; our code never does) and a
 * copy of the overlay, so that the picture can be drawn again after a
 * resize, a toggle or for a screenshot without asking the caller.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "display/display_internal.h"

#define MAX_SIDE 16384

Uint32 scene_sdl_format(mnv_pixfmt f)
{
    switch (f) {
    case MNV_PIX_RGB24: return SDL_PIXELFORMAT_RGB24;
    case MNV_PIX_YUYV: return SDL_PIXELFORMAT_YUY2;
    case MNV_PIX_NV12: return SDL_PIXELFORMAT_NV12;
    case MNV_PIX_I420: return SDL_PIXELFORMAT_IYUV;
    default: return SDL_PIXELFORMAT_UNKNOWN;
    }
}

int image_check(const mnv_image *img, char *err, size_t errlen)
{
    if (!img)
        return mnv_error(err, errlen, MNV_EINVAL, "display: no image");
    if ((unsigned)img->format >= MNV_PIX_COUNT)
        return mnv_error(err, errlen, MNV_EINVAL, "display: image has unknown pixel format %d",
                         (int)img->format);
    if (img->width < 1 || img->height < 1 || img->width > MAX_SIDE || img->height > MAX_SIDE)
        return mnv_error(err, errlen, MNV_EINVAL, "display: %dx%d %s image: size outside 1..%d",
                         img->width, img->height, mnv_pixfmt_name(img->format), MAX_SIDE);
    for (int p = 0; p < mnv_pixfmt_planes(img->format); p++) {
        size_t row = 0;
        mnv_plane_size(img->format, img->width, img->height, p, &row);
        if (!img->plane[p])
            return mnv_error(err, errlen, MNV_EINVAL, "display: %dx%d %s image: plane %d missing",
                             img->width, img->height, mnv_pixfmt_name(img->format), p);
        if (img->stride[p] < row || img->stride[p] > INT_MAX)
            return mnv_error(err, errlen, MNV_EINVAL,
                             "display: %dx%d %s image: plane %d stride %zu (a row is %zu bytes)",
                             img->width, img->height, mnv_pixfmt_name(img->format), p,
                             img->stride[p], row);
    }
    return 0;
}

static int renderer_has_format(SDL_Renderer *r, Uint32 fmt)
{
    SDL_RendererInfo info;
    if (SDL_GetRendererInfo(r, &info) != 0)
        return 0;
    for (Uint32 i = 0; i < info.num_texture_formats; i++)
        if (info.texture_formats[i] == fmt)
            return 1;
    return 0;
}

int scene_upload(scene *s, const mnv_image *img, char *err, size_t errlen)
{
    int rc = image_check(img, err, errlen);
    if (rc)
        return rc;
    if (!s->texture || s->tex_w != img->width || s->tex_h != img->height ||
        s->tex_format != img->format) {
        if (s->texture)
            SDL_DestroyTexture(s->texture);
        s->have_frame = 0;
        Uint32 fmt = scene_sdl_format(img->format);
        /* When the renderer lacks the format (OpenGL has no YUY2 or RGB24),
         * SDL keeps a texture of a format it has and converts on upload. */
        s->texture = SDL_CreateTexture(s->renderer, fmt, SDL_TEXTUREACCESS_STREAMING,
                                       img->width, img->height);
        if (!s->texture)
            return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                             "display: cannot make a %dx%d %s texture (%s)", img->width,
                             img->height, SDL_GetPixelFormatName(fmt), SDL_GetError());
        SDL_SetTextureScaleMode(s->texture, SDL_ScaleModeLinear);
        s->tex_w = img->width;
        s->tex_h = img->height;
        s->tex_format = img->format;
        s->tex_native = renderer_has_format(s->renderer, fmt);
    }
    switch (img->format) {
    case MNV_PIX_NV12:
        rc = SDL_UpdateNVTexture(s->texture, NULL, img->plane[0], (int)img->stride[0],
                                 img->plane[1], (int)img->stride[1]);
        break;
    case MNV_PIX_I420:
        rc = SDL_UpdateYUVTexture(s->texture, NULL, img->plane[0], (int)img->stride[0],
                                  img->plane[1], (int)img->stride[1], img->plane[2],
                                  (int)img->stride[2]);
        break;
    default:
        rc = SDL_UpdateTexture(s->texture, NULL, img->plane[0], (int)img->stride[0]);
        break;
    }
    if (rc != 0)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "display: cannot upload a %dx%d %s frame (%s)",
                         img->width, img->height, mnv_pixfmt_name(img->format), SDL_GetError());
    s->have_frame = 1;
    return 0;
}

/* Grow *p (of *cap elements of size) to at least need elements. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

int scene_keep_overlay(scene *s, const overlay *ov, char *err, size_t errlen)
{
    if (!ov) {
        overlay_init(&s->ov);
        s->ov.show_hud = 0;
        return 0;
    }
    if (ov->n_boxes < 0 || (ov->n_boxes > 0 && !ov->boxes))
        return mnv_error(err, errlen, MNV_EINVAL, "display: overlay has %d boxes at %p",
                         ov->n_boxes, (const void *)ov->boxes);
    size_t text = 0;
    for (int i = 0; i < ov->n_boxes; i++)
        if (ov->boxes[i].label)
            text += strlen(ov->boxes[i].label) + 1;
    size_t box_cap = (size_t)s->box_cap;
    if (grow((void **)&s->boxes, &box_cap, (size_t)ov->n_boxes, sizeof *s->boxes) ||
        grow((void **)&s->text, &s->text_cap, text, 1))
        return mnv_error(err, errlen, MNV_ENOMEM, "display: no memory for %d boxes", ov->n_boxes);
    s->box_cap = (int)box_cap;

    s->ov = *ov;
    s->ov.boxes = s->boxes;
    char *t = s->text;
    for (int i = 0; i < ov->n_boxes; i++) {
        s->boxes[i] = ov->boxes[i];
        if (ov->boxes[i].label) {
            size_t len = strlen(ov->boxes[i].label) + 1;
            memcpy(t, ov->boxes[i].label, len);
            s->boxes[i].label = t;
            t += len;
        }
    }
    return 0;
}

void scene_draw(scene *s, int out_w, int out_h, int hud_allowed)
{
    SDL_SetRenderDrawBlendMode(s->renderer, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(s->renderer, 0, 0, 0, 255);
    SDL_RenderClear(s->renderer);
    if (!s->have_frame)
        return;
    SDL_Rect pic = letterbox(s->tex_w, s->tex_h, out_w, out_h);
    SDL_RenderCopy(s->renderer, s->texture, NULL, &pic);
    overlay_render(s->renderer, &s->ov, s->tex_w, s->tex_h, &pic, hud_allowed);
}

void scene_free(scene *s)
{
    if (s->texture)
        SDL_DestroyTexture(s->texture);
    free(s->boxes);
    free(s->text);
    memset(s, 0, sizeof *s);
}
