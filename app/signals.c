/*
 * SIGINT and SIGTERM, delivered to one watcher thread. They are blocked in
 * every other thread (main blocks them before any thread exists, and threads
 * inherit the mask), so an OpenMP worker never takes one in the middle of a
 * kernel: the watcher calls the handler the running pipeline registered,
 * which asks the threads to stop and wakes them; they then finish the
 * ordinary way, joining, releasing the camera and flushing files. With no
 * handler registered (loading a model, say) the signal does what it would
 * have done: the process ends.
 */
#include <pthread.h>
#include <signal.h>

#include "app/app.h"

static pthread_mutex_t handler_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*handler)(void *ctx, int sig);
static void *handler_ctx;

static void *watch(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        pthread_mutex_lock(&handler_mu);
        if (handler) {
            handler(handler_ctx, sig);
            pthread_mutex_unlock(&handler_mu);
            continue;
        }
        pthread_mutex_unlock(&handler_mu);
        /* Nobody to stop cleanly: end as the signal would have. */
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
    }
    return NULL;
}

int signals_start(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return MNV_EINVAL;
    pthread_t t;
    if (pthread_create(&t, NULL, watch, &set) != 0)
        return MNV_ENOMEM;
    pthread_detach(t);
    return 0;
}

void signals_set_handler(void (*h)(void *ctx, int sig), void *ctx)
{
    pthread_mutex_lock(&handler_mu);
    handler = h;
    handler_ctx = ctx;
    pthread_mutex_unlock(&handler_mu);
}
