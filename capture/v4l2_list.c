/* Which cameras there are: every video capture node under /dev with its
 * formats, sizes and frame rates, and the default device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/v4l2_internal.h"

/* Frame rates of fourcc at w x h, into size. */
static void list_rates(int fd, uint32_t fourcc, uint32_t w, uint32_t h, camera_size *size)
{
    for (uint32_t i = 0; size->n_rates < CAMERA_MAX_RATES; i++) {
        struct v4l2_frmivalenum iv;
        memset(&iv, 0, sizeof iv);
        iv.index = i;
        iv.pixel_format = fourcc;
        iv.width = w;
        iv.height = h;
        if (cam_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) != 0)
            break;
        if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
            if (iv.discrete.numerator && iv.discrete.denominator)
                size->rates[size->n_rates++] = (double)iv.discrete.denominator / iv.discrete.numerator;
            continue;
        }
        /* A range: slowest and fastest. */
        const struct v4l2_fract *fast = &iv.stepwise.min, *slow = &iv.stepwise.max;
        if (fast->numerator && fast->denominator && slow->numerator && slow->denominator) {
            size->rates_stepwise = 1;
            size->rates[0] = (double)slow->denominator / slow->numerator;
            size->rates[1] = (double)fast->denominator / fast->numerator;
            size->n_rates = 2;
        }
        break;
    }
}

static int list_sizes(int fd, camera_format *f)
{
    int cap = 0;
    for (uint32_t i = 0;; i++) {
        struct v4l2_frmsizeenum s;
        memset(&s, 0, sizeof s);
        s.index = i;
        s.pixel_format = f->fourcc;
        if (cam_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s) != 0)
            break;
        if (f->n_sizes == cap) {
            int ncap = cap ? 2 * cap : 8;
            camera_size *grown = realloc(f->sizes, (size_t)ncap * sizeof *grown);
            if (!grown)
                return MNV_ENOMEM;
            f->sizes = grown;
            cap = ncap;
        }
        camera_size *z = &f->sizes[f->n_sizes++];
        memset(z, 0, sizeof *z);
        if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            z->width = (int)s.discrete.width;
            z->height = (int)s.discrete.height;
            list_rates(fd, f->fourcc, s.discrete.width, s.discrete.height, z);
            continue;
        }
        z->stepwise = 1;
        z->width = (int)s.stepwise.min_width;
        z->height = (int)s.stepwise.min_height;
        z->max_width = (int)s.stepwise.max_width;
        z->max_height = (int)s.stepwise.max_height;
        z->step_width = (int)s.stepwise.step_width;
        z->step_height = (int)s.stepwise.step_height;
        list_rates(fd, f->fourcc, s.stepwise.max_width, s.stepwise.max_height, z);
        break;
    }
    return 0;
}

static int list_formats(int fd, camera_device *d)
{
    int cap = 0;
    for (uint32_t i = 0;; i++) {
        struct v4l2_fmtdesc desc;
        memset(&desc, 0, sizeof desc);
        desc.index = i;
        desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (cam_ioctl(fd, VIDIOC_ENUM_FMT, &desc) != 0)
            break;
        if (d->n_formats == cap) {
            int ncap = cap ? 2 * cap : 16;
            camera_format *grown = realloc(d->formats, (size_t)ncap * sizeof *grown);
            if (!grown)
                return MNV_ENOMEM;
            d->formats = grown;
            cap = ncap;
        }
        camera_format *f = &d->formats[d->n_formats++];
        memset(f, 0, sizeof *f);
        f->fourcc = desc.pixelformat;
        snprintf(f->description, sizeof f->description, "%.31s", (const char *)desc.description);
        f->emulated = (desc.flags & V4L2_FMT_FLAG_EMULATED) != 0;
        f->pixfmt = camera_fourcc_pixfmt(desc.pixelformat);
        if (list_sizes(fd, f) != 0)
            return MNV_ENOMEM;
    }
    return 0;
}

int camera_list(camera_device **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    cam_node_path *paths;
    int n_paths;
    int rc = cam_scan_nodes(&paths, &n_paths, err, errlen);
    if (rc)
        return rc;
    camera_device *list = n_paths ? calloc((size_t)n_paths, sizeof *list) : NULL;
    if (n_paths && !list) {
        free(paths);
        return mnv_error(err, errlen, MNV_ENOMEM, "out of memory listing cameras");
    }
    int count = 0;
    for (int i = 0; i < n_paths; i++) {
        camera_device *d = &list[count];
        memset(d, 0, sizeof *d);
        snprintf(d->path, sizeof d->path, "%s", paths[i].path);
        int fd;
        struct v4l2_capability cap;
        char why[160];
        rc = cam_open(d->path, &fd, &cap, why, sizeof why);
        if (rc == MNV_ENODEV)
            continue;         /* gone between the scan and the open */
        if (rc) {
            /* Keep it: "permission denied" is what someone looking for
             * their camera needs to see. The reason without the path. */
            const char *reason = strstr(why, ": ");
            snprintf(d->error, sizeof d->error, "%.127s", reason ? reason + 2 : why);
            count++;
            continue;
        }
        d->caps = cam_node_caps(&cap);
        if (!cam_is_video_capture(d->caps)) {
            cam_close(fd);
            continue;
        }
        snprintf(d->driver, sizeof d->driver, "%.16s", (const char *)cap.driver);
        snprintf(d->card, sizeof d->card, "%.32s", (const char *)cap.card);
        snprintf(d->bus_info, sizeof d->bus_info, "%.32s", (const char *)cap.bus_info);
        rc = list_formats(fd, d);
        cam_close(fd);
        count++;
        if (rc) {
            camera_list_free(list, count);
            free(paths);
            return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory listing formats", d->path);
        }
    }
    free(paths);
    if (!count) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = count;
    return 0;
}

int camera_find_first(char *path, size_t len, char *err, size_t errlen)
{
    cam_node_path *paths;
    int n_paths;
    int rc = cam_scan_nodes(&paths, &n_paths, err, errlen);
    if (rc)
        return rc;
    char first_error[160] = "";
    for (int i = 0; i < n_paths; i++) {
        int fd;
        struct v4l2_capability cap;
        char why[160];
        if (cam_open(paths[i].path, &fd, &cap, why, sizeof why) != 0) {
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "%s", why);
            continue;
        }
        uint32_t caps = cam_node_caps(&cap);
        cam_close(fd);
        if (cam_is_video_capture(caps) && (caps & V4L2_CAP_STREAMING)) {
            snprintf(path, len, "%s", paths[i].path);
            free(paths);
            return 0;
        }
    }
    free(paths);
    if (first_error[0])
        return mnv_error(err, errlen, MNV_ENODEV, "no usable camera found (%s)", first_error);
    return mnv_error(err, errlen, MNV_ENODEV, "no camera found (no video capture device under /dev)");
}
