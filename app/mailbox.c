/*
 * The hand-off between the capture thread and the detector: one slot, newest
 * wins. A camera keeps producing while the detector works; queueing its frames
 * would make every result later than the last, so a new frame replaces the
 * one waiting (which goes straight back to its source) and is counted as
 * dropped. File sources read as fast as the detector takes frames use the
 * waiting put instead, which drops nothing.
 */
#include <string.h>

#include "app/app.h"

int mailbox_init(mailbox *m)
{
    memset(m, 0, sizeof *m);
    if (pthread_mutex_init(&m->mu, NULL) != 0)
        return MNV_ENOMEM;
    if (pthread_cond_init(&m->changed, NULL) != 0) {
        pthread_mutex_destroy(&m->mu);
        return MNV_ENOMEM;
    }
    return 0;
}

void mailbox_destroy(mailbox *m)
{
    if (m->full)
        source_release(&m->slot.f);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->mu);
}

int mailbox_put(mailbox *m, live_frame *lf, int wait)
{
    live_frame old;
    int had_old = 0;
    pthread_mutex_lock(&m->mu);
    while (wait && m->full && !m->closed)
        pthread_cond_wait(&m->changed, &m->mu);
    if (m->closed) {
        pthread_mutex_unlock(&m->mu);
        source_release(&lf->f);
        return MNV_EINTR;
    }
    if (m->full) {
        old = m->slot;
        had_old = 1;
        m->dropped++;
    }
    m->slot = *lf;
    m->full = 1;
    m->put++;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
    memset(lf, 0, sizeof *lf);
    /* Outside the lock: giving a buffer back to a driver is an ioctl. */
    if (had_old)
        source_release(&old.f);
    return 0;
}

int mailbox_take(mailbox *m, live_frame *lf, uint64_t *dropped)
{
    pthread_mutex_lock(&m->mu);
    while (!m->full && !m->closed)
        pthread_cond_wait(&m->changed, &m->mu);
    int rc;
    if (m->full) {
        *lf = m->slot;
        memset(&m->slot, 0, sizeof m->slot);
        m->full = 0;
        m->held++;
        rc = 0;
        pthread_cond_broadcast(&m->changed);
    } else {
        rc = m->status ? m->status : MNV_END;
    }
    if (dropped)
        *dropped = m->dropped;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void mailbox_close(mailbox *m, int status, const char *err)
{
    pthread_mutex_lock(&m->mu);
    if (!m->closed) {
        m->closed = 1;
        m->status = status;
        if (err)
            snprintf(m->err, sizeof m->err, "%s", err);
    }
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
}

int mailbox_drain(mailbox *m)
{
    pthread_mutex_lock(&m->mu);
    int had = m->full;
    live_frame lf = m->slot;
    memset(&m->slot, 0, sizeof m->slot);
    m->full = 0;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
    if (had)
        source_release(&lf.f);
    return had;
}

void mailbox_done(mailbox *m)
{
    pthread_mutex_lock(&m->mu);
    m->held--;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
}

void mailbox_wait_idle(mailbox *m)
{
    mailbox_drain(m);
    pthread_mutex_lock(&m->mu);
    while (m->held > 0 || m->full) {
        if (m->full) {
            /* Cannot happen from the producer that is waiting here, but a
             * frame left in the slot would never be given back. */
            pthread_mutex_unlock(&m->mu);
            mailbox_drain(m);
            pthread_mutex_lock(&m->mu);
            continue;
        }
        pthread_cond_wait(&m->changed, &m->mu);
    }
    pthread_mutex_unlock(&m->mu);
}
