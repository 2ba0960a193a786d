/*
 * The latency benchmark as a picture: one SVG file a browser opens as it is
 * (no script, no external font or image), with each frame's end-to-end and
 * inference latency against time above and the end-to-end distribution
 * below. Nothing is allocated, so the only failure is the write itself.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/latency_internal.h"
#include "common/common.h"

#define SVG_WIDTH 1060.0
#define PLOT_LEFT 80.0
#define PLOT_RIGHT 780.0
#define LEGEND_LEFT (PLOT_RIGHT + 24.0)
#define LEGEND_ROW 20.0
#define FONT_COLOR "#222"
#define NOTE_COLOR "#666"

/* Histogram: about this many bins over the range shown; the fine pass that
 * finds the 99th percentile without sorting (nothing is allocated) uses
 * FINE_BINS over min..max. */
#define HIST_TARGET_BINS 30
#define HIST_MAX_BINS 96
#define FINE_BINS 1000

/* Each run gets a pair of one hue: dark for end to end, light for
 * inference, so that the two lines of a run read as belonging together. */
static const char *const dark_color[] = {"#1f77b4", "#d95f02", "#1b9e77", "#7570b3",
                                         "#e7298a", "#66a61e", "#a6761d", "#555555"};
static const char *const light_color[] = {"#8cc4ea", "#f5a76c", "#7fd6b8", "#b9b5dc",
                                          "#f39bc8", "#b0d98a", "#d9b36e", "#aaaaaa"};
#define N_COLORS (int)(sizeof dark_color / sizeof dark_color[0])

/* One axis: lo..hi in data units with ticks every step, labels with
 * decimals digits after the point. */
typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

/* A plot area on the page (pixels, y down) and its two axes. */
typedef struct panel {
    double left, top, right, bottom;
    axis x, y;
} panel;

/* The 1, 2 or 5 times a power of ten at or just above span / target, the
 * steps people read off an axis without effort. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

/* A bin width for span / target: the nearest (on a log scale) of 1, 2, 2.5
 * or 5 times a power of ten, so the bin count stays near target instead of
 * anywhere between half and all of it as rounding up would give. */
static double bin_step(double span, int target)
{
    static const double m[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double best = m[0];
    for (int i = 1; i < 5; i++)
        if (fabs(log(raw / (m[i] * mag))) < fabs(log(raw / (best * mag))))
            best = m[i];
    return best * mag;
}

/* An axis covering lo..hi with about target ticks on round numbers (steps
 * from step_of). An empty or zero-width range gets a width of one, so that
 * nothing divides by 0, without going below 0 when the data does not. */
static void axis_fit_with(axis *a, double lo, double hi, int target, double (*step_of)(double, int))
{
    if (!(hi - lo > 1e-9)) {
        double floor_at = lo >= 0 ? 0.0 : -INFINITY;
        lo = fmax(lo - 0.5, floor_at);
        hi = lo + 1.0;
    }
    a->step = step_of(hi - lo, target);
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    /* enough digits for every tick: 0.25 needs 2, 2.5 needs 1 */
    a->decimals = 0;
    while (a->decimals < 9 && fabs(a->step * pow(10, a->decimals) - round(a->step * pow(10, a->decimals))) > 1e-6)
        a->decimals++;
}

static void axis_fit(axis *a, double lo, double hi, int target)
{
    axis_fit_with(a, lo, hi, target, nice_step);
}

static double panel_x(const panel *p, double v)
{
    return p->left + (v - p->x.lo) / (p->x.hi - p->x.lo) * (p->right - p->left);
}

static double panel_y(const panel *p, double v)
{
    return p->bottom - (v - p->y.lo) / (p->y.hi - p->y.lo) * (p->bottom - p->top);
}

/* Length of the well-formed UTF-8 character at s, or 0: XML refuses the
 * whole file over one stray byte, so the title is checked byte by byte. */
static int utf8_char_length(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0)
        return 0; /* a continuation byte, or a lead byte no valid character has */
    for (int i = 1; i < n; i++) /* a NUL is no continuation byte: stops at the end */
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    unsigned cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    return n;
}

/* s as XML character data: markup characters escaped; control characters
 * (not allowed in XML 1.0) and ill-formed UTF-8 as U+FFFD. */
static void xml_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = utf8_char_length(p);
        if (n == 0 || (*p < 0x20 && *p != '\t')) {
            fputs("&#xFFFD;", out);
            p++;
            continue;
        }
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fwrite(p, 1, (size_t)n, out); break;
        }
        p += n;
    }
}

static void text_at(FILE *out, double x, double y, const char *anchor, int size, const char *style,
                    const char *s)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" %s>", x, y, anchor, size,
            style);
    xml_text(out, s);
    fputs("</text>\n", out);
}

