/* stdin_stats.c - reads all of standard input and reports on it.
 *
 * Counts bytes, lines, words and the longest line, sums every integer it
 * finds, and echoes each line reversed, so both buffered line reading
 * (getline) and end-of-file handling are exercised, with input of any
 * size (the tests feed a few hundred KiB). */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lines = 0, words = 0, bytes = 0, longest = 0;
    long long numbers = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lines++;
        bytes += (unsigned long)len;
        if ((unsigned long)len > longest)
            longest = (unsigned long)len;
        bool in_word = false;
        for (ssize_t i = 0; i < len; i++) {
            bool space = isspace((unsigned char)line[i]);
            if (!space && !in_word)
                words++;
            in_word = !space;
        }
        for (char *p = line; *p;) {
            if (isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
                char *end;
                numbers += strtoll(p, &end, 10);
                p = end;
            } else {
                p++;
            }
        }
        if (lines <= 20) {
            ssize_t n = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
            printf("%4lu: ", lines);
            for (ssize_t i = n - 1; i >= 0; i--)
                putchar(line[i]);
            putchar('\n');
        }
    }
    if (ferror(stdin)) {
        perror("stdin_stats: read");
        return 1;
    }
    free(line);
    printf("lines=%lu words=%lu bytes=%lu longest=%lu sum=%lld\n", lines, words, bytes, longest,
           numbers);
    return 0;
}
