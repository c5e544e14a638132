/* port.c (posix) - libc allocation and mmap-backed linear memory.
 *
 * A memory reserves address space for its largest possible size with
 * PROT_NONE and commits pages in place with mprotect, so its base never
 * moves. Freshly committed anonymous pages read as zero, and memories never
 * shrink, so a commit only ever widens the readable part. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <graft_port.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *libc_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

graft_alloc_fn graft_port_default_alloc(void)
{
    return libc_alloc;
}

static uint64_t page_round(uint64_t n)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

void *graft_port_mem_reserve(graft_env *env, uint64_t max_bytes, uint64_t initial_bytes)
{
    (void)env;
    /* Reserve at least one page so that a zero-sized memory still has a
     * unique, valid base. */
    uint64_t reserve = page_round(max_bytes ? max_bytes : 1);
    if (reserve > (uint64_t)SIZE_MAX) return NULL;
    void *base = mmap(NULL, (size_t)reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (base == MAP_FAILED) return NULL;
    if (initial_bytes && mprotect(base, (size_t)page_round(initial_bytes), PROT_READ | PROT_WRITE)) {
        munmap(base, (size_t)reserve);
        return NULL;
    }
    return base;
}

void *graft_port_mem_commit(graft_env *env, void *base, uint64_t max_bytes, uint64_t old_bytes,
                            uint64_t new_bytes)
{
    (void)env;
    (void)max_bytes;
    (void)old_bytes;
    if (new_bytes && mprotect(base, (size_t)page_round(new_bytes), PROT_READ | PROT_WRITE)) return NULL;
    return base;
}

void graft_port_mem_release(graft_env *env, void *base, uint64_t max_bytes, uint64_t committed_bytes)
{
    (void)env;
    (void)committed_bytes;
    if (base) munmap(base, (size_t)page_round(max_bytes ? max_bytes : 1));
}
