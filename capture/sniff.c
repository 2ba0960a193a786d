/* What an input is, from its first bytes rather than its name. */
#include <limits.h>
#include <string.h>

#include <stb/stb_image.h>

#include "capture/source_internal.h"

input_kind sniff_input_kind(const uint8_t *head, size_t n)
{
    if (n >= 9 && memcmp(head, "YUV4MPEG2", 9) == 0)
        return INPUT_Y4M;
    /* Signatures of the formats stb_image decodes. */
    static const struct {
        const char *bytes;
        size_t len;
    } images[] = {
        {"\x89PNG\r\n\x1a\n", 8}, {"\xff\xd8\xff", 3}, {"GIF87a", 6},     {"GIF89a", 6},
        {"8BPS", 4},              {"#?RADIANCE\n", 11}, {"#?RGBE\n", 7}, {"\x53\x80\xf6\x34", 4},
    };
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        if (n >= images[i].len && memcmp(head, images[i].bytes, images[i].len) == 0)
            return INPUT_IMAGE;
    /* Binary PGM/PPM: "P5" or "P6" and a blank; BMP: "BM", then a file
     * size and two reserved zero words. */
    if (n >= 3 && head[0] == 'P' && (head[1] == '5' || head[1] == '6') && strchr(" \t\r\n", head[2]) && head[2])
        return INPUT_IMAGE;
    if (n >= 10 && head[0] == 'B' && head[1] == 'M' && !head[6] && !head[7] && !head[8] && !head[9])
        return INPUT_IMAGE;
    /* TGA has no signature: stb_image's own header check decides (after
     * the check libstb 2.27 needs on what it would take for a JPEG). */
    int w, h, comp;
    if (n <= INT_MAX && jpeg_tables_ok(head, n, 1) > 0 && stbi_info_from_memory(head, (int)n, &w, &h, &comp))
        return INPUT_IMAGE;
    return INPUT_VIDEO;
}