/* Grid, axis lines, ticks and their labels, and the axis titles. */
static void draw_axes(FILE *out, const panel *p, const char *xlabel, const char *ylabel)
{
    char buf[64];
    fprintf(out, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (int k = 0;; k++) {
        double v = p->y.lo + k * p->y.step;
        if (v > p->y.hi + p->y.step * 1e-6)
            break;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, panel_y(p, v),
                p->right, panel_y(p, v));
    }
    fputs("</g>\n", out);
    fprintf(out, "<g stroke=\"#444\" stroke-width=\"1\">\n");
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, p->bottom, p->right,
            p->bottom);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, p->top, p->left,
            p->bottom);
    fputs("</g>\n", out);
    for (int k = 0;; k++) {
        double v = p->x.lo + k * p->x.step;
        if (v > p->x.hi + p->x.step * 1e-6)
            break;
        if (fabs(v) < p->x.step * 1e-6)
            v = 0.0; /* no "-0.0" from rounding */
        double x = panel_x(p, v);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
                p->bottom, x, p->bottom + 5);
        snprintf(buf, sizeof buf, "%.*f", p->x.decimals, v);
        text_at(out, x, p->bottom + 19, "middle", 12, "fill=\"" FONT_COLOR "\"", buf);
    }
    for (int k = 0;; k++) {
        double v = p->y.lo + k * p->y.step;
        if (v > p->y.hi + p->y.step * 1e-6)
            break;
        if (fabs(v) < p->y.step * 1e-6)
            v = 0.0;
        double y = panel_y(p, v);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n",
                p->left - 5, y, p->left, y);
        snprintf(buf, sizeof buf, "%.*f", p->y.decimals, v);
        text_at(out, p->left - 8, y + 4, "end", 12, "fill=\"" FONT_COLOR "\"", buf);
    }
    text_at(out, (p->left + p->right) / 2, p->bottom + 40, "middle", 13, "fill=\"" FONT_COLOR "\"", xlabel);
    double ly = (p->top + p->bottom) / 2, lx = p->left - 50;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" fill=\"" FONT_COLOR
                 "\" transform=\"rotate(-90 %.1f %.1f)\">",
            lx, ly, lx, ly);
    xml_text(out, ylabel);
    fputs("</text>\n", out);
}

static void note_in_panel(FILE *out, const panel *p, const char *s)
{
    text_at(out, (p->left + p->right) / 2, (p->top + p->bottom) / 2, "middle", 15,
            "fill=\"" NOTE_COLOR "\" font-style=\"italic\"", s);
}

/* "end to end, 1 thread", "inference, 4 threads, headless",
 * "end to end, 2 threads (no frames)". */
static void run_label(char *buf, size_t len, const char *what, const latency_run *r)
{
    snprintf(buf, len, "%s, %d thread%s%s%s", what, r->threads, r->threads == 1 ? "" : "s",
             r->headless ? ", headless" : "", r->n ? "" : " (no frames)");
}

/* Seconds from the run's start to the frame's capture: runs of different
 * team sizes are overlaid on one time axis. */
static int frame_time_s(const latency_run *r, const latency_record *rec, double *s)
{
    if (!rec->t.captured)
        return 0;
    *s = latency_ns_diff_ms(r->t_start, rec->t.captured) / 1e3;
    return 1;
}

/* One line of a stage's figures over time, with dots when there are few
 * enough frames for a single one to matter. */
static void draw_series(FILE *out, const panel *p, const latency_run *r, latency_stage st, const char *color,
                        double width)
{
    size_t points = 0;
    double t, v;
    for (size_t i = 0; i < r->n; i++)
        points += (size_t)(frame_time_s(r, &r->rec[i], &t) && latency_stage_value(r, &r->rec[i], st, &v));
    if (points == 0)
        return;
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\" points=\"",
            color, width);
    size_t col = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!frame_time_s(r, &r->rec[i], &t) || !latency_stage_value(r, &r->rec[i], st, &v))
            continue;
        fprintf(out, "%s%.1f,%.1f", col ? " " : "", panel_x(p, t), panel_y(p, v));
        if (++col % 8 == 0) /* keep lines of the file short */
            fputc('\n', out);
    }
    fputs("\"/>\n", out);
    if (points <= 60) {
        fprintf(out, "<g fill=\"%s\">\n", color);
        for (size_t i = 0; i < r->n; i++)
            if (frame_time_s(r, &r->rec[i], &t) && latency_stage_value(r, &r->rec[i], st, &v))
                fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", panel_x(p, t), panel_y(p, v));
        fputs("</g>\n", out);
    }
}

static void legend_line(FILE *out, double x, double y, const char *color, const char *label)
{
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n", x,
            y - 4, x + 22, y - 4, color);
    text_at(out, x + 30, y, "start", 12, "fill=\"" FONT_COLOR "\"", label);
}

