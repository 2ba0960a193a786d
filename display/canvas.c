/*
 * An off-screen canvas: SDL's software renderer drawing into a surface, with
 * the window's own scene code, so that annotated frames can be made without
 * a video driver and tests can check the drawing pixel by pixel.
 */
#include <stdlib.h>

#include "display/display_internal.h"

struct display_canvas {
    SDL_Surface *surface;     /* XRGB8888: the software renderer blends only 15/16/32-bit */
    SDL_Renderer *renderer;
    scene scene;
    uint8_t *rgb;             /* the result as RGB24 */
    int width, height;
};

int canvas_open(display_canvas **out, int width, int height, char *err, size_t errlen)
{
    *out = NULL;
    if (width < 1 || height < 1 || width > 16384 || height > 16384)
        return mnv_error(err, errlen, MNV_EINVAL, "canvas: size %dx%d outside 1..16384", width, height);
    display_canvas *c = calloc(1, sizeof *c);
    if (!c)
        return mnv_error(err, errlen, MNV_ENOMEM, "canvas: no memory");
    c->width = width;
    c->height = height;
    c->rgb = malloc((size_t)width * height * 3);
    if (!c->rgb) {
        free(c);
        return mnv_error(err, errlen, MNV_ENOMEM, "canvas: no memory for %dx%d pixels", width, height);
    }
    SDL_SetYUVConversionMode(SDL_YUV_CONVERSION_BT601);
    c->surface = SDL_CreateRGBSurfaceWithFormat(0, width, height, 32, SDL_PIXELFORMAT_RGB888);
    if (c->surface)
        c->renderer = SDL_CreateSoftwareRenderer(c->surface);
    if (!c->renderer) {
        int rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "canvas: SDL's software renderer: %s",
                           SDL_GetError());
        canvas_close(c);
        return rc;
    }
    c->scene.renderer = c->renderer;
    *out = c;
    return 0;
}

int canvas_draw(display_canvas *c, const mnv_image *img, const overlay *ov, mnv_image *out,
                char *err, size_t errlen)
{
    int rc = scene_upload(&c->scene, img, err, errlen);
    if (!rc)
        rc = scene_keep_overlay(&c->scene, ov, err, errlen);
    if (rc)
        return rc;
    scene_draw(&c->scene, c->width, c->height, 1);
    if (SDL_RenderReadPixels(c->renderer, NULL, SDL_PIXELFORMAT_RGB24, c->rgb, c->width * 3) != 0)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "canvas: cannot read the picture back (%s)",
                         SDL_GetError());
    mnv_image_pack(out, MNV_PIX_RGB24, c->width, c->height, c->rgb);
    return 0;
}

void canvas_close(display_canvas *c)
{
    if (!c)
        return;
    scene_free(&c->scene);
    if (c->renderer)
        SDL_DestroyRenderer(c->renderer);
    if (c->surface)
        SDL_FreeSurface(c->surface);
    free(c->rgb);
    free(c);
}
