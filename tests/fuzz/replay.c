/*
 * Replays fuzz corpora through a libFuzzer target without libFuzzer, so every
 * ordinary build (gcc, sanitizers) runs the seeds and past crashes as a
 * regression test.
 *
 * Usage: fuzz_replay DIR_OR_FILE...
 * Runs every regular file (directories: their files, in name order, not
 * recursive) through LLVMFuzzerTestOneInput. The target aborts on a bug, so
 * surviving all inputs is a pass. Exits 1 when no input was found at all, so
 * a misplaced corpus cannot pass silently. Each input is named on stderr
 * before it runs, so a failure names its reproducer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads @p path into an exact-size heap buffer (so over-reads are caught). */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL || (size > 0 && fread(buf, 1, size, f) != size)) {
        fprintf(stderr, "fuzz_replay: %s: read failed\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* Named before it runs: a crash report that follows is this input's. */
    fprintf(stderr, "fuzz_replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(buf, size);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_entry(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0)
                runs++;
            else
                failed = 1;
            continue;
        }
        struct dirent **names = NULL;
        int n = scandir(argv[i], &names, skip_entry, by_name);
        if (n < 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
            struct stat fst;
            if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
                if (run_file(path) == 0)
                    runs++;
                else
                    failed = 1;
            }
            free(names[j]);
        }
        free(names);
    }
    printf("fuzz_replay: %zu inputs replayed without a failure\n", runs);
    if (runs == 0) {
        fprintf(stderr, "fuzz_replay: no inputs found\n");
        return 1;
    }
    return failed;
}
