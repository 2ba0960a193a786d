/* The slots of frames a file source has handed out, shared by its reading
 * thread and the thread that releases them. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/source_internal.h"

int frame_pool_init(frame_pool *p)
{
    memset(p, 0, sizeof *p);
    return pthread_mutex_init(&p->lock, NULL) == 0 ? 0 : MNV_ENOMEM;
}

int frame_pool_take(frame_pool *p)
{
    int slot = MNV_EBUSY;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        if (!p->taken[i]) {
            p->taken[i] = 1;
            slot = i;
            break;
        }
    pthread_mutex_unlock(&p->lock);
    return slot;
}

uint8_t *frame_pool_buffer(frame_pool *p, int slot, size_t bytes)
{
    /* No lock: a taken slot's buffer is touched only by its taker. */
    if (bytes > p->cap[slot]) {
        free(p->buf[slot]);
        p->buf[slot] = malloc(bytes);
        p->cap[slot] = p->buf[slot] ? bytes : 0;
    }
    return p->buf[slot];
}

void frame_pool_give(frame_pool *p, int slot)
{
    if (slot < 0 || slot >= SOURCE_MAX_OUTSTANDING)
        return;
    pthread_mutex_lock(&p->lock);
    p->taken[slot] = 0;
    pthread_mutex_unlock(&p->lock);
}

void frame_pool_destroy(frame_pool *p)
{
    for (int i = 0; i < SOURCE_MAX_OUTSTANDING; i++)
        free(p->buf[i]);
    pthread_mutex_destroy(&p->lock);
    memset(p, 0, sizeof *p);
}

int source_next_begin(atomic_int *interrupted, int ended, frame_pool *pool, const char *name, int *slot,
                      char *err, size_t errlen)
{
    if (atomic_exchange(interrupted, 0))
        return mnv_error(err, errlen, MNV_EINTR, "%s: interrupted", name);
    if (ended)
        return MNV_END;
    *slot = frame_pool_take(pool);
    return *slot < 0 ? source_busy_error(name, err, errlen) : 0;
}

int source_busy_error(const char *name, char *err, size_t errlen)
{
    return mnv_error(err, errlen, MNV_EBUSY, "%s: %d frames are out already; release one first", name,
                     SOURCE_MAX_OUTSTANDING);
}

uint64_t source_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
