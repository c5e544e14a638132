/* env.c - the engine environment: budgeted allocation with fault
 * injection, module arenas, and graft_env's public functions.
 *
 * Every byte the engine takes goes through graft__realloc (or, for linear
 * memory that a port maps itself, graft__charge), so that in_use, peak and
 * the budget cover everything, and so that the fault-injection tests can
 * fail the k-th allocation wherever it happens. */
#include "env.h"

#include <string.h>

/* Round allocations to 8 bytes; the allocator contract promises that alignment. */
#define GR_ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

graft_result graft_env_new(const graft_env_config *cfg, graft_env **out)
{
    graft_alloc_fn fn = cfg && cfg->alloc ? cfg->alloc : graft_port_default_alloc();
    void *user = cfg && cfg->alloc ? cfg->alloc_user : NULL;
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    if (!fn) return GRAFT_ERR_API; /* the bare port has no default allocator */
    size_t budget = cfg ? cfg->budget : 0;
    if (budget && budget < sizeof(graft_env)) return GRAFT_ERR_RESOURCE;
    graft_env *env = fn(user, NULL, 0, sizeof(graft_env));
    if (!env) return GRAFT_ERR_RESOURCE;
    memset(env, 0, sizeof *env);
    env->alloc = fn;
    env->alloc_user = user;
    env->budget = budget;
    env->features = cfg ? cfg->features : 0;
    env->unmetered = cfg && cfg->unmetered;
    env->in_use = env->peak = sizeof(graft_env);
    graft__error_clear(&env->err);
    *out = env;
    return GRAFT_OK;
}

void graft_env_free(graft_env *env)
{
    if (!env) return;
    env->alloc(env->alloc_user, env, sizeof(graft_env), 0);
}

const graft_error *graft_env_error(const graft_env *env)
{
    return &env->err.pub;
}

void graft_env_stats(const graft_env *env, graft_alloc_stats *out)
{
    out->in_use = env->in_use;
    out->peak = env->peak;
    out->failures = env->failures;
}

void graft_env_fail_alloc_after(graft_env *env, uint64_t k)
{
    env->fail_after = k;
}

/* Decide whether growing in_use by `more` bytes is allowed: budget and
 * fault injection. Counts the refusal. */
static int admit(graft_env *env, size_t more)
{
    if (env->fail_after) {
        if (--env->fail_after == 0) {
            env->failures++;
            env->refusal = GR_REFUSED_INJECTED;
            return 0;
        }
    }
    if (env->budget && (more > env->budget || env->in_use > env->budget - more)) {
        env->failures++;
        env->refusal = GR_REFUSED_BUDGET;
        return 0;
    }
    env->refusal = GR_REFUSED_NONE;
    return 1;
}

static void account(graft_env *env, size_t old_size, size_t new_size)
{
    env->in_use = env->in_use - old_size + new_size;
    if (env->in_use > env->peak) env->peak = env->in_use;
}

void *graft__realloc(graft_env *env, void *ptr, size_t old_size, size_t new_size)
{
    if (new_size == 0) {
        if (ptr) {
            env->alloc(env->alloc_user, ptr, old_size, 0);
            account(env, old_size, 0);
        }
        return NULL;
    }
    if (new_size > old_size && !admit(env, new_size - old_size)) return NULL;
    void *p = env->alloc(env->alloc_user, ptr, ptr ? old_size : 0, new_size);
    if (!p) {
        env->failures++;
        env->refusal = GR_REFUSED_ALLOCATOR;
        return NULL;
    }
    account(env, ptr ? old_size : 0, new_size);
    return p;
}

void *graft__alloc(graft_env *env, size_t size)
{
    return graft__realloc(env, NULL, 0, size ? size : 1);
}

void *graft__calloc(graft_env *env, size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size) {
        env->failures++;
        env->refusal = GR_REFUSED_ALLOCATOR;
        return NULL;
    }
    size_t n = count * size;
    void *p = graft__alloc(env, n);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

void graft__free(graft_env *env, void *ptr, size_t size)
{
    if (ptr) graft__realloc(env, ptr, size ? size : 1, 0);
}

void *graft_env_realloc(graft_env *env, void *ptr, size_t old_size, size_t new_size)
{
    /* The port's view: the allocator itself. memory.c has charged the
     * committed bytes with graft__charge, so nothing is counted here. */
    if (new_size == 0) {
        if (ptr) env->alloc(env->alloc_user, ptr, old_size, 0);
        return NULL;
    }
    return env->alloc(env->alloc_user, ptr, ptr ? old_size : 0, new_size);
}

int graft__charge(graft_env *env, size_t bytes)
{
    if (!admit(env, bytes)) return 0;
    account(env, 0, bytes);
    return 1;
}

void graft__uncharge(graft_env *env, size_t bytes)
{
    account(env, bytes, 0);
}

graft_result graft__oom(graft_env *env, gr_errbuf *e, uint64_t offset, uint32_t func,
                        const char *fmt, ...)
{
    char what[GR_MSG_CAP / 2];
    va_list ap;
    va_start(ap, fmt);
    graft__vfmt(what, sizeof what, fmt, ap);
    va_end(ap);
    switch (env->refusal) {
    case GR_REFUSED_BUDGET:
        return graft__error(e, GRAFT_E_BUDGET_EXHAUSTED, offset, func,
                            "%s (budget of %zu bytes, %zu in use)", what, env->budget,
                            env->in_use);
    case GR_REFUSED_INJECTED:
        return graft__error(e, GRAFT_E_OUT_OF_MEMORY, offset, func, "%s (injected failure)", what);
    default:
        return graft__error(e, GRAFT_E_OUT_OF_MEMORY, offset, func, "%s", what);
    }
}

/* ---- Arenas ---------------------------------------------------------------- */

struct gr_arena_chunk {
    gr_arena_chunk *next;
    size_t size;            /* bytes of this chunk, header included */
};

#define GR_CHUNK_HDR GR_ALIGN8(sizeof(gr_arena_chunk))
#define GR_CHUNK_MIN 4096u

void graft__arena_init(gr_arena *a, graft_env *env)
{
    a->env = env;
    a->head = NULL;
    a->used = a->cap = a->total = 0;
}

void *graft__arena_alloc(gr_arena *a, size_t size)
{
    size = GR_ALIGN8(size ? size : 1);
    if (!a->head || a->cap - a->used < size) {
        /* Chunks grow with the arena, so big modules take few chunks and
         * small ones stay small. */
        size_t want = GR_CHUNK_MIN;
        if (a->total / 2 > want) want = a->total / 2;
        if (size > (size_t)-1 - GR_CHUNK_HDR) {
            a->env->refusal = GR_REFUSED_ALLOCATOR;
            return NULL;
        }
        if (size + GR_CHUNK_HDR > want) want = size + GR_CHUNK_HDR;
        gr_arena_chunk *c = graft__alloc(a->env, want);
        if (!c) return NULL;
        c->next = a->head;
        c->size = want;
        a->head = c;
        a->used = GR_CHUNK_HDR;
        a->cap = want;
        a->total += want;
    }
    uint8_t *p = (uint8_t *)a->head + a->used;
    a->used += size;
    memset(p, 0, size);
    return p;
}

void graft__arena_free_all(gr_arena *a)
{
    gr_arena_chunk *c = a->head;
    while (c) {
        gr_arena_chunk *next = c->next;
        graft__free(a->env, c, c->size);
        c = next;
    }
    a->head = NULL;
    a->used = a->cap = a->total = 0;
}

int graft__name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}
