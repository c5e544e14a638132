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
 * the reference has no such limit.
 *
 * Unmetered (graft_env_config.unmetered, `graft run` without --fuel) there
 * is no fuel: main.c runs a module that way only after its metered run
 * finished within the fuel, so the unmetered run, the same instructions,
 * finishes too. */
#include "fuzzexec.h"

#include <stdlib.h>
#include <string.h>

#define FX_FUEL 20000000u

/* Until the fuel API lands the engine has only its internal step budget
 * (CMake defines FX_STEP_BUDGET_FIELD when runtime.h still has it). */
#ifdef FX_STEP_BUDGET_FIELD
#include "runtime.h"
static void set_budget(graft_store *s, bool unmetered)
{
    if (!unmetered) s->step_budget = 1 + FX_FUEL;
}
#else
static void set_budget(graft_store *s, bool unmetered)
{
    if (!unmetered) graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FX_FUEL);
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
        free(ev->items[i].backtrace);
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

/* The store's trap as an event: message and backtrace. */
static void trap_event(fx_events *ev, fx_kind kind, graft_store *s)
{
    const graft_error *err = graft_store_error(s);
    fx_event *e = push_event(ev, kind);
    e->message = dup_n(err->message, strlen(err->message));
    e->backtrace = dup_n(err->backtrace, strlen(err->backtrace));
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
    trap_event(ev, FX_TRAP, s);
    return true;
}

static fx_status run_instance(graft_store *s, const graft_module *m, bool unmetered,
                              fx_events *ev, char *why, size_t whylen)
{
    graft_instance *inst;
    set_budget(s, unmetered);
    graft_result r = graft_instance_new(s, m, &inst);
    if (r == GRAFT_ERR_TRAP) {
        if (out_of_budget(s)) {
            snprintf(why, whylen, "out of fuel in instantiation");
            return FX_SKIP;
        }
        trap_event(ev, FX_INST_TRAP, s);
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
        set_budget(s, unmetered);
        if (!run_export(s, inst, d.name, d.name_len, ev)) {
            snprintf(why, whylen, "out of fuel in export %.*s", (int)d.name_len, d.name);
            return FX_SKIP;
        }
    }
    return FX_DONE;
}

fx_status fx_run(const uint8_t *bytes, size_t len, bool unmetered, fx_events *ev, char *why,
                 size_t whylen)
{
    graft_env *env;
    graft_env_config cfg = {.unmetered = unmetered};
    if (graft_env_new(&cfg, &env) != GRAFT_OK) {
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
            st = run_instance(s, m, unmetered, ev, why, whylen);
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

static bool same_val(const graft_val *a, const graft_val *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case GRAFT_I32: return a->of.i32 == b->of.i32;
    case GRAFT_F32: return a->of.f32_bits == b->of.f32_bits;
    case GRAFT_I64: return a->of.i64 == b->of.i64;
    case GRAFT_F64: return a->of.f64_bits == b->of.f64_bits;
    case GRAFT_FUNCREF: return !a->of.funcref == !b->of.funcref;
    default: return !a->of.externref == !b->of.externref;
    }
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int fx_events_differ(const fx_events *a, const fx_events *b, FILE *report)
{
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i <= n; i++) {
        if (i == n) {
            if (a->count == b->count) return 0;
            fprintf(report, "event %zu: %zu events metered, %zu unmetered\n", i, a->count,
                    b->count);
            return 1;
        }
        const fx_event *x = &a->items[i], *y = &b->items[i];
        bool same = x->kind == y->kind && x->nvals == y->nvals && same_text(x->name, y->name) &&
                    same_text(x->message, y->message) && same_text(x->backtrace, y->backtrace);
        for (uint32_t k = 0; same && k < x->nvals; k++) same = same_val(&x->vals[k], &y->vals[k]);
        if (same) continue;
        const fx_event *e[2] = {x, y};
        fprintf(report, "event %zu differs:\n", i);
        for (int j = 0; j < 2; j++) {
            fprintf(report, "  %s: kind %d %s%s", j ? "unmetered" : "metered", (int)e[j]->kind,
                    e[j]->name ? e[j]->name : "", e[j]->message ? e[j]->message : "");
            for (uint32_t k = 0; k < e[j]->nvals; k++) {
                fputc(' ', report);
                fx_print_val(report, &e[j]->vals[k]);
            }
            fprintf(report, "\n%s", e[j]->backtrace ? e[j]->backtrace : "");
        }
        return 1;
    }
    return 0;
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
