/*
 * The camera pulled again and again from under a running mnv2det
 * --reconnect --json (see vivid_controls.h for the contract): run inside the
 * vivid VM by tests/vivid/guest.sh through `test_v4l2 cycles`.
 *
 * vivid's Disconnect control unregisters the device nodes; they come back
 * when the last open handle on the device is closed. Holding a handle of our
 * own across the disconnect makes that moment ours: once mnv2det has closed
 * its handle, closing ours brings the device back, and the time is known.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "tests/vivid/vivid_controls.h"

#define RESUME_LIMIT_MS 1000.0
#define RSS_MARGIN_KB 1024

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&d, NULL);
}

/* mnv2det's output file, read as it grows, one line at a time. */
typedef struct json_reader {
    int fd;
    char buf[1 << 18];
    size_t len;
} json_reader;

/* Wait up to timeout_s for a line whose "timestamp" is later than after;
 * 1 and *ts set, or 0. Lines before it are consumed. */
static int frame_after(json_reader *r, double after, double timeout_s, double *ts)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        char *nl;
        while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
            *nl = '\0';
            const char *t = strstr(r->buf, "\"timestamp\":");
            double v = t ? strtod(t + 12, NULL) : 0.0;
            size_t used = (size_t)(nl + 1 - r->buf);
            memmove(r->buf, nl + 1, r->len - used);
            r->len -= used;
            if (v > after) {
                *ts = v;
                return 1;
            }
        }
        if (r->len == sizeof r->buf)
            r->len = 0; /* a line longer than the buffer: not a frame we need */
        ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (n > 0) {
            r->len += (size_t)n;
            continue;
        }
        if (now_s() > deadline)
            return 0;
        sleep_ms(5);
    }
}

/* thp_kb: the part of RSS in transparent huge pages (AnonHugePages; -1:
 * unknown), printed so that a step of RSS can be told from growth */
typedef struct sample {
    long rss_kb, fds, threads, thp_kb;
} sample;

static int take_sample(int pid, sample *s)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    s->rss_kb = s->threads = -1;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", &s->rss_kb);
        sscanf(line, "Threads: %ld", &s->threads);
    }
    fclose(f);
    s->thp_kb = -1;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            sscanf(line, "AnonHugePages: %ld", &s->thp_kb);
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    s->fds = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            s->fds++;
    closedir(d);
    return s->rss_kb >= 0 && s->threads >= 0 ? 0 : -1;
}

/* 1 while pid has device open. */
static int holds_device(int pid, const char *device)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        char link[400], target[256];
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strcmp(target, device) == 0;
        }
    }
    closedir(d);
    return found;
}

/* 1 when pid runs with AddressSanitizer (its runtime is mapped). */
static int sanitized(int pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "libasan") != NULL;
    fclose(f);
    return found;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long max_of(const sample *s, int from, int to, size_t field)
{
    long m = -1;
    for (int i = from; i < to; i++) {
        long v = *(const long *)((const char *)&s[i] + field);
        if (v > m)
            m = v;
    }
    return m;
}

