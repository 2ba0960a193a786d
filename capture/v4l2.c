/* A V4L2 camera as a frame source, through libv4l2: mmap streaming, poll
 * with a timeout, each frame the driver's buffer handed on in place (or
 * converted by libv4lconvert into a buffer of its own) until released. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <libv4l2.h>
#include <libv4lconvert.h>

#include "capture/source_internal.h"
#include "capture/v4l2_internal.h"

#define CAMERA_DEFAULT_BUFFERS 4
#define CAMERA_MAX_BUFFERS 32
#define CAMERA_DEFAULT_TIMEOUT_MS 2000
/* Consecutive frames libv4lconvert may fail on (a corrupt MJPEG frame now
 * and then is normal) before next gives up. */
#define CAMERA_MAX_BAD_FRAMES 8

typedef struct camera_buffer {
    void *start;              /* the driver's buffer, mapped */
    size_t length;
    uint8_t *converted;       /* libv4lconvert's output for this buffer (convert only) */
    int out;                  /* 1 while its frame is with the caller */
} camera_buffer;

typedef struct camera_source {
    frame_source base;
    int fd;
    int wake_fd;              /* eventfd: source_interrupt writes, next polls */
    struct v4lconvert_data *cv;
    cam_negotiated neg;
    camera_buffer *bufs;
    int n_bufs;
    int streaming;
    int timeout_ms;
    int driver_time;          /* 1: buffers carry CLOCK_MONOTONIC timestamps */
    int events;               /* 1: subscribed to the driver's source change events */
    size_t offset[3], stride[3];   /* plane layout of a frame */
    size_t frame_bytes;       /* what a native frame's planes span */
    /* The sequence as 64 bits, and where the stream started. */
    int have_seq;
    uint32_t last_seq;
    uint64_t seq;
    uint64_t t0_ns;
    /* Shared with release (any thread). */
    pthread_mutex_t lock;
    int n_out, max_out;
    int gone;                 /* the device vanished: every next fails */
} camera_source;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int disconnected(camera_source *c, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    pthread_mutex_unlock(&c->lock);
    return mnv_error(err, errlen, MNV_ENODEV, "%s: disconnected", c->base.info.name);
}

/* The description of mmap capture buffer index, for QUERYBUF and QBUF. */
static struct v4l2_buffer mmap_buffer(uint32_t index)
{
    struct v4l2_buffer b;
    memset(&b, 0, sizeof b);
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b.memory = V4L2_MEMORY_MMAP;
    b.index = index;
    return b;
}

static void requeue(camera_source *c, uint32_t index)
{
    struct v4l2_buffer b = mmap_buffer(index);
    if (cam_ioctl(c->fd, VIDIOC_QBUF, &b) != 0 && errno == ENODEV)
        c->gone = 1;
}

/* One dequeued buffer: 0 and b filled, 1 when none is ready yet, or an
 * error. */
static int dequeue(camera_source *c, struct v4l2_buffer *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b->memory = V4L2_MEMORY_MMAP;
    if (cam_ioctl(c->fd, VIDIOC_DQBUF, b) == 0) {
        if (b->index >= (uint32_t)c->n_bufs)
            return mnv_error(err, errlen, MNV_EIO, "%s: the driver returned buffer %u of %d",
                             c->base.info.name, b->index, c->n_bufs);
        return 0;
    }
    if (errno == EAGAIN)
        return 1;
    if (errno == ENODEV)
        return disconnected(c, err, errlen);
    return mnv_error(err, errlen, MNV_EIO, "%s: cannot take a frame: %s",
                     c->base.info.name, cam_errno_reason(errno));
}

/* Make the frame of buffer b: its planes (converted if need be), the
 * sequence and the time. 0, 1 to drop it (bad data), or an error. */
