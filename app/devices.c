/* mnv2det --list-devices: the cameras, their formats, sizes and frame rates,
 * as a table or as one JSON object. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"

/* "1-60 fps" for the range of a size's rates, or "" when the driver lists none. */
static void rate_range(const camera_size *z, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!z->n_rates)
        return;
    double lo = z->rates[0], hi = z->rates[0];
    for (int i = 1; i < z->n_rates; i++) {
        if (z->rates[i] < lo)
            lo = z->rates[i];
        if (z->rates[i] > hi)
            hi = z->rates[i];
    }
    if (lo == hi && !z->rates_stepwise)
        snprintf(buf, len, " (%.4g fps)", lo);
    else
        snprintf(buf, len, " (%.4g-%.4g fps)", lo, hi);
}

static void print_table(FILE *out, const camera_device *devs, int n)
{
    if (!n) {
        fputs("no video capture devices found\n", out);
        return;
    }
    int any_emulated = 0;
    for (int i = 0; i < n; i++) {
        const camera_device *d = &devs[i];
        if (d->error[0]) {
            fprintf(out, "%s: %s\n\n", d->path, d->error);
            continue;
        }
        fprintf(out, "%s  driver %s, card '%s', bus %s\n", d->path, d->driver, d->card, d->bus_info);
        if (!d->n_formats)
            fputs("  (lists no formats)\n", out);
        for (int j = 0; j < d->n_formats; j++) {
            const camera_format *f = &d->formats[j];
            char cc[8];
            any_emulated |= f->emulated;
            fprintf(out, "  %-4s %c%c %-31s", camera_fourcc_str(f->fourcc, cc), f->pixfmt >= 0 ? '*' : ' ',
                    f->emulated ? 'e' : ' ', f->description);
            if (!f->n_sizes)
                fputs(" (sizes not listed)", out);
            for (int k = 0; k < f->n_sizes; k++) {
                const camera_size *z = &f->sizes[k];
                char rates[48];
                rate_range(z, rates, sizeof rates);
                if (z->stepwise)
                    fprintf(out, "%s %dx%d-%dx%d step %dx%d%s", k ? "," : "", z->width, z->height,
                            z->max_width, z->max_height, z->step_width, z->step_height, rates);
                else
                    fprintf(out, "%s %dx%d%s", k ? "," : "", z->width, z->height, rates);
            }
            fputc('\n', out);
        }
        fputc('\n', out);
    }
    fprintf(out, "* frames are read in this format as they come%s\n",
            any_emulated ? "; e: emulated, converted in software by libv4lconvert" : "");
}

static void print_json(FILE *out, const camera_device *devs, int n)
{
    fputs("{\"devices\":[", out);
    for (int i = 0; i < n; i++) {
        const camera_device *d = &devs[i];
        fputs(i ? ",{\"path\":" : "{\"path\":", out);
        json_string(out, d->path);
        if (d->error[0]) {
            fputs(",\"error\":", out);
            json_string(out, d->error);
            fputc('}', out);
            continue;
        }
        fputs(",\"driver\":", out);
        json_string(out, d->driver);
        fputs(",\"card\":", out);
        json_string(out, d->card);
        fputs(",\"bus_info\":", out);
        json_string(out, d->bus_info);
        fputs(",\"formats\":[", out);
        for (int j = 0; j < d->n_formats; j++) {
            const camera_format *f = &d->formats[j];
            char cc[8];
            fputs(j ? ",{\"fourcc\":" : "{\"fourcc\":", out);
            json_string(out, camera_fourcc_str(f->fourcc, cc));
            fputs(",\"description\":", out);
            json_string(out, f->description);
            fprintf(out, ",\"emulated\":%s,\"pixel_format\":", f->emulated ? "true" : "false");
            if (f->pixfmt >= 0)
                json_string(out, mnv_pixfmt_name((mnv_pixfmt)f->pixfmt));
            else
                fputs("null", out);
            fputs(",\"sizes\":[", out);
            for (int k = 0; k < f->n_sizes; k++) {
                const camera_size *z = &f->sizes[k];
                if (z->stepwise)
                    fprintf(out, "%s{\"min_width\":%d,\"min_height\":%d,\"max_width\":%d,\"max_height\":%d,"
                            "\"step_width\":%d,\"step_height\":%d", k ? "," : "", z->width, z->height,
                            z->max_width, z->max_height, z->step_width, z->step_height);
                else
                    fprintf(out, "%s{\"width\":%d,\"height\":%d", k ? "," : "", z->width, z->height);
                if (z->rates_stepwise) {
                    fprintf(out, ",\"fps_range\":[%.6g,%.6g]}", z->rates[0], z->rates[1]);
                    continue;
                }
                fputs(",\"fps\":[", out);
                for (int r = 0; r < z->n_rates; r++)
                    fprintf(out, "%s%.6g", r ? "," : "", z->rates[r]);
                fputs("]}", out);
            }
            fputs("]}", out);
        }
        fputs("]}", out);
    }
    fputs("]}\n", out);
}

int devices_print(FILE *out, int json, char *err, size_t errlen)
{
    camera_device *devs;
    int n;
    int rc = camera_list(&devs, &n, err, errlen);
    if (rc)
        return rc;
    if (json)
        print_json(out, devs, n);
    else
        print_table(out, devs, n);
    camera_list_free(devs, n);
    return 0;
}
