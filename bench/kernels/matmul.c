/* matmul - double-precision matrix multiply, C = A * B for SIZE x SIZE
 * matrices (i-k-j loop order), then B = C scaled, three times. */
#include "kernel.h"

int main(int argc, char **argv)
{
    bench_args(argc, argv, "matmul");
    uint32_t n = bench_size;
    double *a = malloc(sizeof(double) * n * n);
    double *b = malloc(sizeof(double) * n * n);
    double *c = malloc(sizeof(double) * n * n);
    if (!a || !b || !c)
        return 1;
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    for (uint32_t i = 0; i < n * n; i++) {
        a[i] = (double)(bench_rand(&r) % 2001) / 1000.0 - 1.0;
        b[i] = (double)(bench_rand(&r) % 2001) / 1000.0 - 1.0;
    }
    uint64_t h = BENCH_CHECK_INIT;
    for (int rep = 0; rep < 3; rep++) {
        for (uint32_t i = 0; i < n * n; i++)
            c[i] = 0.0;
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < n; k++) {
                double aik = a[i * n + k];
                const double *brow = b + k * n;
                double *crow = c + i * n;
                for (uint32_t j = 0; j < n; j++)
                    crow[j] += aik * brow[j];
            }
        double trace = 0.0;
        for (uint32_t i = 0; i < n; i++)
            trace += c[i * n + i];
        h = bench_mix_double(h, trace);
        /* Keep values bounded: the next B is C divided by n. */
        for (uint32_t i = 0; i < n * n; i++)
            b[i] = c[i] / (double)n;
    }
    h = bench_mix_double(h, c[(n * n) / 2]);
    free(a);
    free(b);
    free(c);
    bench_print("matmul", h);
    return 0;
}
