/*
 * Small backbone pieces with hand-worked answers: TensorFlow SAME/VALID
 * geometry, the arena planner, and the image pre-processing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backbone/backbone.h"
#include "check.h"

static void test_geometry(void)
{
    /* 300 input, 3x3 stride 2 SAME: out ceil(300/2)=150, total pad
     * (150-1)*2+3-300 = 1: 0 before, 1 after (TF puts the larger half after). */
    CHECK(conv_out_size(300, 3, 2, 1, TFL_PAD_SAME) == 150, "SAME out");
    CHECK(conv_pad_before(300, 3, 2, 1, TFL_PAD_SAME) == 0, "SAME pad before, even input");
    /* 75 input, 3x3 stride 2: out 38, total (38-1)*2+3-75 = 2: 1 before. */
    CHECK(conv_out_size(75, 3, 2, 1, TFL_PAD_SAME) == 38, "SAME out odd");
    CHECK(conv_pad_before(75, 3, 2, 1, TFL_PAD_SAME) == 1, "SAME pad before, odd input");
    /* stride 1: total 2, 1 before */
    CHECK(conv_pad_before(19, 3, 1, 1, TFL_PAD_SAME) == 1, "SAME stride 1");
    /* 1x1 input, 3x3 stride 2 SAME: out 1, total 2, 1 before */
    CHECK(conv_out_size(1, 3, 2, 1, TFL_PAD_SAME) == 1 && conv_pad_before(1, 3, 2, 1, TFL_PAD_SAME) == 1, "1x1");
    /* VALID: (10-3)/2+1 = 4; dilation 2 makes the kernel 5 wide: (10-5)/1+1 = 6 */
    CHECK(conv_out_size(10, 3, 2, 1, TFL_PAD_VALID) == 4, "VALID");
    CHECK(conv_out_size(10, 3, 1, 2, TFL_PAD_VALID) == 6, "VALID dilated");
    CHECK(conv_out_size(2, 3, 1, 1, TFL_PAD_VALID) == 0, "VALID kernel larger than input");
    CHECK(conv_pad_before(10, 3, 1, 1, TFL_PAD_VALID) == 0, "VALID has no pad");
}

static void test_arena_hand(void)
{
    /* a chain: A(0..1) B(1..2) C(2..3): A and C can share, B cannot */
    size_t sizes[3] = {100, 100, 100}, off[3];
    int first[3] = {0, 1, 2}, last[3] = {1, 2, 3};
    size_t total = arena_plan(sizes, first, last, 3, 64, off);
    CHECK(total == 256, "chain of three 100-byte buffers needs two 128-byte slots, got %zu", total);
    CHECK(off[0] != off[1] && off[1] != off[2], "live neighbours overlap");
    CHECK(off[0] == off[2], "A and C should share");
    for (int i = 0; i < 3; i++)
        CHECK(off[i] % 64 == 0, "alignment");
}

/* Sizes from a model file can be anything: a plan that would pass SIZE_MAX
 * says SIZE_MAX (no allocation satisfies it) instead of wrapping to a small
 * arena that the buffers would overrun. */
static void test_arena_overflow(void)
{
    size_t sizes[3] = {SIZE_MAX / 2, SIZE_MAX / 2, 64}, off[3];
    int first[3] = {0, 0, 0}, last[3] = {1, 1, 1};
    CHECK(arena_plan(sizes, first, last, 3, 64, off) == SIZE_MAX, "three live buffers past SIZE_MAX");
    size_t one[1] = {SIZE_MAX - 10};
    CHECK(arena_plan(one, first, last, 1, 64, off) == SIZE_MAX, "one buffer that rounds up past SIZE_MAX");
    size_t fits[2] = {SIZE_MAX / 4, SIZE_MAX / 4};
    size_t total = arena_plan(fits, first, last, 2, 64, off);
    CHECK(total != SIZE_MAX && total >= 2 * (SIZE_MAX / 4) && off[0] != off[1], "two that fit: %zu", total);
}

