/* Built without SDL2: the window and the canvas say so and fail; the overlay
 * helpers (overlay.c) still work. */
#include "display/display.h"

#define NO_SDL "built without SDL2 (install libsdl2-dev and reconfigure with -Ddisplay=enabled)"

int canvas_open(display_canvas **out, int width, int height, char *err, size_t errlen)
{
    (void)width;
    (void)height;
    *out = NULL;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "canvas: " NO_SDL);
}

int canvas_draw(display_canvas *c, const mnv_image *img, const overlay *ov, mnv_image *out,
                char *err, size_t errlen)
{
    (void)c;
    (void)img;
    (void)ov;
    (void)out;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "canvas: " NO_SDL);
}

void canvas_close(display_canvas *c)
{
    (void)c;
}

void display_options_init(display_options *o)
{
    *o = (display_options){.title = "mnv2det", .width = 960, .height = 540, .show_hud = 1};
}

int display_open(display **out, const display_options *o, char *err, size_t errlen)
{
    (void)o;
    *out = NULL;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "no display: " NO_SDL);
}

int display_show(display *d, const mnv_image *img, const overlay *ov, char *err, size_t errlen)
{
    (void)d;
    (void)img;
    (void)ov;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "display: " NO_SDL);
}

int display_poll(display *d, display_event *ev)
{
    (void)d;
    *ev = (display_event){.action = DISPLAY_NONE};
    return 0;
}

int display_screenshot(display *d, const char *path, char *err, size_t errlen)
{
    (void)d;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: no screenshot: " NO_SDL, path);
}

void display_describe(const display *d, char *buf, size_t n)
{
    (void)d;
    if (n)
        buf[0] = '\0';
}

void display_close(display *d)
{
    (void)d;
}
