/* kernel.h - shared by the benchmark kernels in bench/kernels/.
 *
 * Every kernel is run as `KERNEL SIZE SEED`: both come from argv so the
 * compiler cannot fold the work, and every kernel ends by printing one line
 * "NAME checksum=HEX" that native and every wasm runtime must agree on.
 * The sizes the runner and the test use are in bench/kernels/sizes.
 */
#ifndef BENCH_KERNEL_H
#define BENCH_KERNEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bench_size;   /* SIZE from argv */
static uint32_t bench_seed;

/* bench_args: parse SIZE and SEED (both required, decimal). */
static inline void bench_args(int argc, char **argv, const char *name)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIZE SEED\n", name);
        exit(2);
    }
    bench_size = (uint32_t)strtoul(argv[1], NULL, 10);
    bench_seed = (uint32_t)strtoul(argv[2], NULL, 10);
}

/* A xorshift32 generator: small, deterministic, never zero. */
typedef struct { uint32_t s; } bench_rng;

static inline void bench_rng_init(bench_rng *r, uint32_t seed)
{
    r->s = seed * 2654435761u + 0x9e3779b9u;
    if (r->s == 0)
        r->s = 1;
}

static inline uint32_t bench_rand(bench_rng *r)
{
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return r->s = x;
}

/* Fold a 64-bit value into a running checksum (FNV-1a over its bytes). */
static inline uint64_t bench_mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

static inline uint64_t bench_mix_double(uint64_t h, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bench_mix(h, bits);
}

#define BENCH_CHECK_INIT 0xcbf29ce484222325ull

static inline void bench_print(const char *name, uint64_t checksum)
{
    printf("%s checksum=%016llx\n", name, (unsigned long long)checksum);
}

#endif
