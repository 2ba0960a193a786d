/*
 * For the fuzz targets whose parser takes a path: the input bytes as a
 * memory file (memfd), named by its /proc/self/fd path, so that the parser
 * opens, maps and reads it as it would a file on disk.
 */
#ifndef MNV2DET_FUZZ_INPUT_H
#define MNV2DET_FUZZ_INPUT_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding data[0..size), its path in path; -1 when it cannot be
 * made (the target then skips the input). */
static inline int fuzz_input_file(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

/* An error message must be one line that names the input. */
static inline void fuzz_check_message(int rc, const char *err, const char *name)
{
    if (rc < 0 && (strstr(err, name) == NULL || strchr(err, '\n') != NULL)) {
        fprintf(stderr, "bad error message for %d: '%s' (should name %s)\n", rc, err, name);
        abort();
    }
}

#endif
