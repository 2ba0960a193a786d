/*
 * What the V4L2 files of capture/ share: opening a node through libv4l2,
 * errno to mnv_status, the node scan, and format negotiation. Private to
 * capture/ (the public API is in capture.h).
 */
#ifndef MNV2DET_V4L2_INTERNAL_H
#define MNV2DET_V4L2_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/videodev2.h>

#include "capture/capture.h"

struct v4lconvert_data;

/* v4l2_ioctl, retried while interrupted by a signal. -1 and errno on error. */
int cam_ioctl(int fd, unsigned long request, void *arg);

/* Open a node (non-blocking, close-on-exec), hand it to libv4l2
 * (v4l2_fd_open, what v4l2_open does) once the kernel has said it is V4L2,
 * and read its capabilities into cap. 0, or a negative mnv_status with "PATH: reason" in
 * err and nothing left open. */
int cam_open(const char *path, int *fd, struct v4l2_capability *cap, char *err, size_t errlen);
/* v4l2_close. */
void cam_close(int fd);

/* The node's own capabilities: device_caps when the driver gives them (caps
 * covers every node of the device otherwise). */
uint32_t cam_node_caps(const struct v4l2_capability *cap);
/* 1 when a node with these capabilities streams video frames we can read. */
int cam_is_video_capture(uint32_t caps);
/* What a node is, for messages: "a video output device", ... */
const char *cam_node_kind(uint32_t caps);

/* An errno from open or an ioctl as an mnv_status, and as words. */
int cam_errno_status(int e);
const char *cam_errno_reason(int e);

/* The /dev/videoN paths in numeric order (N ascending). *paths is NULL when
 * there are none; free it with free(). */
typedef struct cam_node_path { char path[64]; } cam_node_path;
int cam_scan_nodes(cam_node_path **paths, int *n, char *err, size_t errlen);

/* The result of negotiation: what the device delivers and what frames carry. */
typedef struct cam_negotiated {
    struct v4l2_format fmt;       /* the capture format as the driver set it */
    int pixfmt;                   /* the mnv_pixfmt of the frames */
    int convert;                  /* 1: libv4lconvert turns fmt into dest */
    struct v4l2_format dest;      /* the converted format (convert only) */
    struct v4l2_fract interval;   /* seconds per frame; 0/0 if the driver does not say */
} cam_negotiated;

/* Choose and set the pixel format, size and frame rate of the open capture
 * node fd (see source_open_camera for the policy). cv converts when the
 * camera offers none of the formats frames carry. */
int cam_negotiate(int fd, struct v4lconvert_data *cv, const char *path,
                  const camera_options *o, cam_negotiated *out, char *err, size_t errlen);

/* The planes of a single-plane V4L2 buffer of format f laid out as fmt says
 * (bytesperline, height). The bytes it needs, or 0 when fmt's layout does not
 * hold a picture of that format. */
size_t cam_plane_layout(const struct v4l2_pix_format *fmt, mnv_pixfmt f,
                        size_t offset[3], size_t stride[3]);

#endif
