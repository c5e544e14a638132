/* store.c - the store: one sandbox's object list, name registry, limits,
 * execution stack and last runtime error.
 *
 * Data structure: every object made in a store (function, table, memory,
 * global, instance) begins with a gr_object header and is pushed on the
 * store's singly linked object list (graft__store_adopt); graft_store_free
 * walks that list and frees each object by its type, so an object can never
 * outlive or leak past its store, whatever failed half-way. The registry is
 * a second list of gr_binding records mapping an owned copy of (module,
 * name) to an extern; a later binding of the same pair replaces the earlier
 * one in place. The value stack and the frame stack are allocated once, on
 * the first call (graft__store_stack), and never move; the value stack at
 * its configured size, or smaller when the budget cannot pay for that.
 *
 * Ownership: the store owns everything on its lists and its stacks; the
 * env (which must outlive the store) accounts for all of it. */
#include "runtime.h"

#include <string.h>

/* Defaults for graft_store_limits fields left at zero (documented in graft.h). */
#define GR_DEFAULT_CALL_DEPTH 10000u
#define GR_DEFAULT_STACK_SLOTS (1u << 20)     /* 8 MiB of 8-byte cells */
#define GR_DEFAULT_MEMORY_PAGES 65536u        /* 4 GiB, the 32-bit maximum */
#define GR_DEFAULT_TABLE_ELEMS 10000000u

graft_result graft_store_new(graft_env *env, const graft_store_limits *limits, graft_store **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    if (!env) return GRAFT_ERR_API;
    graft_store *s = graft__calloc(env, 1, sizeof *s);
    if (!s)
        return graft__oom(env, &env->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "store");
    s->env = env;
    s->fuel = s->fuel_given = UINT64_MAX;   /* fuel off: a tank no run drains */
    if (limits) s->limits = *limits;
    if (!s->limits.max_call_depth) s->limits.max_call_depth = GR_DEFAULT_CALL_DEPTH;
    if (!s->limits.max_stack_slots) s->limits.max_stack_slots = GR_DEFAULT_STACK_SLOTS;
    if (!s->limits.max_memory_pages) s->limits.max_memory_pages = GR_DEFAULT_MEMORY_PAGES;
    if (s->limits.max_memory_pages > GR_DEFAULT_MEMORY_PAGES)
        s->limits.max_memory_pages = GR_DEFAULT_MEMORY_PAGES;
    if (!s->limits.max_table_elems) s->limits.max_table_elems = GR_DEFAULT_TABLE_ELEMS;
    graft__error_clear(&s->err);
#if !defined(__STDC_NO_ATOMICS__)
    atomic_init(&s->interrupt, 0);
#endif
    *out = s;
    return GRAFT_OK;
}

/* Free one object and whatever it owns. Linear memory goes back to the
 * port, and its committed bytes back to the budget. */
static void free_object(graft_store *s, gr_object *o)
{
    graft_env *env = s->env;
    switch ((gr_object_type)o->type) {
    case GR_OBJ_FUNC: {
        graft_func *f = (graft_func *)o;
        if (f->host) {
            /* objects.c: n graft_valtype cells then n bytes, in one block */
            size_t n = (size_t)f->host_type.nparams + f->host_type.nresults;
            graft__free(env, (void *)f->valtypes, n * (sizeof(graft_valtype) + 1));
        }
        graft__free(env, f, sizeof *f);
        break;
    }
    case GR_OBJ_TABLE: {
        graft_table *t = (graft_table *)o;
        graft__free(env, t->elems, (size_t)t->alloc * sizeof(void *));
        graft__free(env, t, sizeof *t);
        break;
    }
    case GR_OBJ_MEMORY: {
        graft_memory *m = (graft_memory *)o;
        if (m->data) {
            graft_port_mem_release(env, m->data, m->reserved, m->size);
            graft__uncharge(env, (size_t)m->size);
        }
        graft__free(env, m, sizeof *m);
        break;
    }
    case GR_OBJ_GLOBAL:
        graft__free(env, o, sizeof(graft_global));
        break;
    case GR_OBJ_INSTANCE: {
        graft_instance *inst = (graft_instance *)o;
        const graft_module *m = inst->module;
        if (inst->elem_refs) {
            for (uint32_t i = 0; i < m->nelems; i++)
                graft__free(env, inst->elem_refs[i], (size_t)m->elems[i].count * sizeof(void *));
        }
        graft__free(env, inst->funcs, (size_t)m->nfuncs * sizeof *inst->funcs);
        graft__free(env, inst->tables, (size_t)m->ntables * sizeof *inst->tables);
        graft__free(env, inst->memories, (size_t)m->nmemories * sizeof *inst->memories);
        graft__free(env, inst->globals, (size_t)m->nglobals * sizeof *inst->globals);
        graft__free(env, inst->elem_refs, (size_t)m->nelems * sizeof *inst->elem_refs);
        graft__free(env, inst->elem_sizes, (size_t)m->nelems * sizeof *inst->elem_sizes);
        graft__free(env, inst->data_sizes, (size_t)m->ndatas * sizeof *inst->data_sizes);
        graft__free(env, inst, sizeof *inst);
        break;
    }
    }
}

