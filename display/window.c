/*
 * The window: SDL picks the video driver and the renderer; frames go to a
 * streaming texture in their own format; the scene is drawn again from its
 * kept copy whenever the window needs it (resize, exposure, f, h,
 * screenshots), so a paused picture stays right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Debian's libstb already carries stb_image_write's code; meson defines
 * this only where the library lacks it. */
#ifdef MNV_STB_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#include <stb/stb_image_write.h>

#include "display/display_internal.h"

struct display {
    SDL_Window *window;
    SDL_Renderer *renderer;
    scene scene;
    int hud_visible;
    int fullscreen;
    int vsync;
    int dirty;                /* the window needs drawing again */
};

void display_options_init(display_options *o)
{
    memset(o, 0, sizeof *o);
    o->title = "mnv2det";
    o->width = 960;
    o->height = 540;
    o->show_hud = 1;
}

void display_close(display *d)
{
    if (!d)
        return;
    scene_free(&d->scene);
    if (d->renderer)
        SDL_DestroyRenderer(d->renderer);
    if (d->window)
        SDL_DestroyWindow(d->window);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    /* With nothing else of SDL in use, let it also drop what it keeps for
     * the process (its D-Bus connection, hints), which quitting one
     * subsystem leaves behind. */
    if (SDL_WasInit(SDL_INIT_EVERYTHING) == 0)
        SDL_Quit();
    free(d);
}

int display_open(display **out, const display_options *o, char *err, size_t errlen)
{
    *out = NULL;
    display_options defaults;
    if (!o) {
        display_options_init(&defaults);
        o = &defaults;
    }
    if (o->width < 1 || o->height < 1 || o->width > 16384 || o->height > 16384)
        return mnv_error(err, errlen, MNV_EINVAL, "display: window size %dx%d outside 1..16384",
                         o->width, o->height);
    /* The program owns SIGINT and SIGTERM (clean shutdown with or without a
     * window); SDL would otherwise turn them into quit events. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    /* Without XDG_RUNTIME_DIR no Wayland compositor can be found, and
     * libwayland says so on stderr when SDL tries: try the others only.
     * SDL_VIDEODRIVER, when set, is the user's choice (a hint does not
     * override the environment variable). */
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if ((!xdg || !*xdg) && !getenv("WAYLAND_DISPLAY"))
        SDL_SetHint(SDL_HINT_VIDEODRIVER, "x11,kmsdrm");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED,
                         "no display: SDL could not start a video driver (%s)", SDL_GetError());
    /* With no display to reach, SDL falls back to drivers that show nothing
     * (offscreen draws into EGL buffers): that is no display, unless the
     * user (or a test) asked for that driver by name. */
    const char *driver = SDL_GetCurrentVideoDriver();
    const char *asked = SDL_GetHint(SDL_HINT_VIDEODRIVER);
    if (driver && (strcmp(driver, "offscreen") == 0 || strcmp(driver, "dummy") == 0) &&
        !(asked && strstr(asked, driver))) {
        int rc = mnv_error(err, errlen, MNV_EUNSUPPORTED,
                           "no display: SDL found only its '%s' video driver, which shows nothing",
                           driver);
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return rc;
    }
    display *d = calloc(1, sizeof *d);
    if (!d) {
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return mnv_error(err, errlen, MNV_ENOMEM, "display: no memory");
    }
    SDL_SetYUVConversionMode(SDL_YUV_CONVERSION_BT601);
    d->hud_visible = o->show_hud;
    d->fullscreen = o->fullscreen;
    d->vsync = o->vsync;
    Uint32 flags = SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI |
                   (o->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    d->window = SDL_CreateWindow(o->title ? o->title : "mnv2det", SDL_WINDOWPOS_UNDEFINED,
                                 SDL_WINDOWPOS_UNDEFINED, o->width, o->height, flags);
    if (!d->window) {
        int rc = mnv_error(err, errlen, MNV_EUNSUPPORTED,
                           "no display: SDL could not open a window on %s (%s)",
                           SDL_GetCurrentVideoDriver(), SDL_GetError());
        display_close(d);
        return rc;
    }
    Uint32 vsync = o->vsync ? SDL_RENDERER_PRESENTVSYNC : 0;
    d->renderer = SDL_CreateRenderer(d->window, -1, SDL_RENDERER_ACCELERATED | vsync);
    if (!d->renderer)   /* no GPU renderer: SDL's software one */
        d->renderer = SDL_CreateRenderer(d->window, -1, vsync);
    if (!d->renderer) {
        int rc = mnv_error(err, errlen, MNV_EUNSUPPORTED,
                           "no display: SDL could not draw into a window on %s (%s)",
                           SDL_GetCurrentVideoDriver(), SDL_GetError());
        display_close(d);
        return rc;
    }
    d->scene.renderer = d->renderer;
    d->dirty = 1;
    *out = d;
    return 0;
}

static void draw(display *d)
{
    int w = 0, h = 0;
    SDL_GetRendererOutputSize(d->renderer, &w, &h);
    scene_draw(&d->scene, w, h, d->hud_visible);
}

int display_show(display *d, const mnv_image *img, const overlay *ov, char *err, size_t errlen)
{
    int rc = scene_upload(&d->scene, img, err, errlen);
    if (!rc)
        rc = scene_keep_overlay(&d->scene, ov, err, errlen);
    if (rc)
        return rc;
    draw(d);
    SDL_RenderPresent(d->renderer);
    d->dirty = 0;
    return 0;
}

