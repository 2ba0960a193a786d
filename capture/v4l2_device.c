/* V4L2 nodes: opening one through libv4l2, what kind it is, the /dev scan,
 * and errno as mnv_status. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libv4l2.h>

#include "capture/v4l2_internal.h"

int cam_ioctl(int fd, unsigned long request, void *arg)
{
    int r;
    do
        r = v4l2_ioctl(fd, request, arg);
    while (r == -1 && errno == EINTR);
    return r;
}

int cam_errno_status(int e)
{
    switch (e) {
    case ENOENT: case ENODEV: case ENXIO: return MNV_ENODEV;
    case EBUSY: return MNV_EBUSY;
    case ENOTTY: return MNV_EUNSUPPORTED;
    case ENOMEM: return MNV_ENOMEM;
    default: return MNV_EIO;
    }
}

const char *cam_errno_reason(int e)
{
    switch (e) {
    case ENOENT: case ENODEV: case ENXIO: return "no such device";
    case EBUSY: return "busy (in use by another program)";
    case EACCES: case EPERM: return "permission denied (is the user in the 'video' group?)";
    case ENOTTY: return "not a V4L2 device";
    case ENOSPC: return "not enough bandwidth on its bus (another camera on the same USB port?)";
    default: return strerror(e);
    }
}

/* libv4l2 prints its own line on stderr for every ioctl of ours that fails
 * (a busy S_FMT, a DQBUF on a vanished device) unless it has a log file.
 * Every error here reaches the caller once, as one line naming the device,
 * so libv4l2's copies go to /dev/null: the one setting of libv4l2's global,
 * done once per process. LIBV4L2_LOG_FILENAME still wins, for debugging. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_libv4l2(void)
{
    if (!v4l2_log_file && !getenv("LIBV4L2_LOG_FILENAME"))
        v4l2_log_file = fopen("/dev/null", "we");
}

int cam_open(const char *path, int *fd, struct v4l2_capability *cap, char *err, size_t errlen)
{
    *fd = -1;
    pthread_once(&quiet_once, quiet_libv4l2);
    struct stat st;
    if (stat(path, &st) != 0)
        return mnv_error(err, errlen, cam_errno_status(errno), "%s: %s", path, cam_errno_reason(errno));
    /* A regular file or folder would open fine and then fail QUERYCAP with a
     * less telling reason. */
    if (!S_ISCHR(st.st_mode))
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: not a V4L2 device (%s)", path,
                         S_ISDIR(st.st_mode) ? "a directory" : S_ISREG(st.st_mode) ? "a regular file"
                                                                  : "not a character device");
    int f = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return mnv_error(err, errlen, cam_errno_status(errno), "%s: %s", path, cam_errno_reason(errno));
    /* Ask the kernel first: libv4l2 (v4l2_fd_open, which v4l2_open calls)
     * prints to stderr when the node is not V4L2 at all (/dev/null). */
    memset(cap, 0, sizeof *cap);
    int r;
    do
        r = ioctl(f, VIDIOC_QUERYCAP, cap);
    while (r == -1 && errno == EINTR);
    if (r != 0) {
        int e = errno;
        close(f);
        /* Not V4L2: ENOTTY, or EINVAL from some character devices. */
        if (e == EINVAL)
            e = ENOTTY;
        return mnv_error(err, errlen, cam_errno_status(e), "%s: %s", path, cam_errno_reason(e));
    }
    if (v4l2_fd_open(f, 0) < 0) {
        int e = errno;
        close(f);
        return mnv_error(err, errlen, cam_errno_status(e), "%s: libv4l2 cannot use it: %s",
                         path, cam_errno_reason(e));
    }
    /* Again through libv4l2: its plugins may present the node differently. */
    if (cam_ioctl(f, VIDIOC_QUERYCAP, cap) != 0) {
        int e = errno;
        v4l2_close(f);
        return mnv_error(err, errlen, cam_errno_status(e), "%s: %s", path, cam_errno_reason(e));
    }
    *fd = f;
    return 0;
}

void cam_close(int fd)
{
    if (fd >= 0)
        v4l2_close(fd);
}

uint32_t cam_node_caps(const struct v4l2_capability *cap)
{
    return (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ? cap->device_caps : cap->capabilities;
}

int cam_is_video_capture(uint32_t caps)
{
    return (caps & V4L2_CAP_VIDEO_CAPTURE) != 0;
}

const char *cam_node_kind(uint32_t caps)
{
    if (caps & V4L2_CAP_VIDEO_CAPTURE)
        return "a video capture device";
    if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
        return "a multi-planar video capture device (only single-planar capture is supported)";
    if (caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))
        return "a memory-to-memory device (codec or converter)";
    if (caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
        return "a video output device";
    if (caps & V4L2_CAP_META_CAPTURE)
        return "a metadata capture device";
    if (caps & V4L2_CAP_META_OUTPUT)
        return "a metadata output device";
    if (caps & (V4L2_CAP_VBI_CAPTURE | V4L2_CAP_SLICED_VBI_CAPTURE))
        return "a VBI capture device";
    if (caps & (V4L2_CAP_VBI_OUTPUT | V4L2_CAP_SLICED_VBI_OUTPUT))
        return "a VBI output device";
    if (caps & V4L2_CAP_SDR_CAPTURE)
        return "a software defined radio";
    if (caps & (V4L2_CAP_RADIO | V4L2_CAP_TUNER | V4L2_CAP_MODULATOR))
        return "a radio device";
    if (caps & V4L2_CAP_TOUCH)
        return "a touch sensor";
    return "a device of no known kind";
}

static int compare_node_number(const void *a, const void *b)
{
    long x = strtol(((const cam_node_path *)a)->path + 10, NULL, 10);
    long y = strtol(((const cam_node_path *)b)->path + 10, NULL, 10);
    return (x > y) - (x < y);
}

int cam_scan_nodes(cam_node_path **paths, int *n, char *err, size_t errlen)
{
    *paths = NULL;
    *n = 0;
    DIR *dir = opendir("/dev");
    if (!dir)
        return mnv_error(err, errlen, MNV_EIO, "/dev: %s", strerror(errno));
    cam_node_path *list = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        /* video followed by digits only */
        if (strncmp(e->d_name, "video", 5) != 0 || !e->d_name[5])
            continue;
        const char *p = e->d_name + 5;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p || p - e->d_name > 12)
            continue;
        if (count == cap) {
            int ncap = cap ? 2 * cap : 16;
            cam_node_path *grown = realloc(list, (size_t)ncap * sizeof *grown);
            if (!grown) {
                free(list);
                closedir(dir);
                return mnv_error(err, errlen, MNV_ENOMEM, "/dev: out of memory listing video devices");
            }
            list = grown;
            cap = ncap;
        }
        /* "/dev/" is 5 characters: the number starts at offset 10. */
        memcpy(list[count].path, "/dev/", 5);
        memcpy(list[count].path + 5, e->d_name, strlen(e->d_name) + 1);
        count++;
    }
    closedir(dir);
    if (count > 1)
        qsort(list, (size_t)count, sizeof *list, compare_node_number);
    *paths = list;
    *n = count;
    return 0;
}
