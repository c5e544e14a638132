/* pool.c - a pool allocator over a caller-supplied buffer, for targets with
 * no malloc (the Cortex-M build uses it).
 *
 * Layout: the graft_pool control block sits at the start of the buffer;
 * the rest is a sequence of blocks, each with an 8-byte header
 *
 *     [ u32 size | free bit ][ u32 prev_size ][ payload ... ]
 *
 * where size counts the header and is a multiple of 8, and prev_size is the
 * size of the physically preceding block (0 for the first), so that a freed
 * block can merge with both neighbours without footers. Free blocks keep a
 * doubly linked free list in their payload as u32 offsets from the heap
 * start (GR_POOL_NIL terminates). Allocation is first fit with splitting;
 * freeing coalesces immediately, so the heap never holds two adjacent free
 * blocks. Offsets are 32-bit: one pool holds at most 4 GiB.
 *
 * The pool keeps in-use, high-water and failure counters in bytes of
 * payload requested (not of block size), matching graft_alloc_stats. */
#include "env.h"

#include <string.h>

#define GR_POOL_NIL 0xFFFFFFFFu
#define GR_HDR 8u
#define GR_MIN_BLOCK 16u   /* header + two free-list links */
#define GR_FREE_BIT 1u

struct graft_pool {
    uint8_t *heap;        /* first block */
    uint32_t heap_size;   /* bytes of blocks */
    uint32_t free_head;   /* offset of the first free block, or NIL */
    size_t in_use;        /* payload bytes handed out */
    size_t peak;          /* high-water mark of in_use */
    size_t failures;      /* requests refused */
};

typedef struct block {
    uint32_t size_free;   /* size | free bit */
    uint32_t prev_size;
    uint32_t next_free;   /* free blocks only */
    uint32_t prev_free;   /* free blocks only */
} block;

static block *at(graft_pool *p, uint32_t off) { return (block *)(void *)(p->heap + off); }
static uint32_t off_of(graft_pool *p, block *b) { return (uint32_t)((uint8_t *)b - p->heap); }
static uint32_t bsize(const block *b) { return b->size_free & ~GR_FREE_BIT; }
static int is_free(const block *b) { return (int)(b->size_free & GR_FREE_BIT); }

static block *next_phys(graft_pool *p, block *b)
{
    uint32_t off = off_of(p, b) + bsize(b);
    return off < p->heap_size ? at(p, off) : NULL;
}

static block *prev_phys(graft_pool *p, block *b)
{
    return b->prev_size ? at(p, off_of(p, b) - b->prev_size) : NULL;
}

static void list_remove(graft_pool *p, block *b)
{
    if (b->prev_free != GR_POOL_NIL) at(p, b->prev_free)->next_free = b->next_free;
    else p->free_head = b->next_free;
    if (b->next_free != GR_POOL_NIL) at(p, b->next_free)->prev_free = b->prev_free;
}

static void list_push(graft_pool *p, block *b)
{
    uint32_t off = off_of(p, b);
    b->prev_free = GR_POOL_NIL;
    b->next_free = p->free_head;
    if (p->free_head != GR_POOL_NIL) at(p, p->free_head)->prev_free = off;
    p->free_head = off;
}

/* Set b's size and keep the following block's prev_size in step. */
static void set_size(graft_pool *p, block *b, uint32_t size, int free_)
{
    b->size_free = size | (free_ ? GR_FREE_BIT : 0);
    block *n = next_phys(p, b);
    if (n) n->prev_size = size;
}

/* Cut b (in use) down to `need` bytes when the rest can form a block; the
 * rest is freed and merged with its successor. */
static void split(graft_pool *p, block *b, uint32_t need)
{
    uint32_t size = bsize(b);
    if (size - need < GR_MIN_BLOCK) return;
    set_size(p, b, need, 0);
    block *rest = at(p, off_of(p, b) + need);
    rest->prev_size = need;
    set_size(p, rest, size - need, 1);
    block *n = next_phys(p, rest);
    if (n && is_free(n)) {
        list_remove(p, n);
        set_size(p, rest, bsize(rest) + bsize(n), 1);
    }
    list_push(p, rest);
}