static int fill_frame(camera_source *c, const struct v4l2_buffer *b, frame *f,
                      int *bad_frames, char *err, size_t errlen)
{
    camera_buffer *buf = &c->bufs[b->index];
    const uint8_t *pixels = buf->start;
    size_t used = b->bytesused ? b->bytesused : buf->length;
    if (used > buf->length)
        used = buf->length;
    if (c->neg.convert) {
        const struct v4l2_pix_format *d = &c->neg.dest.fmt.pix;
        int r = v4lconvert_convert(c->cv, &c->neg.fmt, &c->neg.dest, buf->start, (int)used,
                                   buf->converted, (int)d->sizeimage);
        if (r < 0) {
            if (++*bad_frames < CAMERA_MAX_BAD_FRAMES)
                return 1;
            char cc[8];
            return mnv_error(err, errlen, MNV_EIO, "%s: libv4lconvert cannot convert %s to RGB24: %s",
                             c->base.info.name, camera_fourcc_str(c->neg.fmt.fmt.pix.pixelformat, cc),
                             v4lconvert_get_error_message(c->cv));
        }
        pixels = buf->converted;
    } else if (used < c->frame_bytes) {
        /* A short frame (the driver lost part of it): not a picture. */
        return 1;
    }
    *bad_frames = 0;

    mnv_image *img = &f->img;
    const struct v4l2_pix_format *p = c->neg.convert ? &c->neg.dest.fmt.pix : &c->neg.fmt.fmt.pix;
    img->format = (mnv_pixfmt)c->neg.pixfmt;
    img->width = (int)p->width;
    img->height = (int)p->height;
    for (int i = 0; i < mnv_pixfmt_planes(img->format); i++) {
        img->plane[i] = pixels + c->offset[i];
        img->stride[i] = c->stride[i];
    }

    /* The driver's 32-bit sequence as 64 bits; a gap is frames it lost. A
     * driver that leaves the sequence at 0 still gets 0, 1, 2, ... */
    uint64_t skipped = 0;
    if (!c->have_seq) {
        c->have_seq = 1;
        c->seq = b->sequence;
    } else {
        uint32_t step = b->sequence - c->last_seq;
        if (step == 0)
            step = 1;
        skipped = step - 1;
        c->seq += step;
    }
    c->last_seq = b->sequence;

    uint64_t t = 0;
    if (c->driver_time)
        t = (uint64_t)b->timestamp.tv_sec * 1000000000u + (uint64_t)b->timestamp.tv_usec * 1000u;
    if (!t)
        t = now_ns();
    if (!c->t0_ns)
        c->t0_ns = t;
    f->seq = c->seq;
    f->skipped = skipped;
    f->t_capture_ns = t;
    f->pts = t >= c->t0_ns ? (double)(t - c->t0_ns) / 1e9 : 0.0;
    f->name = c->base.info.name;
    f->slot_ = (int)b->index;
    return 0;
}

/* Take the driver's pending events: 1 when one says the source's format
 * changed (a capture card's input switched resolution or standard, a
 * sensor's colorimetry changed). The stream's buffers then no longer
 * describe the picture: the format must be negotiated again. */
static int source_changed(camera_source *c)
{
    int changed = 0;
    struct v4l2_event ev;
    memset(&ev, 0, sizeof ev);
    while (cam_ioctl(c->fd, VIDIOC_DQEVENT, &ev) == 0) {
        if (ev.type == V4L2_EVENT_SOURCE_CHANGE && (ev.u.src_change.changes & V4L2_EVENT_SRC_CH_RESOLUTION))
            changed = 1;
        memset(&ev, 0, sizeof ev);
    }
    return changed;
}

