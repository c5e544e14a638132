/* fuzz_engine.c - libFuzzer target over the whole engine: decode, validate,
 * compile, link (every import satisfied by a host object of the right
 * type), instantiate, and call every exported function with zero
 * arguments. Small stacks and a small memory cap keep every input quick.
 *
 * Each input runs twice, in separate envs: compiled metered, with FUEL
 * units per call (trap mode), and compiled unmetered
 * (graft_env_config.unmetered, what `graft run` uses without --fuel),
 * whose code differs (no charges, bare loop heads) and which the fuzzer
 * once never compiled (issue 11: a crash in the compiler that only
 * unmetered code reached). Unmetered code has no fuel to stop it, so it
 * runs only what the metered run finished within its fuel: the same
 * instructions, so it finishes too. Everything both runs did must agree:
 * load, instantiation and every call, down to the result bits and the
 * trap's code and byte offset (a wrong pcmap entry shows there).
 *
 * Any crash, sanitizer report, leak or disagreement (abort, with both
 * outcomes on stderr) is a bug: the engine must turn every input into
 * either success or a clean error, the same one in both modes. */
#include <graft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "zero_imports.h"

#define FUEL 200000     /* WebAssembly instructions per call (trap mode) */
#define MAX_CALLS 16    /* exports called per input */
#define MAX_VALS 16     /* parameters and results of a called export */

/* What one step (load, instantiation or a call) ended with. */
typedef struct outcome {
    graft_result rc;
    graft_error_code code;      /* when rc is not GRAFT_OK */
    uint64_t offset;            /* of the error: a trap's instruction */
    uint32_t nresults;
    graft_val results[MAX_VALS];
} outcome;

/* One run of an input. */
typedef struct run {
    outcome load, inst;
    int instantiated;           /* inst is filled in */
    uint32_t ncalls;            /* calls[0 .. ncalls) made */
    outcome calls[MAX_CALLS];
    uint32_t comparable;        /* calls before the first one out of fuel,
                                   UINT32_MAX when none ran out */
    int inst_out_of_fuel;       /* the start function ran out of fuel */
} run;

static void record(outcome *o, graft_result rc, const graft_error *e)
{
    o->rc = rc;
    o->code = rc == GRAFT_OK ? GRAFT_E_NONE : e->code;
    o->offset = rc == GRAFT_OK ? 0 : e->offset;
}

static int out_of_fuel(const outcome *o)
{
    return o->rc != GRAFT_OK && o->code == GRAFT_E_TRAP_OUT_OF_FUEL;
}

/* Call the exported functions in export order; at most `limit` calls. */
static void call_exports(graft_store *s, graft_instance *inst, const graft_module *m, int metered,
                         uint32_t limit, run *out)
{
    uint32_t n = graft_module_export_count(m);
    for (uint32_t i = 0; i < n && out->ncalls < limit; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        if (d.kind != GRAFT_EXTERN_FUNC) continue;
        graft_extern ext;
        if (graft_instance_export(inst, d.name, d.name_len, &ext) != GRAFT_OK) continue;
        if (d.func.nparams > MAX_VALS || d.func.nresults > MAX_VALS) continue;
        graft_val args[MAX_VALS];
        outcome *o = &out->calls[out->ncalls++];
        memset(o, 0, sizeof *o);
        for (uint32_t k = 0; k < d.func.nparams; k++) args[k] = zero_val(d.func.params[k]);
        if (metered) graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FUEL);
        graft_result rc = graft_call(ext.of.func, args, d.func.nparams, o->results,
                                     d.func.nresults);
        record(o, rc, graft_store_error(s));
        o->nresults = rc == GRAFT_OK ? d.func.nresults : 0;
        if (out_of_fuel(o) && out->comparable == UINT32_MAX) out->comparable = out->ncalls - 1;
    }
}

/* Load, instantiate and call. The unmetered run is told how far the
 * metered one got (ref): it stops where that one ran out of fuel. */
