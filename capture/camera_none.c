/* The camera API in a build without libv4l2 (meson -Dcamera=disabled, or
 * libv4l-dev missing): every call says how to get camera support. */
#include "capture/capture.h"

#define NO_CAMERA "this build has no camera support (install libv4l-dev and reconfigure with meson -Dcamera=enabled)"

int source_open_camera(frame_source **out, const camera_options *o,
                       char *chosen, size_t chosenlen, char *err, size_t errlen)
{
    (void)o;
    *out = NULL;
    if (chosen && chosenlen)
        chosen[0] = '\0';
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, NO_CAMERA);
}

int camera_list(camera_device **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, NO_CAMERA);
}

int camera_find_first(char *path, size_t len, char *err, size_t errlen)
{
    if (len)
        path[0] = '\0';
    return mnv_error(err, errlen, MNV_EUNSUPPORTED, NO_CAMERA);
}
