/* valid.c - module-level validation [spec 3.4]: everything about a decoded
 * module except function bodies (compile.c validates those).
 *
 * Checks, in the spirit of the spec's module rule [spec 3.4.10]: type
 * indices of imports and functions, table and memory limits, at most one
 * memory, constant expressions of globals and segments (in 2.0 their
 * global.get may name only immutable imported globals), element and data
 * segments, the start function, exports (indices in range, names unique).
 * It also computes m->declared_refs, the set C.refs of functions that
 * ref.func in a body may name, which compile.c consults.
 *
 * It reads the module and writes only m->declared_refs (arena). A scratch
 * hash table for export names is allocated from the env and freed here. */
#include "module.h"

#include <string.h>

#define GR_MAX_PAGES 65536u /* 4 GiB of 64 KiB pages [spec 3.2.7] */

static graft_result type_index(const graft_module *m, uint32_t x, gr_errbuf *err, const char *what)
{
    if (x < m->ntypes) return GRAFT_OK;
    return graft__error(err, GRAFT_E_UNKNOWN_TYPE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        "type %u of %s (the module has %u types)", x, what, m->ntypes);
}

/* Table limits [spec 3.2.6]: the range is all of u32, so only min <= max. */
static graft_result table_type(const gr_tabletype *t, gr_errbuf *err, uint32_t index)
{
    if (t->limits.has_max && t->limits.min > t->limits.max)
        return graft__error(err, GRAFT_E_LIMITS_MIN_MAX, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "table %u: minimum %u, maximum %u", index, t->limits.min,
                            t->limits.max);
    return GRAFT_OK;
}

/* Memory limits [spec 3.2.7]: both at most 65536 pages, then min <= max. */
static graft_result memory_type(const gr_limits *l, gr_errbuf *err, uint32_t index)
{
    if (l->min > GR_MAX_PAGES || (l->has_max && l->max > GR_MAX_PAGES))
        return graft__error(err, GRAFT_E_MEMORY_SIZE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "memory %u: minimum %u, maximum %u", index, l->min,
                            l->has_max ? l->max : 0);
    if (l->has_max && l->min > l->max)
        return graft__error(err, GRAFT_E_LIMITS_MIN_MAX, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "memory %u: minimum %u, maximum %u", index, l->min, l->max);
    return GRAFT_OK;
}


/* One instruction of a constant expression: its indices [spec 3.3.10]. */
static graft_result const_entry(const graft_module *m, const gr_const_expr *e, gr_errbuf *err,
                                const char *what)
{
    unsigned long long at = e->offset;
    switch (e->kind) {
    case GR_CONST_BAD:
        return graft__error(err, (graft_error_code)e->error, e->offset, GRAFT_NO_INDEX,
                            "in %s at offset 0x%llx", what, at);
    case GR_CONST_REF_FUNC:
        if (e->index >= m->nfuncs)
            return graft__error(err, GRAFT_E_UNKNOWN_FUNC, e->offset, GRAFT_NO_INDEX,
                                "ref.func %u in %s at offset 0x%llx", e->index, what, at);
        break;
    case GR_CONST_GLOBAL_GET:
        if (e->index >= m->nimported_globals)
            return graft__error(err, GRAFT_E_UNKNOWN_GLOBAL, e->offset, GRAFT_NO_INDEX,
                                "global.get %u in %s at offset 0x%llx (only imported globals)",
                                e->index, what, at);
        if (m->global_types[e->index].mutable_)
            return graft__error(err, GRAFT_E_CONST_EXPR, e->offset, GRAFT_NO_INDEX,
                                "global.get of mutable global %u in %s at offset 0x%llx",
                                e->index, what, at);
        break;
    default:
        break;
    }
    return GRAFT_OK;
}

/* Type an extended-const sequence [proposal extended-const] with a stack
 * of types: constants push, arithmetic pops two of its type and pushes
 * one. *out is the single type left, or 0 when the stack does not end with
 * exactly one value. Deeper than GR_CONST_STACK is an implementation limit,
 * so that instance.c evaluates on a fixed native array. */
static graft_result const_seq(const graft_module *m, const gr_const_expr *e, gr_errbuf *err,
                              const char *what, gr_valtype *out)
{
    gr_valtype stack[GR_CONST_STACK];
    uint32_t h = 0;
    graft_result rc = GRAFT_OK;
    *out = 0;
    for (uint32_t i = 0; i < e->index && rc == GRAFT_OK; i++) {
        const gr_const_expr *x = &e->seq[i];
        rc = const_entry(m, x, err, what);
        if (rc != GRAFT_OK) break;
        if (x->kind < GR_CONST_I32_ADD && h == GR_CONST_STACK)
            rc = graft__error(err, GRAFT_E_MODULE_TOO_LARGE, x->offset, GRAFT_NO_INDEX,
                              "%s at offset 0x%llx: more than %u values on the stack", what,
                              (unsigned long long)x->offset, (unsigned)GR_CONST_STACK);
        else if (x->kind < GR_CONST_I32_ADD)
            stack[h++] = x->type;
        else if (h < 2 || stack[h - 1] != x->type || stack[h - 2] != x->type)
            rc = graft__error(err, GRAFT_E_TYPE_MISMATCH, x->offset, GRAFT_NO_INDEX,
                              "%s at offset 0x%llx: operands of an arithmetic instruction",
                              what, (unsigned long long)x->offset);
        else
            h--;
    }
    if (rc == GRAFT_OK && h == 1) *out = stack[0];
    return rc;
}