static void run_input(const uint8_t *data, size_t size, const run *ref, run *out)
{
    memset(out, 0, sizeof *out);
    out->comparable = UINT32_MAX;
    int metered = ref == NULL;
    uint32_t limit = ref && ref->comparable < MAX_CALLS ? ref->comparable : MAX_CALLS;
    graft_env_config cfg = {.budget = 64u << 20, .unmetered = !metered};
    graft_env *env;
    if (graft_env_new(&cfg, &env) != GRAFT_OK) return;
    graft_module *m = NULL;
    record(&out->load, graft_module_load(env, data, size, &m), graft_env_error(env));
    if (out->load.rc == GRAFT_OK && !(ref && ref->inst_out_of_fuel)) {
        graft_store_limits lim = {200, 1 << 14, 16, 1 << 12};
        graft_store *s = NULL;
        if (graft_store_new(env, &lim, &s) == GRAFT_OK) {
            zero_imports(s, m);
            graft_instance *inst = NULL;
            if (metered) graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FUEL);
            record(&out->inst, graft_instance_new(s, m, &inst), graft_store_error(s));
            out->instantiated = 1;
            out->inst_out_of_fuel = out_of_fuel(&out->inst);
            if (out->inst.rc == GRAFT_OK)
                call_exports(s, inst, m, metered, limit, out);
            graft_store_free(s);
        }
    }
    graft_module_free(m);
    graft_env_free(env);
}

static int same_val(const graft_val *a, const graft_val *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case GRAFT_I32: return a->of.i32 == b->of.i32;
    case GRAFT_F32: return a->of.f32_bits == b->of.f32_bits;
    case GRAFT_I64: return a->of.i64 == b->of.i64;
    case GRAFT_F64: return a->of.f64_bits == b->of.f64_bits;
    case GRAFT_FUNCREF: return !a->of.funcref == !b->of.funcref;   /* different instances */
    default: return !a->of.externref == !b->of.externref;
    }
}

/* Do two outcomes agree? An allocation refused by the budget may differ
 * (unmetered code is smaller), so a resource error matches anything. */
static int same_outcome(const outcome *a, const outcome *b)
{
    if (a->rc == GRAFT_ERR_RESOURCE || b->rc == GRAFT_ERR_RESOURCE) return 1;
    if (a->rc != b->rc || a->code != b->code || a->offset != b->offset) return 0;
    if (a->nresults != b->nresults) return 0;
    for (uint32_t i = 0; i < a->nresults; i++)
        if (!same_val(&a->results[i], &b->results[i])) return 0;
    return 1;
}

static void disagree(const char *what, uint32_t i, const outcome *a, const outcome *b)
{
    fprintf(stderr, "fuzz_engine: metered and unmetered disagree at %s %u:\n", what, i);
    const outcome *o[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        fprintf(stderr, "  %s: result %s, error %s, offset 0x%llx, %u results:",
                k ? "unmetered" : "metered", graft_result_name(o[k]->rc),
                graft_error_code_text(o[k]->code), (unsigned long long)o[k]->offset,
                o[k]->nresults);
        for (uint32_t v = 0; v < o[k]->nresults; v++)
            fprintf(stderr, " %d:0x%llx", (int)o[k]->results[v].type,
                    (unsigned long long)o[k]->results[v].of.i64);
        fprintf(stderr, "\n");
    }
    abort();
}

/* Everything the unmetered run did must agree with the metered run. */
static void compare_runs(const run *a, const run *b)
{
    if (!same_outcome(&a->load, &b->load)) disagree("load", 0, &a->load, &b->load);
    if (a->load.rc != GRAFT_OK || b->load.rc != GRAFT_OK) return;
    if (a->inst_out_of_fuel || !a->instantiated || !b->instantiated) return;
    if (!same_outcome(&a->inst, &b->inst)) disagree("instantiation", 0, &a->inst, &b->inst);
    if (a->inst.rc != GRAFT_OK || b->inst.rc != GRAFT_OK) return;
    uint32_t n = a->comparable < a->ncalls ? a->comparable : a->ncalls;
    if (b->ncalls != n) {
        fprintf(stderr, "fuzz_engine: %u calls metered, %u unmetered\n", n, b->ncalls);
        abort();
    }
    for (uint32_t i = 0; i < n; i++)
        if (!same_outcome(&a->calls[i], &b->calls[i]))
            disagree("call", i, &a->calls[i], &b->calls[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run metered, unmetered;   /* large: off the native stack */
    run_input(data, size, NULL, &metered);
    run_input(data, size, &metered, &unmetered);
    compare_runs(&metered, &unmetered);
    return 0;
}
