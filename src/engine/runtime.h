/* runtime.h - stores, instances and the objects in them; the contract
 * between the runtime files (store.c, instance.c, memory.c, table.c, ...)
 * and the interpreter (interp.c).
 *
 * Ownership: a store owns every object made in it (instances, functions,
 * tables, memories, globals) and frees them all with itself. Objects are
 * linked on the store's object list for that purpose. An instance refers to
 * its imports, which may belong to other instances of the same store. */
#ifndef GR_RUNTIME_H
#define GR_RUNTIME_H

#include "code.h"
#include "module.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
typedef atomic_int gr_atomic_flag;
#else
typedef volatile int gr_atomic_flag;
#endif

/* Every store object starts with this header, so the store can free them. */
typedef struct gr_object {
    struct gr_object *next;   /* the store's object list */
    uint8_t type;             /* gr_object_type */
} gr_object;

typedef enum gr_object_type {
    GR_OBJ_FUNC, GR_OBJ_TABLE, GR_OBJ_MEMORY, GR_OBJ_GLOBAL, GR_OBJ_INSTANCE
} gr_object_type;

struct graft_func {
    gr_object obj;
    graft_store *store;
    const gr_functype *type;   /* module's type, or host_type below */
    graft_instance *inst;      /* defining instance; NULL for host functions */
    const gr_code *code;       /* compiled body; NULL for host functions */
    graft_host_fn host;        /* host functions only */
    void *host_user;           /* passed to host */
    uint64_t host_cost;        /* host functions: fuel units charged per call
                                  (graft_func_set_cost; default 1) */
    gr_functype host_type;     /* host functions: owned copy of the type */
    const graft_valtype *valtypes; /* the type as graft_valtype, params then
                                  results, for graft_func_type: the module's
                                  pub_types (host functions: the block that
                                  also holds host_type's arrays) */
};

struct graft_memory {
    gr_object obj;
    graft_store *store;
    uint8_t *data;             /* committed bytes: pages * 64 KiB */
    uint64_t size;             /* bytes = pages * 65536 */
    uint32_t pages;
    uint32_t cap_pages;        /* the most it may grow to: min(declared max, store limit) */
    gr_limits limits;          /* declared limits; min tracks the current size
                                  for import matching [spec 4.5.2] */
    uint64_t reserved;         /* bytes reserved by the port */
};

struct graft_table {
    gr_object obj;
    graft_store *store;
    void **elems;              /* size entries: graft_func* or externref */
    uint32_t size;
    uint32_t alloc;            /* entries allocated */
    uint32_t cap;              /* the most it may grow to */
    gr_limits limits;          /* declared limits, min tracks the current size */
    gr_valtype elem;           /* GRAFT_FUNCREF or GRAFT_EXTERNREF */
};

struct graft_global {
    gr_object obj;
    graft_store *store;
    gr_slot val;
    gr_valtype type;
    uint8_t mutable_;
};

struct graft_instance {
    gr_object obj;
    graft_store *store;
    const graft_module *module;
    graft_func **funcs;        /* module->nfuncs; imports resolved first */
    graft_table **tables;      /* module->ntables */
    graft_memory **memories;   /* module->nmemories */
    graft_global **globals;    /* module->nglobals */
    void ***elem_refs;         /* per elem segment: its references, evaluated */
    uint32_t *elem_sizes;      /* per elem segment: count, 0 once dropped */
    uint32_t *data_sizes;      /* per data segment: size, 0 once dropped */
};

/* A registry binding (module, name) -> extern, for linking. */
typedef struct gr_binding {
    struct gr_binding *next;
    gr_name module;            /* owned copies */
    gr_name name;
    graft_extern ext;
} gr_binding;

/* One interpreter frame, on the store's frame stack (never the C stack). */
typedef struct gr_frame {
    graft_func *func;          /* running function */
    const uint32_t *pc;        /* callers: where to continue after the call;
                                  the innermost frame on a trap: the trapping
                                  instruction */
    gr_slot *fp;               /* frame pointer into the value stack */
} gr_frame;

struct graft_store {
    graft_env *env;
    graft_store_limits limits;  /* defaults filled in */
    gr_errbuf err;
    gr_object *objects;         /* every object, newest first */
    gr_binding *bindings;       /* registry */

