/* readfile.c - reads files named on the command line, from a preopened
 * directory when run under graft (e.g. `graft run --dir data::ro
 * readfile.wasm data/numbers.txt`), from the working directory natively.
 *
 * For each file: size through fseek/ftell, then a chunked fread pass
 * computing the line count and a CRC-32, then a second pass with fscanf
 * summing the numbers it holds. A file that cannot be opened is reported
 * with its errno and the program exits 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static int report(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("%s: cannot open: errno %d (%s)\n", path, errno, strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char chunk[1000]; /* odd size: chunks straddle lines */
    size_t n, total = 0, lines = 0;
    uint32_t crc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        crc = crc32_update(crc, chunk, n);
        for (size_t i = 0; i < n; i++)
            lines += chunk[i] == '\n';
        total += n;
    }
    rewind(f);
    double sum = 0, x;
    long count = 0;
    while (fscanf(f, "%lf", &x) == 1) {
        sum += x;
        count++;
    }
    fclose(f);
    printf("%s: size=%ld read=%zu lines=%zu crc32=%08x numbers=%ld sum=%.6f\n", path, size,
           total, lines, (unsigned)crc, count, sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: readfile FILE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= report(argv[i]);
    return status;
}