static void free_binding(graft_env *env, gr_binding *b)
{
    graft__free(env, (void *)b->module.ptr, (size_t)b->module.len + 1);
    graft__free(env, (void *)b->name.ptr, (size_t)b->name.len + 1);
    graft__free(env, b, sizeof *b);
}

void graft_store_free(graft_store *s)
{
    if (!s) return;
    graft_env *env = s->env;
    for (gr_object *o = s->objects; o;) {
        gr_object *next = o->next;
        free_object(s, o);
        o = next;
    }
    for (gr_binding *b = s->bindings; b;) {
        gr_binding *next = b->next;
        free_binding(env, b);
        b = next;
    }
    graft__free(env, s->stack, (size_t)s->limits.max_stack_slots * sizeof(gr_slot));
    graft__free(env, s->frames, (size_t)s->limits.max_call_depth * sizeof(gr_frame));
    graft__free(env, s, sizeof *s);
}

const graft_error *graft_store_error(const graft_store *s)
{
    return &s->err.pub;
}

graft_env *graft_store_env(const graft_store *s)
{
    return s->env;
}

void graft_store_interrupt(graft_store *s)
{
#if !defined(__STDC_NO_ATOMICS__)
    atomic_store(&s->interrupt, 1);
#else
    s->interrupt = 1;
#endif
}

void graft__store_adopt(graft_store *s, gr_object *o, gr_object_type type)
{
    o->type = (uint8_t)type;
    o->next = s->objects;
    s->objects = o;
}

/* The execution stacks, on the first call. Neither ever moves: frame
 * records, a suspended call and host functions hold pointers into the
 * value stack, and growing it in place needs the virtual memory that the
 * bare port does not have. So the value stack is allocated up front, at
 * the limit's size when the env's budget and allocator grant that. A limit
 * up to the default is a promise: it is paid in full, or the call fails
 * for memory. A larger one is a ceiling: the stack gets the largest
 * halving of it that is granted, down to the default, and that becomes the
 * store's limit, so a frame past it traps `call stack exhausted` as one
 * past the configured limit does, instead of every call failing for
 * memory that a shallow guest never touches (a 32 GiB --max-stack, which
 * the allocator refuses, issue 11). */
graft_result graft__store_stack(graft_store *s)
{
    if (s->stack) return GRAFT_OK;
    size_t nslots = s->limits.max_stack_slots, nframes = s->limits.max_call_depth;
    if (nslots > (size_t)-1 / sizeof(gr_slot) || nframes > (size_t)-1 / sizeof(gr_frame))
        return graft__error(&s->err, GRAFT_E_LIMIT_EXCEEDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "execution stack larger than the address space");
    gr_frame *frames = graft__alloc(s->env, nframes * sizeof(gr_frame));
    if (!frames) goto fail;
    size_t floor = nslots < GR_DEFAULT_STACK_SLOTS ? nslots : GR_DEFAULT_STACK_SLOTS;
    gr_slot *stack = graft__alloc(s->env, nslots * sizeof(gr_slot));
    while (!stack && nslots > floor) {
        nslots = nslots / 2 > floor ? nslots / 2 : floor;
        stack = graft__alloc(s->env, nslots * sizeof(gr_slot));
    }
    if (!stack) goto free_frames;
    s->limits.max_stack_slots = (uint32_t)nslots;   /* what there is */
    s->stack = s->stack_top = stack;
    s->frames = frames;
    s->nframes = 0;
    return GRAFT_OK;

free_frames:
    graft__free(s->env, frames, nframes * sizeof(gr_frame));
fail:
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        "execution stack of %zu slots and %zu frames", nslots, nframes);
}

