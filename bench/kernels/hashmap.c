/* hashmap - strings and malloc: SIZE times build a word from the random
 * stream (3 to 12 letters), count it in a chained hash map that owns a
 * malloc'd copy of each key and grows by rehashing; then look up, delete
 * every key with an odd count and join the survivors' first letters. */
#include "kernel.h"

typedef struct entry {
    struct entry *next;
    char *key;
    uint32_t hash, count;
} entry;

typedef struct {
    entry **slots;
    uint32_t cap, len;
} map;

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static void map_grow(map *m)
{
    uint32_t ncap = m->cap ? m->cap * 2 : 64;
    entry **ns = calloc(ncap, sizeof *ns);
    if (!ns)
        exit(1);
    for (uint32_t i = 0; i < m->cap; i++)
        for (entry *e = m->slots[i], *next; e; e = next) {
            next = e->next;
            e->next = ns[e->hash & (ncap - 1)];
            ns[e->hash & (ncap - 1)] = e;
        }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

static entry *map_find(map *m, const char *key, uint32_t h)
{
    if (!m->cap)
        return NULL;
    for (entry *e = m->slots[h & (m->cap - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void map_add(map *m, const char *key)
{
    uint32_t h = hash_str(key);
    entry *e = map_find(m, key, h);
    if (e) {
        e->count++;
        return;
    }
    if (m->len + 1 > m->cap * 3 / 4)
        map_grow(m);
    e = malloc(sizeof *e);
    size_t len = strlen(key);
    e->key = malloc(len + 1);
    if (!e || !e->key)
        exit(1);
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->count = 1;
    e->next = m->slots[h & (m->cap - 1)];
    m->slots[h & (m->cap - 1)] = e;
    m->len++;
}

static void random_word(bench_rng *r, char *w, uint32_t vocab)
{
    /* A limited vocabulary so words repeat: pick a word number, spell it. */
    uint32_t id = bench_rand(r) % vocab;
    bench_rng wr;
    bench_rng_init(&wr, id);
    int len = 3 + (int)(bench_rand(&wr) % 10);
    for (int i = 0; i < len; i++)
        w[i] = (char)('a' + bench_rand(&wr) % 26);
    w[len] = 0;
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "hashmap");
    map m = { 0 };
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    uint32_t vocab = bench_size / 4 + 1;
    char w[16];
    for (uint32_t i = 0; i < bench_size; i++) {
        random_word(&r, w, vocab);
        map_add(&m, w);
    }
    uint64_t h = BENCH_CHECK_INIT;
    uint32_t found = 0;
    for (uint32_t i = 0; i < bench_size / 2; i++) {
        random_word(&r, w, vocab * 2);
        entry *e = map_find(&m, w, hash_str(w));
        if (e) {
            found++;
            h = bench_mix(h, e->count);
        }
    }
    h = bench_mix(h, found);
    h = bench_mix(h, m.len);
    size_t joined_cap = 16, joined_len = 0;
    char *joined = malloc(joined_cap);
    for (uint32_t i = 0; i < m.cap; i++) {
        entry **pp = &m.slots[i];
        while (*pp) {
            entry *e = *pp;
            if (e->count & 1) {
                *pp = e->next;
                free(e->key);
                free(e);
                m.len--;
                continue;
            }
            if (joined_len + 2 > joined_cap) {
                joined_cap *= 2;
                joined = realloc(joined, joined_cap);
                if (!joined)
                    return 1;
            }
            joined[joined_len++] = e->key[0];
            pp = &e->next;
        }
    }
    joined[joined_len] = 0;
    h = bench_mix(h, hash_str(joined));
    h = bench_mix(h, m.len);
    for (uint32_t i = 0; i < m.cap; i++)
        for (entry *e = m.slots[i], *next; e; e = next) {
            next = e->next;
            free(e->key);
            free(e);
        }
    free(m.slots);
    free(joined);
    bench_print("hashmap", h);
    return 0;
}
