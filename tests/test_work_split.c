/*
 * The threads' shares of a layer (work_split.c): the cuts cover every row
 * once and in order for any shares, even shares cut where an even split
 * always did, and the update moves the shares to where threads of different
 * speeds finish together, within its clamp, and not at all without a
 * measurement. The team's barrier lets no thread past before all have
 * arrived, and wakes the ones that went to sleep waiting.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <time.h>

#include "backbone/backbone.h"
#include "check.h"

/* Every part's range for n rows: in order, touching, covering [0, n). */
static int covers(const work_split *ws, int n, int parts, int *len)
{
    int prev = 0;
    for (int i = 0; i < parts; i++) {
        int lo, hi;
        work_split_range(ws, n, parts, i, &lo, &hi);
        if (lo != prev || hi < lo)
            return 0;
        if (len)
            len[i] = hi - lo;
        prev = hi;
    }
    return prev == n;
}

static void test_even(void)
{
    for (int parts = 1; parts <= 7; parts++) {
        work_split ws;
        work_split_even(&ws, parts);
        CHECK(ws.threads == parts, "even split for %d threads says %d", parts, ws.threads);
        for (int n = 0; n <= 300; n++) {
            CHECK(covers(&ws, n, parts, NULL), "even, %d parts of %d: gaps or overlaps", parts, n);
            CHECK(covers(NULL, n, parts, NULL), "no split, %d parts of %d: gaps or overlaps", parts, n);
            /* where the kernels cut before shares existed */
            for (int i = 0; i < parts; i++) {
                int lo, hi;
                work_split_range(&ws, n, parts, i, &lo, &hi);
                int64_t want_lo = (int64_t)n * i / parts, want_hi = (int64_t)n * (i + 1) / parts;
                CHECK(llabs(lo - want_lo) <= 1 && llabs(hi - want_hi) <= 1,
                      "even, %d parts of %d: part %d is [%d, %d), want about [%lld, %lld)", parts, n,
                      i, lo, hi, (long long)want_lo, (long long)want_hi);
            }
        }
    }
    work_split ws;
    work_split_even(&ws, WORK_SPLIT_MAX + 1);
    CHECK(ws.threads == 0, "a split for %d threads was made", WORK_SPLIT_MAX + 1);
}

static void test_uneven(void)
{
    const double shares[][3] = {{0.25, 0.75, 0}, {0.7, 0.3, 0}, {0.2, 0.5, 0.3}, {1, 1e-3, 1}};
    const int threads[] = {2, 2, 3, 3};
    for (int s = 0; s < 4; s++) {
        work_split ws;
        work_split_set(&ws, shares[s], threads[s]);
        double sum = 0;
        for (int t = 0; t < threads[s]; t++)
            sum += shares[s][t];
        for (int n = 0; n <= 300; n++) {
            int len[3];
            CHECK(covers(&ws, n, threads[s], len), "shares %d, %d rows: gaps or overlaps", s, n);
            for (int t = 0; t < threads[s]; t++)
                CHECK(fabs(len[t] - n * shares[s][t] / sum) <= 1.0,
                      "shares %d, %d rows: thread %d has %d rows, want %.2f", s, n, t, len[t],
                      n * shares[s][t] / sum);
        }
        /* made for another team size: even */
        int len[4];
        CHECK(covers(&ws, 100, threads[s] + 1, len), "shares %d for another team: gaps", s);
        for (int t = 0; t < threads[s] + 1; t++)
            CHECK(abs(len[t] - 100 / (threads[s] + 1)) <= 1, "shares %d for another team: part %d has %d",
                  s, t, len[t]);
    }
}

/* Thread t runs at speed[t]: busy = work / speed for the rows it got. */
static void measure(const work_split *ws, const double *speed, double *busy, double *work)
{
    for (int t = 0; t < ws->threads; t++) {
        int lo, hi;
        work_split_range(ws, 1000, ws->threads, t, &lo, &hi);
        work[t] = hi - lo;
        busy[t] = work[t] / speed[t];
    }
}

