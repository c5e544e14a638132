/* env.h - the engine environment's insides: allocation with a budget,
 * module arenas, and error reporting. Every engine file includes this.
 *
 * Internal cross-file symbols are prefixed graft__ (two underscores), so
 * that the static library exports nothing outside the graft_ namespace and
 * links into any firmware. File-local helpers are static and unprefixed. */
#ifndef GR_ENV_H
#define GR_ENV_H

#include <graft.h>
#include <graft_port.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define GR_MSG_CAP 512      /* bytes kept for one error message */
#define GR_TRACE_CAP 2048   /* bytes kept for one backtrace */

/* An error slot, embedded in each handle that reports errors (env, store). */
typedef struct gr_errbuf {
    graft_error pub;            /* what graft_*_error returns; points into the buffers */
    char msg[GR_MSG_CAP];       /* message text */
    char trace[GR_TRACE_CAP];   /* backtrace text, traps only */
} gr_errbuf;

/* Why the most recent allocation request was refused, so that error sites
 * can say so (graft__oom). */
typedef enum gr_refusal {
    GR_REFUSED_NONE = 0,    /* the last request was admitted */
    GR_REFUSED_ALLOCATOR,   /* the allocator (or the port) returned NULL, or the size overflowed */
    GR_REFUSED_BUDGET,      /* graft_env_config.budget would have been exceeded */
    GR_REFUSED_INJECTED     /* graft_env_fail_alloc_after */
} gr_refusal;

struct graft_env {
    graft_alloc_fn alloc;   /* the embedder's allocator (or the port default) */
    void *alloc_user;       /* its user pointer */
    size_t budget;          /* 0 = unlimited */
    uint32_t features;      /* GRAFT_FEATURE_* bits enabled for loading */
    uint8_t unmetered;      /* compile modules without fuel charges */
    size_t in_use;          /* bytes currently allocated, linear memory included */
    size_t peak;            /* high-water mark of in_use */
    size_t failures;        /* refused requests */
    uint64_t fail_after;    /* fault injection: fail when this counts down to 0 (0 = off) */
    gr_refusal refusal;     /* why the last refused request was refused */
    gr_errbuf err;          /* last load error */
};

/* ---- Allocation through the env (budgeted, fault-injectable) ---------- */

/* Allocate size bytes (not zeroed). NULL when the allocator or the budget
 * refuses. */
void *graft__alloc(graft_env *env, size_t size);
/* Allocate and zero. */
void *graft__calloc(graft_env *env, size_t count, size_t size);
void *graft__realloc(graft_env *env, void *ptr, size_t old_size, size_t new_size);
void graft__free(graft_env *env, void *ptr, size_t size);
/* Charge or release bytes that the port allocates itself (committed linear
 * memory). Returns false when the budget or fault injection refuses. */
int graft__charge(graft_env *env, size_t bytes);
void graft__uncharge(graft_env *env, size_t bytes);

/* ---- Arenas: a module's lifetime is one arena ------------------------- */

typedef struct gr_arena_chunk gr_arena_chunk;
typedef struct gr_arena {
    graft_env *env;
    gr_arena_chunk *head;   /* newest chunk first */
    size_t used;            /* bytes used in head */
    size_t cap;             /* bytes available in head */
    size_t total;           /* bytes of all chunks, for statistics */
} gr_arena;

void graft__arena_init(gr_arena *a, graft_env *env);
/* 8-byte aligned, zeroed. NULL when out of memory. */
void *graft__arena_alloc(gr_arena *a, size_t size);
void graft__arena_free_all(gr_arena *a);

/* ---- Errors ----------------------------------------------------------- */

/* THE first-detection function: every error the engine reports goes through
 * here, so one breakpoint catches them all. Sets e to the catalogue entry
 * `code`, with "text: details" built from fmt when fmt is non-NULL, and
 * returns the entry's class. offset is a byte offset in the module or
 * GRAFT_NO_OFFSET; func a function index or GRAFT_NO_INDEX.
 *
 * fmt understands %s %d %u %x %llu %lld %llx %zu %c and %% only (no floats),
 * so that the engine needs no libc formatter on a microcontroller. */
graft_result graft__error(gr_errbuf *e, graft_error_code code, uint64_t offset, uint32_t func,
                          const char *fmt, ...);
graft_result graft__verror(gr_errbuf *e, graft_error_code code, uint64_t offset, uint32_t func,
                           const char *fmt, va_list ap);
void graft__error_clear(gr_errbuf *e);
/* The one report for a refused allocation, used by every site: the
 * catalogue entry follows env's last refusal, GRAFT_E_BUDGET_EXHAUSTED
 * naming the budget and what is in use when the budget refused, else
 * GRAFT_E_OUT_OF_MEMORY (noting an injected failure). fmt says what was
 * being allocated. */
graft_result graft__oom(graft_env *env, gr_errbuf *e, uint64_t offset, uint32_t func,
                        const char *fmt, ...);
graft_result graft__error_class(graft_error_code code);

/* Bounded formatting with the same subset; always NUL-terminates; returns
 * the length written. */
size_t graft__fmt(char *buf, size_t cap, const char *fmt, ...);
size_t graft__vfmt(char *buf, size_t cap, const char *fmt, va_list ap);

/* Small libc-free helpers (the engine avoids string.h beyond memcpy,
 * memmove, memset, memcmp, which every freestanding toolchain provides). */
int graft__name_eq(const char *a, size_t alen, const char *b, size_t blen);

#endif
