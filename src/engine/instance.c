/* instance.c - linking and instantiation [spec 4.5.4], and the export
 * accessors.
 *
 * graft_instance_new runs the spec's steps in order:
 *   1. resolve every import in the store's registry and check that it
 *      matches the declared external type [spec 4.5.2];
 *   2. allocate the instance's own functions, tables, memories and globals
 *      (evaluating the global initializers), and evaluate every element
 *      segment's items into inst->elem_refs;
 *   3. write active element segments in order, then drop active and
 *      declarative ones; write active data segments in order and drop them;
 *   4. run the start function.
 * Nothing observable happens before step 3, so a link failure writes
 * nothing. A segment that is out of bounds writes nothing either, but the
 * segments before it stay written, in imported tables and memories too:
 * that is the spec's (non-atomic) semantics and core/linking checks it.
 *
 * Data structure: a graft_instance holds one array per index space, the
 * imports first, pointing at objects in the store, plus per-segment state
 * (evaluated element references, live sizes that drop to 0).
 *
 * Ownership: the instance and every object made for it are adopted by the
 * store as soon as they exist, so on any failure the store still frees
 * them; a failed instantiation simply returns no instance. */
#include "runtime.h"

#include <string.h>

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case GRAFT_EXTERN_FUNC: return "function";
    case GRAFT_EXTERN_TABLE: return "table";
    case GRAFT_EXTERN_MEMORY: return "memory";
    case GRAFT_EXTERN_GLOBAL: return "global";
    }
    return "?";
}

static const gr_binding *lookup(const graft_store *s, const gr_name *module, const gr_name *name)
{
    for (const gr_binding *b = s->bindings; b; b = b->next) {
        if (graft__name_eq(b->module.ptr, b->module.len, module->ptr, module->len) &&
            graft__name_eq(b->name.ptr, b->name.len, name->ptr, name->len))
            return b;
    }
    return NULL;
}

/* Limits subtyping [spec 4.5.2.2] against the provided object's current
 * size: at least the import's minimum, and no maximum beyond the import's. */
static int limits_match(uint32_t cur, const gr_limits *have, const gr_limits *want)
{
    if (cur < want->min) return 0;
    if (want->has_max && (!have->has_max || have->max > want->max)) return 0;
    return 1;
}

static graft_result incompatible(graft_store *s, const gr_import *imp, const char *why)
{
    return graft__error(&s->err, GRAFT_E_INCOMPATIBLE_IMPORT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        "\"%s\" \"%s\": %s", imp->module.ptr, imp->name.ptr, why);
}

/* Resolve one import into inst's index spaces [spec 4.5.4 steps 3-4]. */
static graft_result link_import(graft_store *s, graft_instance *inst, const gr_import *imp)
{
    const graft_module *m = inst->module;
    const gr_binding *b = lookup(s, &imp->module, &imp->name);
    if (!b)
        return graft__error(&s->err, GRAFT_E_UNKNOWN_IMPORT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "\"%s\" \"%s\"", imp->module.ptr, imp->name.ptr);
    if (b->ext.kind != imp->kind) {
        char why[64];
        graft__fmt(why, sizeof why, "expected a %s, found a %s", kind_name(imp->kind),
                   kind_name(b->ext.kind));
        return incompatible(s, imp, why);
    }
    switch (imp->kind) {
    case GRAFT_EXTERN_FUNC: {
        graft_func *f = b->ext.of.func;
        if (imp->desc.type_index >= m->ntypes ||
            !graft__functype_eq(f->type, &m->types[imp->desc.type_index]))
            return incompatible(s, imp, "function type differs");
        inst->funcs[imp->index] = f;
        break;
    }
    case GRAFT_EXTERN_TABLE: {
        graft_table *t = b->ext.of.table;
        if (t->elem != imp->desc.table.elem) return incompatible(s, imp, "element type differs");
        if (!limits_match(t->size, &t->limits, &imp->desc.table.limits))
            return incompatible(s, imp, "table limits do not match");
        inst->tables[imp->index] = t;
        break;
    }
    case GRAFT_EXTERN_MEMORY: {
        graft_memory *mem = b->ext.of.memory;
        if (!limits_match(mem->pages, &mem->limits, &imp->desc.memory))
            return incompatible(s, imp, "memory limits do not match");
        inst->memories[imp->index] = mem;
        break;
    }
    case GRAFT_EXTERN_GLOBAL: {
        graft_global *g = b->ext.of.global;
        if (g->type != imp->desc.global.type || g->mutable_ != imp->desc.global.mutable_)
            return incompatible(s, imp, "global type differs");
        inst->globals[imp->index] = g;
        break;
    }
    default:
        return incompatible(s, imp, "unknown kind");
    }
    return GRAFT_OK;
}