static void test_update(void)
{
    /* thread 0 at 0.8 the speed of thread 1: they finish together at 0.8/1.8 */
    work_split ws;
    work_split_even(&ws, 2);
    const double speed2[] = {0.8, 1.0};
    double busy[3], work[3];
    for (int run = 0; run < 60; run++) {
        measure(&ws, speed2, busy, work);
        work_split_update(&ws, busy, work, 0.2f);
    }
    CHECK(fabs(ws.at[1] - 0.8 / 1.8) < 2e-3, "2 threads at speeds 0.8 and 1: thread 0 has %.4f, want %.4f",
          ws.at[1], 0.8 / 1.8);

    /* one step moves a fifth of the way (rate 0.2) */
    work_split_even(&ws, 2);
    measure(&ws, speed2, busy, work);
    work_split_update(&ws, busy, work, 0.2f);
    CHECK(fabs(ws.at[1] - (0.5 + 0.2 * (0.8 / 1.8 - 0.5))) < 1e-3, "one step: thread 0 has %.4f", ws.at[1]);

    /* three threads */
    work_split_even(&ws, 3);
    const double speed3[] = {1.0, 0.6, 1.2};
    for (int run = 0; run < 80; run++) {
        measure(&ws, speed3, busy, work);
        work_split_update(&ws, busy, work, 0.2f);
    }
    for (int t = 0; t < 3; t++)
        CHECK(fabs((ws.at[t + 1] - ws.at[t]) - speed3[t] / 2.8) < 3e-3,
              "3 threads: thread %d has %.4f, want %.4f", t, ws.at[t + 1] - ws.at[t], speed3[t] / 2.8);

    /* a thread 10x slower keeps half the even share */
    work_split_even(&ws, 2);
    const double slow[] = {0.1, 1.0};
    for (int run = 0; run < 60; run++) {
        measure(&ws, slow, busy, work);
        work_split_update(&ws, busy, work, 0.5f);
    }
    CHECK(fabs(ws.at[1] - 0.25) < 1e-6, "a thread 10x slower has %.4f, want the floor 0.25", ws.at[1]);

    /* the clamp holds with the shares still adding up to 1, at any team
     * size and however far apart the speeds (one thread 10x faster than
     * two others used to get 0.6 of 3) */
    work_split_even(&ws, 3);
    const double fast[] = {10.0, 1.0, 1.0};
    measure(&ws, fast, busy, work);
    work_split_update(&ws, busy, work, 1.0f);
    CHECK(fabs(ws.at[1] - 0.5) < 1e-6 && fabs(ws.at[2] - ws.at[1] - 0.25) < 1e-6,
          "3 threads, one 10x faster: shares %.4f %.4f %.4f, want 0.5 0.25 0.25", ws.at[1],
          ws.at[2] - ws.at[1], 1.0 - ws.at[2]);
    uint64_t x = 88172645463325252ull;
    for (int trial = 0; trial < 2000; trial++) {
        const int nt = 2 + trial % 7;
        double speed[8], b[8], wk[8];
        for (int t = 0; t < nt; t++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            speed[t] = 0.05 + (double)(x % 1000) / 100.0;
        }
        work_split_even(&ws, nt);
        for (int run = 0; run < 3; run++) {
            measure(&ws, speed, b, wk);
            work_split_update(&ws, b, wk, run == 0 ? 1.0f : 0.3f);
        }
        double sum = 0.0;
        for (int t = 0; t < nt; t++) {
            const double sh = ws.at[t + 1] - ws.at[t];
            sum += sh;
            CHECK(sh > 0.5 / nt - 1e-6 && sh < 1.5 / nt + 1e-6, "trial %d, %d threads: share %d is %.5f",
                  trial, nt, t, sh);
        }
        CHECK(fabs(sum - 1.0) < 1e-6 && ws.at[nt] == 1.0f, "trial %d: shares add up to %.6f", trial, sum);
    }

    /* no measurement, no change */
    work_split_even(&ws, 2);
    const double none_busy[] = {0.0, 1.0}, some_work[] = {1.0, 1.0};
    work_split_update(&ws, none_busy, some_work, 1.0f);
    CHECK(ws.at[1] == 0.5f, "no time for thread 0 moved the split to %.4f", ws.at[1]);
    const double nan_busy[] = {NAN, 1.0};
    work_split_update(&ws, nan_busy, some_work, 1.0f);
    CHECK(ws.at[1] == 0.5f, "a NaN time moved the split to %.4f", ws.at[1]);
    work_split_even(&ws, 1);
    const double one[] = {1.0};
    work_split_update(&ws, one, one, 1.0f);
    CHECK(ws.threads == 1 && ws.at[1] == 1.0f, "one thread's split changed");
}

/* Each thread writes its slot, passes the barrier, and then must see every
 * slot at the pass number: none left early, and the writes before the
 * barrier are seen after it. In some passes one thread arrives 30 ms late,
 * longer than the waiters spin, so they sleep and must be woken; without
 * spinning (the passive policy) they sleep at every pass. (More
 * threads than CPUs would make the waiters spin away most of the test.) */
#define BARRIER_THREADS 2
#define BARRIER_PASSES 1000

static void test_barrier(long long spin_ns)
{
    team_barrier *b = aligned_alloc(64, sizeof *b);
    CHECK(b != NULL, "no memory for the barrier");
    if (!b)
        return;
    team_barrier_init(b, spin_ns);
    int slot[BARRIER_THREADS] = {0};
    int early[BARRIER_THREADS] = {0}, team = 0;
    #pragma omp parallel num_threads(BARRIER_THREADS)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (t == 0)
            team = nt;
        for (int pass = 1; pass <= BARRIER_PASSES; pass++) {
            if (pass % 250 == 0 && t == (pass / 250) % nt)
                nanosleep(&(struct timespec){0, 30000000}, NULL);
            slot[t] = pass;
            team_barrier_wait(b, nt);
            for (int u = 0; u < nt; u++)
                early[t] += slot[u] != pass;
            team_barrier_wait(b, nt);
        }
    }
    CHECK(team > 1, "the barrier's test got a team of %d threads", team);
    for (int t = 0; t < team; t++)
        CHECK(early[t] == 0, "spin %lld ns: thread %d saw %d slots not at the pass it was in", spin_ns, t,
              early[t]);
    free(b);
}

int main(void)
{
    test_even();
    test_uneven();
    test_update();
    test_barrier(10000000); /* the default wait policy */
    test_barrier(0);        /* passive: sleep at once */
    return check_finish("work split");
}
