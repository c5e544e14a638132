/* run.c - the Graft side of graft-fuzz-exec: load, link the
 * `fuzzing-support` imports that binaryen's translate-to-fuzz emits
 * (log-i32, log-i64, log-f32, log-f64: each records its argument), then
 * call every exported function in export order as binaryen's
 * ExecutionResults does: one shared instance, `hangLimitInitializer` run
 * before each export, zero (or null) for every parameter.
 *
 * Execution is bounded twice: the module bounds itself (binaryen inserts a
 * hang-limit counter checked on loop back-edges and function entry), and
 * Graft's fuel (trap mode, FX_FUEL instructions per export call) catches
 * anything else. Running out of fuel makes the whole module a skip, since
 * the reference has no such limit. */
#include "fuzzexec.h"

#include <stdlib.h>
#include <string.h>

#define FX_FUEL 20000000u

/* Until the fuel API lands the engine has only its internal step budget
 * (CMake defines FX_STEP_BUDGET_FIELD when runtime.h still has it). */
#ifdef FX_STEP_BUDGET_FIELD
#include "runtime.h"
static void set_budget(graft_store *s)
{
    s->step_budget = 1 + FX_FUEL;
}
#else
static void set_budget(graft_store *s)
{
    graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FX_FUEL);
}
#endif

static fx_event *push_event(fx_events *ev, fx_kind kind)
{
    if (ev->count == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 64;
        fx_event *n = realloc(ev->items, cap * sizeof *n);
        if (!n) {
            fprintf(stderr, "graft-fuzz-exec: out of memory\n");
            exit(3);
        }
        ev->items = n;
        ev->cap = cap;
    }
    fx_event *e = &ev->items[ev->count++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        fprintf(stderr, "graft-fuzz-exec: out of memory\n");
        exit(3);
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void fx_events_free(fx_events *ev)
{
    for (size_t i = 0; i < ev->count; i++) {
        free(ev->items[i].name);
        free(ev->items[i].message);
    }
    free(ev->items);
    memset(ev, 0, sizeof *ev);
}

/* ---- the fuzzing-support imports ---------------------------------------- */

typedef struct log_import {
    const char *name;
    graft_valtype type;
} log_import;

static const log_import LOG_IMPORTS[] = {
    {"log-i32", GRAFT_I32}, {"log-i64", GRAFT_I64},
    {"log-f32", GRAFT_F32}, {"log-f64", GRAFT_F64},
};

typedef struct log_ctx {
    fx_events *ev;
    graft_valtype type;
} log_ctx;

static graft_result log_fn(graft_caller *c, graft_slot *slots, void *user)
{
    (void)c;
    log_ctx *lc = user;
    fx_event *e = push_event(lc->ev, FX_LOG);
    e->nvals = 1;
    e->vals[0].type = lc->type;
    e->vals[0].of.i64 = 0;
    switch (lc->type) {
    case GRAFT_I32: e->vals[0].of.i32 = slots[0].i32; break;
    case GRAFT_F32: e->vals[0].of.f32_bits = slots[0].f32_bits; break;
    default: e->vals[0].of.i64 = slots[0].i64; break;
    }
    return GRAFT_OK;
}

static graft_result define_logs(graft_store *s, log_ctx ctx[4])
{
    for (int i = 0; i < 4; i++) {
        static const graft_valtype types[4] = {GRAFT_I32, GRAFT_I64, GRAFT_F32, GRAFT_F64};
        graft_functype ft = {&types[i], 1, NULL, 0};
        ctx[i].type = LOG_IMPORTS[i].type;
        graft_result r = graft_store_define_func(s, "fuzzing-support", LOG_IMPORTS[i].name,
                                                 &ft, log_fn, &ctx[i]);
        if (r != GRAFT_OK) return r;
    }
    return GRAFT_OK;
}

/* ---- calling the exports -------------------------------------------------- */

static bool out_of_budget(graft_store *s)
{
    return graft_store_error(s)->code == GRAFT_E_TRAP_OUT_OF_FUEL;
}

/* Call f with zero arguments of its parameter types; results into out. */
static graft_result call_zero(graft_func *f, graft_val *out, uint32_t *nout)
{
    graft_functype ft;
    graft_func_type(f, &ft);
    graft_val args[FX_MAX_VALS];
    if (ft.nparams > FX_MAX_VALS || ft.nresults > FX_MAX_VALS) return GRAFT_ERR_API;
    for (uint32_t i = 0; i < ft.nparams; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].type = ft.params[i];
    }
    *nout = ft.nresults;
    return graft_call(f, args, ft.nparams, out, ft.nresults);
}

/* One export, as binaryen runs it. Returns false when the budget ran out. */
static bool run_export(graft_store *s, graft_instance *inst, const char *name, size_t len,
                       fx_events *ev)
{
    fx_event *e = push_event(ev, FX_CALL);
    e->name = dup_n(name, len);
    graft_val res[FX_MAX_VALS];
    uint32_t nres = 0;
    graft_result r = GRAFT_OK;
    graft_func *hang = graft_instance_func(inst, "hangLimitInitializer");
    if (hang) r = call_zero(hang, res, &nres);
    if (r == GRAFT_OK) {
        graft_extern x;
        if (graft_instance_export(inst, name, len, &x) != GRAFT_OK) return true;
        r = call_zero(x.of.func, res, &nres);
    }
    if (r == GRAFT_OK) {
        if (nres == 0) return true;
        e = push_event(ev, FX_RESULT);
        e->nvals = nres;
        memcpy(e->vals, res, nres * sizeof res[0]);
        return true;
    }
    if (out_of_budget(s)) return false;
    e = push_event(ev, FX_TRAP);
    e->message = dup_n(graft_store_error(s)->message, strlen(graft_store_error(s)->message));
    return true;
}

static fx_status run_instance(graft_store *s, const graft_module *m, fx_events *ev, char *why,
                              size_t whylen)
{
    graft_instance *inst;
    set_budget(s);
    graft_result r = graft_instance_new(s, m, &inst);
    if (r == GRAFT_ERR_TRAP) {
        if (out_of_budget(s)) {
            snprintf(why, whylen, "out of fuel in instantiation");
            return FX_SKIP;
        }
        fx_event *e = push_event(ev, FX_INST_TRAP);
        e->message = dup_n(graft_store_error(s)->message, strlen(graft_store_error(s)->message));
        return FX_DONE;
    }
    if (r != GRAFT_OK) {
        snprintf(why, whylen, "instantiate: %s", graft_store_error(s)->message);
        return FX_FAILED;
    }
    uint32_t n = graft_module_export_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        if (d.kind != GRAFT_EXTERN_FUNC) continue;
        set_budget(s);
        if (!run_export(s, inst, d.name, d.name_len, ev)) {
            snprintf(why, whylen, "out of fuel in export %.*s", (int)d.name_len, d.name);
            return FX_SKIP;
        }
    }
    return FX_DONE;
}

