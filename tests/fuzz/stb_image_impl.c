/*
 * For the image fuzz target only: Debian's libstb header compiled here with
 * the fuzzer's instrumentation, so that libFuzzer sees which branches of
 * the decoders an input reaches (the program links the same code from
 * libstb.so, which carries no coverage counters).
 */
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
