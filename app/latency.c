/*
 * The latency benchmark's records and figures: each processed frame's
 * timestamps are kept as they are, and every statistic is computed from them
 * afterwards, so the table, the JSON, the CSV and the picture all come from
 * the same data and none of them keeps a running estimate of its own.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/latency_internal.h"
#include "common/common.h"

const char *latency_stage_name(latency_stage s)
{
    /* Also the JSON keys and CSV vocabulary: lower case, no spaces. */
    static const char *const names[LAT_N_STAGES] = {
        [LAT_CAPTURE_TO_DEQUEUE] = "capture_to_dequeue",
        [LAT_MAILBOX_WAIT] = "mailbox_wait",
        [LAT_PREPROCESS] = "preprocess",
        [LAT_INFERENCE] = "inference",
        [LAT_POSTPROCESS] = "postprocess",
        [LAT_DISPLAY] = "display",
        [LAT_END_TO_END] = "end_to_end",
    };
    if ((int)s < 0 || s >= LAT_N_STAGES)
        return "?";
    return names[s];
}

int latency_run_init(latency_run *r, int threads, int headless, size_t expect)
{
    memset(r, 0, sizeof *r);
    r->threads = threads;
    r->headless = headless;
    if (expect == 0)
        return 0;
    if (expect > SIZE_MAX / sizeof *r->rec)
        return MNV_ENOMEM;
    r->rec = malloc(expect * sizeof *r->rec);
    if (!r->rec)
        return MNV_ENOMEM;
    r->cap = expect;
    return 0;
}

int latency_run_add(latency_run *r, const latency_record *rec)
{
    if (r->n == r->cap) {
        /* Doubling keeps the detector thread's cost per frame constant on
         * average; a run of unknown length starts small. */
        size_t cap = r->cap ? r->cap : 256;
        if (r->cap) {
            if (r->cap > SIZE_MAX / 2 / sizeof *r->rec)
                return MNV_ENOMEM;
            cap = r->cap * 2;
        }
        latency_record *grown = realloc(r->rec, cap * sizeof *grown);
        if (!grown)
            return MNV_ENOMEM;
        r->rec = grown;
        r->cap = cap;
    }
    r->rec[r->n++] = *rec;
    return 0;
}

void latency_run_free(latency_run *r)
{
    free(r->rec);
    r->rec = NULL;
    r->n = r->cap = 0;
}

