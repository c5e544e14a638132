/* pool.c - tests of the pool allocator and the env's budgeted allocation.
 *
 * The randomized part keeps a shadow table of live allocations, each filled
 * with a pattern derived from its id, and after every step checks that no
 * live block was overwritten (so overlapping blocks, bad splits or bad
 * merges show up), that in_use equals the sum of live sizes, and that
 * freeing everything returns the pool to one block big enough for a
 * near-total allocation. */
#include <graft.h>
#include <stdlib.h>

#include "harness.h"
#include "env.h"

#define LIVE 64

typedef struct live {
    uint8_t *p;
    size_t n;
    uint8_t tag;
} live;

static int intact(const live *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i] != (uint8_t)(l->tag + i)) return 0;
    return 1;
}

static void fill(live *l)
{
    for (size_t i = 0; i < l->n; i++) l->p[i] = (uint8_t)(l->tag + i);
}

static uint32_t rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_ops(void)
{
    static uint64_t buf[(1 << 20) / 8];
    graft_pool *pool = graft_pool_create(buf, sizeof buf);
    CHECK(pool != NULL);
    live l[LIVE] = {{0}};
    uint32_t seed = 12345;
    int corrupt = 0, stats_wrong = 0;
    for (int step = 0; step < 20000; step++) {
        live *x = &l[rng(&seed) % LIVE];
        size_t n = 1 + rng(&seed) % ((rng(&seed) & 7) ? 200 : 20000);
        if (!x->p) {
            x->p = graft_pool_alloc(pool, NULL, 0, n);
            if (x->p) { x->n = n; x->tag = (uint8_t)step; fill(x); }
        } else if (rng(&seed) & 1) {
            uint8_t *q = graft_pool_alloc(pool, x->p, x->n, n);
            if (q) {
                size_t keep = n < x->n ? n : x->n;
                live tmp = {q, keep, x->tag};
                if (!intact(&tmp)) corrupt++;
                x->p = q; x->n = n; fill(x);
            } else if (!intact(x)) {
                corrupt++;
            }
        } else {
            graft_pool_alloc(pool, x->p, x->n, 0);
            x->p = NULL; x->n = 0;
        }
        size_t sum = 0;
        for (int i = 0; i < LIVE; i++) {
            if (l[i].p && !intact(&l[i])) corrupt++;
            sum += l[i].n;
        }
        graft_alloc_stats st;
        graft_pool_stats(pool, &st);
        if (st.in_use != sum) stats_wrong++;
    }
    CHECK_EQ_INT(corrupt, 0);
    CHECK_EQ_INT(stats_wrong, 0);
    for (int i = 0; i < LIVE; i++)
        if (l[i].p) graft_pool_alloc(pool, l[i].p, l[i].n, 0);
    graft_alloc_stats st;
    graft_pool_stats(pool, &st);
    CHECK_EQ_INT(st.in_use, 0);
    CHECK(st.peak > 0);
    /* Everything coalesced back: one allocation of most of the pool fits. */
    void *big = graft_pool_alloc(pool, NULL, 0, sizeof buf - 1024);
    CHECK(big != NULL);
    graft_pool_alloc(pool, big, sizeof buf - 1024, 0);
}

static void exhaustion(void)
{
    static uint64_t buf[4096 / 8];
    graft_pool *pool = graft_pool_create(buf, sizeof buf);
    CHECK(pool != NULL);
    CHECK(graft_pool_alloc(pool, NULL, 0, 8192) == NULL);
    graft_alloc_stats st;
    graft_pool_stats(pool, &st);
    CHECK_EQ_INT(st.failures, 1);
    CHECK(graft_pool_create(buf, 8) == NULL);
}

static void env_budget(void)
{
    static uint64_t buf[(256 << 10) / 8];
    graft_pool *pool = graft_pool_create(buf, sizeof buf);
    graft_env_config cfg = {.alloc = graft_pool_alloc, .alloc_user = pool, .budget = 64 << 10};
    graft_env *env = NULL;
    CHECK_EQ_INT(graft_env_new(&cfg, &env), GRAFT_OK);
    void *a = graft__alloc(env, 32 << 10);
    CHECK(a != NULL);
    void *b = graft__alloc(env, 40 << 10); /* over the 64 KiB budget */
    CHECK(b == NULL);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.failures, 1);
    CHECK(st.in_use >= (32u << 10));
    graft__free(env, a, 32 << 10);
    /* Fault injection: the 2nd allocation from now fails, the 3rd works. */
    graft_env_fail_alloc_after(env, 2);
    void *c = graft__alloc(env, 16);
    void *d = graft__alloc(env, 16);
    void *e = graft__alloc(env, 16);
    CHECK(c != NULL);
    CHECK(d == NULL);
    CHECK(e != NULL);
    graft__free(env, c, 16);
    graft__free(env, e, 16);
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
    graft_pool_stats(pool, &st);
    CHECK_EQ_INT(st.in_use, 0);
}

static void arena(void)
{
    graft_env *env = NULL;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    gr_arena a;
    graft__arena_init(&a, env);
    int misaligned = 0, nonzero = 0;
    for (int i = 1; i < 2000; i++) {
        uint8_t *p = graft__arena_alloc(&a, (size_t)(i % 97) + (i % 10 == 0 ? 9000 : 0));
        if ((uintptr_t)p % 8) misaligned++;
        for (int k = 0; k < i % 97; k++) if (p[k]) nonzero++;
        memset(p, 0xAB, (size_t)(i % 97));
    }
    CHECK_EQ_INT(misaligned, 0);
    CHECK_EQ_INT(nonzero, 0);
    graft__arena_free_all(&a);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
}

static void errors(void)
{
    gr_errbuf e;
    graft_result r = graft__error(&e, GRAFT_E_UNEXPECTED_END, 0x1c, GRAFT_NO_INDEX,
                                  "section %u at offset 0x%llx (%s, %d, %zu)", 3u,
                                  (unsigned long long)0x1c, "code", -5, (size_t)7);
    CHECK_EQ_INT(r, GRAFT_ERR_MALFORMED);
    CHECK_EQ_STR(e.pub.message, "unexpected end: section 3 at offset 0x1c (code, -5, 7)");
    CHECK_EQ_U64(e.pub.offset, 0x1c);
    r = graft__error(&e, GRAFT_E_TRAP_DIV_ZERO, GRAFT_NO_OFFSET, 2, NULL);
    CHECK_EQ_INT(r, GRAFT_ERR_TRAP);
    CHECK_EQ_STR(e.pub.message, "integer divide by zero");
    char small[8];
    CHECK_EQ_INT(graft__fmt(small, sizeof small, "%s", "truncated text"), 7);
    CHECK_EQ_STR(small, "truncat");
}

int main(void)
{
    random_ops();
    exhaustion();
    env_budget();
    arena();
    errors();
    TEST_MAIN_END();
}
