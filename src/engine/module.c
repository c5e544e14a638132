/* module.c - loading and inspecting modules: graft_module_load runs the
 * three phases (decode.c, valid.c, compile.c) over the caller's bytes, and
 * the graft_module_* functions answer questions about the result. Also the
 * small type helpers the phases share (function type equality and hash,
 * value type predicates).
 *
 * A graft_module is one graft__calloc'd struct plus its arena, which owns
 * every table hanging off it (module.h). graft_module_free releases both.
 * Loading errors land on env->err; on failure nothing stays allocated. */
#include "module.h"

#include <string.h>

/* Public copies of the function types: graft_functype wants graft_valtype
 * arrays, the module keeps bytes. Built once at load, in the arena. */
static graft_result public_types(graft_module *m, gr_errbuf *err)
{
    if (m->ntypes == 0) return GRAFT_OK;
    m->pub_types = graft__arena_alloc(&m->arena, (size_t)m->ntypes * sizeof *m->pub_types);
    if (!m->pub_types) goto out_of_memory;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        const gr_functype *t = &m->types[i];
        size_t n = (size_t)t->nparams + t->nresults;
        graft_valtype *v = graft__arena_alloc(&m->arena, (n ? n : 1) * sizeof *v);
        if (!v) goto out_of_memory;
        for (uint32_t k = 0; k < t->nparams; k++) v[k] = (graft_valtype)t->params[k];
        for (uint32_t k = 0; k < t->nresults; k++) v[t->nparams + k] = (graft_valtype)t->results[k];
        m->pub_types[i].params = v;
        m->pub_types[i].nparams = t->nparams;
        m->pub_types[i].results = v + t->nparams;
        m->pub_types[i].nresults = t->nresults;
    }
    return GRAFT_OK;
out_of_memory:
    return graft__oom(m->env, err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "copying %u function types",
                      m->ntypes);
}

/* [spec 5, 3.4, and compile.c] Decode, validate, compile. */
graft_result graft_module_load(graft_env *env, const uint8_t *bytes, size_t len, graft_module **out)
{
    if (!env) return GRAFT_ERR_API;
    if (!out || (!bytes && len))
        return graft__error(&env->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "graft_module_load needs bytes and an out pointer");
    *out = NULL;
    static const uint8_t empty[1] = {0};
    if (!bytes) bytes = empty;
    graft_module *m = graft__calloc(env, 1, sizeof *m);
    if (!m)
        return graft__oom(env, &env->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "allocating a module");
    m->env = env;
    m->unmetered = env->unmetered;
    graft__arena_init(&m->arena, env);
    graft_result rc = graft__decode(m, bytes, len, &env->err);
    if (rc == GRAFT_OK) rc = graft__validate_module(m, &env->err);
    if (rc == GRAFT_OK) rc = public_types(m, &env->err);
    if (rc == GRAFT_OK) rc = graft__compile_module(m, bytes, len, &env->err);
    if (rc != GRAFT_OK) {
        graft_module_free(m);
        return rc;
    }
    graft__error_clear(&env->err);
    *out = m;
    return GRAFT_OK;
}

void graft_module_free(graft_module *m)
{
    if (!m) return;
    graft_env *env = m->env;
    graft__arena_free_all(&m->arena);
    graft__free(env, m, sizeof *m);
}

/* ---- Inspection ------------------------------------------------------- */

uint32_t graft_module_import_count(const graft_module *m)
{
    return m->nimports;
}

static void public_limits(graft_limits *out, const gr_limits *l)
{
    out->min = l->min;
    out->max = l->max;
    out->has_max = l->has_max != 0;
}

/* Fill the kind-specific part of a description from the index spaces. */
static void describe(const graft_module *m, graft_extern_kind kind, uint32_t index,
                     graft_extern_desc *out)
{
    out->kind = kind;
    out->index = index;
    switch (kind) {
    case GRAFT_EXTERN_FUNC:
        if (index < m->nfuncs && m->func_types[index] < m->ntypes && m->pub_types)
            out->func = m->pub_types[m->func_types[index]];
        break;
    case GRAFT_EXTERN_TABLE:
        if (index >= m->ntables) break;
        out->elem_type = (graft_valtype)m->tables[index].elem;
        public_limits(&out->limits, &m->tables[index].limits);
        break;
    case GRAFT_EXTERN_MEMORY:
        if (index < m->nmemories) public_limits(&out->limits, &m->memories[index]);
        break;
    case GRAFT_EXTERN_GLOBAL:
        if (index >= m->nglobals) break;
        out->global_type = (graft_valtype)m->global_types[index].type;
        out->global_mutable = m->global_types[index].mutable_ != 0;
        break;
    }
}