int latency_stage_value(const latency_run *r, const latency_record *rec, latency_stage s, double *ms)
{
    const frame_times *t = &rec->t;
    double v;
    switch (s) {
    case LAT_CAPTURE_TO_DEQUEUE:
        if (!t->captured || !t->dequeued)
            return 0;
        v = latency_ns_diff_ms(t->captured, t->dequeued);
        break;
    case LAT_MAILBOX_WAIT:
        if (!t->dequeued || !t->taken)
            return 0;
        v = latency_ns_diff_ms(t->dequeued, t->taken);
        break;
    case LAT_PREPROCESS:
        v = rec->preprocess_ms;
        break;
    case LAT_INFERENCE:
        v = rec->inference_ms;
        break;
    case LAT_POSTPROCESS:
        v = rec->postprocess_ms;
        break;
    case LAT_DISPLAY:
        if (!t->presented || !t->detect_end)
            return 0;
        v = latency_ns_diff_ms(t->detect_end, t->presented);
        break;
    case LAT_END_TO_END:
        if (!t->captured)
            return 0;
        /* A windowed run's frame that never reached the screen has no end:
         * counting it at its detections would flatter the figure. */
        if (t->presented)
            v = latency_ns_diff_ms(t->captured, t->presented);
        else if (r->headless && t->detect_end)
            v = latency_ns_diff_ms(t->captured, t->detect_end);
        else
            return 0;
        break;
    default:
        return 0;
    }
    if (!isfinite(v))
        return 0;
    *ms = v;
    return 1;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank p-th percentile of n > 0 sorted values: element
 * ceil(p/100 * n) - 1, in integers so that 90% of 100 is exactly rank 90. */
static double nearest_rank(const double *sorted, size_t n, unsigned p)
{
    size_t rank = (n / 100) * p + ((n % 100) * p + 99) / 100;
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

int latency_summarize(const latency_run *r, latency_summary *s)
{
    memset(s, 0, sizeof *s);
    s->threads = r->threads;
    s->headless = r->headless;
    s->processed = r->n;
    s->captured = r->captured;
    s->dropped = r->dropped;
    s->unfinished = r->unfinished;
    s->skipped = r->skipped;
    s->not_presented = r->not_presented;
    if (r->t_end > r->t_start) {
        s->seconds = (double)(r->t_end - r->t_start) / 1e9;
        s->capture_fps = (double)r->captured / s->seconds;
        s->detection_fps = (double)r->n / s->seconds;
    }
    if (r->n == 0)
        return 0;
    if (r->n > SIZE_MAX / sizeof(double))
        return MNV_ENOMEM;
    double *v = malloc(r->n * sizeof *v); /* one buffer, reused for every stage */
    if (!v)
        return MNV_ENOMEM;
    for (int st = 0; st < LAT_N_STAGES; st++) {
        size_t n = 0;
        for (size_t i = 0; i < r->n; i++)
            n += (size_t)latency_stage_value(r, &r->rec[i], (latency_stage)st, &v[n]);
        latency_stats *o = &s->stage[st];
        o->n = n;
        if (n == 0)
            continue;
        qsort(v, n, sizeof *v, compare_double);
        o->median = nearest_rank(v, n, 50);
        o->p90 = nearest_rank(v, n, 90);
        o->p99 = nearest_rank(v, n, 99);
        o->max = v[n - 1];
    }
    free(v);
    return 0;
}

static const char *plural(long long n)
{
    return n == 1 ? "" : "s";
}

void latency_report_table(FILE *out, const latency_summary *s, int n)
{
    for (int i = 0; i < n; i++) {
        const latency_summary *u = &s[i];
        if (i)
            fputc('\n', out);
        fprintf(out, "%d thread%s%s (end_to_end: capture to %s)\n", u->threads, plural(u->threads),
                u->headless ? ", headless" : "", u->headless ? "detections" : "on screen");
        fprintf(out, "  %-20s %9s %9s %9s %9s %8s\n", "stage (ms)", "median", "p90", "p99", "max", "frames");
        for (int st = 0; st < LAT_N_STAGES; st++) {
            const latency_stats *x = &u->stage[st];
            if (x->n == 0) /* a dash, not 0.00: no frame has this stage */
                fprintf(out, "  %-20s %9s %9s %9s %9s %8zu\n", latency_stage_name((latency_stage)st),
                        "-", "-", "-", "-", x->n);
            else
                fprintf(out, "  %-20s %9.2f %9.2f %9.2f %9.2f %8zu\n", latency_stage_name((latency_stage)st),
                        x->median, x->p90, x->p99, x->max, x->n);
        }
        fprintf(out,
                "  frames: %" PRIu64 " captured, %zu processed, %" PRIu64 " dropped, %" PRIu64
                " unfinished, %" PRIu64 " skipped, %" PRIu64 " not presented\n",
                u->captured, u->processed, u->dropped, u->unfinished, u->skipped, u->not_presented);
        fprintf(out, "  rates: capture %.2f fps, detection %.2f fps over %.2f s\n", u->capture_fps,
                u->detection_fps, u->seconds);
    }
}

/* JSON has no NaN or infinity; 9 significant digits keep ns in ms figures
 * of up to a few seconds. */
static void json_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.9g", v);
    else
        fputs("null", out);
}

void latency_report_json(FILE *out, const latency_summary *s, int n)
{
    fputs("{\"runs\":[", out);
    for (int i = 0; i < n; i++) {
        const latency_summary *u = &s[i];
        fprintf(out, "%s{\"threads\":%d,\"headless\":%s", i ? "," : "", u->threads,
                u->headless ? "true" : "false");
        fprintf(out,
                ",\"frames\":{\"captured\":%" PRIu64 ",\"processed\":%zu,\"dropped\":%" PRIu64
                ",\"unfinished\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"not_presented\":%" PRIu64 "}",
                u->captured, u->processed, u->dropped, u->unfinished, u->skipped, u->not_presented);
        fputs(",\"seconds\":", out);
        json_number(out, u->seconds);
        fputs(",\"capture_fps\":", out);
        json_number(out, u->capture_fps);
        fputs(",\"detection_fps\":", out);
        json_number(out, u->detection_fps);
        fputs(",\"stages\":{", out);
        for (int st = 0; st < LAT_N_STAGES; st++) {
            const latency_stats *x = &u->stage[st];
            fprintf(out, "%s", st ? "," : "");
            json_string(out, latency_stage_name((latency_stage)st));
            fprintf(out, ":{\"n\":%zu,\"median\":", x->n);
            json_number(out, x->median);
            fputs(",\"p90\":", out);
            json_number(out, x->p90);
            fputs(",\"p99\":", out);
            json_number(out, x->p99);
            fputs(",\"max\":", out);
            json_number(out, x->max);
            fputc('}', out);
        }
        fputs("}}", out);
    }
    fputs("]}\n", out);
}

/* A timestamp as ms after the run's start; an empty field when the frame
 * never got there, so that a spreadsheet does not average in zeros. */
static void csv_time(FILE *out, uint64_t t, uint64_t start)
{
    fputc(',', out);
    if (t)
        fprintf(out, "%.3f", latency_ns_diff_ms(start, t));
}

static void csv_ms(FILE *out, double v)
{
    fputc(',', out);
    if (isfinite(v))
        fprintf(out, "%.3f", v);
}

int latency_write_csv(FILE *out, const latency_run *runs, int n)
{
    fputs("threads,seq,captured_ms,dequeued_ms,taken_ms,detect_start_ms,detect_end_ms,"
          "display_start_ms,presented_ms,preprocess_ms,inference_ms,postprocess_ms,"
          "dropped,skipped,n_detections\n",
          out);
    for (int i = 0; i < n; i++) {
        const latency_run *r = &runs[i];
        for (size_t k = 0; k < r->n; k++) {
            const latency_record *rec = &r->rec[k];
            fprintf(out, "%d,%" PRIu64, r->threads, rec->seq);
            csv_time(out, rec->t.captured, r->t_start);
            csv_time(out, rec->t.dequeued, r->t_start);
            csv_time(out, rec->t.taken, r->t_start);
            csv_time(out, rec->t.detect_start, r->t_start);
            csv_time(out, rec->t.detect_end, r->t_start);
            csv_time(out, rec->t.display_start, r->t_start);
            csv_time(out, rec->t.presented, r->t_start);
            csv_ms(out, rec->preprocess_ms);
            csv_ms(out, rec->inference_ms);
            csv_ms(out, rec->postprocess_ms);
            fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%d\n", rec->dropped, rec->skipped, rec->n_detections);
        }
    }
    /* A full disk shows only when the buffer goes out: flush to find out. */
    if (fflush(out) != 0 || ferror(out))
        return MNV_EIO;
    return 0;
}
