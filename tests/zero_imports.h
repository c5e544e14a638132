/* zero_imports.h - satisfy every import of a module with a host object of
 * the declared type: functions that return zeros, fresh tables and
 * memories with the import's limits, globals holding zero. Used by the
 * fuzz target and the fault-injection tests, which load arbitrary modules. */
#ifndef GRAFT_TEST_ZERO_IMPORTS_H
#define GRAFT_TEST_ZERO_IMPORTS_H

#include <graft.h>
#include <string.h>

static graft_result zero_imports_fn(graft_caller *c, graft_slot *slots, void *user)
{
    (void)c;
    uint32_t n = (uint32_t)(uintptr_t)user;
    for (uint32_t i = 0; i < n; i++) slots[i].raw = 0;
    return GRAFT_OK;
}

static inline graft_val zero_val(graft_valtype t)
{
    graft_val v;
    memset(&v, 0, sizeof v);
    v.type = t;
    return v;
}

/* Bind a host object for each import of m into s's registry. Failures
 * (for example under fault injection) leave that import unbound, so the
 * instantiation that follows fails to link: a clean error either way. */
static inline void zero_imports(graft_store *s, const graft_module *m)
{
    uint32_t n = graft_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        graft_extern ext;
        memset(&ext, 0, sizeof ext);
        ext.kind = d.kind;
        graft_result r = GRAFT_ERR_API;
        switch (d.kind) {
        case GRAFT_EXTERN_FUNC:
            r = graft_func_new_host(s, &d.func, zero_imports_fn, (void *)(uintptr_t)d.func.nresults,
                                    &ext.of.func);
            break;
        case GRAFT_EXTERN_TABLE:
            r = graft_table_new(s, d.elem_type, d.limits, &ext.of.table);
            break;
        case GRAFT_EXTERN_MEMORY:
            r = graft_memory_new(s, d.limits, &ext.of.memory);
            break;
        case GRAFT_EXTERN_GLOBAL:
            r = graft_global_new(s, d.global_type, d.global_mutable, zero_val(d.global_type),
                                 &ext.of.global);
            break;
        }
        if (r == GRAFT_OK) graft_store_define(s, d.module, d.module_len, d.name, d.name_len, ext);
    }
}

#endif