static int camera_next(frame_source *s, frame *f, char *err, size_t errlen)
{
    camera_source *c = (camera_source *)s;
    const char *path = s->info.name;
    pthread_mutex_lock(&c->lock);
    int gone = c->gone, busy = c->n_out >= c->max_out, n_out = c->n_out;
    pthread_mutex_unlock(&c->lock);
    if (gone)
        return mnv_error(err, errlen, MNV_ENODEV, "%s: disconnected", path);
    if (busy)
        return mnv_error(err, errlen, MNV_EBUSY, "%s: %d frames are still out (release one first)",
                         path, n_out);

    uint64_t deadline = now_ns() + (uint64_t)c->timeout_ms * 1000000u;
    int bad_frames = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return mnv_error(err, errlen, MNV_ETIMEOUT, "%s: no frame in %d ms (stalled)",
                             path, c->timeout_ms);
        struct pollfd pfd[2] = {
            { .fd = c->fd, .events = (short)(POLLIN | (c->events ? POLLPRI : 0)) },
            { .fd = c->wake_fd, .events = POLLIN },
        };
        int wait_ms = (int)((deadline - now + 999999u) / 1000000u);
        int r = poll(pfd, 2, wait_ms);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mnv_error(err, errlen, MNV_EIO, "%s: poll: %s", path, strerror(errno));
        }
        if (r == 0)
            continue;         /* the deadline check above reports it */
        if (pfd[1].revents & POLLIN) {
            uint64_t count;
            if (read(c->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
                return mnv_error(err, errlen, MNV_EIO, "%s: eventfd: %s", path, strerror(errno));
            return mnv_error(err, errlen, MNV_EINTR, "%s: interrupted", path);
        }
        if ((pfd[0].revents & POLLPRI) && source_changed(c))
            return mnv_error(err, errlen, MNV_ECHANGED,
                             "%s: the camera changed its format mid-stream (a V4L2 source change)", path);
        if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)))
            continue;
        struct v4l2_buffer b;
        int d = dequeue(c, &b, err, errlen);
        if (d < 0)
            return d;
        if (d == 1) {
            /* An error poll with nothing to dequeue: the queue broke (the
             * driver stopped it) or the node went away. */
            if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                struct v4l2_capability cap;
                if (cam_ioctl(c->fd, VIDIOC_QUERYCAP, &cap) != 0 && errno == ENODEV)
                    return disconnected(c, err, errlen);
                return mnv_error(err, errlen, MNV_EIO, "%s: the driver stopped streaming", path);
            }
            continue;
        }
        if (b.flags & V4L2_BUF_FLAG_ERROR) {
            /* Damaged in the driver: give it back; the sequence gap counts it. */
            pthread_mutex_lock(&c->lock);
            requeue(c, b.index);
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        int rc = fill_frame(c, &b, f, &bad_frames, err, errlen);
        pthread_mutex_lock(&c->lock);
        if (rc == 0) {
            c->bufs[b.index].out = 1;
            c->n_out++;
        } else {
            requeue(c, b.index);
        }
        pthread_mutex_unlock(&c->lock);
        if (rc <= 0)
            return rc;
    }
}

static void camera_release(frame_source *s, frame *f)
{
    camera_source *c = (camera_source *)s;
    if (f->slot_ < 0 || f->slot_ >= c->n_bufs)
        return;
    pthread_mutex_lock(&c->lock);
    camera_buffer *buf = &c->bufs[f->slot_];
    if (buf->out) {
        buf->out = 0;
        c->n_out--;
        if (!c->gone && c->streaming)
            requeue(c, (uint32_t)f->slot_);
    }
    pthread_mutex_unlock(&c->lock);
}

static void camera_interrupt(frame_source *s)
{
    camera_source *c = (camera_source *)s;
    uint64_t one = 1;
    /* Only fails when the counter would overflow: it is set already. */
    ssize_t r = write(c->wake_fd, &one, sizeof one);
    (void)r;
}

static void camera_close(frame_source *s)
{
    camera_source *c = (camera_source *)s;
    if (c->fd >= 0 && c->streaming) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        cam_ioctl(c->fd, VIDIOC_STREAMOFF, &type);
    }
    for (int i = 0; i < c->n_bufs; i++) {
        if (c->bufs[i].start && c->bufs[i].start != MAP_FAILED)
            v4l2_munmap(c->bufs[i].start, c->bufs[i].length);
        free(c->bufs[i].converted);
    }
    free(c->bufs);
    if (c->fd >= 0 && c->n_bufs && !c->gone) {
        struct v4l2_requestbuffers req;
        memset(&req, 0, sizeof req);
        req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        req.memory = V4L2_MEMORY_MMAP;
        cam_ioctl(c->fd, VIDIOC_REQBUFS, &req);
    }
    if (c->cv)
        v4lconvert_destroy(c->cv);
    cam_close(c->fd);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const source_ops camera_ops = {
    .next = camera_next,
    .release = camera_release,
    .interrupt = camera_interrupt,
    .close = camera_close,
};

static int check_options(const camera_options *o, char *err, size_t errlen)
{
    if ((o->width != 0 || o->height != 0) &&
        (o->width <= 0 || o->height <= 0 || o->width > 16384 || o->height > 16384))
        return mnv_error(err, errlen, MNV_EINVAL, "camera size %dx%d: width and height must be 1..16384",
                         o->width, o->height);
    if (o->fps < 0 || o->fps > 1000)
        return mnv_error(err, errlen, MNV_EINVAL, "camera frame rate %d: must be 1..1000 (0: the driver's)", o->fps);
    if (o->format < -1 || o->format >= MNV_PIX_COUNT)
        return mnv_error(err, errlen, MNV_EINVAL, "camera pixel format %d is not an mnv_pixfmt", o->format);
    if (o->buffers != 0 && (o->buffers < 3 || o->buffers > CAMERA_MAX_BUFFERS))
        return mnv_error(err, errlen, MNV_EINVAL, "camera buffers %d: must be 3..%d",
                         o->buffers, CAMERA_MAX_BUFFERS);
    if (o->timeout_ms < 0)
        return mnv_error(err, errlen, MNV_EINVAL, "camera timeout %d ms: must not be negative", o->timeout_ms);
    return 0;
}

