/*
 * The barrier the threads of one network run meet at between layers.
 *
 * net_run keeps one OpenMP team for the whole run instead of one per layer:
 * on a 2-vCPU KVM guest (AMD EPYC Zen 5) forking and joining a team took
 * 3.5 us, and the int8 network has some 100 parallel layers, 0.35 ms of a
 * 2.8 ms run. libgomp's own barrier took 1.7 us there, this one 0.4 us: an
 * arrival is one atomic add, and the waiters watch a generation count on
 * another cache line, which the last arrival bumps.
 *
 * Waiters spin for the barrier's spin time, then sleep on the generation
 * (a Linux futex), as OpenMP's wait policy says (net.c). Spinning is what a
 * network run alone wants; but when the team's threads share a CPU (on
 * these guests the kernel wakes a sleeping team thread on the CPU of the
 * thread that woke it, and leaves it there) a spinning waiter holds the CPU
 * the other thread needs until the scheduler's tick takes it away: a frame
 * of the live program took 370 ms instead of 5. The live program runs with
 * the passive policy (app/main.c), and net_run does not use this barrier
 * then.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backbone/net_internal.h"

/* The clock is read every BARRIER_CHECK spins. (With 0.1 ms of spinning,
 * one busy process beside a run of 2 threads on 2 vCPUs took the int8
 * network's p90 latency from 6.5 to 16-20 ms; with 10 ms it stayed at 6.5,
 * as with libgomp's barriers, which spin 300,000 times.) */
#define BARRIER_CHECK 64

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* The futex calls on an atomic_int: the same representation as int */
static void futex_wait(atomic_int *word, int expected)
{
    syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(atomic_int *word)
{
    syscall(SYS_futex, (int *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void team_barrier_init(team_barrier *b, long long spin_ns)
{
    b->spin_ns = spin_ns;
    atomic_init(&b->arrived, 0);
    atomic_init(&b->generation, 0);
    atomic_init(&b->sleepers, 0);
}

void team_barrier_wait(team_barrier *b, int threads)
{
    if (threads <= 1)
        return;
    const int gen = atomic_load_explicit(&b->generation, memory_order_relaxed);
    /* acq_rel: the last arrival sees every thread's writes of the layer and
     * publishes them (release below) to the waiters with the new generation */
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == threads - 1) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        /* sequentially consistent with the sleepers' count: either a waiter
         * about to sleep sees the new generation, or this sees it counted */
        atomic_store(&b->generation, gen + 1);
        if (atomic_load(&b->sleepers) > 0)
            futex_wake_all(&b->generation);
        return;
    }
    long long deadline = 0;
    for (unsigned spins = 1; b->spin_ns > 0; spins++) {
        if (atomic_load_explicit(&b->generation, memory_order_acquire) != gen)
            return;
        cpu_relax();
        if (spins % BARRIER_CHECK == 0) {
            const long long t = now_ns();
            if (deadline == 0)
                deadline = t + b->spin_ns;
            else if (t > deadline)
                break;
        }
    }
    atomic_fetch_add(&b->sleepers, 1);
    /* the kernel sleeps only while the generation is still gen, so a wake
     * between the check and the call is not lost; wakes can be spurious */
    while (atomic_load(&b->generation) == gen)
        futex_wait(&b->generation, gen);
    atomic_fetch_sub(&b->sleepers, 1);
}
