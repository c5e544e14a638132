/* graft.h - the only public header of libgraft, Graft's WebAssembly engine.
 *
 * Objects and who owns them:
 *
 *   graft_env       the engine environment: allocator, budget, load errors.
 *                   Owns every graft_module loaded through it.
 *   graft_module    decoded, validated and compiled code. Immutable after
 *                   graft_module_load; many instances, in many stores, may
 *                   share one module read-only.
 *   graft_store     one sandbox: instances, their memories, tables, globals
 *                   and functions, the name registry used to link imports,
 *                   the execution stack, limits and the last runtime error.
 *                   Freeing the store frees everything in it.
 *   graft_instance, graft_func, graft_table, graft_memory, graft_global
 *                   objects inside a store; they live as long as the store.
 *
 * Errors: every fallible call returns a graft_result. GRAFT_OK is 0. The
 * message and its details stay on the handle that the call was made on
 * (graft_env_error for loading, graft_store_error for everything else) until
 * the next fallible call on that handle.
 *
 * Threads: an env may be used by one thread at a time while loading; a loaded
 * module may be shared by any number of threads. A store, and every object in
 * it, is used by one thread at a time. The only exception is
 * graft_store_interrupt, which any thread or signal handler may call.
 *
 * Names (import and export names, module names) are byte strings with an
 * explicit length: WebAssembly names may contain NUL.
 *
 * No global state: two environments in one process never interfere. */
#ifndef GRAFT_H
#define GRAFT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRAFT_VERSION_MAJOR 0
#define GRAFT_VERSION_MINOR 1
#define GRAFT_VERSION_PATCH 0
#define GRAFT_VERSION_STRING "0.1.0"

#if defined(GRAFT_SHARED_BUILD) && defined(__GNUC__)
#define GRAFT_API __attribute__((visibility("default")))
#else
#define GRAFT_API
#endif

/* ---- Results and errors ------------------------------------------------ */

typedef enum graft_result {
    GRAFT_OK = 0,
    GRAFT_ERR_MALFORMED, /* the bytes are not a well-formed module */
    GRAFT_ERR_INVALID,   /* well-formed, but fails validation */
    GRAFT_ERR_LINK,      /* an import is missing or has the wrong type */
    GRAFT_ERR_TRAP,      /* execution trapped (start function included) */
    GRAFT_ERR_RESOURCE,  /* out of memory, budget or a configured limit */
    GRAFT_ERR_IO,        /* a host I/O operation failed */
    GRAFT_ERR_SECURITY,  /* refused by a capability or confinement check */
    GRAFT_ERR_API,       /* the embedder passed something wrong */
    GRAFT_EXIT,          /* the guest asked to exit (WASI proc_exit) */
    GRAFT_SUSPENDED      /* out of fuel in suspend mode: add fuel and graft_resume */
} graft_result;

/* Fine-grained error codes, one per catalogue entry: GRAFT_E_TYPE_MISMATCH... */
typedef enum graft_error_code {
#define GRAFT_ERROR(name, cls, text) GRAFT_E_##name,
#include "graft_errors.def"
#undef GRAFT_ERROR
    GRAFT_E_COUNT_
} graft_error_code;

#define GRAFT_NO_OFFSET ((uint64_t)-1)
#define GRAFT_NO_INDEX ((uint32_t)-1)

/* Details of the last error on a handle. Strings are owned by the handle and
 * valid until the next fallible call on it. */
typedef struct graft_error {
    graft_result result;     /* the class, as returned */
    graft_error_code code;   /* the catalogue entry */
    const char *message;     /* catalogue text, then ": details"; never NULL */
    uint64_t offset;         /* byte offset in the module, or GRAFT_NO_OFFSET */
    uint32_t func_index;     /* function index, or GRAFT_NO_INDEX */
    const char *backtrace;   /* traps: one line per frame, innermost first; else "" */
    int32_t exit_code;       /* GRAFT_EXIT: the code the guest passed */
} graft_error;

GRAFT_API const char *graft_result_name(graft_result r);
GRAFT_API const char *graft_error_code_text(graft_error_code c);

/* ---- Values ------------------------------------------------------------ */

/* Value types, numbered by their binary encoding [spec 5.3.1]. */
typedef enum graft_valtype {
    GRAFT_I32 = 0x7F,
    GRAFT_I64 = 0x7E,
    GRAFT_F32 = 0x7D,
    GRAFT_F64 = 0x7C,
    GRAFT_V128 = 0x7B,
    GRAFT_FUNCREF = 0x70,
    GRAFT_EXTERNREF = 0x6F
} graft_valtype;