/* Request, map and queue the buffers. */
static int setup_buffers(camera_source *c, int count, char *err, size_t errlen)
{
    const char *path = c->base.info.name;
    struct v4l2_requestbuffers req;
    memset(&req, 0, sizeof req);
    req.count = (uint32_t)count;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (cam_ioctl(c->fd, VIDIOC_REQBUFS, &req) != 0) {
        int e = errno;
        if (e == EINVAL)
            return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: the driver cannot stream to mmap buffers", path);
        return mnv_error(err, errlen, cam_errno_status(e), "%s: cannot get %d buffers: %s",
                         path, count, cam_errno_reason(e));
    }
    if (req.count < 2)
        return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: the driver gave %u buffer(s), at least 2 are needed",
                         path, req.count);
    if (req.count > CAMERA_MAX_BUFFERS)
        req.count = CAMERA_MAX_BUFFERS;
    c->bufs = calloc(req.count, sizeof *c->bufs);
    if (!c->bufs)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    c->n_bufs = (int)req.count;
    size_t need = c->neg.convert ? 0 : c->frame_bytes;
    for (int i = 0; i < c->n_bufs; i++) {
        struct v4l2_buffer b = mmap_buffer((uint32_t)i);
        if (cam_ioctl(c->fd, VIDIOC_QUERYBUF, &b) != 0)
            return mnv_error(err, errlen, cam_errno_status(errno), "%s: cannot query buffer %d: %s",
                             path, i, cam_errno_reason(errno));
        if (b.length < need)
            return mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: buffer %d holds %u bytes, a frame needs %zu",
                             path, i, b.length, need);
        c->bufs[i].length = b.length;
        c->bufs[i].start = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
        if (c->bufs[i].start == MAP_FAILED) {
            c->bufs[i].start = NULL;
            return mnv_error(err, errlen, MNV_EIO, "%s: cannot map buffer %d: %s", path, i, strerror(errno));
        }
        if (c->neg.convert) {
            c->bufs[i].converted = malloc(c->neg.dest.fmt.pix.sizeimage);
            if (!c->bufs[i].converted)
                return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
        }
        if (i == 0)
            c->driver_time = (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    }
    for (int i = 0; i < c->n_bufs; i++) {
        struct v4l2_buffer b = mmap_buffer((uint32_t)i);
        if (cam_ioctl(c->fd, VIDIOC_QBUF, &b) != 0)
            return mnv_error(err, errlen, cam_errno_status(errno), "%s: cannot queue buffer %d: %s",
                             path, i, cam_errno_reason(errno));
    }
    return 0;
}

static void describe_choice(const camera_source *c, const struct v4l2_capability *cap,
                            char *chosen, size_t len)
{
    if (!chosen || !len)
        return;
    const struct v4l2_pix_format *p = &c->neg.fmt.fmt.pix;
    char what[64], rate[48], cc[8];
    if (c->neg.convert) {
        camera_fourcc_str(p->pixelformat, cc);
        for (char *q = cc; *q; q++)
            *q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
        snprintf(what, sizeof what, "%s %ux%u -> rgb24 by libv4lconvert", cc, p->width, p->height);
    } else {
        snprintf(what, sizeof what, "%s %ux%u", mnv_pixfmt_name((mnv_pixfmt)c->neg.pixfmt), p->width, p->height);
    }
    if (c->neg.interval.numerator)
        snprintf(rate, sizeof rate, "%.4g fps", (double)c->neg.interval.denominator / c->neg.interval.numerator);
    else
        snprintf(rate, sizeof rate, "the driver's frame rate");
    snprintf(chosen, len, "%s (%.32s, '%.32s'): %s at %s, %d mmap buffers", c->base.info.name,
             (const char *)cap->driver, (const char *)cap->card, what, rate, c->n_bufs);
}

