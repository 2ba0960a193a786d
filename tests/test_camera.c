/*
 * The camera API where no camera is needed: format names, bad options, and
 * devices that are missing, not V4L2, or not video capture, with one clear
 * line each; the listing on this machine (whatever it has) and its JSON
 * form. The real device behaviour is tested against vivid in a VM
 * (tests/vivid/). Built with MNV_HAVE_CAMERA 0 when the build has no camera
 * support, where every call must say how to get it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/videodev2.h>

#include "app/app.h"
#include "tests/check.h"

static void test_fourcc(void)
{
    static const struct { const char *name; uint32_t want; } good[] = {
        { "yuyv", V4L2_PIX_FMT_YUYV },  { "YUYV", V4L2_PIX_FMT_YUYV },   { "nv12", V4L2_PIX_FMT_NV12 },
        { "yu12", V4L2_PIX_FMT_YUV420 }, { "I420", V4L2_PIX_FMT_YUV420 }, { "rgb24", V4L2_PIX_FMT_RGB24 },
        { "RGB3", V4L2_PIX_FMT_RGB24 }, { "mjpeg", V4L2_PIX_FMT_MJPEG }, { "MJPG", V4L2_PIX_FMT_MJPEG },
        { "BA81", V4L2_PIX_FMT_SBGGR8 }, { "Y10", V4L2_PIX_FMT_Y10 },    { "h264", V4L2_PIX_FMT_H264 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t cc = 0;
        CHECK(camera_fourcc_parse(good[i].name, &cc) == 0 && cc == good[i].want,
              "fourcc '%s' parsed as 0x%08x, expected 0x%08x", good[i].name, cc, good[i].want);
    }
    const char *bad[] = { "", "yuyv422", "12345", "a\tb" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cc = 7;
        CHECK(camera_fourcc_parse(bad[i], &cc) == -1 && cc == 7, "fourcc '%s' accepted", bad[i]);
    }
    char buf[8];
    CHECK(strcmp(camera_fourcc_str(V4L2_PIX_FMT_YUYV, buf), "YUYV") == 0, "YUYV as text: %s", buf);
    CHECK(strcmp(camera_fourcc_str(V4L2_PIX_FMT_Y10, buf), "Y10") == 0, "Y10 as text: '%s'", buf);
    CHECK(strcmp(camera_fourcc_str(0x01020304, buf), "....") == 0, "binary as text: '%s'", buf);
    CHECK(strcmp(camera_fourcc_str(V4L2_PIX_FMT_Y16_BE, buf), "Y16-BE") == 0, "Y16-BE as text: '%s'", buf);
    CHECK(strcmp(camera_fourcc_str(v4l2_fourcc(' ', ' ', ' ', ' '), buf), " ") == 0, "blank as text: '%s'", buf);
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_YUYV) == MNV_PIX_YUYV, "YUYV pixfmt");
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_NV12) == MNV_PIX_NV12, "NV12 pixfmt");
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_YUV420) == MNV_PIX_I420, "YU12 pixfmt");
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_RGB24) == MNV_PIX_RGB24, "RGB3 pixfmt");
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_MJPEG) == -1, "MJPG read natively?");
    CHECK(camera_fourcc_pixfmt(V4L2_PIX_FMT_NV21) == -1, "NV21 read natively?");
}

static void expect_error(const char *what, const camera_options *o, int want, const char *words)
{
    char err[256] = "", chosen[64] = "x";
    frame_source *s = (frame_source *)1;
    int rc = source_open_camera(&s, o, chosen, sizeof chosen, err, sizeof err);
    printf("%s: %s\n", what, err);
    CHECK(rc == want, "%s: expected %d, got %d (%s)", what, want, rc, err);
    CHECK(s == NULL, "%s: source left set", what);
    CHECK(chosen[0] == '\0', "%s: chosen left set", what);
    CHECK(strstr(err, words) != NULL, "%s: '%s' lacks '%s'", what, err, words);
    if (rc == 0)
        source_close(s);
}

static camera_options defaults(const char *device)
{
    camera_options o;
    memset(&o, 0, sizeof o);
    o.device = device;
    o.format = -1;
    return o;
}

static void test_errors(void)
{
    camera_options o = defaults("/nonexistent/video0");
#if MNV_HAVE_CAMERA
    expect_error("missing", &o, MNV_ENODEV, "/nonexistent/video0: no such device");
    o = defaults("/dev/null");
    expect_error("/dev/null", &o, MNV_EUNSUPPORTED, "/dev/null: not a V4L2 device");
    o = defaults(test_env("MNV2DET_TEST_DATA"));
    expect_error("a folder", &o, MNV_EUNSUPPORTED, "not a V4L2 device");
    o = defaults("");
    expect_error("empty path", &o, MNV_EINVAL, "the path is empty");
    o = defaults("/dev/null");
    o.buffers = 2;
    expect_error("2 buffers", &o, MNV_EINVAL, "buffers 2: must be 3..");
    o.buffers = 0;
    o.width = 640;
    expect_error("width without height", &o, MNV_EINVAL, "size 640x0");
    o.width = 0;
    o.fps = -1;
    expect_error("negative fps", &o, MNV_EINVAL, "frame rate -1");
    o.fps = 0;
    o.format = MNV_PIX_COUNT;
    expect_error("unknown pixfmt", &o, MNV_EINVAL, "pixel format");
    o.format = -1;
    o.timeout_ms = -1;
    expect_error("negative timeout", &o, MNV_EINVAL, "timeout -1");
#else
    expect_error("no camera support", &o, MNV_EUNSUPPORTED, "install libv4l-dev");
#endif
}

static void test_listing(void)
{
    camera_device *devs = (camera_device *)1;
    int n = -1;
    char err[256] = "";
    int rc = camera_list(&devs, &n, err, sizeof err);
#if MNV_HAVE_CAMERA
    CHECK(rc == 0, "camera_list: %s", err);
    CHECK(n >= 0 && (n == 0) == (devs == NULL), "camera_list: %d devices at %p", n, (void *)devs);
    printf("this machine has %d video capture device(s)\n", n);
    char first[64] = "";
    rc = camera_find_first(first, sizeof first, err, sizeof err);
    if (n == 0) {
        CHECK(rc == MNV_ENODEV && strstr(err, "no camera found"), "find_first with none: %d %s", rc, err);
    } else {
        int usable = 0;
        for (int i = 0; i < n; i++)
            usable |= !devs[i].error[0];
        if (usable)
            CHECK(rc == 0 && first[0] == '/', "find_first: %d %s", rc, err);
    }
#else
    CHECK(rc == MNV_EUNSUPPORTED && n == 0 && devs == NULL, "camera_list without support: %d", rc);
#endif
    camera_list_free(devs, n);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    rc = devices_print(mem, 1, err, sizeof err);
    fclose(mem);
#if MNV_HAVE_CAMERA
    CHECK(rc == 0, "devices_print json: %s", err);
    CHECK(text && strncmp(text, "{\"devices\":[", 12) == 0 && len > 0 && text[len - 1] == '\n',
          "JSON listing: %s", text);
    if (n == 0)
        CHECK(text && strcmp(text, "{\"devices\":[]}\n") == 0, "empty JSON listing: %s", text);
#else
    CHECK(rc == MNV_EUNSUPPORTED && strstr(err, "no camera support"), "devices_print: %d %s", rc, err);
#endif
    free(text);
}

int main(void)
{
    test_fourcc();
    test_errors();
    test_listing();
    return check_finish("test_camera");
}