static gr_slot eval_seq(const graft_instance *inst, const gr_const_expr *e);

/* Evaluate a constant expression [spec 4.4.10]. Validation guarantees the
 * indices; they are checked again so that a bad module cannot read wild. */
static gr_slot eval_const(const graft_instance *inst, const gr_const_expr *e)
{
    const graft_module *m = inst->module;
    gr_slot v;
    v.u64 = 0;
    switch ((gr_const_kind)e->kind) {
    case GR_CONST_I32:
    case GR_CONST_F32: v.u32 = (uint32_t)e->bits; break;
    case GR_CONST_I64:
    case GR_CONST_F64: v.u64 = e->bits; break;
    case GR_CONST_REF_NULL: v.ref = NULL; break;
    case GR_CONST_REF_FUNC:
        v.ref = e->index < m->nfuncs ? inst->funcs[e->index] : NULL;
        break;
    case GR_CONST_GLOBAL_GET:
        if (e->index < m->nglobals && inst->globals[e->index]) v = inst->globals[e->index]->val;
        break;
    case GR_CONST_SEQ:
        v = eval_seq(inst, e);
        break;
    default: /* GR_CONST_BAD, or an arithmetic entry outside a sequence: both
                rejected by validation; they never reach a store */
        break;
    }
    return v;
}

/* Evaluate an extended-const sequence [proposal extended-const] on a small
 * stack. Validation typed it; the height is checked again so that a bad
 * module cannot write wild. Wrapping arithmetic, as i32/i64 add, sub, mul. */
static gr_slot eval_seq(const graft_instance *inst, const gr_const_expr *e)
{
    gr_slot stack[GR_CONST_STACK];
    uint32_t h = 0;
    for (uint32_t i = 0; i < e->index; i++) {
        const gr_const_expr *x = &e->seq[i];
        if (x->kind < GR_CONST_I32_ADD) {
            if (h == GR_CONST_STACK) break;
            stack[h++] = eval_const(inst, x);
            continue;
        }
        if (h < 2) break;
        gr_slot a = stack[h - 2], b = stack[h - 1], r;
        r.u64 = 0;
        switch ((gr_const_kind)x->kind) {
        case GR_CONST_I32_ADD: r.u32 = a.u32 + b.u32; break;
        case GR_CONST_I32_SUB: r.u32 = a.u32 - b.u32; break;
        case GR_CONST_I32_MUL: r.u32 = a.u32 * b.u32; break;
        case GR_CONST_I64_ADD: r.u64 = a.u64 + b.u64; break;
        case GR_CONST_I64_SUB: r.u64 = a.u64 - b.u64; break;
        default:               r.u64 = a.u64 * b.u64; break;
        }
        stack[h - 2] = r;
        h--;
    }
    if (h == 0) stack[0].u64 = 0;
    return stack[0];
}

static graft_result out_of_memory(graft_store *s, const char *what)
{
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "%s", what);
}

/* The instance record and its per-index-space arrays, adopted at once. */
static graft_result alloc_instance(graft_store *s, const graft_module *m, graft_instance **out)
{
    graft_env *env = s->env;
    graft_instance *inst = graft__calloc(env, 1, sizeof *inst);
    if (!inst) return out_of_memory(s, "instance");
    inst->store = s;
    inst->module = m;
    graft__store_adopt(s, &inst->obj, GR_OBJ_INSTANCE);
    *out = inst;
    inst->funcs = graft__calloc(env, m->nfuncs, sizeof *inst->funcs);
    inst->tables = graft__calloc(env, m->ntables, sizeof *inst->tables);
    inst->memories = graft__calloc(env, m->nmemories, sizeof *inst->memories);
    inst->globals = graft__calloc(env, m->nglobals, sizeof *inst->globals);
    inst->elem_refs = graft__calloc(env, m->nelems, sizeof *inst->elem_refs);
    inst->elem_sizes = graft__calloc(env, m->nelems, sizeof *inst->elem_sizes);
    inst->data_sizes = graft__calloc(env, m->ndatas, sizeof *inst->data_sizes);
    if (!inst->funcs || !inst->tables || !inst->memories || !inst->globals || !inst->elem_refs ||
        !inst->elem_sizes || !inst->data_sizes)
        return out_of_memory(s, "instance");
    return GRAFT_OK;
}

