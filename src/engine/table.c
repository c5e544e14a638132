/* table.c - tables [spec 4.2.7]: creation, growth and the public accessors.
 *
 * Data structure: a graft_table is a heap array of `alloc` void* entries of
 * which the first `size` are live. An entry is a graft_func* in a funcref
 * table and the host's pointer in an externref table; NULL is the null
 * reference in both. The array grows geometrically up to `cap` (the
 * declared maximum clipped to the store's max_table_elems), so a loop of
 * table.grow 1 stays linear; when the geometric step is refused it retries
 * with the exact size before answering -1.
 *
 * Ownership: the store owns each table (object list) and its array; the
 * entries are references into the store (or host pointers), not owned. */
#include "runtime.h"

/* [spec 4.5.3.4 alloctable] */
graft_result graft_table_new(graft_store *s, graft_valtype elem_type, graft_limits limits,
                             graft_table **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    graft__error_clear(&s->err);
    if (elem_type != GRAFT_FUNCREF && elem_type != GRAFT_EXTERNREF)
        return graft__error(&s->err, GRAFT_E_VALUE_TYPE_MISMATCH, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "table element type 0x%x is not a reference type",
                            (unsigned)elem_type);
    if (limits.has_max && limits.max < limits.min)
        return graft__error(&s->err, GRAFT_E_LIMITS_MIN_MAX, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "table min %u, max %u", limits.min, limits.max);
    uint32_t cap = limits.has_max ? limits.max : UINT32_MAX;
    if (cap > s->limits.max_table_elems) cap = s->limits.max_table_elems;
    if (limits.min > cap)
        return graft__error(&s->err, GRAFT_E_LIMIT_EXCEEDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "table of %u elements exceeds the limit of %u elements", limits.min,
                            cap);

    graft_table *t = graft__calloc(s->env, 1, sizeof *t);
    if (!t) goto fail;
    t->elems = graft__calloc(s->env, limits.min, sizeof(void *));
    if (!t->elems) goto free_table;
    t->store = s;
    t->size = t->alloc = limits.min;
    t->cap = cap;
    t->elem = (gr_valtype)elem_type;
    t->limits.min = limits.min;
    t->limits.max = limits.max;
    t->limits.has_max = limits.has_max;
    graft__store_adopt(s, &t->obj, GR_OBJ_TABLE);
    *out = t;
    return GRAFT_OK;

free_table:
    graft__free(s->env, t, sizeof *t);
fail:
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "table of %u elements",
                      limits.min);
}

/* Make room for at least want entries; 0 when refused. */
static int reserve_entries(graft_table *t, uint32_t want)
{
    if (want <= t->alloc) return 1;
    graft_env *env = t->store->env;
    uint64_t step = (uint64_t)t->alloc * 2;
    if (step < 8) step = 8;
    if (step > t->cap) step = t->cap;
    uint32_t tries[2] = {step > want ? (uint32_t)step : want, want};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && tries[1] == tries[0]) break;
        uint32_t n = tries[i];
        if ((uint64_t)n * sizeof(void *) > (size_t)-1) continue;
        /* An empty table holds graft__calloc's one-byte block. */
        size_t old_bytes = t->alloc ? (size_t)t->alloc * sizeof(void *) : 1;
        void **p = graft__realloc(env, t->elems, old_bytes, (size_t)n * sizeof(void *));
        if (p) {
            t->elems = p;
            t->alloc = n;
            return 1;
        }
    }
    return 0;
}

/* [spec 4.5.3.8 growtable] table.grow's semantics: old size, or -1 for
 * every refusal. */
int64_t graft__table_grow(graft_table *t, uint32_t delta, void *init)
{
    uint32_t old = t->size;
    if ((uint64_t)old + delta > t->cap) return -1;
    uint32_t n = old + delta;
    if (!reserve_entries(t, n)) return -1;
    for (uint32_t i = old; i < n; i++) t->elems[i] = init;
    t->size = n;
    t->limits.min = n;
    return old;
}

uint32_t graft_table_size(const graft_table *t)
{
    return t->size;
}

graft_result graft_table_get(const graft_table *t, uint32_t i, graft_val *out)
{
    graft_store *s = t->store;
    graft__error_clear(&s->err);
    if (i >= t->size)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "index %u out of range for a table of %u elements", i, t->size);
    out->type = (graft_valtype)t->elem;
    if (t->elem == GRAFT_FUNCREF)
        out->of.funcref = t->elems[i];
    else
        out->of.externref = t->elems[i];
    return GRAFT_OK;
}