int reconnect_cycles(const char *device, int cycles, int pid, const char *json)
{
    json_reader *r = calloc(1, sizeof *r);
    double *resume = calloc((size_t)cycles, sizeof *resume);
    double *seen = calloc((size_t)cycles, sizeof *seen);
    sample *samples = calloc((size_t)cycles + 1, sizeof *samples);
    if (!r || !resume || !seen || !samples) {
        fprintf(stderr, "cycles: out of memory\n");
        return 1;
    }
    int ok = 0, done = 0, failed = 0;
    r->fd = open(json, O_RDONLY);
    double ts;
    if (r->fd < 0) {
        fprintf(stderr, "cycles: %s: %s\n", json, strerror(errno));
        failed = 1;
    } else if (!frame_after(r, 0.0, 180.0, &ts)) {
        fprintf(stderr, "cycles: mnv2det printed no frame in 180 s\n");
        failed = 1;
    }
    if (!failed && take_sample(pid, &samples[0]) != 0) {
        fprintf(stderr, "cycles: cannot read /proc/%d\n", pid);
        failed = 1;
    }
    for (int i = 0; i < cycles && !failed; i++) {
        if (kill(pid, 0) != 0) {
            fprintf(stderr, "cycle %d: mnv2det (pid %d) is gone\n", i + 1, pid);
            failed = 1;
            break;
        }
        int hold = open(device, O_RDWR);
        struct v4l2_control c = { .id = VIVID_CID_DISCONNECT, .value = 1 };
        if (hold < 0 || ioctl(hold, VIDIOC_S_CTRL, &c) != 0) {
            fprintf(stderr, "cycle %d: %s: cannot press Disconnect: %s\n", i + 1, device, strerror(errno));
            if (hold >= 0)
                close(hold);
            failed = 1;
            break;
        }
        double t_pull = now_s();
        while (holds_device(pid, device) && now_s() - t_pull < 30.0)
            sleep_ms(2);
        double closed_ms = (now_s() - t_pull) * 1e3;
        if (holds_device(pid, device)) {
            fprintf(stderr, "cycle %d: mnv2det still has %s open 30 s after the disconnect\n", i + 1, device);
            close(hold);
            failed = 1;
            break;
        }
        int delay_ms = 50 + (i * 137) % 400;
        sleep_ms(delay_ms);
        double t_back = now_s();
        close(hold); /* the last handle: vivid registers the nodes again */
        done++;
        if (!frame_after(r, t_back, 20.0, &ts)) {
            fprintf(stderr, "cycle %d: no frame captured after the device came back, in 20 s\n", i + 1);
            failed = 1;
            break;
        }
        resume[i] = (ts - t_back) * 1e3;
        seen[i] = (now_s() - t_back) * 1e3;
        if (take_sample(pid, &samples[i + 1]) != 0) {
            fprintf(stderr, "cycle %d: cannot read /proc/%d\n", i + 1, pid);
            failed = 1;
            break;
        }
        int in_time = resume[i] <= RESUME_LIMIT_MS;
        ok += in_time;
        printf("cycle %d: mnv2det closed the device %.0f ms after the pull; back after %d ms more; "
               "first frame captured %.0f ms after its return (printed after %.0f ms)%s; "
               "RSS %ld kB (THP %ld), %ld fds, %ld threads\n",
               i + 1, closed_ms, delay_ms, resume[i], seen[i], in_time ? "" : " TOO LATE",
               samples[i + 1].rss_kb, samples[i + 1].thp_kb, samples[i + 1].fds, samples[i + 1].threads);
    }

    /* Flat after warm-up: the largest value of the last third of the
     * samples against the largest of the first third after warm-up. */
    int n = failed ? 0 : cycles + 1, warm = n / 10 > 1 ? n / 10 : 1;
    int flat = 1;
    if (n - warm >= 3) {
        int k = (n - warm) / 3;
        long rss0 = max_of(samples, warm, warm + k, offsetof(sample, rss_kb));
        long rss1 = max_of(samples, n - k, n, offsetof(sample, rss_kb));
        long fd0 = max_of(samples, warm, warm + k, offsetof(sample, fds));
        long fd1 = max_of(samples, n - k, n, offsetof(sample, fds));
        long th0 = max_of(samples, warm, warm + k, offsetof(sample, threads));
        long th1 = max_of(samples, n - k, n, offsetof(sample, threads));
        /* AddressSanitizer's allocator keeps freed memory in quarantine and
         * in its size classes: RSS creeps up there without a leak (its
         * LeakSanitizer checks leaks at exit instead). */
        int asan = sanitized(pid);
        int rss_flat = rss1 - rss0 <= RSS_MARGIN_KB;
        flat = (rss_flat || asan) && fd1 <= fd0 && th1 <= th0;
        if (asan)
            printf("cycles: mnv2det runs with AddressSanitizer: RSS is reported, not judged (%s)\n",
                   rss_flat ? "flat" : "it grew");
        printf("cycles: RSS kB %ld before the first, %ld after cycle %d, %ld after the last, largest %ld then %ld "
               "(first and last third after warm-up; margin %d); fds %ld, %ld, %ld (largest %ld then %ld); "
               "threads %ld, %ld, %ld (largest %ld then %ld): %s\n",
               samples[0].rss_kb, samples[warm].rss_kb, warm, samples[n - 1].rss_kb, rss0, rss1, RSS_MARGIN_KB,
               samples[0].fds, samples[warm].fds, samples[n - 1].fds, fd0, fd1,
               samples[0].threads, samples[warm].threads, samples[n - 1].threads, th0, th1,
               !flat ? "GROWING" : rss1 - rss0 > RSS_MARGIN_KB ? "descriptors and threads flat" : "flat");
    }
    if (done > 0 && !failed) {
        qsort(resume, (size_t)cycles, sizeof *resume, cmp_double);
        qsort(seen, (size_t)cycles, sizeof *seen, cmp_double);
        printf("cycles: %d of %d reconnects resumed within %.0f ms of the device's return; first frame captured "
               "after: median %.0f ms, max %.0f ms; its result printed after: median %.0f ms, max %.0f ms\n",
               ok, cycles, RESUME_LIMIT_MS, resume[cycles / 2], resume[cycles - 1], seen[cycles / 2],
               seen[cycles - 1]);
    } else {
        printf("cycles: FAILED after %d of %d cycles (%d resumed in time)\n", done, cycles, ok);
    }
    if (r->fd >= 0)
        close(r->fd);
    free(r);
    free(resume);
    free(seen);
    free(samples);
    return !failed && ok == cycles && flat ? 0 : 1;
}