    /* Execution stack, allocated on first use, once (it never moves, so
     * host functions may hold slot pointers across re-entry); the value
     * stack at the limit's size, or at what the budget allowed, which then
     * becomes limits.max_stack_slots (store.c, graft__store_stack). */
    gr_slot *stack;             /* limits.max_stack_slots cells */
    gr_slot *stack_top;         /* first free cell for a new outermost call */
    gr_frame *frames;           /* limits.max_call_depth records */
    uint32_t nframes;           /* frames in use */
    gr_atomic_flag interrupt;   /* set by graft_store_interrupt */
    /* Fuel (docs/engine.md, "Fuel"). fuel is what is left; with
     * GRAFT_FUEL_OFF it is UINT64_MAX, so the same charge instructions run
     * and never run dry. fuel_given - fuel is what was consumed. */
    uint64_t fuel;
    uint64_t fuel_given;        /* set plus added since graft_store_set_fuel */
    uint8_t fuel_mode;          /* graft_fuel_mode */
    uint8_t host_short;         /* graft_caller_charge could not pay: the
                                   host call's out-of-fuel trap awaits its
                                   location (interp.c, host_failed) */
    uint8_t suspended;          /* a call is suspended: frames[0 .. nframes)
                                   and the value stack hold its state */
    const graft_func *susp_func; /* the suspended call's function (its results) */
    gr_slot *susp_fp;           /* and its frame, where results land */
    const uint32_t *bulk_pc;    /* a bulk operation suspended midway: its pc, */
    uint64_t bulk_done;         /* and the bytes or elements already done */
    const graft_module *unmetered; /* the first unmetered module instantiated
                                      here, or NULL: fuel must then stay off */
};

struct graft_caller {
    graft_store *store;
    graft_instance *inst;       /* the calling instance (may be NULL from the API) */
};

/* ---- Runtime services used by the interpreter ------------------------ */

/* fuel.c: refuse (GRAFT_ERR_API) when the store's fuel is on and it holds
 * an unmetered module, or m (may be NULL) is one. The one check made by
 * graft_call, graft_resume and graft_instance_new. */
graft_result graft__fuel_check(graft_store *s, const graft_module *m);

/* interp.c: run f with its frame at fp (arguments in fp[0 .. nparams)).
 * Results are left at fp[0 .. nresults). The caller has checked that the
 * frame fits (fp + frame_slots within the stack). Handles host functions
 * too. On failure the store's error is set (traps with a backtrace). */
graft_result graft__interp_run(graft_store *s, graft_func *f, gr_slot *fp);
/* interp.c: continue the suspended call (s->suspended; frames and pc saved
 * by the suspension). GRAFT_SUSPENDED again, or as graft__interp_run. */
graft_result graft__interp_resume(graft_store *s);

/* memory.c: grow by delta pages; returns the old size in pages, or -1
 * (limit, cap, budget or allocation failure: memory.grow's -1). */
int64_t graft__memory_grow(graft_memory *m, uint32_t delta);
/* table.c: grow by delta entries filled with init; old size or -1. */
int64_t graft__table_grow(graft_table *t, uint32_t delta, void *init);

/* trace.c: set a trap error on the store, with a backtrace built from the
 * frames [first, s->nframes) innermost first. The innermost frame's pc must
 * point at the trapping instruction. Returns GRAFT_ERR_TRAP. */
graft_result graft__trap(graft_store *s, graft_error_code code, uint32_t first_frame);

/* objects.c: move a typed API value into a cell (floats as raw bits);
 * 0 when the type is not a supported value type. */
int graft__val_to_slot(const graft_val *v, gr_slot *out);
/* objects.c: the API value of type t held in a cell. */
void graft__slot_to_val(gr_slot cell, graft_valtype t, graft_val *out);

/* Compare two function types structurally (module.c). */
int graft__functype_eq(const gr_functype *a, const gr_functype *b);

/* store.c: link an object into the store's list. */
void graft__store_adopt(graft_store *s, gr_object *o, gr_object_type type);
/* store.c: make sure the execution stack and frame stack exist. */
graft_result graft__store_stack(graft_store *s);

#endif