/* The module's own functions [spec 4.5.3.1 allocfunc]. */
static graft_result alloc_funcs(graft_store *s, graft_instance *inst)
{
    const graft_module *m = inst->module;
    for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) {
        uint32_t ti = m->func_types[i];
        graft_func *f = graft__calloc(s->env, 1, sizeof *f);
        if (!f) return out_of_memory(s, "function");
        f->store = s;
        f->type = &m->types[ti];
        f->inst = inst;
        f->code = m->func_defs[i - m->nimported_funcs].code;
        f->valtypes = m->pub_types[ti].params;
        graft__store_adopt(s, &f->obj, GR_OBJ_FUNC);
        inst->funcs[i] = f;
    }
    return GRAFT_OK;
}

/* Tables, memories and globals [spec 4.5.3.4-7]; global initializers see
 * the imported globals and every function [spec 4.5.4 steps 5-8]. */
static graft_result alloc_state(graft_store *s, graft_instance *inst)
{
    const graft_module *m = inst->module;
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
        const gr_tabletype *tt = &m->tables[i];
        graft_limits lim = {tt->limits.min, tt->limits.max, tt->limits.has_max != 0};
        graft_result r = graft_table_new(s, (graft_valtype)tt->elem, lim, &inst->tables[i]);
        if (r != GRAFT_OK) return r;
    }
    for (uint32_t i = m->nimported_memories; i < m->nmemories; i++) {
        const gr_limits *ml = &m->memories[i];
        graft_limits lim = {ml->min, ml->max, ml->has_max != 0};
        graft_result r = graft_memory_new(s, lim, &inst->memories[i]);
        if (r != GRAFT_OK) return r;
    }
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++) {
        const gr_global_def *def = &m->global_defs[i - m->nimported_globals];
        graft_global *g = graft__calloc(s->env, 1, sizeof *g);
        if (!g) return out_of_memory(s, "global");
        g->store = s;
        g->type = def->type.type;
        g->mutable_ = def->type.mutable_;
        g->val = eval_const(inst, &def->init);
        graft__store_adopt(s, &g->obj, GR_OBJ_GLOBAL);
        inst->globals[i] = g;
    }
    return GRAFT_OK;
}

/* Element segments' references [spec 4.5.4 step 9] and segment sizes. */
static graft_result eval_segments(graft_store *s, graft_instance *inst)
{
    const graft_module *m = inst->module;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const gr_elem_seg *seg = &m->elems[i];
        void **refs = graft__calloc(s->env, seg->count, sizeof(void *));
        if (!refs) return out_of_memory(s, "element segment");
        for (uint32_t k = 0; k < seg->count; k++) refs[k] = eval_const(inst, &seg->items[k]).ref;
        inst->elem_refs[i] = refs;
        inst->elem_sizes[i] = seg->count;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) inst->data_sizes[i] = m->datas[i].size;
    return GRAFT_OK;
}

/* Steps 14-16: active element segments (table.init + elem.drop), then the
 * declarative drops, then active data segments (memory.init + data.drop).
 * A segment is checked whole before it writes [spec 4.4.7 table.init]. */
