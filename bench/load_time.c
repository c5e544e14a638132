/* load_time.c - compile throughput of libgraft: load (decode, validate,
 * compile) one module REPS times through the public API and report the
 * median load time, the code-section bytes, the internal code bytes and
 * MB/s of code-section bytes. bench/run builds it against build/libgraft.a:
 *
 *   load_time MODULE.wasm [REPS]      (default 20)
 *
 * Output, one line: "code_bytes internal_bytes median_seconds mb_per_s".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "graft.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: load_time MODULE.wasm [REPS]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (reps < 1)
        reps = 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc((size_t)len);
    if (!bytes || fread(bytes, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "load_time: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);

    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) {
        fprintf(stderr, "load_time: graft_env_new failed\n");
        return 1;
    }
    double *t = malloc(sizeof(double) * (size_t)reps);
    size_t internal = 0, code = 0;
    for (int i = 0; i < reps; i++) {
        graft_module *m;
        double t0 = now();
        graft_result r = graft_module_load(env, bytes, (size_t)len, &m);
        t[i] = now() - t0;
        if (r != GRAFT_OK) {
            fprintf(stderr, "load_time: %s: %s\n", argv[1], graft_result_name(r));
            return 1;
        }
        graft_module_code_size(m, &internal, &code);
        graft_module_free(m);
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    double med = t[reps / 2];
    printf("%zu %zu %.6f %.1f\n", code, internal, med, (double)code / med / 1e6);
    free(t);
    free(bytes);
    graft_env_free(env);
    return 0;
}
