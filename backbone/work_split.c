/*
 * Uneven work splits: shares of a kernel's rows that follow how fast each
 * thread's vCPU runs (see work_split in backbone.h).
 */
#include "backbone/backbone.h"

void work_split_even(work_split *ws, int threads)
{
    if (threads < 1 || threads > WORK_SPLIT_MAX) {
        ws->threads = 0;
        return;
    }
    ws->threads = threads;
    for (int t = 0; t <= threads; t++)
        ws->at[t] = (float)t / (float)threads;
    ws->at[threads] = 1.0f;
}

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
    /* new shares, clamped, then scaled back to a sum of 1 by
     * work_split_set (the clamp holds before the scaling, near enough
     * after) */
    double share[WORK_SPLIT_MAX];
    const double even = 1.0 / nt;
    for (int t = 0; t < nt; t++) {
        const double now = (double)ws->at[t + 1] - ws->at[t];
        double s = now + rate * (speed[t] / total - now);
        s = s < 0.5 * even ? 0.5 * even : s > 1.5 * even ? 1.5 * even : s;
        share[t] = s;
    }
    work_split_set(ws, share, nt);
}