/* ---- The registry ------------------------------------------------------ */

/* The store an extern's object belongs to, or NULL when the object is. */
static graft_store *extern_store(graft_extern ext)
{
    switch (ext.kind) {
    case GRAFT_EXTERN_FUNC: return ext.of.func ? ext.of.func->store : NULL;
    case GRAFT_EXTERN_TABLE: return ext.of.table ? ext.of.table->store : NULL;
    case GRAFT_EXTERN_MEMORY: return ext.of.memory ? ext.of.memory->store : NULL;
    case GRAFT_EXTERN_GLOBAL: return ext.of.global ? ext.of.global->store : NULL;
    }
    return NULL;
}

/* An owned, NUL-terminated copy of a name that may itself contain NUL. */
static int copy_name(graft_env *env, gr_name *out, const char *p, size_t len)
{
    if (len >= UINT32_MAX) return 0;
    char *copy = graft__alloc(env, len + 1);
    if (!copy) return 0;
    if (len) memcpy(copy, p, len);
    copy[len] = 0;
    out->ptr = copy;
    out->len = (uint32_t)len;
    return 1;
}

graft_result graft_store_define(graft_store *s, const char *module, size_t module_len,
                                const char *name, size_t name_len, graft_extern ext)
{
    graft__error_clear(&s->err);
    if ((module_len && !module) || (name_len && !name))
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL name with a nonzero length");
    if ((unsigned)ext.kind > GRAFT_EXTERN_GLOBAL)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "extern kind %u", (unsigned)ext.kind);
    graft_store *owner = extern_store(ext);
    if (!owner)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL object");
    if (owner != s)
        return graft__error(&s->err, GRAFT_E_WRONG_STORE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, NULL);

    for (gr_binding *b = s->bindings; b; b = b->next) {
        if (graft__name_eq(b->module.ptr, b->module.len, module, module_len) &&
            graft__name_eq(b->name.ptr, b->name.len, name, name_len)) {
            b->ext = ext;
            return GRAFT_OK;
        }
    }
    gr_binding *b = graft__calloc(s->env, 1, sizeof *b);
    if (!b) goto fail;
    if (!copy_name(s->env, &b->module, module, module_len)) goto free_binding;
    if (!copy_name(s->env, &b->name, name, name_len)) goto free_module;
    b->ext = ext;
    b->next = s->bindings;
    s->bindings = b;
    return GRAFT_OK;

free_module:
    graft__free(s->env, (void *)b->module.ptr, module_len + 1);
free_binding:
    graft__free(s->env, b, sizeof *b);
fail:
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "registry binding");
}

graft_result graft_store_define_instance(graft_store *s, const char *module, size_t module_len,
                                         graft_instance *inst)
{
    graft__error_clear(&s->err);
    if (!inst)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL instance");
    if (inst->store != s)
        return graft__error(&s->err, GRAFT_E_WRONG_STORE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, NULL);
    const graft_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const gr_export *e = &m->exports[i];
        graft_extern ext = {.kind = (graft_extern_kind)e->kind};
        switch (ext.kind) {
        case GRAFT_EXTERN_FUNC: ext.of.func = inst->funcs[e->index]; break;
        case GRAFT_EXTERN_TABLE: ext.of.table = inst->tables[e->index]; break;
        case GRAFT_EXTERN_MEMORY: ext.of.memory = inst->memories[e->index]; break;
        case GRAFT_EXTERN_GLOBAL: ext.of.global = inst->globals[e->index]; break;
        }
        graft_result r = graft_store_define(s, module, module_len, e->name.ptr, e->name.len, ext);
        if (r != GRAFT_OK) return r;
    }
    return GRAFT_OK;
}

graft_result graft_store_define_func(graft_store *s, const char *module, const char *name,
                                     const graft_functype *type, graft_host_fn fn, void *user)
{
    graft__error_clear(&s->err);
    if (!module || !name)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL name");
    graft_func *f;
    graft_result r = graft_func_new_host(s, type, fn, user, &f);
    if (r != GRAFT_OK) return r;
    graft_extern ext = {.kind = GRAFT_EXTERN_FUNC, .of.func = f};
    return graft_store_define(s, module, strlen(module), name, strlen(name), ext);
}
