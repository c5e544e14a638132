/* fuzz_engine.c - libFuzzer target over the whole engine: decode, validate,
 * compile, link (every import satisfied by a host object of the right
 * type), instantiate, and call every exported function with zero
 * arguments. Execution is bounded by the store's step budget (loop
 * iterations plus calls), small stacks and a small memory cap, so every
 * input finishes quickly.
 *
 * Any crash, sanitizer report or leak is a bug: the engine must turn every
 * input into either success or a clean error. */
#include <graft.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "zero_imports.h"

#define FUEL 200000   /* WebAssembly instructions per call (trap mode) */

static void call_exports(graft_store *s, graft_instance *inst, const graft_module *m)
{
    uint32_t n = graft_module_export_count(m);
    for (uint32_t i = 0; i < n && i < 16; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        if (d.kind != GRAFT_EXTERN_FUNC) continue;
        graft_extern ext;
        if (graft_instance_export(inst, d.name, d.name_len, &ext) != GRAFT_OK) continue;
        graft_val args[16], results[16];
        if (d.func.nparams > 16 || d.func.nresults > 16) continue;
        for (uint32_t k = 0; k < d.func.nparams; k++) args[k] = zero_val(d.func.params[k]);
        graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FUEL);
        graft_call(ext.of.func, args, d.func.nparams, results, d.func.nresults);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graft_env_config cfg = {.budget = 64u << 20};
    graft_env *env;
    if (graft_env_new(&cfg, &env) != GRAFT_OK) return 0;
    graft_module *m = NULL;
    if (graft_module_load(env, data, size, &m) == GRAFT_OK) {
        graft_store_limits lim = {200, 1 << 14, 16, 1 << 12};
        graft_store *s = NULL;
        if (graft_store_new(env, &lim, &s) == GRAFT_OK) {
            zero_imports(s, m);
            graft_instance *inst = NULL;
            graft_store_set_fuel(s, GRAFT_FUEL_TRAP, FUEL);
            if (graft_instance_new(s, m, &inst) == GRAFT_OK) call_exports(s, inst, m);
            graft_store_free(s);
        }
        graft_module_free(m);
    }
    graft_env_free(env);
    return 0;
}