/* i must be below graft_module_import_count; otherwise *out is zeroed. */
void graft_module_import(const graft_module *m, uint32_t i, graft_extern_desc *out)
{
    memset(out, 0, sizeof *out);
    if (i >= m->nimports) return;
    const gr_import *imp = &m->imports[i];
    out->module = imp->module.ptr;
    out->module_len = imp->module.len;
    out->name = imp->name.ptr;
    out->name_len = imp->name.len;
    describe(m, (graft_extern_kind)imp->kind, imp->index, out);
}

uint32_t graft_module_export_count(const graft_module *m)
{
    return m->nexports;
}

/* i must be below graft_module_export_count; otherwise *out is zeroed. */
void graft_module_export(const graft_module *m, uint32_t i, graft_extern_desc *out)
{
    memset(out, 0, sizeof *out);
    if (i >= m->nexports) return;
    const gr_export *e = &m->exports[i];
    out->name = e->name.ptr;
    out->name_len = e->name.len;
    describe(m, (graft_extern_kind)e->kind, e->index, out);
}

uint32_t graft_module_custom_count(const graft_module *m)
{
    return m->ncustoms;
}

void graft_module_custom(const graft_module *m, uint32_t i, graft_custom_section *out)
{
    memset(out, 0, sizeof *out);
    if (i >= m->ncustoms) return;
    out->name = m->customs[i].name.ptr;
    out->name_len = m->customs[i].name.len;
    out->offset = m->customs[i].offset;
    out->size = m->customs[i].size;
}

/* Binary search: func_names is sorted by index (decode.c checks it). */
const char *graft_module_func_name(const graft_module *m, uint32_t func_index, size_t *out_len)
{
    uint32_t lo = 0, hi = m->nfunc_names;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const gr_func_name *n = &m->func_names[mid];
        if (n->func_index == func_index) {
            if (out_len) *out_len = n->name.len;
            return n->name.ptr;
        }
        if (n->func_index < func_index) lo = mid + 1;
        else hi = mid;
    }
    if (out_len) *out_len = 0;
    return NULL;
}

void graft_module_code_size(const graft_module *m, size_t *out_internal, size_t *out_wasm)
{
    if (out_internal) *out_internal = m->internal_code_bytes;
    if (out_wasm) *out_wasm = (size_t)m->code_section_size;
}

/* ---- Type helpers shared by the phases -------------------------------- */

const gr_functype *graft__func_type(const graft_module *m, uint32_t func_index)
{
    return &m->types[m->func_types[func_index]];
}

/* Structural equality [spec 3.2.3]: same params and results, in order. */
int graft__functype_eq(const gr_functype *a, const gr_functype *b)
{
    if (a == b) return 1;
    if (a->hash != b->hash || a->nparams != b->nparams || a->nresults != b->nresults) return 0;
    return (a->nparams == 0 || memcmp(a->params, b->params, a->nparams) == 0) &&
           (a->nresults == 0 || memcmp(a->results, b->results, a->nresults) == 0);
}

/* FNV-1a over the counts and the type bytes; equal types hash equal. */
uint32_t graft__functype_hash(const gr_functype *t)
{
    uint32_t h = 2166136261u;
#define GR_MIX(byte) (h = (h ^ (uint8_t)(byte)) * 16777619u)
    for (int k = 0; k < 4; k++) GR_MIX(t->nparams >> (8 * k));
    for (uint32_t i = 0; i < t->nparams; i++) GR_MIX(t->params[i]);
    for (int k = 0; k < 4; k++) GR_MIX(t->nresults >> (8 * k));
    for (uint32_t i = 0; i < t->nresults; i++) GR_MIX(t->results[i]);
#undef GR_MIX
    return h;
}

int graft__is_reftype(gr_valtype t)
{
    return t == GRAFT_FUNCREF || t == GRAFT_EXTERNREF;
}

/* The value types libgraft supports: numbers and references (no v128). */
int graft__is_valtype(gr_valtype t)
{
    return t == GRAFT_I32 || t == GRAFT_I64 || t == GRAFT_F32 || t == GRAFT_F64 ||
           graft__is_reftype(t);
}
