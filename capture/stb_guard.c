/*
 * Checks of what libstb 2.27 (Debian 12's) trusts in a file, made before it
 * sees the file (all of it is in memory by then), each found by fuzzing.
 *
 * A JPEG's Huffman tables: libstb 2.27
 * (Debian 12's) trusts the 16 code counts of a DHT segment and writes their
 * sum, up to 16 x 255, into arrays of 257 and 256 entries (found by
 * fuzzing; later libstb refuses more than 256 codes, as the JPEG standard
 * allows no more). The walk follows the markers as libstb reads them:
 * bytes that are not a marker (entropy-coded data, garbage) are skipped one
 * by one, a segment by its length, and the tables inside a DHT segment one
 * after another by their counts. Every read is checked against len.
 *
 * And the tables a scan uses: libstb 2.27 neither clears its tables nor
 * checks that a scan's were defined, and decodes with what the memory
 * held, indexing its arrays with it (an index of -2030035006, found by
 * fuzzing). A scan must use tables that a DHT before it defined: the DC
 * and AC tables of each component in a baseline frame; in a progressive
 * one the DC table in a first DC scan, the AC table in an AC scan.
 */
#include <string.h>

#include "capture/source_internal.h"

/* The tables of the DHT segment whose payload (L bytes by its length
 * field) starts at p: 0 when one declares more than 256 codes. Marks the
 * tables it defines in defined[class][id]. */
static int dht_ok(const uint8_t *data, size_t len, size_t p, long remaining, unsigned char defined[2][4])
{
    while (remaining > 0) {
        if (p >= len)
            return 1;
        if (data[p] >> 4 <= 1 && (data[p] & 15) <= 3)
            defined[data[p] >> 4][data[p] & 15] = 1;
        long codes = 0;
        for (size_t i = 1; i <= 16 && p + i < len; i++) /* libstb reads zeros past the end */
            codes += data[p + i];
        if (codes > 256)
            return 0;
        p += 17 + (size_t)codes;
        remaining -= 17 + codes;
    }
    return 1;
}

/* The Huffman tables scan `sos` (the payload of an SOS segment) decodes
 * with, in a frame that is progressive or not: 0 when one was never
 * defined (defined[class][id]). Bytes past len read as 0, as in libstb. */
static int scan_tables_defined(const uint8_t *data, size_t len, size_t sos, int progressive,
                               const unsigned char defined[2][4])
{
#define AT(i) ((i) < len ? data[(i)] : 0)
    unsigned ns = AT(sos);
    unsigned ss = AT(sos + 1 + 2 * ns), ah = AT(sos + 3 + 2 * ns) >> 4;
    for (unsigned i = 0; i < ns; i++) {
        unsigned td = AT(sos + 2 + 2 * i) >> 4, ta = AT(sos + 2 + 2 * i) & 15;
        if (td > 3 || ta > 3)
            continue; /* libstb refuses the scan itself */
        int dc = progressive ? ss == 0 && ah == 0 : 1, ac = progressive ? ss > 0 : 1;
        if ((dc && !defined[0][td]) || (ac && !defined[1][ta]))
            return 0;
    }
    return 1;
#undef AT
}

int jpeg_tables_ok(const uint8_t *data, size_t len, int until_frame)
{
    /* libstb takes any number of 0xFF fill bytes before the start of image */
    size_t pos = 0;
    while (pos < len && data[pos] == 0xFF)
        pos++;
    if (pos == 0 || pos >= len || data[pos] != 0xD8)
        return 1;
    pos++;
    unsigned char defined[2][4] = {{0}};
    int progressive = 0;
    while (pos + 1 < len) {
        if (data[pos] != 0xFF) {
            pos++;
            continue;
        }
        unsigned m = data[pos + 1];
        if (m == 0xFF) { /* fill byte */
            pos++;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { /* no length field */
            pos += 2;
            continue;
        }
        if (m == 0xD9)
            return !until_frame;
        if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
            if (until_frame)
                return 1; /* libstb's header read stops at the frame header */
            progressive = m == 0xC2;
        }
        if (pos + 4 > len)
            break;
        size_t seg = (size_t)data[pos + 2] << 8 | data[pos + 3];
        if (m == 0xC4 && !dht_ok(data, len, pos + 4, (long)seg - 2, defined))
            return 0;
        if (m == 0xDA && !scan_tables_defined(data, len, pos + 4, progressive, defined))
            return -1;
        pos += 2 + (seg < 2 ? 2 : seg);
    }
    /* the end: everything there was is checked; a header read that did not
     * reach a frame header may still look past what we were given */
    return !until_frame;
}

/* A PNG's chunks: libstb 2.27 grows its buffer for the image data to what
 * an IDAT chunk's length field says before reading it, so 500 bytes that
 * declare a 1.7 GB chunk made it allocate 2 GiB. Every chunk up to IEND
 * must lie inside the file. */
int png_chunks_ok(const uint8_t *data, size_t len, uint32_t *bad_length)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    *bad_length = 0;
    if (len < 8 || memcmp(data, signature, 8) != 0)
        return 1;
    size_t pos = 8;
    while (len - pos >= 8) {
        uint32_t length = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                          data[pos + 3];
        if (length > len - pos - 8) {
            *bad_length = length;
            return 0;
        }
        if (memcmp(data + pos + 4, "IEND", 4) == 0)
            return 1;
        pos += 8 + (size_t)length;
        pos += len - pos < 4 ? len - pos : 4; /* the CRC */
    }
    return 1;
}