static void test_arena_random(void)
{
    /* property: any two buffers alive at the same step never overlap */
    unsigned seed = 7;
    for (int round = 0; round < 50; round++) {
        enum { N = 40 };
        size_t sizes[N], off[N];
        int first[N], last[N];
        size_t peak = 0;
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            sizes[i] = 1 + (seed >> 8) % 5000;
            first[i] = (int)((seed >> 20) % 30);
            last[i] = first[i] + (int)((seed >> 4) % 6);
        }
        size_t total = arena_plan(sizes, first, last, N, 16, off);
        for (int s = 0; s < 36; s++) {
            size_t live = 0;
            for (int i = 0; i < N; i++)
                if (first[i] <= s && s <= last[i])
                    live += (sizes[i] + 15) & ~(size_t)15;
            if (live > peak)
                peak = live;
        }
        int bad = 0;
        for (int i = 0; i < N; i++) {
            bad += off[i] + sizes[i] > total;
            for (int j = i + 1; j < N; j++)
                if (first[i] <= last[j] && first[j] <= last[i])
                    bad += off[i] < off[j] + sizes[j] && off[j] < off[i] + sizes[i];
        }
        CHECK(bad == 0, "round %d: %d overlapping or out-of-arena placements", round, bad);
        CHECK(total >= peak, "round %d: arena %zu smaller than the peak live size %zu", round, total, peak);
        CHECK(total <= peak * 2, "round %d: arena %zu over twice the peak live size %zu", round, total, peak);
    }
}

static void test_preprocess(void)
{
    /* same size: exact (px - 127.5) / 127.5 */
    uint8_t img[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        img[i] = (uint8_t)(i * 15);
    float out[18];
    preprocess_rgb24(NULL, img, 3, 2, 9, 3, 2, 127.5f, 127.5f, out);
    int exact = 1;
    for (int i = 0; i < 18; i++)
        exact &= out[i] == ((float)img[i] - 127.5f) / 127.5f;
    CHECK(exact, "same-size pre-processing is not an exact copy");

    /* row stride wider than the pixels is honoured */
    uint8_t padded[2 * 12];
    memset(padded, 99, sizeof padded);
    for (int y = 0; y < 2; y++)
        memcpy(padded + y * 12, img + y * 9, 9);
    float out2[18];
    preprocess_rgb24(NULL, padded, 3, 2, 12, 3, 2, 127.5f, 127.5f, out2);
    CHECK(memcmp(out, out2, sizeof out) == 0, "stride not honoured");

    /* a constant image stays constant at any scale */
    enum { W = 37, H = 23 };
    uint8_t *flat = malloc(W * H * 3);
    memset(flat, 200, W * H * 3);
    float small[5 * 4 * 3], big[80 * 50 * 3];
    resize_plan *down, *up, *half_plan, *none;
    char err[128];
    CHECK(resize_plan_create(&down, W, H, 5, 4, err, sizeof err) == 0, "%s", err);
    CHECK(resize_plan_create(&up, W, H, 80, 50, err, sizeof err) == 0, "%s", err);
    CHECK(resize_plan_create(&half_plan, 4, 1, 2, 1, err, sizeof err) == 0, "%s", err);
    CHECK(resize_plan_create(&none, 0, H, 5, 4, err, sizeof err) == MNV_EINVAL && none == NULL, "empty frame");
    preprocess_rgb24(down, flat, W, H, W * 3, 5, 4, 0.0f, 1.0f, small);
    preprocess_rgb24(up, flat, W, H, W * 3, 80, 50, 0.0f, 1.0f, big);
    int flat_ok = 1;
    for (int i = 0; i < 5 * 4 * 3; i++)
        flat_ok &= small[i] == 200.0f;
    for (int i = 0; i < 80 * 50 * 3; i++)
        flat_ok &= big[i] == 200.0f;
    CHECK(flat_ok, "constant image changed by resizing");

    /* 4x1 -> 2x1 halves by averaging pixel pairs: the triangle filter widened
     * to 2 pixels puts weights 1/4, 3/4, 3/4, 1/4 (normalized) around centre
     * 1.0: pixels 0..2 with (0.5-1)/2 -> 0.75, 0.75, 0.25 -> /1.75. For
     * pixels 0, 100, 200, 40: out0 = (0*.75 + 100*.75 + 200*.25) / 1.75. */
    uint8_t row[4 * 3] = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40};
    float half[2 * 3];
    preprocess_rgb24(half_plan, row, 4, 1, 12, 2, 1, 0.0f, 1.0f, half);
    float want0 = nearbyintf((0 * 0.75f + 100 * 0.75f + 200 * 0.25f) / 1.75f);
    float want1 = nearbyintf((100 * 0.25f + 200 * 0.75f + 40 * 0.75f) / 1.75f);
    CHECK(half[0] == want0 && half[3] == want1, "2x downscale gave %g %g, want %g %g", half[0], half[3], want0, want1);
    free(flat);
    resize_plan_free(down), resize_plan_free(up), resize_plan_free(half_plan);
}

int main(void)
{
    test_geometry();
    test_arena_hand();
    test_arena_overflow();
    test_arena_random();
    test_preprocess();
    return check_finish("plan");
}
