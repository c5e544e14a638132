/* objects.c - host functions and globals [spec 4.5.3.1, 4.5.3.6], and the
 * function type accessor.
 *
 * Data structure: a host graft_func carries an owned copy of its type
 * (host_type) and the same type as graft_valtype for graft_func_type, in
 * one heap block: n graft_valtype cells, then host_type's n bytes, params
 * first in both (n * (sizeof(graft_valtype) + 1) bytes). The hash is
 * computed once here so that call_indirect compares host and wasm types
 * the same way. A graft_global is one 8-byte cell plus its type; floats
 * are kept as raw bits so NaN payloads pass through unchanged.
 *
 * Ownership: the store owns both kinds of object (object list); store.c
 * frees the type block of host functions. */
#include "runtime.h"


static int host_valtype_ok(graft_valtype t)
{
    return graft__is_valtype((gr_valtype)t);
}

/* [spec 4.5.3.2 allochostfunc] */
graft_result graft_func_new_host(graft_store *s, const graft_functype *type, graft_host_fn fn,
                                 void *user, graft_func **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    graft__error_clear(&s->err);
    if (!type || !fn || (type->nparams && !type->params) || (type->nresults && !type->results))
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "host function needs a type and a callback");
    if (type->nparams > UINT16_MAX || type->nresults > UINT16_MAX)
        return graft__error(&s->err, GRAFT_E_LIMIT_EXCEEDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "host function with %u params and %u results", type->nparams,
                            type->nresults);
    for (uint32_t i = 0; i < type->nparams + type->nresults; i++) {
        graft_valtype t = i < type->nparams ? type->params[i] : type->results[i - type->nparams];
        if (!host_valtype_ok(t))
            return graft__error(&s->err, GRAFT_E_VALUE_TYPE_MISMATCH, GRAFT_NO_OFFSET,
                                GRAFT_NO_INDEX, "unsupported value type 0x%x in a host function type",
                                (unsigned)t);
    }

    graft_func *f = graft__calloc(s->env, 1, sizeof *f);
    if (!f) goto fail;
    size_t n = (size_t)type->nparams + type->nresults;
    uint8_t *block = graft__alloc(s->env, n * (sizeof(graft_valtype) + 1));
    if (!block) goto free_func;
    graft_valtype *pub = (graft_valtype *)block;
    gr_valtype *types = block + n * sizeof(graft_valtype);
    for (uint32_t i = 0; i < type->nparams; i++) pub[i] = type->params[i];
    for (uint32_t i = 0; i < type->nresults; i++) pub[type->nparams + i] = type->results[i];
    for (size_t i = 0; i < n; i++) types[i] = (gr_valtype)pub[i];
    f->valtypes = pub;
    f->host_type.nparams = type->nparams;
    f->host_type.nresults = type->nresults;
    f->host_type.params = types;
    f->host_type.results = types + type->nparams;
    /* One cell per value: SIMD is not supported, so no type takes two. */
    f->host_type.param_slots = type->nparams;
    f->host_type.result_slots = type->nresults;
    f->host_type.hash = graft__functype_hash(&f->host_type);
    f->store = s;
    f->type = &f->host_type;
    f->host = fn;
    f->host_user = user;
    f->host_cost = 1;
    graft__store_adopt(s, &f->obj, GR_OBJ_FUNC);
    *out = f;
    return GRAFT_OK;

free_func:
    graft__free(s->env, f, sizeof *f);
fail:
    return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "host function");
}

void graft_func_type(const graft_func *f, graft_functype *out)
{
    out->nparams = f->type->nparams;
    out->nresults = f->type->nresults;
    out->params = f->valtypes;
    out->results = f->valtypes + f->type->nparams;
}

int graft__val_to_slot(const graft_val *v, gr_slot *out)
{
    out->u64 = 0;
    switch (v->type) {
    case GRAFT_I32: out->i32 = v->of.i32; return 1;
    case GRAFT_I64: out->i64 = v->of.i64; return 1;
    case GRAFT_F32: out->u32 = v->of.f32_bits; return 1;
    case GRAFT_F64: out->u64 = v->of.f64_bits; return 1;
    case GRAFT_FUNCREF: out->ref = v->of.funcref; return 1;
    case GRAFT_EXTERNREF: out->ref = v->of.externref; return 1;
    case GRAFT_V128: return 0;
    }
    return 0;
}

/* [spec 4.5.3.7 allocglobal] */
graft_result graft_global_new(graft_store *s, graft_valtype type, bool mutable_, graft_val init,
                              graft_global **out)
{
    if (!out) return GRAFT_ERR_API;
    *out = NULL;
    graft__error_clear(&s->err);
    gr_slot cell;
    if (init.type != type || !graft__val_to_slot(&init, &cell))
        return graft__error(&s->err, GRAFT_E_VALUE_TYPE_MISMATCH, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "global of type 0x%x initialized with a value of type 0x%x",
                            (unsigned)type, (unsigned)init.type);
    if (type == GRAFT_FUNCREF && init.of.funcref && init.of.funcref->store != s)
        return graft__error(&s->err, GRAFT_E_WRONG_STORE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "global initializer");
    graft_global *g = graft__calloc(s->env, 1, sizeof *g);
    if (!g)
        return graft__oom(s->env, &s->err, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "global");
    g->store = s;
    g->val = cell;
    g->type = (gr_valtype)type;
    g->mutable_ = mutable_ ? 1 : 0;
    graft__store_adopt(s, &g->obj, GR_OBJ_GLOBAL);
    *out = g;
    return GRAFT_OK;
}

void graft__slot_to_val(gr_slot cell, graft_valtype t, graft_val *out)
{
    out->type = t;
    out->of.i64 = 0;
    switch (t) {
    case GRAFT_I32: out->of.i32 = cell.i32; break;
    case GRAFT_I64: out->of.i64 = cell.i64; break;
    case GRAFT_F32: out->of.f32_bits = cell.u32; break;
    case GRAFT_F64: out->of.f64_bits = cell.u64; break;
    case GRAFT_FUNCREF: out->of.funcref = cell.ref; break;
    case GRAFT_EXTERNREF: out->of.externref = cell.ref; break;
    case GRAFT_V128: break;
    }
}

void graft_global_get(const graft_global *g, graft_val *out)
{
    graft__slot_to_val(g->val, (graft_valtype)g->type, out);
}

/* [spec 4.4.5.5 global.set], from the host side */
graft_result graft_global_set(graft_global *g, graft_val v)
{
    graft_store *s = g->store;
    graft__error_clear(&s->err);
    if (!g->mutable_)
        return graft__error(&s->err, GRAFT_E_IMMUTABLE_GLOBAL, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, NULL);
    gr_slot cell;
    if (v.type != (graft_valtype)g->type || !graft__val_to_slot(&v, &cell))
        return graft__error(&s->err, GRAFT_E_VALUE_TYPE_MISMATCH, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "global of type 0x%x set to a value of type 0x%x", (unsigned)g->type,
                            (unsigned)v.type);
    if (v.type == GRAFT_FUNCREF && v.of.funcref && v.of.funcref->store != s)
        return graft__error(&s->err, GRAFT_E_WRONG_STORE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "global.set");
    g->val = cell;
    return GRAFT_OK;
}
