/* memory.c - linear memories [spec 4.2.8]: creation, growth and the
 * public accessors.
 *
 * Data structure: a graft_memory holds a base pointer from the port and its
 * committed size. At creation the port reserves room for the largest size
 * the memory may ever reach (cap_pages: the declared maximum, or 65536
 * pages, clipped to the store's max_memory_pages) and commits the initial
 * pages; growth commits more. Every committed byte is charged to the env's
 * budget before the port is asked for it (graft__charge), and uncharged when
 * the store frees the memory (store.c), so a hostile module declaring a huge
 * memory fails cleanly with GRAFT_ERR_RESOURCE instead of exhausting the
 * host. The base may move on ports without virtual memory, so the
 * interpreter reloads it after every grow and call.
 *
 * Ownership: the store owns each memory (it is on the store's object list
 * from the moment it exists); the port owns the mapping behind data. */
#include "runtime.h"

#define GR_PAGE 65536u

static graft_result budget_error(graft_store *s, uint64_t pages)
{
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                      "memory of %llu pages (%llu bytes)",
                        (unsigned long long)pages, (unsigned long long)pages * GR_PAGE);
}

/* [spec 4.5.3.5 allocmem] */
graft_result graft_memory_new(graft_store *s, graft_limits limits, graft_memory **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    graft__error_clear(&s->err);
    if (limits.has_max && limits.max < limits.min)
        return graft__error(&s->err, GRAFT_E_LIMITS_MIN_MAX, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "memory min %u, max %u", limits.min, limits.max);
    uint32_t cap = limits.has_max && limits.max < GR_PAGE ? limits.max : GR_PAGE;
    if (cap > s->limits.max_memory_pages) cap = s->limits.max_memory_pages;
    if (limits.min > cap)
        return graft__error(&s->err, GRAFT_E_LIMIT_EXCEEDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "memory of %u pages exceeds the limit of %u pages", limits.min, cap);

    graft_memory *m = graft__calloc(s->env, 1, sizeof *m);
    if (!m)
        return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "memory object");
    uint64_t initial = (uint64_t)limits.min * GR_PAGE;
    uint64_t reserve = (uint64_t)cap * GR_PAGE;
    if (initial > (size_t)-1 || !graft__charge(s->env, (size_t)initial)) {
        graft__free(s->env, m, sizeof *m);
        return budget_error(s, limits.min);
    }
    m->data = graft_port_mem_reserve(s->env, reserve, initial);
    if (!m->data) goto uncharge;
    m->store = s;
    m->size = initial;
    m->pages = limits.min;
    m->cap_pages = cap;
    m->reserved = reserve;
    m->limits.min = limits.min;
    m->limits.max = limits.max;
    m->limits.has_max = limits.has_max;
    graft__store_adopt(s, &m->obj, GR_OBJ_MEMORY);
    *out = m;
    return GRAFT_OK;

uncharge:
    graft__uncharge(s->env, (size_t)initial);
    graft__free(s->env, m, sizeof *m);
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                      "reserving memory of %u pages (up to %u)", limits.min, cap);
}

/* [spec 4.5.3.9 growmem] memory.grow's semantics: -1 for every refusal,
 * never a trap and never a crash. */
int64_t graft__memory_grow(graft_memory *m, uint32_t delta)
{
    uint32_t old = m->pages;
    if (delta == 0) return old;
    if ((uint64_t)old + delta > m->cap_pages) return -1;
    uint64_t new_pages = (uint64_t)old + delta;
    uint64_t more = (uint64_t)delta * GR_PAGE, new_size = new_pages * GR_PAGE;
    if (more > (size_t)-1 || new_size > (size_t)-1) return -1;
    graft_env *env = m->store->env;
    if (!graft__charge(env, (size_t)more)) return -1;
    uint8_t *base = graft_port_mem_commit(env, m->data, m->reserved, m->size, new_size);
    if (!base) {
        graft__uncharge(env, (size_t)more);
        return -1;
    }
    m->data = base;
    m->size = new_size;
    m->pages = (uint32_t)new_pages;
    m->limits.min = m->pages;
    return old;
}

uint8_t *graft_memory_data(graft_memory *mem)
{
    return mem->data;
}

uint64_t graft_memory_size(const graft_memory *mem)
{
    return mem->size;
}

graft_result graft_memory_grow(graft_memory *mem, uint32_t delta, uint32_t *out_old_pages)
{
    graft_store *s = mem->store;
    graft__error_clear(&s->err);
    int64_t old = graft__memory_grow(mem, delta);
    if (old < 0) {
        if ((uint64_t)mem->pages + delta > mem->cap_pages)
            return graft__error(&s->err, GRAFT_E_LIMIT_EXCEEDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                                "memory of %u pages cannot grow by %u past %u pages", mem->pages,
                                delta, mem->cap_pages);
        return budget_error(s, (uint64_t)mem->pages + delta);
    }
    if (out_old_pages) *out_old_pages = (uint32_t)old;
    return GRAFT_OK;
}