/* The text-format name of a value type ("i32", "funcref"), or "unknown". */
GRAFT_API const char *graft_valtype_name(graft_valtype t);

typedef struct graft_env graft_env;
typedef struct graft_module graft_module;
typedef struct graft_store graft_store;
typedef struct graft_instance graft_instance;
typedef struct graft_func graft_func;
typedef struct graft_table graft_table;
typedef struct graft_memory graft_memory;
typedef struct graft_global graft_global;

/* A typed value. Floats travel as raw IEEE-754 bits so that NaN payloads,
 * signalling ones included, survive the API unchanged. A null funcref is
 * NULL; an externref is any pointer the host chooses, NULL being null. */
typedef struct graft_val {
    graft_valtype type;
    union {
        int32_t i32;
        int64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        graft_func *funcref;
        void *externref;
    } of;
} graft_val;

/* One untyped 64-bit cell of the execution stack, as host functions see
 * their arguments and results. Read and write the member of the value's
 * type; floats as bits. */
typedef union graft_slot {
    int32_t i32;
    int64_t i64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    void *ref;
    uint64_t raw;
} graft_slot;

/* ---- Environment and allocation --------------------------------------- */

/* realloc-shaped allocator, told the old size (Lua style):
 *   new_size == 0      free ptr (old_size bytes), return NULL;
 *   ptr == NULL        allocate new_size bytes;
 *   otherwise          resize; on failure return NULL and keep ptr intact.
 * Returned memory must be aligned for any C object (at least 8 bytes). */
typedef void *(*graft_alloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);

typedef struct graft_env_config {
    graft_alloc_fn alloc;  /* NULL: the port's default (libc on posix) */
    void *alloc_user;      /* passed to alloc */
    size_t budget;         /* bytes across everything this env allocates,
                              linear memory included; 0 means unlimited */
    uint32_t features;     /* GRAFT_FEATURE_* bits beyond WebAssembly 2.0; 0 = none */
    bool unmetered;        /* modules loaded through this env are compiled
                              without fuel charges: they run a little faster,
                              but only in stores whose fuel mode is
                              GRAFT_FUEL_OFF (see "Fuel" below) */
} graft_env_config;

/* Proposals beyond 2.0, each off unless its bit is set in
 * graft_env_config.features; modules that use a feature that is off fail to
 * load exactly as a 2.0 engine would reject them. */
#define GRAFT_FEATURE_TAIL_CALL 0x1u       /* return_call, return_call_indirect */
#define GRAFT_FEATURE_EXTENDED_CONST 0x2u  /* i32/i64 add, sub, mul in constant expressions */

/* Create an environment. cfg may be NULL for defaults. On failure *out is
 * NULL and the result says why (there is no handle to hold a message). */
GRAFT_API graft_result graft_env_new(const graft_env_config *cfg, graft_env **out);
/* Free the environment. Every module and store made from it must be freed first. */
GRAFT_API void graft_env_free(graft_env *env);
GRAFT_API const graft_error *graft_env_error(const graft_env *env);

/* Allocation statistics of an environment, in bytes. */
typedef struct graft_alloc_stats {
    size_t in_use;     /* currently allocated */
    size_t peak;       /* high-water mark of in_use */
    size_t failures;   /* allocation requests refused (budget or allocator) */
} graft_alloc_stats;
GRAFT_API void graft_env_stats(const graft_env *env, graft_alloc_stats *out);

/* Test hook: make the k-th allocation from now fail (1 = the next one);
 * 0 turns it off. Used by the fault-injection tests. */
GRAFT_API void graft_env_fail_alloc_after(graft_env *env, uint64_t k);

/* A pool allocator over a caller-supplied buffer, for targets with no
 * malloc. The pool's control block lives at the start of buf. Returns NULL
 * when buf is too small to hold it. Pass graft_pool_alloc and the pool as
 * graft_env_config.alloc and .alloc_user. */
typedef struct graft_pool graft_pool;
GRAFT_API graft_pool *graft_pool_create(void *buf, size_t size);
GRAFT_API void *graft_pool_alloc(void *pool, void *ptr, size_t old_size, size_t new_size);
GRAFT_API void graft_pool_stats(const graft_pool *pool, graft_alloc_stats *out);