static display_action key_action(display *d, const SDL_KeyboardEvent *k)
{
    int first = !k->repeat;   /* toggles ignore auto-repeat, +/- follow it */
    switch (k->keysym.sym) {
    case SDLK_q:
    case SDLK_ESCAPE:
        return DISPLAY_QUIT;
    case SDLK_SPACE:
        return first ? DISPLAY_PAUSE : DISPLAY_NONE;
    case SDLK_s:
        return first ? DISPLAY_SCREENSHOT : DISPLAY_NONE;
    case SDLK_PLUS:
    case SDLK_EQUALS:   /* + without shift on US-like layouts */
    case SDLK_KP_PLUS:
        return DISPLAY_SCORE_UP;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        return DISPLAY_SCORE_DOWN;
    case SDLK_f:
        if (!first)
            return DISPLAY_NONE;
        if (SDL_SetWindowFullscreen(d->window, d->fullscreen ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP) == 0)
            d->fullscreen = !d->fullscreen;
        d->dirty = 1;
        return DISPLAY_FULLSCREEN;
    case SDLK_h:
        if (!first)
            return DISPLAY_NONE;
        d->hud_visible = !d->hud_visible;
        d->dirty = 1;
        return DISPLAY_HUD;
    default:
        return DISPLAY_NONE;
    }
}

int display_poll(display *d, display_event *ev)
{
    display_action a = DISPLAY_NONE;
    SDL_Event e;
    while (a == DISPLAY_NONE && SDL_PollEvent(&e)) {
        if (e.type == SDL_QUIT) {
            a = DISPLAY_QUIT;
        } else if (e.type == SDL_WINDOWEVENT) {
            switch (e.window.event) {
            case SDL_WINDOWEVENT_CLOSE: a = DISPLAY_QUIT; break;
            case SDL_WINDOWEVENT_SIZE_CHANGED:
            case SDL_WINDOWEVENT_EXPOSED:
            case SDL_WINDOWEVENT_RESTORED: d->dirty = 1; break;
            default: break;
            }
        } else if (e.type == SDL_KEYDOWN) {
            a = key_action(d, &e.key);
        }
    }
    if (d->dirty) {
        draw(d);
        SDL_RenderPresent(d->renderer);
        d->dirty = 0;
    }
    ev->action = a;
    ev->fullscreen = d->fullscreen;
    ev->hud_visible = d->hud_visible;
    return a != DISPLAY_NONE;
}

typedef struct png_sink { FILE *fp; int failed; } png_sink;

static void png_write(void *ctx, void *data, int size)
{
    png_sink *s = ctx;
    if (!s->failed && fwrite(data, 1, (size_t)size, s->fp) != (size_t)size)
        s->failed = errno ? errno : EIO;
}

int display_screenshot(display *d, const char *path, char *err, size_t errlen)
{
    if (!d->scene.have_frame)
        return mnv_error(err, errlen, MNV_EINVAL, "%s: no screenshot: nothing shown yet", path);
    int w = 0, h = 0;
    SDL_GetRendererOutputSize(d->renderer, &w, &h);
    if (w < 1 || h < 1)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: no screenshot: the window is %dx%d",
                         path, w, h);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: no memory for a %dx%d screenshot", path, w, h);
    /* What was presented may be gone (double buffering): draw it again and
     * read it before presenting. */
    draw(d);
    int rc = 0;
    if (SDL_RenderReadPixels(d->renderer, NULL, SDL_PIXELFORMAT_RGB24, rgb, w * 3) != 0)
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: cannot read the window back (%s)",
                       path, SDL_GetError());
    SDL_RenderPresent(d->renderer);
    if (!rc) {
        png_sink sink = {fopen(path, "wb"), 0};
        if (!sink.fp) {
            rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot create (%s)", path, strerror(errno));
        } else {
            errno = 0;
            int ok = stbi_write_png_to_func(png_write, &sink, w, h, 3, rgb, w * 3);
            if (fclose(sink.fp) != 0 && !sink.failed)
                sink.failed = errno ? errno : EIO;
            if (!ok || sink.failed) {
                rc = mnv_error(err, errlen, MNV_EIO, "%s: cannot write the PNG (%s)", path,
                               sink.failed ? strerror(sink.failed) : "encoder failed");
                remove(path);
            }
        }
    }
    free(rgb);
    return rc;
}

void display_describe(const display *d, char *buf, size_t n)
{
    SDL_RendererInfo info;
    const char *renderer = SDL_GetRendererInfo(d->renderer, &info) == 0 ? info.name : "?";
    const char *video = SDL_GetCurrentVideoDriver();
    if (d->scene.texture)
        snprintf(buf, n, "video %s, renderer %s, vsync %s, frame texture %s (%s)",
                 video ? video : "?", renderer, d->vsync ? "on" : "off",
                 SDL_GetPixelFormatName(scene_sdl_format(d->scene.tex_format)) + strlen("SDL_PIXELFORMAT_"),
                 d->scene.tex_native ? "native" : "converted by SDL");
    else
        snprintf(buf, n, "video %s, renderer %s, vsync %s", video ? video : "?", renderer,
                 d->vsync ? "on" : "off");
}
