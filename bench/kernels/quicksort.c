/* quicksort - sort SIZE pseudo-random 32-bit keys with a hand-written
 * quicksort (median of three, insertion sort below 16 elements, recursion
 * on the smaller side), twice: once random, once nearly sorted. */
#include "kernel.h"

static void insertion(uint32_t *v, long lo, long hi)
{
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t x = v[i];
        long j = i - 1;
        while (j >= lo && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static void swap(uint32_t *v, long i, long j)
{
    uint32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void quicksort(uint32_t *v, long lo, long hi)
{
    while (hi - lo >= 16) {
        long mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap(v, mid, lo);
        if (v[hi] < v[lo]) swap(v, hi, lo);
        if (v[hi] < v[mid]) swap(v, hi, mid);
        uint32_t pivot = v[mid];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                swap(v, i, j);
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    insertion(v, lo, hi);
}

static uint64_t digest(const uint32_t *v, uint32_t n)
{
    uint64_t h = BENCH_CHECK_INIT;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i && v[i - 1] > v[i])
            bad++;
        if (i % 97 == 0)
            h = bench_mix(h, v[i]);
    }
    return bench_mix(h, bad);
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "quicksort");
    uint32_t n = bench_size;
    uint32_t *v = malloc(sizeof(uint32_t) * n);
    if (!v)
        return 1;
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    for (uint32_t i = 0; i < n; i++)
        v[i] = bench_rand(&r);
    quicksort(v, 0, (long)n - 1);
    uint64_t h = digest(v, n);
    for (uint32_t k = 0; k < n / 64; k++)   /* disturb a few keys */
        swap(v, bench_rand(&r) % n, bench_rand(&r) % n);
    quicksort(v, 0, (long)n - 1);
    h = bench_mix(h, digest(v, n));
    free(v);
    bench_print("quicksort", h);
    return 0;
}
