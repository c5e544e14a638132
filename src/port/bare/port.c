/* port.c (bare) - a microcontroller port: no libc allocator, no virtual
 * memory. The embedder passes a graft_pool (or its own allocator) in
 * graft_env_config; linear memory is carved from that allocator and
 * resized on growth, so its base may move (the interpreter reloads it after
 * every memory.grow and call). */
#include <graft_port.h>

#include <string.h>

graft_alloc_fn graft_port_default_alloc(void)
{
    return NULL;
}

void *graft_port_mem_reserve(graft_env *env, uint64_t max_bytes, uint64_t initial_bytes)
{
    (void)max_bytes;
    if (initial_bytes > (uint64_t)(size_t)-1) return NULL;
    size_t n = initial_bytes ? (size_t)initial_bytes : 8;
    void *p = graft_env_realloc(env, NULL, 0, n);
    if (p) memset(p, 0, n);
    return p;
}

void *graft_port_mem_commit(graft_env *env, void *base, uint64_t max_bytes, uint64_t old_bytes,
                            uint64_t new_bytes)
{
    (void)max_bytes;
    if (new_bytes > (uint64_t)(size_t)-1) return NULL;
    size_t old_n = old_bytes ? (size_t)old_bytes : 8;
    size_t new_n = new_bytes ? (size_t)new_bytes : 8;
    uint8_t *p = graft_env_realloc(env, base, old_n, new_n);
    if (p && new_n > old_n) memset(p + old_n, 0, new_n - old_n);
    return p;
}

void graft_port_mem_release(graft_env *env, void *base, uint64_t max_bytes, uint64_t committed_bytes)
{
    (void)max_bytes;
    if (base) graft_env_realloc(env, base, committed_bytes ? (size_t)committed_bytes : 8, 0);
}