/* ---- Modules ------------------------------------------------------------ */

/* Decode, validate and compile a binary module. The bytes are not retained:
 * the caller may free them once this returns. Errors land on env:
 * GRAFT_ERR_MALFORMED, GRAFT_ERR_INVALID or GRAFT_ERR_RESOURCE, with the
 * byte offset of the problem. */
GRAFT_API graft_result graft_module_load(graft_env *env, const uint8_t *bytes, size_t len,
                                         graft_module **out);
/* Free a module. Stores with instances of it must be freed first. */
GRAFT_API void graft_module_free(graft_module *m);

typedef enum graft_extern_kind {
    GRAFT_EXTERN_FUNC = 0,
    GRAFT_EXTERN_TABLE = 1,
    GRAFT_EXTERN_MEMORY = 2,
    GRAFT_EXTERN_GLOBAL = 3
} graft_extern_kind;

/* Limits of a table or memory; memory limits count 64 KiB pages. */
typedef struct graft_limits {
    uint32_t min;
    uint32_t max;     /* meaningful only when has_max */
    bool has_max;
} graft_limits;

/* A function type: params then results, pointers owned by the module or store. */
typedef struct graft_functype {
    const graft_valtype *params;
    uint32_t nparams;
    const graft_valtype *results;
    uint32_t nresults;
} graft_functype;

/* The description of an import or export, for inspection and linking. */
typedef struct graft_extern_desc {
    const char *module;      /* imports only; NULL for exports */
    size_t module_len;
    const char *name;
    size_t name_len;
    graft_extern_kind kind;
    graft_functype func;     /* GRAFT_EXTERN_FUNC */
    graft_valtype elem_type; /* GRAFT_EXTERN_TABLE */
    graft_limits limits;     /* GRAFT_EXTERN_TABLE and GRAFT_EXTERN_MEMORY */
    graft_valtype global_type; /* GRAFT_EXTERN_GLOBAL */
    bool global_mutable;
    uint32_t index;          /* index in its kind's index space */
} graft_extern_desc;

GRAFT_API uint32_t graft_module_import_count(const graft_module *m);
GRAFT_API void graft_module_import(const graft_module *m, uint32_t i, graft_extern_desc *out);
GRAFT_API uint32_t graft_module_export_count(const graft_module *m);
GRAFT_API void graft_module_export(const graft_module *m, uint32_t i, graft_extern_desc *out);

typedef struct graft_custom_section {
    const char *name;
    size_t name_len;
    uint64_t offset;   /* of the section's contents in the module bytes */
    uint32_t size;     /* contents' size in bytes */
} graft_custom_section;
GRAFT_API uint32_t graft_module_custom_count(const graft_module *m);
GRAFT_API void graft_module_custom(const graft_module *m, uint32_t i, graft_custom_section *out);
/* The function's name from the name section, or NULL. */
GRAFT_API const char *graft_module_func_name(const graft_module *m, uint32_t func_index, size_t *out_len);
/* Size of the compiled internal code in bytes, and the code section size it came from. */
GRAFT_API void graft_module_code_size(const graft_module *m, size_t *out_internal, size_t *out_wasm);

/* ---- Stores ------------------------------------------------------------- */

/* Per-store limits. Zero in any field means the documented default. */
typedef struct graft_store_limits {
    uint32_t max_call_depth;    /* frames; default 10000 */
    uint32_t max_stack_slots;   /* 8-byte value-stack cells; default 1 Mi (8 MiB),
                                   allocated with the frame stack on the
                                   store's first call and charged to the
                                   budget. Up to the default it is allocated
                                   in full (or the call fails for memory);
                                   above it, it is a ceiling: the largest
                                   halving the budget grants, never below the
                                   default, becomes the limit, and deeper
                                   calls trap "call stack exhausted" */
    uint32_t max_memory_pages;  /* cap on any memory's size; default and
                                   upper bound 65536 (4 GiB) */
    uint32_t max_table_elems;   /* cap on any table's size; default 10 000 000 */
} graft_store_limits;

GRAFT_API graft_result graft_store_new(graft_env *env, const graft_store_limits *limits,
                                       graft_store **out);
GRAFT_API void graft_store_free(graft_store *s);
GRAFT_API const graft_error *graft_store_error(const graft_store *s);
GRAFT_API graft_env *graft_store_env(const graft_store *s);