static void legend_box(FILE *out, double x, double y, const char *color, const char *label)
{
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"11\" fill=\"%s\" fill-opacity=\"0.45\" "
            "stroke=\"%s\"/>\n",
            x, y - 10, color, color);
    text_at(out, x + 30, y, "start", 12, "fill=\"" FONT_COLOR "\"", label);
}

/* The top panel: every frame's end-to-end and inference latency. */
static void draw_timeline(FILE *out, panel *p, const latency_run *runs, int n)
{
    double tmin = 0, tmax = 0, vmin = 0, vmax = 0;
    size_t points = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < runs[i].n; k++) {
            const latency_record *rec = &runs[i].rec[k];
            double t, v;
            if (!frame_time_s(&runs[i], rec, &t))
                continue;
            static const latency_stage shown[] = {LAT_END_TO_END, LAT_INFERENCE};
            for (int s = 0; s < 2; s++) {
                if (!latency_stage_value(&runs[i], rec, shown[s], &v))
                    continue;
                tmin = fmin(tmin, t);
                tmax = fmax(tmax, t);
                vmin = fmin(vmin, v);
                vmax = fmax(vmax, v);
                points++;
            }
        }
    axis_fit(&p->x, tmin, tmax, 10);
    axis_fit(&p->y, vmin, vmax * 1.05, 6); /* headroom: the highest point stays off the frame */
    text_at(out, p->left, p->top - 14, "start", 15, "font-weight=\"bold\" fill=\"" FONT_COLOR "\"",
            "Latency of each frame");
    draw_axes(out, p, "time since start (s)", "latency (ms)");
    if (points == 0) {
        note_in_panel(out, p, "no frames recorded");
    } else {
        /* Inference last: its thinner, lighter lines stay visible where
         * they cross another run's end to end. */
        for (int i = 0; i < n; i++)
            draw_series(out, p, &runs[i], LAT_END_TO_END, dark_color[i % N_COLORS], 1.5);
        for (int i = 0; i < n; i++)
            draw_series(out, p, &runs[i], LAT_INFERENCE, light_color[i % N_COLORS], 1.2);
    }
    char label[96];
    for (int i = 0; i < n; i++) {
        double y = p->top + 12 + 2 * i * LEGEND_ROW;
        run_label(label, sizeof label, "end to end", &runs[i]);
        legend_line(out, LEGEND_LEFT, y, dark_color[i % N_COLORS], label);
        run_label(label, sizeof label, "inference", &runs[i]);
        legend_line(out, LEGEND_LEFT, y + LEGEND_ROW, light_color[i % N_COLORS], label);
    }
}

/* The range the histogram shows: min..max, unless a few outliers would
 * squeeze the bulk of the frames into a handful of bins; then it ends a
 * little after the 99th percentile (found on FINE_BINS bins, which is close
 * enough to choose a range). lo is infinite when no frame has a figure. */
static void histogram_range(const latency_run *runs, int n, double *lo, double *hi)
{
    double vmin = INFINITY, vmax = -INFINITY, v;
    size_t count = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < runs[i].n; k++)
            if (latency_stage_value(&runs[i], &runs[i].rec[k], LAT_END_TO_END, &v)) {
                vmin = fmin(vmin, v);
                vmax = fmax(vmax, v);
                count++;
            }
    *lo = vmin;
    *hi = vmax;
    if (count == 0 || !(vmax > vmin))
        return;
    size_t fine[FINE_BINS] = {0};
    double width = (vmax - vmin) / FINE_BINS;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < runs[i].n; k++)
            if (latency_stage_value(&runs[i], &runs[i].rec[k], LAT_END_TO_END, &v)) {
                int b = (int)((v - vmin) / width);
                fine[b < FINE_BINS ? b : FINE_BINS - 1]++;
            }
    size_t want = (count * 99 + 99) / 100, seen = 0;
    int b = 0;
    while (b < FINE_BINS - 1 && (seen += fine[b]) < want)
        b++;
    double p99 = vmin + (b + 1) * width;
    if (vmax - vmin > 2.0 * (p99 - vmin))
        *hi = p99 + 0.25 * (p99 - vmin);
}

/* A run's end-to-end figures counted into nbins bins of b->step from b->lo;
 * *total counts them all, *hidden those beyond the last bin. */
static void histogram_count(const latency_run *r, const axis *b, int nbins, size_t *count, size_t *total,
                            size_t *hidden)
{
    double v, edge_hi = b->lo + nbins * b->step;
    memset(count, 0, (size_t)nbins * sizeof *count);
    *total = *hidden = 0;
    for (size_t k = 0; k < r->n; k++) {
        if (!latency_stage_value(r, &r->rec[k], LAT_END_TO_END, &v))
            continue;
        ++*total;
        if (v > edge_hi + b->step * 1e-9) { /* before the conversion to int: it may not fit */
            ++*hidden;
            continue;
        }
        int i = (int)floor((v - b->lo) / b->step);
        count[i < 0 ? 0 : i < nbins ? i : nbins - 1]++;
    }
}

