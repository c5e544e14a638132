/* bigout.c - writes far more than 64 KiB to standard output (about 1 MiB
 * by default, or as many lines as argv[1] says), through printf, puts and
 * one large fwrite, so the host sees many writes, partial-write retries
 * and writes larger than one pipe buffer. Ends with a checksum line. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long lines = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    unsigned long sum = 0;
    for (long i = 0; i < lines; i++) {
        /* 64-bit on purpose: long is 32 bits on wasm32 */
        int n = printf("line %06ld: the quick brown fox jumps over the lazy dog %" PRIu64 "\n",
                       i, (uint64_t)i * 2654435761u % 1000003u);
        sum += (unsigned long)n;
    }
    static char block[200000];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (i % 64 == 63) ? '\n' : (char)('A' + i % 26);
    sum += fwrite(block, 1, sizeof block, stdout);
    puts("done");
    fprintf(stderr, "bigout: wrote %lu bytes before the last line\n", sum);
    return 0;
}