/* A constant expression of type `expected` [spec 3.3.10]. decode.c
 * already recorded sequence-level problems as GR_CONST_BAD. */
static graft_result const_expr(const graft_module *m, const gr_const_expr *e, gr_valtype expected,
                               gr_errbuf *err, const char *what)
{
    unsigned long long at = e->offset;
    gr_valtype type = e->type;
    graft_result rc = e->kind == GR_CONST_SEQ ? const_seq(m, e, err, what, &type)
                                              : const_entry(m, e, err, what);
    if (rc != GRAFT_OK) return rc;
    if (type == 0)
        return graft__error(err, GRAFT_E_TYPE_MISMATCH, e->offset, GRAFT_NO_INDEX,
                            "%s at offset 0x%llx: not exactly one value", what, at);
    if (type != expected)
        return graft__error(err, GRAFT_E_TYPE_MISMATCH, e->offset, GRAFT_NO_INDEX,
                            "%s at offset 0x%llx: %s expected, found %s", what, at,
                            graft__type_name(expected), graft__type_name(type));
    return GRAFT_OK;
}

static graft_result imports_and_types(const graft_module *m, gr_errbuf *err)
{
    graft_result rc = GRAFT_OK;
    for (uint32_t i = 0; i < m->nfuncs && rc == GRAFT_OK; i++)
        rc = type_index(m, m->func_types[i], err, i < m->nimported_funcs ? "an import" : "a function");
    for (uint32_t i = 0; i < m->ntables && rc == GRAFT_OK; i++)
        rc = table_type(&m->tables[i], err, i);
    if (rc == GRAFT_OK && m->nmemories > 1)
        return graft__error(err, GRAFT_E_MULTIPLE_MEMORIES, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "%u memories (at most one in WebAssembly 2.0)", m->nmemories);
    for (uint32_t i = 0; i < m->nmemories && rc == GRAFT_OK; i++)
        rc = memory_type(&m->memories[i], err, i);
    for (uint32_t i = 0; i < m->nglobals - m->nimported_globals && rc == GRAFT_OK; i++)
        rc = const_expr(m, &m->global_defs[i].init, m->global_defs[i].type.type, err,
                        "a global initializer");
    return rc;
}

/* Element segments [spec 3.4.5]. */
static graft_result elem_segments(const graft_module *m, gr_errbuf *err)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        const gr_elem_seg *s = &m->elems[i];
        graft_result rc;
        for (uint32_t k = 0; k < s->count; k++) {
            rc = const_expr(m, &s->items[k], s->type, err, "an element segment item");
            if (rc != GRAFT_OK) return rc;
        }
        if (s->mode != GR_SEG_ACTIVE) continue;
        if (s->table >= m->ntables)
            return graft__error(err, GRAFT_E_UNKNOWN_TABLE, s->offset.offset, GRAFT_NO_INDEX,
                                "%u in element segment %u", s->table, i);
        rc = const_expr(m, &s->offset, GRAFT_I32, err, "an element segment offset");
        if (rc != GRAFT_OK) return rc;
        if (m->tables[s->table].elem != s->type)
            return graft__error(err, GRAFT_E_TYPE_MISMATCH, s->offset.offset, GRAFT_NO_INDEX,
                                "element segment %u holds %s, table %u holds %s", i,
                                graft__type_name(s->type), s->table,
                                graft__type_name(m->tables[s->table].elem));
    }
    return GRAFT_OK;
}

/* Data segments [spec 3.4.6]. */
static graft_result data_segments(const graft_module *m, gr_errbuf *err)
{
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const gr_data_seg *s = &m->datas[i];
        if (s->mode != GR_SEG_ACTIVE) continue;
        if (s->memory >= m->nmemories)
            return graft__error(err, GRAFT_E_UNKNOWN_MEMORY, s->offset.offset, GRAFT_NO_INDEX,
                                "%u in data segment %u", s->memory, i);
        graft_result rc = const_expr(m, &s->offset, GRAFT_I32, err, "a data segment offset");
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* The start function [spec 3.4.8]: exists, type [] -> []. */
static graft_result start_function(const graft_module *m, gr_errbuf *err)
{
    if (!m->has_start) return GRAFT_OK;
    if (m->start >= m->nfuncs)
        return graft__error(err, GRAFT_E_UNKNOWN_FUNC, GRAFT_NO_OFFSET, m->start,
                            "start function %u (the module has %u functions)", m->start,
                            m->nfuncs);
    const gr_functype *t = graft__func_type(m, m->start);
    if (t->nparams != 0 || t->nresults != 0)
        return graft__error(err, GRAFT_E_START_FUNC, GRAFT_NO_OFFSET, m->start,
                            "function %u must have type [] -> []", m->start);
    return GRAFT_OK;
}

static uint32_t name_hash(const gr_name *n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n->len; i++) h = (h ^ (uint8_t)n->ptr[i]) * 16777619u;
    return h;
}

