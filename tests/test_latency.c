/*
 * The latency benchmark's figures and files (app/latency.c,
 * app/latency_plot.c): nearest-rank percentiles on known data, which records
 * count for which stage, the counts and rates, and the table, JSON, CSV and
 * SVG written from them, including a full disk.
 *
 *   test_latency              the checks
 *   test_latency write DIR    a simulated two-run benchmark and some awkward
 *                             runs as files in DIR, for
 *                             tests/test_latency_files.sh to parse
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "tests/check.h"

#define MS 1000000ull /* ns */

/* The whole of a small file written through a FILE, NUL-terminated. */
static char *slurp(FILE *f)
{
    long len;
    if (fflush(f) != 0 || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return NULL;
    size_t got = fread(s, 1, (size_t)len, f);
    s[got] = '\0';
    return s;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

static latency_record record_with_inference(double ms)
{
    latency_record r;
    memset(&r, 0, sizeof r);
    r.inference_ms = ms;
    return r;
}

/* A run whose records' inference figures are v[0..n-1], in that order. */
static latency_summary inference_summary(const double *v, size_t n)
{
    latency_run r;
    latency_summary s;
    CHECK(latency_run_init(&r, 1, 1, 0) == 0, "init");
    for (size_t i = 0; i < n; i++) {
        latency_record rec = record_with_inference(v[i]);
        CHECK(latency_run_add(&r, &rec) == 0, "add");
    }
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    latency_run_free(&r);
    return s;
}

static void test_stage_names(void)
{
    for (int i = 0; i < LAT_N_STAGES; i++) {
        const char *a = latency_stage_name((latency_stage)i);
        CHECK(a && *a && strcmp(a, "?") != 0 && !strchr(a, ' '), "stage %d named '%s'", i, a ? a : "(null)");
        for (int j = 0; j < i; j++)
            CHECK(strcmp(a, latency_stage_name((latency_stage)j)) != 0, "stages %d and %d both '%s'", i, j, a);
    }
    CHECK(strcmp(latency_stage_name(LAT_INFERENCE), "inference") == 0, "inference: %s",
          latency_stage_name(LAT_INFERENCE));
    CHECK(strcmp(latency_stage_name(LAT_N_STAGES), "?") == 0, "out of range: %s",
          latency_stage_name(LAT_N_STAGES));
}

static void test_percentiles(void)
{
    /* 1..100 shuffled by a fixed permutation (37 is prime to 100). */
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 1 + (i * 37) % 100;
    latency_summary s = inference_summary(v, 100);
    const latency_stats *x = &s.stage[LAT_INFERENCE];
    CHECK(x->n == 100, "n %zu", x->n);
    CHECK(x->median == 50 && x->p90 == 90 && x->p99 == 99 && x->max == 100, "1..100: %g %g %g %g", x->median,
          x->p90, x->p99, x->max);

    double one = 7.25;
    s = inference_summary(&one, 1);
    x = &s.stage[LAT_INFERENCE];
    CHECK(x->n == 1 && x->median == one && x->p90 == one && x->p99 == one && x->max == one, "n=1: %g %g %g %g",
          x->median, x->p90, x->p99, x->max);

    /* Nearest rank of an even count is the lower middle, not an average. */
    double two[2] = {3, 1};
    s = inference_summary(two, 2);
    x = &s.stage[LAT_INFERENCE];
    CHECK(x->median == 1 && x->p90 == 3 && x->p99 == 3 && x->max == 3, "n=2: %g %g %g %g", x->median, x->p90,
          x->p99, x->max);

    double ten[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    s = inference_summary(ten, 10);
    x = &s.stage[LAT_INFERENCE];
    CHECK(x->median == 5 && x->p90 == 9 && x->p99 == 10 && x->max == 10, "n=10: %g %g %g %g", x->median, x->p90,
          x->p99, x->max);

    /* 1000 values: p99 is rank 990, p90 rank 900. */
    double *many = malloc(1000 * sizeof *many);
    for (int i = 0; i < 1000; i++)
        many[i] = (double)((i * 7919) % 1000) / 10.0; /* 0.0 .. 99.9, each once */
    s = inference_summary(many, 1000);
    x = &s.stage[LAT_INFERENCE];
    CHECK(near(x->median, 49.9) && near(x->p90, 89.9) && near(x->p99, 98.9) && near(x->max, 99.9),
          "n=1000: %g %g %g %g", x->median, x->p90, x->p99, x->max);
    free(many);

    s = inference_summary(NULL, 0);
    for (int st = 0; st < LAT_N_STAGES; st++) {
        x = &s.stage[st];
        CHECK(x->n == 0 && x->median == 0 && x->p90 == 0 && x->p99 == 0 && x->max == 0, "n=0 stage %d", st);
    }

    /* A figure that is not a number is left out, not sorted somewhere. */
    double odd[3] = {2, NAN, 1};
    s = inference_summary(odd, 3);
    x = &s.stage[LAT_INFERENCE];
    CHECK(x->n == 2 && x->median == 1 && x->max == 2, "NaN: n %zu median %g max %g", x->n, x->median, x->max);
}

/* A frame's way with every timestamp: captured at base, then +2 ms
 * dequeued, +5 taken, +6 detect start, +50 detect end, +52 display start,
 * +60 presented (0 when presented is 0). */
static latency_record full_record(uint64_t seq, uint64_t base, int presented)
{
    latency_record r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.t.captured = base;
    r.t.dequeued = base + 2 * MS;
    r.t.taken = base + 5 * MS;
    r.t.detect_start = base + 6 * MS;
    r.t.detect_end = base + 50 * MS;
    r.t.display_start = base + 52 * MS;
    r.t.presented = presented ? base + 60 * MS : 0;
    r.preprocess_ms = 3;
    r.inference_ms = 40;
    r.postprocess_ms = 1;
    r.n_detections = (int)seq % 4;
    return r;
}

static void test_stages(void)
{
    const uint64_t base = 5000 * MS;
    latency_run r;
    latency_summary s;

    /* Windowed: r0 everything; r1 not presented; r2 never dequeued (a
     * timestamp missing); r3 without a capture time. */
    CHECK(latency_run_init(&r, 2, 0, 4) == 0, "init");
    latency_record rec[4];
    rec[0] = full_record(0, base, 1);
    rec[1] = full_record(1, base + 33 * MS, 0);
    rec[2] = full_record(2, base + 66 * MS, 1);
    rec[2].t.dequeued = 0;
    rec[3] = full_record(3, base + 99 * MS, 1);
    rec[3].t.captured = 0;
    rec[3].t.presented += 10 * MS; /* display 20 ms for this one */
    for (int i = 0; i < 4; i++)
        CHECK(latency_run_add(&r, &rec[i]) == 0, "add");
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    CHECK(s.stage[LAT_CAPTURE_TO_DEQUEUE].n == 2 && s.stage[LAT_CAPTURE_TO_DEQUEUE].max == 2.0,
          "capture_to_dequeue n %zu max %g", s.stage[LAT_CAPTURE_TO_DEQUEUE].n, s.stage[LAT_CAPTURE_TO_DEQUEUE].max);
    CHECK(s.stage[LAT_MAILBOX_WAIT].n == 3 && s.stage[LAT_MAILBOX_WAIT].median == 3.0, "mailbox_wait n %zu %g",
          s.stage[LAT_MAILBOX_WAIT].n, s.stage[LAT_MAILBOX_WAIT].median);
    CHECK(s.stage[LAT_PREPROCESS].n == 4 && s.stage[LAT_PREPROCESS].median == 3.0, "preprocess");
    CHECK(s.stage[LAT_INFERENCE].n == 4 && s.stage[LAT_INFERENCE].max == 40.0, "inference");
    CHECK(s.stage[LAT_POSTPROCESS].n == 4 && s.stage[LAT_POSTPROCESS].p99 == 1.0, "postprocess");
    /* display: r0 10, r2 10, r3 20 (r1 not presented) */
    CHECK(s.stage[LAT_DISPLAY].n == 3 && s.stage[LAT_DISPLAY].median == 10.0 && s.stage[LAT_DISPLAY].max == 20.0,
          "display n %zu median %g max %g", s.stage[LAT_DISPLAY].n, s.stage[LAT_DISPLAY].median,
          s.stage[LAT_DISPLAY].max);
    /* end to end: r0 and r2 at 60 ms; r1 not presented, r3 no capture time */
    CHECK(s.stage[LAT_END_TO_END].n == 2 && s.stage[LAT_END_TO_END].median == 60.0 &&
              s.stage[LAT_END_TO_END].max == 60.0,
          "end_to_end n %zu median %g", s.stage[LAT_END_TO_END].n, s.stage[LAT_END_TO_END].median);
    latency_run_free(&r);

    /* Headless: nothing presented; end to end ends at the detections. */
    CHECK(latency_run_init(&r, 1, 1, 1) == 0, "init");
    for (int i = 0; i < 3; i++) {
        latency_record h = full_record((uint64_t)i, base + (uint64_t)i * 33 * MS, 0);
        h.t.detect_end += (uint64_t)i * MS; /* 50, 51, 52 ms */
        CHECK(latency_run_add(&r, &h) == 0, "add");
    }
    latency_record late = full_record(3, base + 99 * MS, 0);
    late.t.detect_end = 0; /* never finished: no end to end */
    CHECK(latency_run_add(&r, &late) == 0, "add");
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    CHECK(s.headless == 1 && s.threads == 1, "headless %d threads %d", s.headless, s.threads);
    CHECK(s.stage[LAT_DISPLAY].n == 0, "headless display n %zu", s.stage[LAT_DISPLAY].n);
    CHECK(s.stage[LAT_END_TO_END].n == 3 && s.stage[LAT_END_TO_END].median == 51.0 &&
              s.stage[LAT_END_TO_END].max == 52.0,
          "headless end_to_end n %zu median %g max %g", s.stage[LAT_END_TO_END].n, s.stage[LAT_END_TO_END].median,
          s.stage[LAT_END_TO_END].max);
    latency_run_free(&r);

    /* A camera buffer stamped just after our own reading of the clock: a
     * small negative figure, not a wrapped one. */
    CHECK(latency_run_init(&r, 1, 1, 1) == 0, "init");
    latency_record skew = full_record(0, base, 0);
    skew.t.dequeued = base - MS / 2;
    CHECK(latency_run_add(&r, &skew) == 0, "add");
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    CHECK(s.stage[LAT_CAPTURE_TO_DEQUEUE].n == 1 && s.stage[LAT_CAPTURE_TO_DEQUEUE].max == -0.5,
          "skewed clock: %g", s.stage[LAT_CAPTURE_TO_DEQUEUE].max);
    latency_run_free(&r);
}

static void test_counts(void)
{
    latency_run r;
    latency_summary s;
    CHECK(latency_run_init(&r, 4, 0, 8) == 0, "init");
    for (int i = 0; i < 50; i++) {
        latency_record rec = full_record((uint64_t)i, (uint64_t)(1000 + i * 40) * MS, 1);
        CHECK(latency_run_add(&r, &rec) == 0, "add");
    }
    r.captured = 60;
    r.dropped = 7;
    r.unfinished = 1;
    r.skipped = 2;
    r.not_presented = 3;
    r.t_start = 1000 * MS;
    r.t_end = 3000 * MS;
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    CHECK(s.threads == 4 && s.headless == 0, "threads %d headless %d", s.threads, s.headless);
    CHECK(s.processed == 50 && s.captured == 60 && s.dropped == 7 && s.unfinished == 1 && s.skipped == 2 &&
              s.not_presented == 3,
          "counts %zu %llu %llu %llu %llu %llu", s.processed, (unsigned long long)s.captured,
          (unsigned long long)s.dropped, (unsigned long long)s.unfinished, (unsigned long long)s.skipped,
          (unsigned long long)s.not_presented);
    CHECK(near(s.seconds, 2.0) && near(s.capture_fps, 30.0) && near(s.detection_fps, 25.0), "%g s, %g fps, %g fps",
          s.seconds, s.capture_fps, s.detection_fps);
    /* No time measured: rates of 0, not infinities. */
    r.t_end = r.t_start;
    CHECK(latency_summarize(&r, &s) == 0, "summarize");
    CHECK(s.seconds == 0 && s.capture_fps == 0 && s.detection_fps == 0, "zero time: %g %g %g", s.seconds,
          s.capture_fps, s.detection_fps);
    latency_run_free(&r);
    latency_run_free(&r); /* twice is harmless */
    CHECK(r.rec == NULL && r.n == 0, "freed");
}

static void test_growth(void)
{
    latency_run r;
    CHECK(latency_run_init(&r, 1, 1, 0) == 0 && r.rec == NULL && r.n == 0, "empty init");
    for (uint64_t i = 0; i < 5000; i++) {
        latency_record rec = record_with_inference((double)i);
        rec.seq = i * 3;
        if (latency_run_add(&r, &rec) != 0) {
            CHECK(0, "add %llu", (unsigned long long)i);
            break;
        }
    }
    CHECK(r.n == 5000 && r.cap >= 5000, "n %zu cap %zu", r.n, r.cap);
    int in_order = 1;
    for (size_t i = 0; i < r.n; i++)
        in_order &= r.rec[i].seq == i * 3 && r.rec[i].inference_ms == (double)i;
    CHECK(in_order, "records kept in order");
    latency_run_free(&r);
    /* An absurd expectation fails cleanly instead of wrapping the size. */
    CHECK(latency_run_init(&r, 1, 1, SIZE_MAX / 2) == MNV_ENOMEM, "huge expect");
    latency_run_free(&r);
}

/* Two small runs: 1 thread windowed (4 records from test_stages' shapes)
 * and 2 threads headless. */
static void make_two_runs(latency_run runs[2])
{
    const uint64_t base = 7000 * MS;
    latency_run_init(&runs[0], 1, 0, 0);
    for (int i = 0; i < 4; i++) {
        latency_record rec = full_record((uint64_t)i + 10, base + (uint64_t)i * 40 * MS, i != 1);
        latency_run_add(&runs[0], &rec);
    }
    runs[0].captured = 6;
    runs[0].dropped = 1;
    runs[0].unfinished = 1;
    runs[0].not_presented = 1;
    runs[0].t_start = base;
    runs[0].t_end = base + 200 * MS;
    latency_run_init(&runs[1], 2, 1, 0);
    for (int i = 0; i < 3; i++) {
        latency_record rec = full_record((uint64_t)i, base + 1000 * MS + (uint64_t)i * 30 * MS, 0);
        rec.inference_ms = 20 + i;
        latency_run_add(&runs[1], &rec);
    }
    runs[1].captured = 3;
    runs[1].t_start = base + 1000 * MS;
    runs[1].t_end = base + 1100 * MS;
}

static void test_table_and_json(void)
{
    latency_run runs[2];
    latency_summary s[2];
    make_two_runs(runs);
    CHECK(latency_summarize(&runs[0], &s[0]) == 0 && latency_summarize(&runs[1], &s[1]) == 0, "summarize");

    FILE *f = tmpfile();
    latency_report_table(f, s, 2);
    char *t = slurp(f);
    fclose(f);
    CHECK(t != NULL, "table read back");
    if (t) {
        CHECK(strstr(t, "1 thread (end_to_end: capture to on screen)") != NULL, "run 1 heading:\n%s", t);
        CHECK(strstr(t, "2 threads, headless (end_to_end: capture to detections)") != NULL, "run 2 heading:\n%s", t);
        /* Every stage has its row, with aligned columns of 2 decimals. */
        for (int st = 0; st < LAT_N_STAGES; st++)
            CHECK(strstr(t, latency_stage_name((latency_stage)st)) != NULL, "row %s", latency_stage_name((latency_stage)st));
        CHECK(strstr(t, "  inference                40.00     40.00     40.00     40.00        4\n") != NULL,
              "inference row of run 1:\n%s", t);
        CHECK(strstr(t, "  display                      -         -         -         -        0\n") != NULL,
              "display row of the headless run:\n%s", t);
        CHECK(strstr(t, "frames: 6 captured, 4 processed, 1 dropped, 1 unfinished, 0 skipped, 1 not presented") !=
                  NULL,
              "counts line:\n%s", t);
        CHECK(strstr(t, "rates: capture 30.00 fps, detection 20.00 fps over 0.20 s") != NULL, "rates line:\n%s", t);
        free(t);
    }

    f = tmpfile();
    latency_report_json(f, s, 2);
    char *j = slurp(f);
    fclose(f);
    CHECK(j != NULL, "json read back");
    if (j) {
        size_t len = strlen(j);
        CHECK(strncmp(j, "{\"runs\":[{\"threads\":1,", 22) == 0, "json start: %.40s", j);
        CHECK(len > 3 && strcmp(j + len - 3, "]}\n") == 0 && count_char(j, '\n') == 1, "one line, closed");
        CHECK(count_char(j, '{') == count_char(j, '}') && count_char(j, '[') == count_char(j, ']'), "balanced");
        CHECK(strstr(j, "\"frames\":{\"captured\":6,\"processed\":4,\"dropped\":1,\"unfinished\":1,\"skipped\":0,"
                        "\"not_presented\":1}") != NULL,
              "frames object: %s", j);
        CHECK(strstr(j, "\"end_to_end\":{\"n\":3,\"median\":50,\"p90\":50,\"p99\":50,\"max\":50}") != NULL,
              "headless end_to_end: %s", j);
        CHECK(strstr(j, "\"threads\":2,\"headless\":true") != NULL, "second run: %s", j);
        CHECK(strstr(j, "\"capture_fps\":30,") != NULL, "capture_fps: %s", j);
        CHECK(strstr(j, "nan") == NULL && strstr(j, "inf,") == NULL, "finite: %s", j);
        free(j);
    }

    /* No runs at all: still one valid object. */
    f = tmpfile();
    latency_report_json(f, NULL, 0);
    j = slurp(f);
    fclose(f);
    CHECK(j && strcmp(j, "{\"runs\":[]}\n") == 0, "no runs: %s", j ? j : "(null)");
    free(j);
    latency_run_free(&runs[0]);
    latency_run_free(&runs[1]);
}

/* Split one CSV line in place at commas, keeping empty fields. */
static int split_csv(char *line, char **field, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        field[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static void test_csv(void)
{
    latency_run runs[2];
    make_two_runs(runs);
    FILE *f = tmpfile();
    CHECK(latency_write_csv(f, runs, 2) == 0, "csv written");
    char *c = slurp(f);
    fclose(f);
    CHECK(c != NULL, "csv read back");
    if (!c)
        return;
    CHECK(count_char(c, '\n') == 1 + 4 + 3, "lines: %zu", count_char(c, '\n'));
    char *save = NULL;
    char *line = strtok_r(c, "\n", &save);
    char *field[32];
    int cols = line ? split_csv(line, field, 32) : 0;
    CHECK(cols == 15 && strcmp(field[0], "threads") == 0 && strcmp(field[2], "captured_ms") == 0 &&
              strcmp(field[8], "presented_ms") == 0 && strcmp(field[14], "n_detections") == 0,
          "header has %d columns", cols);
    int row = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        int n = split_csv(line, field, 32);
        CHECK(n == cols, "row %d: %d fields", row, n);
        if (n != 15)
            break;
        const latency_run *r = row < 4 ? &runs[0] : &runs[1];
        const latency_record *rec = &r->rec[row < 4 ? row : row - 4];
        CHECK(atoi(field[0]) == r->threads, "row %d threads %s", row, field[0]);
        CHECK(strtoull(field[1], NULL, 10) == rec->seq, "row %d seq %s", row, field[1]);
        char want[32];
        snprintf(want, sizeof want, "%.3f", (double)(rec->t.captured - r->t_start) / 1e6);
        CHECK(strcmp(field[2], want) == 0, "row %d captured %s, want %s", row, field[2], want);
        snprintf(want, sizeof want, "%.3f", (double)(rec->t.detect_end - r->t_start) / 1e6);
        CHECK(strcmp(field[6], want) == 0, "row %d detect_end %s, want %s", row, field[6], want);
        if (rec->t.presented) {
            snprintf(want, sizeof want, "%.3f", (double)(rec->t.presented - r->t_start) / 1e6);
            CHECK(strcmp(field[8], want) == 0, "row %d presented %s, want %s", row, field[8], want);
        } else {
            CHECK(field[8][0] == '\0', "row %d: presented 0 is an empty field, not '%s'", row, field[8]);
        }
        CHECK(atof(field[10]) == rec->inference_ms, "row %d inference %s", row, field[10]);
        CHECK(atoi(field[14]) == rec->n_detections, "row %d detections %s", row, field[14]);
        row++;
    }
    CHECK(row == 7, "rows %d", row);
    free(c);
    latency_run_free(&runs[0]);
    latency_run_free(&runs[1]);
}

/* A headless run of 300 frames at 40..49 ms end to end, 3 of them 5 s
 * late: the histogram should keep its resolution and say what it left out. */
static void make_outliers(latency_run *r)
{
    latency_run_init(r, 1, 1, 0);
    r->t_start = 9000 * MS;
    for (int i = 0; i < 300; i++) {
        latency_record rec = full_record((uint64_t)i, (9000 + 33 * (uint64_t)i) * MS, 0);
        rec.t.detect_end = rec.t.captured + (uint64_t)(40 + i % 10) * MS + (i % 100 == 7 ? 5000 * MS : 0);
        latency_run_add(r, &rec);
    }
    r->captured = 300;
    r->t_end = r->rec[299].t.detect_end;
}

/* An SVG document written by latency_write_svg, or NULL. */
static char *svg_of(const latency_run *runs, int n, const char *title)
{
    FILE *f = tmpfile();
    int rc = latency_write_svg(f, runs, n, title);
    CHECK(rc == 0, "svg written: %d", rc);
    char *s = slurp(f);
    fclose(f);
    CHECK(s != NULL, "svg read back");
    return s;
}

static void check_svg_shape(const char *s, const char *what)
{
    if (!s)
        return;
    size_t len = strlen(s);
    CHECK(strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0, "%s: starts with <svg", what);
    CHECK(len > 7 && strcmp(s + len - 7, "</svg>\n") == 0, "%s: ends with </svg>", what);
    CHECK(count_char(s, '<') == count_char(s, '>'), "%s: < and > pair up", what);
    CHECK(!strstr(s, "nan") && !strstr(s, "NaN") && !strstr(s, "inf\"") && !strstr(s, "inf,") &&
              !strstr(s, "inf ") && !strstr(s, "<script"),
          "%s: no NaN, infinity or script", what);
}

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_svg(void)
{
    latency_run runs[2];
    make_two_runs(runs);
    char *s = svg_of(runs, 2, "two runs");
    check_svg_shape(s, "two runs");
    if (s) {
        /* end to end and inference of each run */
        CHECK(count_str(s, "<polyline") == 4, "polylines: %zu", count_str(s, "<polyline"));
        CHECK(strstr(s, "end to end, 1 thread<") && strstr(s, "inference, 2 threads, headless<"), "legend");
        CHECK(strstr(s, ">two runs</text>") != NULL, "title");
        free(s);
    }

    s = svg_of(NULL, 0, NULL);
    check_svg_shape(s, "no runs");
    if (s) {
        CHECK(count_str(s, "no frames recorded") == 2, "no runs: both panels say so");
        free(s);
    }
    latency_run empty;
    latency_run_init(&empty, 3, 0, 0);
    s = svg_of(&empty, 1, "empty");
    check_svg_shape(s, "empty run");
    if (s) {
        CHECK(strstr(s, "3 threads (no frames)") != NULL, "empty run named in the legend");
        free(s);
    }
    latency_run_free(&empty);

    /* One frame: every range has zero width. */
    latency_run one;
    latency_run_init(&one, 1, 1, 0);
    latency_record rec = full_record(0, 9000 * MS, 0);
    latency_run_add(&one, &rec);
    one.t_start = 9000 * MS;
    s = svg_of(&one, 1, "one frame");
    check_svg_shape(s, "one frame");
    if (s) {
        CHECK(count_str(s, "<circle") == 2, "one frame: a dot per line, %zu", count_str(s, "<circle"));
        free(s);
    }
    latency_run_free(&one);

    latency_run wild;
    make_outliers(&wild);
    s = svg_of(&wild, 1, "outliers");
    check_svg_shape(s, "outliers");
    if (s) {
        CHECK(strstr(s, "3 frames above") != NULL, "outliers noted");
        free(s);
    }
    latency_run_free(&wild);

    /* Markup and bytes that are not UTF-8 in the title. */
    /* \xf8: the lead byte of a 5-byte form; \xed\xa0\x80 a surrogate;
     * \xc0\xaf an overlong '/': each byte of them one U+FFFD. */
    s = svg_of(runs, 2, "a<b & \"c\" \xff\x01 \xc3\xa9 \xf8\x88\x80\x80|\xed\xa0\x80|\xc0\xaf|\xf0\x9f\x98\x80");
    check_svg_shape(s, "title");
    if (s) {
        CHECK(strstr(s, ">a&lt;b &amp; &quot;c&quot; &#xFFFD;&#xFFFD; \xc3\xa9 "
                        "&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;|&#xFFFD;&#xFFFD;&#xFFFD;|&#xFFFD;&#xFFFD;|"
                        "\xf0\x9f\x98\x80</text>") != NULL,
              "title escaped");
        free(s);
    }
    latency_run_free(&runs[0]);
    latency_run_free(&runs[1]);
}

static void test_write_errors(void)
{
    latency_run runs[2];
    make_two_runs(runs);
    /* Small outputs sit in the buffer: the error must surface all the same. */
    FILE *full = fopen("/dev/full", "w");
    CHECK(full != NULL, "/dev/full opens");
    if (full) {
        CHECK(latency_write_csv(full, runs, 2) == MNV_EIO, "csv to a full disk");
        fclose(full);
    }
    full = fopen("/dev/full", "w");
    if (full) {
        CHECK(latency_write_svg(full, runs, 2, "x") == MNV_EIO, "svg to a full disk");
        fclose(full);
    }
    latency_run_free(&runs[0]);
    latency_run_free(&runs[1]);
}

/* ---- a simulated benchmark, for the files test and the example plot ---- */

/* xorshift64: the same pseudo-random frames on every machine. */
static double uniform(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (double)(*state >> 11) / 9007199254740992.0;
}

/* A 29.97 fps camera (its frames drift against the screen's refresh) into a detector taking the newest frame, drawn on a
 * 60 Hz screen: inference around infer_ms with jitter and a rare stall. */
static void simulate(latency_run *r, int threads, double infer_ms, double seconds, uint64_t seed)
{
    const uint64_t start = 10000 * MS, period = 33366667, vsync = 16666667;
    uint64_t rng = seed, free_at = start, shown = 0;
    latency_run_init(r, threads, 0, 0);
    r->t_start = start;
    uint64_t frames = (uint64_t)(seconds * 30);
    uint64_t k = 0;
    while (k < frames) {
        /* The detector is free at free_at: it takes the newest frame
         * dequeued by then, or waits for the next one. */
        uint64_t newest = free_at > start + 2 * MS ? (free_at - start - 2 * MS) / period : 0;
        if (newest < k)
            newest = k;
        if (newest >= frames)
            break;
        r->dropped += newest - k;
        latency_record rec;
        memset(&rec, 0, sizeof rec);
        rec.seq = newest;
        rec.t.captured = start + newest * period;
        rec.t.dequeued = rec.t.captured + (uint64_t)((1.5 + uniform(&rng)) * MS);
        rec.t.taken = rec.t.dequeued > free_at ? rec.t.dequeued + 50000 : free_at;
        rec.preprocess_ms = 2.0 + 0.5 * uniform(&rng);
        rec.inference_ms = infer_ms * (0.9 + 0.2 * (uniform(&rng) + uniform(&rng)) / 2);
        if (uniform(&rng) < 0.02)
            rec.inference_ms *= 1.6; /* another process took the core */
        rec.postprocess_ms = 0.8 + 0.3 * uniform(&rng);
        rec.t.detect_start = rec.t.taken + 20000;
        rec.t.detect_end =
            rec.t.detect_start + (uint64_t)((rec.preprocess_ms + rec.inference_ms + rec.postprocess_ms) * MS);
        rec.t.display_start = rec.t.detect_end + 100000;
        rec.dropped = r->dropped;
        rec.n_detections = (int)(uniform(&rng) * 5);
        if (uniform(&rng) < 0.03) {
            r->not_presented++; /* the next frame replaced it before the screen showed it */
        } else {
            uint64_t ready = rec.t.display_start + 3 * MS; /* upload and draw */
            uint64_t v = (ready / vsync + 1) * vsync;
            rec.t.presented = v > shown ? v : shown + vsync;
            shown = rec.t.presented;
        }
        latency_run_add(r, &rec);
        free_at = rec.t.detect_end;
        k = newest + 1;
    }
    r->captured = frames;
    r->unfinished = frames > k ? frames - k : 0;
    r->t_end = free_at > shown ? free_at : shown;
}

static int write_file(const char *dir, const char *name, int (*write)(FILE *, void *), void *arg)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    int rc = write(f, arg);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "%s: write failed\n", path);
        return 1;
    }
    return 0;
}

typedef struct run_set { const latency_run *runs; int n; const char *title; } run_set;

static int put_svg(FILE *f, void *arg)
{
    const run_set *s = arg;
    return latency_write_svg(f, s->runs, s->n, s->title);
}

static int put_csv(FILE *f, void *arg)
{
    const run_set *s = arg;
    return latency_write_csv(f, s->runs, s->n);
}

static int put_reports(FILE *f, void *arg)
{
    const run_set *s = arg;
    latency_summary sum[4];
    for (int i = 0; i < s->n; i++)
        if (latency_summarize(&s->runs[i], &sum[i]) != 0)
            return 1;
    latency_report_json(f, sum, s->n);
    return ferror(f) ? 1 : 0;
}

static int put_table(FILE *f, void *arg)
{
    const run_set *s = arg;
    latency_summary sum[4];
    for (int i = 0; i < s->n; i++)
        if (latency_summarize(&s->runs[i], &sum[i]) != 0)
            return 1;
    latency_report_table(f, sum, s->n);
    return ferror(f) ? 1 : 0;
}

static int write_examples(const char *dir)
{
    latency_run runs[2], one, headless, wild;
    make_outliers(&wild);
    simulate(&runs[0], 1, 70.0, 20, 0x9E3779B97F4A7C15ull);
    simulate(&runs[1], 2, 38.0, 20, 0xD1B54A32D192ED03ull);
    /* A headless run: the same frames, the end at the detections. */
    simulate(&headless, 2, 38.0, 5, 0x2545F4914F6CDD1Dull);
    headless.headless = 1;
    headless.not_presented = 0;
    for (size_t i = 0; i < headless.n; i++)
        headless.rec[i].t.presented = 0;
    latency_run_init(&one, 1, 0, 0);
    latency_record rec;
    memset(&rec, 0, sizeof rec);
    rec.t.captured = 5 * MS;
    rec.t.detect_end = 60 * MS;
    rec.t.presented = 70 * MS;
    rec.inference_ms = 50;
    latency_run_add(&one, &rec);
    one.t_start = 5 * MS;

    run_set two = {runs, 2, "mnv2det latency (simulated): 29.97 fps camera, 60 Hz screen, 1 and 2 threads"};
    run_set three = {(latency_run[]){runs[0], runs[1], headless}, 3, "three runs"};
    run_set single = {&one, 1, "one frame <&> \xff"};
    run_set none = {NULL, 0, NULL};
    run_set outliers = {&wild, 1, "outliers"};
    int bad = 0;
    bad |= write_file(dir, "two.svg", put_svg, &two);
    bad |= write_file(dir, "two.csv", put_csv, &two);
    bad |= write_file(dir, "two.json", put_reports, &two);
    bad |= write_file(dir, "two.txt", put_table, &two);
    bad |= write_file(dir, "three.svg", put_svg, &three);
    bad |= write_file(dir, "three.csv", put_csv, &three);
    bad |= write_file(dir, "three.json", put_reports, &three);
    bad |= write_file(dir, "single.svg", put_svg, &single);
    bad |= write_file(dir, "none.svg", put_svg, &none);
    bad |= write_file(dir, "none.json", put_reports, &none);
    bad |= write_file(dir, "outliers.svg", put_svg, &outliers);
    latency_run_free(&runs[0]);
    latency_run_free(&runs[1]);
    latency_run_free(&headless);
    latency_run_free(&one);
    latency_run_free(&wild);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return write_examples(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: test_latency [write DIR]\n");
        return 2;
    }
    test_stage_names();
    test_percentiles();
    test_stages();
    test_counts();
    test_growth();
    test_table_and_json();
    test_csv();
    test_svg();
    test_write_errors();
    return check_finish("latency");
}
