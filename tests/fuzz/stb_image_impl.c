/*
 * For the image fuzz target only: Debian's libstb header compiled here with
 * the fuzzer's instrumentation, so that libFuzzer sees which branches of
 * the decoders an input reaches (the program links the same code from
 * libstb.so, which carries no coverage counters).
 *
 * Signed overflow and out-of-range float-to-integer conversions are not
 * reported inside libstb (both found by fuzzing 2.27): its JPEG decoder
 * multiplies unbounded DC sums by the quantizer in int (the product is cut
 * to 16 bits anyway; 2.28 refuses such files), and its PSD reader's matte
 * removal turns a float outside 0..255 into a byte. Both are arithmetic on
 * the picture's values, not on sizes or addresses, and cannot be checked
 * from outside without decoding; left on, they would stop every run at
 * once. Our own code keeps the full check.
 */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("signed-integer-overflow", "float-cast-overflow"))), apply_to = function)
#endif
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif
