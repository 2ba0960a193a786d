/* Convolution geometry shared by the importer, the kernels and the tests. */
#include "backbone/backbone.h"

int conv_out_size(int in, int k, int stride, int dil, int padding)
{
    int ek = (k - 1) * dil + 1;
    if (padding == TFL_PAD_SAME)
        return (in + stride - 1) / stride;
    return in >= ek ? (in - ek) / stride + 1 : 0;
}

/* TensorFlow puts the smaller half of SAME padding before, the larger after. */
int conv_pad_before(int in, int k, int stride, int dil, int padding)
{
    if (padding != TFL_PAD_SAME)
        return 0;
    int ek = (k - 1) * dil + 1;
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + ek - in;
    return total > 0 ? total / 2 : 0;
}