static graft_result init_segments(graft_store *s, graft_instance *inst)
{
    const graft_module *m = inst->module;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const gr_elem_seg *seg = &m->elems[i];
        if (seg->mode != GR_SEG_ACTIVE) continue;
        uint32_t off = eval_const(inst, &seg->offset).u32;
        graft_table *t = seg->table < m->ntables ? inst->tables[seg->table] : NULL;
        if (!t || (uint64_t)off + seg->count > t->size)
            return graft__error(&s->err, GRAFT_E_TRAP_TABLE_OOB, seg->offset.offset,
                                GRAFT_NO_INDEX,
                                "elem segment %u writes %u elements at %u into a table of %u", i,
                                seg->count, off, t ? t->size : 0);
        if (seg->count) memcpy(&t->elems[off], inst->elem_refs[i], seg->count * sizeof(void *));
        inst->elem_sizes[i] = 0;
    }
    for (uint32_t i = 0; i < m->nelems; i++)
        if (m->elems[i].mode == GR_SEG_DECLARATIVE) inst->elem_sizes[i] = 0;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const gr_data_seg *seg = &m->datas[i];
        if (seg->mode != GR_SEG_ACTIVE) continue;
        uint32_t off = eval_const(inst, &seg->offset).u32;
        graft_memory *mem = seg->memory < m->nmemories ? inst->memories[seg->memory] : NULL;
        if (!mem || (uint64_t)off + seg->size > mem->size)
            return graft__error(&s->err, GRAFT_E_TRAP_MEMORY_OOB, seg->offset.offset,
                                GRAFT_NO_INDEX,
                                "data segment %u writes %u bytes at %u into a memory of %llu", i,
                                seg->size, off,
                                (unsigned long long)(mem ? mem->size : 0));
        if (seg->size) memcpy(mem->data + off, seg->bytes, seg->size);
        inst->data_sizes[i] = 0;
    }
    return GRAFT_OK;
}

/* [spec 4.5.4] */
graft_result graft_instance_new(graft_store *s, const graft_module *m, graft_instance **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    graft__error_clear(&s->err);
    if (!m)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL module");
    graft_result r = graft__fuel_check(s, m);
    if (r != GRAFT_OK) return r;
    if (m->unmetered && !s->unmetered) s->unmetered = m;
    graft_instance *inst = NULL;
    r = alloc_instance(s, m, &inst);
    for (uint32_t i = 0; r == GRAFT_OK && i < m->nimports; i++)
        r = link_import(s, inst, &m->imports[i]);
    if (r == GRAFT_OK) r = alloc_funcs(s, inst);
    if (r == GRAFT_OK) r = alloc_state(s, inst);
    if (r == GRAFT_OK) r = eval_segments(s, inst);
    if (r == GRAFT_OK) r = init_segments(s, inst);
    if (r == GRAFT_OK && m->has_start && m->start < m->nfuncs)
        r = graft_call(inst->funcs[m->start], NULL, 0, NULL, 0);
    if (r == GRAFT_SUSPENDED) {
        /* A half-done instantiation cannot be resumed: out of fuel. */
        graft_abandon(s);
        r = graft__error(&s->err, GRAFT_E_TRAP_OUT_OF_FUEL, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                         "in the start function");
    }
    if (r != GRAFT_OK) return r;
    *out = inst;
    return GRAFT_OK;
}

const graft_module *graft_instance_module(const graft_instance *inst)
{
    return inst->module;
}

graft_result graft_instance_export(graft_instance *inst, const char *name, size_t name_len,
                                   graft_extern *out)
{
    graft_store *s = inst->store;
    graft__error_clear(&s->err);
    const graft_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const gr_export *e = &m->exports[i];
        if (!graft__name_eq(e->name.ptr, e->name.len, name, name_len)) continue;
        out->kind = (graft_extern_kind)e->kind;
        switch (e->kind) {
        case GRAFT_EXTERN_FUNC: out->of.func = inst->funcs[e->index]; break;
        case GRAFT_EXTERN_TABLE: out->of.table = inst->tables[e->index]; break;
        case GRAFT_EXTERN_MEMORY: out->of.memory = inst->memories[e->index]; break;
        case GRAFT_EXTERN_GLOBAL: out->of.global = inst->globals[e->index]; break;
        }
        return GRAFT_OK;
    }
    char shown[64];
    size_t n = name_len < sizeof shown - 1 ? name_len : sizeof shown - 1;
    if (n) memcpy(shown, name, n);
    shown[n] = 0;
    return graft__error(&s->err, GRAFT_E_NOT_FOUND, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "\"%s\"",
                        shown);
}

graft_func *graft_instance_func(graft_instance *inst, const char *name)
{
    graft_extern ext;
    if (!name || graft_instance_export(inst, name, strlen(name), &ext) != GRAFT_OK) return NULL;
    return ext.kind == GRAFT_EXTERN_FUNC ? ext.of.func : NULL;
}

graft_memory *graft_instance_memory(graft_instance *inst)
{
    return inst->module->nmemories ? inst->memories[0] : NULL;
}