graft_pool *graft_pool_create(void *buf, size_t size)
{
    uintptr_t start = ((uintptr_t)buf + 7u) & ~(uintptr_t)7u;
    size_t skew = start - (uintptr_t)buf;
    size_t ctl = (sizeof(graft_pool) + 7u) & ~(size_t)7u;
    if (!buf || size < skew + ctl + GR_MIN_BLOCK) return NULL;
    size_t heap = (size - skew - ctl) & ~(size_t)7u;
    if (heap > 0xFFFFFFF0u) heap = 0xFFFFFFF0u;
    graft_pool *p = (graft_pool *)start;
    memset(p, 0, sizeof *p);
    p->heap = (uint8_t *)start + ctl;
    p->heap_size = (uint32_t)heap;
    block *b = at(p, 0);
    b->prev_size = 0;
    b->size_free = (uint32_t)heap | GR_FREE_BIT;
    p->free_head = GR_POOL_NIL;
    list_push(p, b);
    return p;
}

static uint32_t block_need(size_t n)
{
    if (n > 0xFFFFFFF0u - GR_HDR) return 0;
    uint32_t need = (uint32_t)((n + GR_HDR + 7u) & ~(size_t)7u);
    return need < GR_MIN_BLOCK ? GR_MIN_BLOCK : need;
}

static void *pool_malloc(graft_pool *p, size_t n)
{
    uint32_t need = block_need(n);
    if (!need) return NULL;
    for (uint32_t off = p->free_head; off != GR_POOL_NIL; off = at(p, off)->next_free) {
        block *b = at(p, off);
        if (bsize(b) < need) continue;
        list_remove(p, b);
        set_size(p, b, bsize(b), 0);
        split(p, b, need);
        return (uint8_t *)b + GR_HDR;
    }
    return NULL;
}

static void pool_free(graft_pool *p, void *ptr)
{
    block *b = (block *)(void *)((uint8_t *)ptr - GR_HDR);
    block *n = next_phys(p, b);
    block *pv = prev_phys(p, b);
    uint32_t size = bsize(b);
    if (n && is_free(n)) {
        list_remove(p, n);
        size += bsize(n);
    }
    if (pv && is_free(pv)) {
        list_remove(p, pv);
        set_size(p, pv, bsize(pv) + size, 1);
        list_push(p, pv);
        return;
    }
    set_size(p, b, size, 1);
    list_push(p, b);
}

/* Grow b in place by absorbing a free successor; 1 on success. */
static int grow_in_place(graft_pool *p, block *b, uint32_t need)
{
    block *n = next_phys(p, b);
    if (!n || !is_free(n) || bsize(b) + bsize(n) < need) return 0;
    list_remove(p, n);
    set_size(p, b, bsize(b) + bsize(n), 0);
    split(p, b, need);
    return 1;
}

void *graft_pool_alloc(void *pool, void *ptr, size_t old_size, size_t new_size)
{
    graft_pool *p = pool;
    if (new_size == 0) {
        if (ptr) {
            pool_free(p, ptr);
            p->in_use -= old_size;
        }
        return NULL;
    }
    if (!ptr) {
        void *q = pool_malloc(p, new_size);
        if (!q) {
            p->failures++;
            return NULL;
        }
        p->in_use += new_size;
        if (p->in_use > p->peak) p->peak = p->in_use;
        return q;
    }
    block *b = (block *)(void *)((uint8_t *)ptr - GR_HDR);
    uint32_t need = block_need(new_size);
    if (need && bsize(b) >= need) {
        split(p, b, need);
    } else if (!need || !grow_in_place(p, b, need)) {
        void *q = need ? pool_malloc(p, new_size) : NULL;
        if (!q) {
            p->failures++;
            return NULL;
        }
        memcpy(q, ptr, old_size < new_size ? old_size : new_size);
        pool_free(p, ptr);
        ptr = q;
    }
    p->in_use = p->in_use - old_size + new_size;
    if (p->in_use > p->peak) p->peak = p->in_use;
    return ptr;
}

void graft_pool_stats(const graft_pool *pool, graft_alloc_stats *out)
{
    out->in_use = pool->in_use;
    out->peak = pool->peak;
    out->failures = pool->failures;
}
