/* A minimal assertion harness for the test programs: CHECK counts and reports
 * every failure with its location and keeps going, so that one run shows all
 * that is wrong; check_finish prints the totals and gives the exit status. */
#ifndef MNV2DET_TESTS_CHECK_H
#define MNV2DET_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

typedef struct check_state { int count, failed; } check_state;

static check_state check_g;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        check_g.count++;                                                        \
        if (!(cond)) {                                                          \
            check_g.failed++;                                                   \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

static inline int check_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_g.count, check_g.failed);
    if (check_g.count == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    return check_g.failed ? 1 : 0;
}

/* Paths the meson test() calls pass in the environment. */
static inline const char *test_env(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "environment variable %s is not set (run through meson test)\n", name);
        exit(1);
    }
    return v;
}

/* malloc that ends the test on failure (a test has no way on without it). */
static inline void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

#endif