int source_open_camera(frame_source **out, const camera_options *o,
                       char *chosen, size_t chosenlen, char *err, size_t errlen)
{
    *out = NULL;
    if (chosen && chosenlen)
        chosen[0] = '\0';
    int rc = check_options(o, err, errlen);
    if (rc)
        return rc;
    char first[64];
    const char *path = o->device;
    if (path && !*path)
        return mnv_error(err, errlen, MNV_EINVAL, "camera device: the path is empty");
    if (!path) {
        rc = camera_find_first(first, sizeof first, err, errlen);
        if (rc)
            return rc;
        path = first;
    }
    if (strlen(path) >= sizeof ((source_info *)0)->name)
        return mnv_error(err, errlen, MNV_EINVAL, "camera device path too long (%zu bytes)", strlen(path));

    camera_source *c = calloc(1, sizeof *c);
    if (!c)
        return mnv_error(err, errlen, MNV_ENOMEM, "%s: out of memory", path);
    c->base.ops = &camera_ops;
    c->fd = -1;
    c->wake_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    snprintf(c->base.info.name, sizeof c->base.info.name, "%s", path);
    c->base.info.kind = "v4l2";
    c->base.info.live = 1;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : CAMERA_DEFAULT_TIMEOUT_MS;

    struct v4l2_capability cap;
    rc = cam_open(path, &c->fd, &cap, err, errlen);
    if (rc)
        goto fail;
    uint32_t caps = cam_node_caps(&cap);
    if (!cam_is_video_capture(caps)) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: not a video capture device (it is %s)",
                       path, cam_node_kind(caps));
        goto fail;
    }
    if (!(caps & V4L2_CAP_STREAMING)) {
        rc = mnv_error(err, errlen, MNV_EUNSUPPORTED, "%s: cannot stream (the driver offers read() only)", path);
        goto fail;
    }
    c->cv = v4lconvert_create(c->fd);
    if (!c->cv) {
        rc = mnv_error(err, errlen, MNV_ENOMEM, "%s: libv4lconvert could not start", path);
        goto fail;
    }
    rc = cam_negotiate(c->fd, c->cv, path, o, &c->neg, err, errlen);
    if (rc)
        goto fail;
    const struct v4l2_pix_format *frame_fmt = c->neg.convert ? &c->neg.dest.fmt.pix : &c->neg.fmt.fmt.pix;
    c->frame_bytes = cam_plane_layout(frame_fmt, (mnv_pixfmt)c->neg.pixfmt, c->offset, c->stride);
    rc = setup_buffers(c, o->buffers ? o->buffers : CAMERA_DEFAULT_BUFFERS, err, errlen);
    if (rc)
        goto fail;
    c->max_out = c->n_bufs - 1 < SOURCE_MAX_OUTSTANDING ? c->n_bufs - 1 : SOURCE_MAX_OUTSTANDING;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        rc = mnv_error(err, errlen, MNV_EIO, "%s: eventfd: %s", path, strerror(errno));
        goto fail;
    }
    /* Source changes, where the driver reports them (capture cards, vivid;
     * not uvcvideo): subscribed before streaming, so that none is missed.
     * The event's id is the input it concerns: the one we capture from. */
    struct v4l2_event_subscription sub;
    memset(&sub, 0, sizeof sub);
    sub.type = V4L2_EVENT_SOURCE_CHANGE;
    int input = 0;
    if (cam_ioctl(c->fd, VIDIOC_G_INPUT, &input) == 0 && input >= 0)
        sub.id = (uint32_t)input;
    c->events = cam_ioctl(c->fd, VIDIOC_SUBSCRIBE_EVENT, &sub) == 0;
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (cam_ioctl(c->fd, VIDIOC_STREAMON, &type) != 0) {
        int e = errno;
        rc = mnv_error(err, errlen, cam_errno_status(e), "%s: cannot start streaming: %s",
                       path, cam_errno_reason(e));
        goto fail;
    }
    c->streaming = 1;

    source_info *info = &c->base.info;
    info->width = (int)frame_fmt->width;
    info->height = (int)frame_fmt->height;
    info->format = (mnv_pixfmt)c->neg.pixfmt;
    info->fps = c->neg.interval.numerator ?
                (double)c->neg.interval.denominator / c->neg.interval.numerator : 0.0;
    describe_choice(c, &cap, chosen, chosenlen);
    *out = &c->base;
    return 0;

fail:
    camera_close(&c->base);
    return rc;
}
