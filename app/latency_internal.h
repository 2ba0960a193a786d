/*
 * What latency.c and latency_plot.c share and nothing else needs: the one
 * rule that says which records have a figure for a stage and what it is, so
 * that the table, the JSON and the picture cannot disagree.
 */
#ifndef MNV2DET_APP_LATENCY_INTERNAL_H
#define MNV2DET_APP_LATENCY_INTERNAL_H

#include "app/app.h"

/* The figure of stage s for one record of run r, in ms: 1 and *ms, or 0 when
 * the record has none (a timestamp it never reached, a frame that was not
 * presented in a windowed run, a figure that is not finite). */
int latency_stage_value(const latency_run *r, const latency_record *rec, latency_stage s, double *ms);

/* b - a in ms, signed: clocks that disagree (a camera's buffer time a little
 * after our own reading) show as a small negative figure, not as 584 years. */
static inline double latency_ns_diff_ms(uint64_t a, uint64_t b)
{
    return (double)(int64_t)(b - a) / 1e6;
}

#endif
