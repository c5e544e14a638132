/* allocs.c - malloc-heavy work: a chained hash table of many small
 * heap-allocated strings, grown by realloc, then sorted and freed.
 *
 * Many allocations of assorted sizes, realloc of a growing array, frees in
 * an order unrelated to allocation, and a qsort over distinct keys (so the
 * output is the same whatever the sort's stability). Prints counts and a
 * checksum; every allocation failure is reported, not ignored. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key;            /* heap copy of the word */
    unsigned count;       /* occurrences */
    struct entry *next;   /* bucket chain */
} entry;

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "allocs: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->key, (*(entry *const *)b)->key);
}

int main(void)
{
    enum { NBUCKETS = 4096, NWORDS = 200000 };
    entry **buckets = calloc(NBUCKETS, sizeof *buckets);
    size_t distinct = 0, bytes = 0;
    if (!buckets)
        return 1;
    for (int i = 0; i < NWORDS; i++) {
        char word[32];
        int len = 1 + (int)(rng() % 5);
        for (int k = 0; k < len; k++)
            word[k] = (char)('a' + rng() % 8);
        word[len] = '\0';
        uint32_t b = hash(word) % NBUCKETS;
        entry *e = buckets[b];
        while (e && strcmp(e->key, word))
            e = e->next;
        if (!e) {
            e = xmalloc(sizeof *e);
            e->key = xmalloc((size_t)len + 1);
            memcpy(e->key, word, (size_t)len + 1);
            e->count = 0;
            e->next = buckets[b];
            buckets[b] = e;
            distinct++;
            bytes += (size_t)len + 1;
        }
        e->count++;
    }
    entry **all = NULL;
    size_t n = 0, cap = 0;
    for (int b = 0; b < NBUCKETS; b++)
        for (entry *e = buckets[b]; e; e = e->next) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                entry **grown = realloc(all, cap * sizeof *grown);
                if (!grown)
                    return 1;
                all = grown;
            }
            all[n++] = e;
        }
    qsort(all, n, sizeof *all, by_key);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + all[i]->count * (i + 1);
    printf("words=%d distinct=%zu key-bytes=%zu checksum=%llu\n", NWORDS, distinct, bytes,
           (unsigned long long)sum);
    printf("first=%s:%u last=%s:%u\n", all[0]->key, all[0]->count, all[n - 1]->key,
           all[n - 1]->count);
    /* big blocks too: grow one buffer to 8 MiB step by step */
    char *buf = NULL;
    size_t size = 0;
    for (size_t want = 1024; want <= ((size_t)8 << 20); want *= 2) {
        char *grown = realloc(buf, want);
        if (!grown) {
            fprintf(stderr, "allocs: realloc to %zu failed\n", want);
            return 1;
        }
        memset(grown + size, (int)(want & 0x7f), want - size);
        buf = grown;
        size = want;
    }
    unsigned long tally = 0;
    for (size_t i = 0; i < size; i += 4096)
        tally += (unsigned char)buf[i];
    printf("grown to %zu bytes, tally=%lu\n", size, tally);
    free(buf);
    for (size_t i = 0; i < n; i += 2) { /* free in two interleaved passes */
        free(all[i]->key);
        free(all[i]);
    }
    for (size_t i = 1; i < n; i += 2) {
        free(all[i]->key);
        free(all[i]);
    }
    free(all);
    free(buckets);
    printf("freed all\n");
    return 0;
}
