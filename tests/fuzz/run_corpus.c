/*
 * Runs a libFuzzer target's entry point once on every file of the corpus
 * directories given, without libFuzzer: what CI does with the seed corpus
 * (the target itself is built with the ordinary compiler, and under ASan in
 * the robustness suite). Exit status 1 when a directory is unreadable or
 * holds no inputs.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        uint8_t *grown = len == cap ? realloc(buf, cap *= 2) : buf;
        if (!grown)
            free(buf);
        buf = grown;
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "%s: cannot read the corpus directory\n", argv[i]);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            if (names[k]->d_name[0] != '.') {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
                if (run_file(path) != 0) {
                    fprintf(stderr, "%s: cannot read\n", path);
                    return 1;
                }
                ran++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("%d corpus inputs ran\n", ran);
    return ran > 0 ? 0 : 1;
}
