/* sieve - the sieve of Eratosthenes over a byte array, redone for several
 * limits. SIZE is the largest limit. */
#include "kernel.h"

int main(int argc, char **argv)
{
    bench_args(argc, argv, "sieve");
    uint32_t n = bench_size;
    uint8_t *composite = malloc(n + 1);
    if (!composite)
        return 1;
    uint64_t h = BENCH_CHECK_INIT;
    for (uint32_t round = 0; round < 8; round++) {
        uint32_t limit = n - (bench_seed + round * 7919u) % (n / 4 + 1);
        memset(composite, 0, limit + 1);
        uint32_t count = 0;
        uint64_t sum = 0;
        for (uint32_t i = 2; i <= limit; i++) {
            if (composite[i])
                continue;
            count++;
            sum += i;
            for (uint64_t j = (uint64_t)i * i; j <= limit; j += i)
                composite[j] = 1;
        }
        h = bench_mix(h, count);
        h = bench_mix(h, sum);
    }
    free(composite);
    bench_print("sieve", h);
    return 0;
}
