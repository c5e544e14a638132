/* crc32 - the reflected CRC-32 (polynomial 0xEDB88320), table-driven one
 * byte at a time, over a 64 KiB buffer SIZE times; one byte changes
 * between passes so no pass repeats another. */
#include "kernel.h"

#define BUF_LEN 65536

static uint32_t table[256];

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "crc32");
    static uint8_t buf[BUF_LEN];
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    for (size_t i = 0; i < BUF_LEN; i++)
        buf[i] = (uint8_t)bench_rand(&r);
    make_table();
    uint64_t h = BENCH_CHECK_INIT;
    for (uint32_t pass = 0; pass < bench_size; pass++) {
        uint32_t c = crc32(buf, BUF_LEN);
        h = bench_mix(h, c);
        buf[c % BUF_LEN] ^= (uint8_t)(c >> 24);
    }
    bench_print("crc32", h);
    return 0;
}
