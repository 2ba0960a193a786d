/*
 * Uneven work splits: shares of a kernel's rows that follow how fast each
 * thread's vCPU runs (see work_split in backbone.h).
 */
#include "backbone/backbone.h"

void work_split_set(work_split *ws, const double *share, int threads)
{
    double sum = 0.0, acc = 0.0;
    if (threads < 1 || threads > WORK_SPLIT_MAX) {
        ws->threads = 0;
        return;
    }
    for (int t = 0; t < threads; t++)
        sum += share[t];
    ws->threads = threads;
    ws->at[0] = 0.0f;
    for (int t = 0; t < threads - 1; t++) {
        acc += share[t] / sum;
        ws->at[t + 1] = (float)acc;
    }
    ws->at[threads] = 1.0f;
}

void work_split_even(work_split *ws, int threads)
{
    double ones[WORK_SPLIT_MAX];
    for (int t = 0; t < threads && t < WORK_SPLIT_MAX; t++)
        ones[t] = 1.0;
    work_split_set(ws, ones, threads);
}

/* Where fraction f of [0, n) ends: at[] is nondecreasing, so the cuts are. */
static int cut(int n, float f)
{
    const int c = (int)((double)n * f + 0.5);
    return c < 0 ? 0 : c > n ? n : c;
}

void work_split_range(const work_split *ws, int n, int parts, int i, int *lo, int *hi)
{
    if (ws && ws->threads == parts && parts > 1) {
        *lo = i == 0 ? 0 : cut(n, ws->at[i]);
        *hi = i == parts - 1 ? n : cut(n, ws->at[i + 1]);
        return;
    }
    split_range(n, parts, i, lo, hi);
}

static double clamp_share(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double scaled_sum(const double *share, int n, double scale, double lo, double hi)
{
    double sum = 0.0;
    for (int t = 0; t < n; t++)
        sum += clamp_share(scale * share[t], lo, hi);
    return sum;
}

/* Each share into [1/2, 3/2] of the even share, the sum kept at 1: the
 * shares are scaled by the one factor (found by bisection: the clamped sum
 * grows with it, from n/2 even shares at 0 to 3n/2 at infinity) at which
 * the clamped shares add up to 1. Clamping first and scaling after would
 * undo the clamp (one thread 10x faster than two others got 0.6 of 3). */
static void clamp_shares(double *share, int n)
{
    const double lo = 0.5 / n, hi = 1.5 / n;
    double a = 0.0, b = 1.0;
    while (scaled_sum(share, n, b, lo, hi) < 1.0 && b < 1e30)
        b *= 2.0;
    for (int i = 0; i < 64; i++) {
        const double m = 0.5 * (a + b);
        if (scaled_sum(share, n, m, lo, hi) < 1.0)
            a = m;
        else
            b = m;
    }
    for (int t = 0; t < n; t++)
        share[t] = clamp_share(b * share[t], lo, hi);
}

void work_split_update(work_split *ws, const double *busy, const double *work, float rate)
{
    const int nt = ws->threads;
    double speed[WORK_SPLIT_MAX], total = 0.0;
    if (nt < 2)
        return;
    for (int t = 0; t < nt; t++) {
        if (!(busy[t] > 0.0) || !(work[t] > 0.0))
            return;
        speed[t] = work[t] / busy[t];
        total += speed[t];
    }
    double share[WORK_SPLIT_MAX];
    for (int t = 0; t < nt; t++) {
        const double now = (double)ws->at[t + 1] - ws->at[t];
        share[t] = now + rate * (speed[t] / total - now);
    }
    clamp_shares(share, nt);
    work_split_set(ws, share, nt);
}