/* Ask the store's running call to stop at its next check (loop back-edge
 * or call). Safe from any thread and from signal handlers. */
GRAFT_API void graft_store_interrupt(graft_store *s);

/* ---- Fuel: deterministic metering (docs/engine.md, "Fuel") --------------
 * One unit of fuel is one WebAssembly instruction executed; bulk operations
 * and host functions charge for their work as documented. The count for a
 * given module and input is the same on every platform and in every build. */

typedef enum graft_fuel_mode {
    GRAFT_FUEL_OFF = 0,    /* no metering (the default) */
    GRAFT_FUEL_TRAP,       /* running out traps "out of fuel"; the store stays usable */
    GRAFT_FUEL_SUSPEND     /* running out returns GRAFT_SUSPENDED; add fuel and
                              graft_resume continues exactly where it stopped */
} graft_fuel_mode;

/* Unmetered code (graft_env_config.unmetered) carries no charges, so it
 * cannot be metered. A store whose fuel mode is not GRAFT_FUEL_OFF refuses
 * to run it: graft_call, graft_resume and graft_instance_new fail with
 * GRAFT_ERR_API (GRAFT_E_BAD_ARGUMENT, the message naming the unmetered
 * module) while the store holds an instance of an unmetered module, or is
 * given one to instantiate. Switching the store back to GRAFT_FUEL_OFF lifts
 * the refusal; fuel consumed by unmetered code is not counted. */

/* Set the store's fuel tank and what happens when it runs dry. */
GRAFT_API void graft_store_set_fuel(graft_store *s, graft_fuel_mode mode, uint64_t fuel);
GRAFT_API void graft_store_add_fuel(graft_store *s, uint64_t fuel);
/* Fuel left in the tank, and fuel consumed since graft_store_set_fuel. */
GRAFT_API uint64_t graft_store_fuel(const graft_store *s);
GRAFT_API uint64_t graft_store_fuel_consumed(const graft_store *s);
/* Continue a call that returned GRAFT_SUSPENDED, writing its results when it
 * completes; it may suspend again. GRAFT_ERR_API when nothing is suspended. */
GRAFT_API graft_result graft_resume(graft_store *s, graft_val *results, size_t nresults);
/* Drop a suspended call; the store is then idle and usable. */
GRAFT_API void graft_abandon(graft_store *s);
/* The fuel a host function costs per call, charged at the call before the
 * host runs (default 1). No effect on WebAssembly functions. */
GRAFT_API void graft_func_set_cost(graft_func *f, uint64_t units);

/* ---- Host objects and the registry ------------------------------------ */

typedef struct graft_caller graft_caller;

/* A host function. slots holds the arguments on entry (slots[i] for param i)
 * and receives the results (slots[i] for result i); it has room for
 * max(nparams, nresults) cells. Return GRAFT_OK, or an error result: the
 * call then fails with it (use graft_caller_trap to set a message, or
 * graft_caller_exit for WASI proc_exit). */
typedef graft_result (*graft_host_fn)(graft_caller *caller, graft_slot *slots, void *user);

/* Access to the calling instance from inside a host function. */
GRAFT_API graft_store *graft_caller_store(graft_caller *c);
GRAFT_API graft_instance *graft_caller_instance(graft_caller *c);
/* The caller's memory 0, or NULL when it has none. */
GRAFT_API graft_memory *graft_caller_memory(graft_caller *c);
/* Whether the store's interrupt flag is set (graft_store_interrupt), so a
 * long-running host function can stop early, typically by returning
 * graft_caller_trap(c, ...). It does not clear the flag: the engine
 * answers it at its next check, or the call's error ends the call. */
GRAFT_API bool graft_caller_interrupted(graft_caller *c);
/* Charge `units` of fuel for the host function's own work, from inside it
 * (docs/engine.md, "Fuel"), on top of its per-call cost. With GRAFT_FUEL_OFF
 * it only counts (graft_store_fuel_consumed). When the tank cannot pay, it
 * takes nothing, sets the trap "out of fuel" (GRAFT_E_TRAP_OUT_OF_FUEL) on
 * the store and returns GRAFT_ERR_TRAP: the host function returns that, and
 * the call traps at the host call. A host call never suspends midway, so
 * GRAFT_FUEL_SUSPEND behaves as GRAFT_FUEL_TRAP here. GRAFT_OK when paid. */
