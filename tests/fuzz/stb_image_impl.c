/*
 * For the image fuzz target only: Debian's libstb header compiled here with
 * the fuzzer's instrumentation, so that libFuzzer sees which branches of
 * the decoders an input reaches (the program links the same code from
 * libstb.so, which carries no coverage counters).
 *
 * Signed overflow is not reported inside libstb: its JPEG decoder (2.27)
 * multiplies unbounded DC sums by the quantizer in int (the product is cut
 * to 16 bits anyway; found by fuzzing, fixed upstream in 2.28 by refusing
 * such files). It is arithmetic on the picture's values, not on sizes or
 * addresses, and cannot be checked from outside without decoding; left on,
 * it would stop every run at once. Our own code keeps the full check.
 */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("signed-integer-overflow"))), apply_to = function)
#endif
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif
