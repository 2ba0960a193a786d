/*
 * libFuzzer target: the label map (labels_load on a file holding the
 * input). Taken, it has one name per line, each NUL-free; refused, one line
 * names the file.
 */
#include "fuzz_input.h"

#include "ssdlite/ssdlite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_input_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    labels l;
    char err[512] = "";
    int rc = labels_load(&l, path, err, sizeof err);
    close(fd);
    fuzz_check_message(rc, err, path);
    if (rc == 0) {
        size_t lines = 0, total = 0;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        if (size && data[size - 1] != '\n')
            lines++;
        if ((size_t)l.count != lines) {
            fprintf(stderr, "labels: %d names for %zu lines\n", l.count, lines);
            abort();
        }
        for (int i = 0; i < l.count; i++)
            total += strlen(labels_get(&l, i));
        if (labels_get(&l, -1) || labels_get(&l, l.count)) {
            fprintf(stderr, "labels: a name out of range\n");
            abort();
        }
        volatile size_t sink = total;
        (void)sink;
        labels_free(&l);
    }
    return 0;
}