GRAFT_API graft_result graft_caller_charge(graft_caller *c, uint64_t units);
/* Fail the call as a trap with the given message (copied). Returns GRAFT_ERR_TRAP. */
GRAFT_API graft_result graft_caller_trap(graft_caller *c, const char *message);
/* End the call with GRAFT_EXIT and the given exit code. Returns GRAFT_EXIT. */
GRAFT_API graft_result graft_caller_exit(graft_caller *c, int32_t code);

GRAFT_API graft_result graft_func_new_host(graft_store *s, const graft_functype *type,
                                           graft_host_fn fn, void *user, graft_func **out);
GRAFT_API graft_result graft_table_new(graft_store *s, graft_valtype elem_type,
                                       graft_limits limits, graft_table **out);
GRAFT_API graft_result graft_memory_new(graft_store *s, graft_limits limits, graft_memory **out);
GRAFT_API graft_result graft_global_new(graft_store *s, graft_valtype type, bool mutable_,
                                        graft_val init, graft_global **out);

/* An import or export: one object of one kind. */
typedef struct graft_extern {
    graft_extern_kind kind;
    union {
        graft_func *func;
        graft_table *table;
        graft_memory *memory;
        graft_global *global;
    } of;
} graft_extern;

/* Bind an object under (module, name) in the store's registry, replacing
 * any earlier binding of that pair. Instantiation resolves imports here. */
GRAFT_API graft_result graft_store_define(graft_store *s, const char *module, size_t module_len,
                                          const char *name, size_t name_len, graft_extern ext);
/* Bind every export of inst under the module name. */
GRAFT_API graft_result graft_store_define_instance(graft_store *s, const char *module,
                                                   size_t module_len, graft_instance *inst);
/* Convenience for C-string names. */
GRAFT_API graft_result graft_store_define_func(graft_store *s, const char *module, const char *name,
                                               const graft_functype *type, graft_host_fn fn,
                                               void *user);

/* ---- Instances ---------------------------------------------------------- */

/* Link m's imports against the store's registry, then instantiate it:
 * allocate memories, tables and globals, write active element and data
 * segments in order, and run the start function [spec 4.5.4].
 * GRAFT_ERR_LINK names the import that failed; GRAFT_ERR_TRAP means a
 * segment was out of bounds or the start function trapped (writes already
 * made to imported tables and memories stay, as the spec requires). */
GRAFT_API graft_result graft_instance_new(graft_store *s, const graft_module *m,
                                          graft_instance **out);
GRAFT_API const graft_module *graft_instance_module(const graft_instance *inst);

/* Look up an export by name. GRAFT_ERR_API with GRAFT_E_NOT_FOUND if absent. */
GRAFT_API graft_result graft_instance_export(graft_instance *inst, const char *name, size_t name_len,
                                             graft_extern *out);
/* Convenience: a function export by C-string name, or NULL. */
GRAFT_API graft_func *graft_instance_func(graft_instance *inst, const char *name);
/* The instance's memory 0, or NULL. */
GRAFT_API graft_memory *graft_instance_memory(graft_instance *inst);

/* ---- Calls and objects --------------------------------------------------- */

/* Call f with nargs arguments, writing nresults results. The counts and
 * types must match f's type (GRAFT_ERR_API otherwise). On a trap the
 * store's error holds the message and a backtrace. */
GRAFT_API graft_result graft_call(graft_func *f, const graft_val *args, size_t nargs,
                                  graft_val *results, size_t nresults);
GRAFT_API void graft_func_type(const graft_func *f, graft_functype *out);

GRAFT_API uint8_t *graft_memory_data(graft_memory *mem);
GRAFT_API uint64_t graft_memory_size(const graft_memory *mem);   /* bytes */
/* Grow by delta pages; *out_old_pages gets the old size. GRAFT_ERR_RESOURCE on failure. */
GRAFT_API graft_result graft_memory_grow(graft_memory *mem, uint32_t delta, uint32_t *out_old_pages);

GRAFT_API void graft_global_get(const graft_global *g, graft_val *out);
GRAFT_API graft_result graft_global_set(graft_global *g, graft_val v);

GRAFT_API uint32_t graft_table_size(const graft_table *t);
GRAFT_API graft_result graft_table_get(const graft_table *t, uint32_t i, graft_val *out);

#ifdef __cplusplus
}
#endif
#endif /* GRAFT_H */