/* Exports [spec 3.4.9]: indices in range, names unique (an open-addressing
 * hash set of export numbers, sized to a power of two above 2n). */
static graft_result exports(const graft_module *m, gr_errbuf *err)
{
    static const char *const kinds[] = {"function", "table", "memory", "global"};
    static const graft_error_code unknown[] = {GRAFT_E_UNKNOWN_FUNC, GRAFT_E_UNKNOWN_TABLE,
                                               GRAFT_E_UNKNOWN_MEMORY, GRAFT_E_UNKNOWN_GLOBAL};
    const uint32_t counts[] = {m->nfuncs, m->ntables, m->nmemories, m->nglobals};
    if (m->nexports == 0) return GRAFT_OK;
    size_t cap = 4;
    while (cap < (size_t)m->nexports * 2) cap *= 2;
    uint32_t *set = graft__calloc(m->env, cap, sizeof *set); /* export number + 1; 0 = empty */
    if (!set)
        return graft__oom(m->env, err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "checking %u export names",
                          m->nexports);
    graft_result rc = GRAFT_OK;
    for (uint32_t i = 0; i < m->nexports && rc == GRAFT_OK; i++) {
        const gr_export *e = &m->exports[i];
        if (e->index >= counts[e->kind]) {
            rc = graft__error(err, unknown[e->kind], GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                              "%s %u in export \"%s\"", kinds[e->kind], e->index, e->name.ptr);
            break;
        }
        size_t slot = name_hash(&e->name) & (cap - 1);
        while (set[slot]) {
            const gr_name *other = &m->exports[set[slot] - 1].name;
            if (graft__name_eq(other->ptr, other->len, e->name.ptr, e->name.len)) {
                rc = graft__error(err, GRAFT_E_DUPLICATE_EXPORT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                                  "\"%s\"", e->name.ptr);
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        set[slot] = i + 1;
    }
    graft__free(m->env, set, cap * sizeof *set);
    return rc;
}

static void declare(uint8_t *refs, const graft_module *m, const gr_const_expr *e)
{
    if (e->kind == GR_CONST_SEQ)
        for (uint32_t i = 0; i < e->index; i++) declare(refs, m, &e->seq[i]);
    if (e->kind == GR_CONST_REF_FUNC && e->index < m->nfuncs)
        refs[e->index >> 3] |= (uint8_t)(1u << (e->index & 7));
}

/* C.refs [spec 3.4.10]: functions named by ref.func outside function
 * bodies (globals, segments) and function exports. */
static graft_result declared_refs(graft_module *m, gr_errbuf *err)
{
    uint8_t *refs = graft__arena_alloc(&m->arena, (size_t)m->nfuncs / 8 + 1);
    if (!refs)
        return graft__oom(m->env, err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                          "declared function references");
    for (uint32_t i = 0; i < m->nglobals - m->nimported_globals; i++)
        declare(refs, m, &m->global_defs[i].init);
    for (uint32_t i = 0; i < m->nelems; i++) {
        declare(refs, m, &m->elems[i].offset);
        for (uint32_t k = 0; k < m->elems[i].count; k++) declare(refs, m, &m->elems[i].items[k]);
    }
    for (uint32_t i = 0; i < m->ndatas; i++) declare(refs, m, &m->datas[i].offset);
    for (uint32_t i = 0; i < m->nexports; i++) {
        const gr_export *e = &m->exports[i];
        if (e->kind == GRAFT_EXTERN_FUNC && e->index < m->nfuncs)
            refs[e->index >> 3] |= (uint8_t)(1u << (e->index & 7));
    }
    m->declared_refs = refs;
    return GRAFT_OK;
}

/* [spec 3.4.10] */
graft_result graft__validate_module(graft_module *m, gr_errbuf *err)
{
    graft_result rc = imports_and_types(m, err);
    if (rc == GRAFT_OK) rc = elem_segments(m, err);
    if (rc == GRAFT_OK) rc = data_segments(m, err);
    if (rc == GRAFT_OK) rc = start_function(m, err);
    if (rc == GRAFT_OK) rc = exports(m, err);
    if (rc == GRAFT_OK) rc = declared_refs(m, err);
    return rc;
}
