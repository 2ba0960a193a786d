/*
 * The EXIF orientation of a JPEG: which way its stored pixels must be turned
 * to be shown upright (phones store the sensor's rows and say so here).
 * Reads the first APP1 "Exif\0\0" segment before the image data: a TIFF
 * header (byte order II or MM), IFD0, tag 0x0112. Every offset and count
 * from the file is checked against the bytes there are before it is used;
 * anything malformed means "as stored".
 */
#include <string.h>

#include "capture/capture.h"

#define ORIENTATION_TAG 0x0112
#define TIFF_SHORT 3

typedef struct tiff {
    const uint8_t *p;
    size_t len;
    int big_endian;
} tiff;

static unsigned get16(const tiff *t, size_t at)
{
    const uint8_t *b = t->p + at;
    return t->big_endian ? (unsigned)b[0] << 8 | b[1] : (unsigned)b[1] << 8 | b[0];
}

static uint32_t get32(const tiff *t, size_t at)
{
    const uint8_t *b = t->p + at;
    return t->big_endian ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                         : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Orientation from a TIFF block of len bytes, 1 when absent or malformed. */
static int tiff_orientation(const uint8_t *p, size_t len)
{
    tiff t = {p, len, 0};
    if (len < 8)
        return 1;
    if (p[0] == 'I' && p[1] == 'I')
        t.big_endian = 0;
    else if (p[0] == 'M' && p[1] == 'M')
        t.big_endian = 1;
    else
        return 1;
    if (get16(&t, 2) != 42)
        return 1;
    uint32_t ifd = get32(&t, 4);
    if (ifd < 8 || ifd > len || len - ifd < 2)
        return 1;
    unsigned count = get16(&t, ifd);
    size_t entries = (len - ifd - 2) / 12; /* whole entries the block holds */
    if (count > entries)
        return 1;
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + (size_t)i * 12;
        if (get16(&t, e) != ORIENTATION_TAG)
            continue;
        /* One SHORT, stored in the first two bytes of the value field. */
        if (get16(&t, e + 2) != TIFF_SHORT || get32(&t, e + 4) != 1)
            return 1;
        unsigned v = get16(&t, e + 8);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int exif_orientation(const uint8_t *data, size_t len)
{
    if (len < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return 1;
    size_t pos = 2;
    while (len - pos >= 4) {
        if (data[pos] != 0xFF)
            return 1;
        unsigned marker = data[pos + 1];
        if (marker == 0xFF) { /* fill byte before a marker */
            pos++;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { /* no length field */
            pos += 2;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) /* image data or end: no EXIF came first */
            return 1;
        size_t seg = (size_t)data[pos + 2] << 8 | data[pos + 3]; /* counts its own 2 bytes */
        if (seg < 2 || seg > len - pos - 2)
            return 1;
        if (marker == 0xE1 && seg >= 2 + 6 && memcmp(data + pos + 4, "Exif\0\0", 6) == 0)
            return tiff_orientation(data + pos + 10, seg - 8);
        pos += 2 + seg;
    }
    return 1;
}
