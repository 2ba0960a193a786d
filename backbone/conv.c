/* Convolution geometry shared by the importer, the kernels and the tests.
 * Computed in 64 bits: the importer calls these on sizes from a model file
 * before it has refused the absurd ones. */
#include "backbone/backbone.h"

int conv_out_size(int in, int k, int stride, int dil, int padding)
{
    long long ek = (long long)(k - 1) * dil + 1;
    if (padding == TFL_PAD_SAME)
        return (int)(((long long)in + stride - 1) / stride);
    return in >= ek ? (int)((in - ek) / stride + 1) : 0;
}

/* TensorFlow puts the smaller half of SAME padding before, the larger after. */
int conv_pad_before(int in, int k, int stride, int dil, int padding)
{
    if (padding != TFL_PAD_SAME)
        return 0;
    long long ek = (long long)(k - 1) * dil + 1;
    long long out = ((long long)in + stride - 1) / stride;
    long long total = (out - 1) * stride + ek - in;
    return total > 0 ? (int)(total / 2 > 0x7fffffff ? 0x7fffffff : total / 2) : 0;
}
