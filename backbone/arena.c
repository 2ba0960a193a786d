/*
 * Activation memory plan. MobileNetV2 has long chains where each tensor dies
 * one or two layers after it is made, so sharing space between tensors whose
 * lifetimes do not overlap cuts the activation memory several times over
 * compared to one buffer per tensor. Placing the biggest buffers first is the
 * usual greedy heuristic for this (an optimal plan is NP-hard, and this one is
 * within a few percent of the peak live size on these networks).
 */
#include <stdint.h>
#include <stdlib.h>

#include "backbone/backbone.h"

typedef struct placed { size_t off, end; } placed;

static int by_size_desc(const void *a, const void *b, void *sizes)
{
    size_t sa = ((const size_t *)sizes)[*(const int *)a];
    size_t sb = ((const size_t *)sizes)[*(const int *)b];
    if (sa != sb)
        return sa < sb ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

static int by_offset(const void *a, const void *b)
{
    const placed *pa = a, *pb = b;
    return pa->off < pb->off ? -1 : pa->off > pb->off;
}

/* qsort has no context argument in C11; an insertion sort keeps this free of
 * globals and is plenty for a few hundred buffers. */
static void sort_indices(int *idx, int n, const size_t *sizes)
{
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i;
        while (j > 0 && by_size_desc(&idx[j - 1], &v, (void *)sizes) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

size_t arena_plan(const size_t *sizes, const int *first, const int *last, int n,
                  size_t align, size_t *offsets)
{
    if (n <= 0)
        return 0;
    int *order = malloc((size_t)n * sizeof *order);
    int *done = calloc((size_t)n, sizeof *done);
    placed *busy = malloc((size_t)n * sizeof *busy);
    if (!order || !done || !busy) {
        free(order), free(done), free(busy);
        return 0;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    sort_indices(order, n, sizes);

    /* Sizes come from a model file: a plan past SIZE_MAX is reported as
     * SIZE_MAX (which no allocation satisfies), never wrapped around. */
    size_t total = 0;
    for (int k = 0; k < n && total != SIZE_MAX; k++) {
        int i = order[k];
        size_t need;
        if (sizes[i] > SIZE_MAX - (align - 1)) {
            total = SIZE_MAX;
            break;
        }
        need = (sizes[i] + align - 1) & ~(align - 1);
        int nb = 0;
        for (int j = 0; j < n; j++)
            if (done[j] && first[j] <= last[i] && first[i] <= last[j])
                busy[nb++] = (placed){offsets[j], offsets[j] + ((sizes[j] + align - 1) & ~(align - 1))};
        qsort(busy, (size_t)nb, sizeof *busy, by_offset);
        size_t off = 0;
        for (int b = 0; b < nb; b++) {
            if (busy[b].off >= off && busy[b].off - off >= need)
                break;
            if (busy[b].end > off)
                off = busy[b].end;
        }
        offsets[i] = off;
        done[i] = 1;
        if (off > SIZE_MAX - need)
            total = SIZE_MAX;
        else if (off + need > total)
            total = off + need;
    }
    free(order), free(done), free(busy);
    return total;
}