/* The bottom panel: each run's share of frames per end-to-end latency bin,
 * overlaid with transparency so that runs of different lengths compare. */
static void draw_histogram(FILE *out, panel *p, const latency_run *runs, int n)
{
    double lo, hi;
    histogram_range(runs, n, &lo, &hi);
    int any = isfinite(lo);
    if (!any)
        lo = hi = 0;
    axis bins;
    axis_fit_with(&bins, lo, hi, HIST_TARGET_BINS, bin_step);
    int nbins = (int)lround((bins.hi - bins.lo) / bins.step);
    nbins = nbins < 1 ? 1 : nbins > HIST_MAX_BINS ? HIST_MAX_BINS : nbins;
    double edge_hi = bins.lo + nbins * bins.step;

    /* Shares first: the y axis must fit the tallest bar of any run. */
    double top_share = 0;
    size_t count[HIST_MAX_BINS], total, hidden, all_hidden = 0;
    for (int i = 0; i < n; i++) {
        histogram_count(&runs[i], &bins, nbins, count, &total, &hidden);
        all_hidden += hidden;
        for (int b = 0; b < nbins && total; b++)
            top_share = fmax(top_share, 100.0 * (double)count[b] / (double)total);
    }
    axis_fit(&p->x, bins.lo, edge_hi, 10);
    axis_fit(&p->y, 0, fmin(100.0, top_share * 1.05), 5);
    text_at(out, p->left, p->top - 14, "start", 15, "font-weight=\"bold\" fill=\"" FONT_COLOR "\"",
            "Distribution of end-to-end latency");
    draw_axes(out, p, "end-to-end latency (ms)", "share of frames (%)");
    if (!any)
        note_in_panel(out, p, "no frames recorded");
    for (int i = 0; i < n && any; i++) {
        histogram_count(&runs[i], &bins, nbins, count, &total, &hidden);
        if (!total)
            continue;
        const char *c = dark_color[i % N_COLORS];
        fprintf(out, "<g fill=\"%s\" fill-opacity=\"0.4\" stroke=\"%s\" stroke-width=\"1\">\n", c, c);
        for (int b = 0; b < nbins; b++) {
            if (!count[b])
                continue;
            double x0 = panel_x(p, bins.lo + b * bins.step), x1 = panel_x(p, bins.lo + (b + 1) * bins.step);
            double y = panel_y(p, 100.0 * (double)count[b] / (double)total);
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", x0, y, x1 - x0,
                    p->bottom - y);
        }
        fputs("</g>\n", out);
    }
    if (all_hidden) {
        char note[128];
        snprintf(note, sizeof note, "%zu frame%s above %.*f ms not shown", all_hidden,
                 all_hidden == 1 ? "" : "s", bins.decimals, edge_hi);
        text_at(out, p->right, p->top + 14, "end", 12, "fill=\"" NOTE_COLOR "\"", note);
    }
    char label[96];
    for (int i = 0; i < n; i++) {
        run_label(label, sizeof label, "end to end", &runs[i]);
        legend_box(out, LEGEND_LEFT, p->top + 12 + i * LEGEND_ROW, dark_color[i % N_COLORS], label);
    }
}

int latency_write_svg(FILE *out, const latency_run *runs, int n, const char *title)
{
    if (n < 0 || !runs)
        n = 0;
    /* Panels grow with the legend so that many runs do not overflow it. */
    double top_h = fmax(300.0, 2 * n * LEGEND_ROW + 10), bottom_h = fmax(220.0, n * LEGEND_ROW + 10);
    panel timeline = {.left = PLOT_LEFT, .top = 100, .right = PLOT_RIGHT};
    timeline.bottom = timeline.top + top_h;
    panel histogram = {.left = PLOT_LEFT, .top = timeline.bottom + 100, .right = PLOT_RIGHT};
    histogram.bottom = histogram.top + bottom_h;
    double height = histogram.bottom + 60;

    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\">\n",
            SVG_WIDTH, height, SVG_WIDTH, height);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", out);
    text_at(out, SVG_WIDTH / 2, 36, "middle", 20, "font-weight=\"bold\" fill=\"" FONT_COLOR "\"",
            title && *title ? title : "mnv2det latency");
    text_at(out, SVG_WIDTH / 2, 60, "middle", 13, "fill=\"" NOTE_COLOR "\"",
            "end to end: from capture until on screen (headless: until the detections are ready)");
    draw_timeline(out, &timeline, runs, n);
    draw_histogram(out, &histogram, runs, n);
    fputs("</svg>\n", out);
    if (fflush(out) != 0 || ferror(out))
        return MNV_EIO;
    return 0;
}