fx_status fx_run(const uint8_t *bytes, size_t len, fx_events *ev, char *why, size_t whylen)
{
    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) {
        snprintf(why, whylen, "env: out of memory");
        return FX_FAILED;
    }
    graft_module *m;
    fx_status st = FX_FAILED;
    if (graft_module_load(env, bytes, len, &m) != GRAFT_OK) {
        snprintf(why, whylen, "load: %s", graft_env_error(env)->message);
        graft_env_free(env);
        return st;
    }
    graft_store *s;
    log_ctx ctx[4] = {{ev, GRAFT_I32}, {ev, GRAFT_I64}, {ev, GRAFT_F32}, {ev, GRAFT_F64}};
    if (graft_store_new(env, NULL, &s) == GRAFT_OK) {
        if (define_logs(s, ctx) == GRAFT_OK)
            st = run_instance(s, m, ev, why, whylen);
        else
            snprintf(why, whylen, "define imports: %s", graft_store_error(s)->message);
        graft_store_free(s);
    } else {
        snprintf(why, whylen, "store: out of memory");
    }
    graft_module_free(m);
    graft_env_free(env);
    return st;
}

void fx_print_val(FILE *f, const graft_val *v)
{
    switch (v->type) {
    case GRAFT_I32: fprintf(f, "i32:%d", v->of.i32); break;
    case GRAFT_I64: fprintf(f, "i64:%lld", (long long)v->of.i64); break;
    case GRAFT_F32: {
        float x;
        memcpy(&x, &v->of.f32_bits, 4);
        fprintf(f, "f32:%.9g(0x%08x)", (double)x, (unsigned)v->of.f32_bits);
        break;
    }
    case GRAFT_F64: {
        double x;
        memcpy(&x, &v->of.f64_bits, 8);
        fprintf(f, "f64:%.17g(0x%016llx)", x, (unsigned long long)v->of.f64_bits);
        break;
    }
    case GRAFT_FUNCREF: fprintf(f, "funcref:%s", v->of.funcref ? "func" : "null"); break;
    case GRAFT_EXTERNREF: fprintf(f, "externref:%s", v->of.externref ? "host" : "null"); break;
    default: fprintf(f, "type%d", (int)v->type); break;
    }
}
