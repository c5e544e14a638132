/* fuel.c - the fuel tank and suspended calls: graft_store_set_fuel and
 * friends, graft_resume, graft_abandon, host function costs (the cost model
 * and where charges sit: docs/engine.md, "Fuel").
 *
 * The tank is s->fuel, charged by the interpreter at the head of every basic
 * block, per chunk of bulk work and per host call, and by host functions
 * themselves through graft_caller_charge. With GRAFT_FUEL_OFF it
 * holds UINT64_MAX, which no run can drain, so a metered module runs the
 * same code with fuel off or on and the count is available either way.
 *
 * A suspended call (GRAFT_SUSPENDED) is the store's value stack and frame
 * records as the interpreter left them, with the innermost frame's pc at
 * the charge that ran dry; s->susp_func and s->susp_fp say where its results
 * will land. Nothing else is kept, so resuming needs no native stack.
 *
 * Unmetered modules (graft_env_config.unmetered) are compiled without
 * charges; graft__fuel_check keeps them out of stores whose fuel is on. */
#include "runtime.h"

graft_result graft__fuel_check(graft_store *s, const graft_module *m)
{
    if (s->fuel_mode == GRAFT_FUEL_OFF) return GRAFT_OK;
    const graft_module *u = m && m->unmetered ? m : s->unmetered;
    if (!u) return GRAFT_OK;
    return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        "fuel is on, but %s unmetered module %p (loaded through an env "
                        "with graft_env_config.unmetered) cannot be metered: load it "
                        "through a metered env, or set GRAFT_FUEL_OFF",
                        u == m ? "instantiating" : "this store holds", (const void *)u);
}

void graft_store_set_fuel(graft_store *s, graft_fuel_mode mode, uint64_t fuel)
{
    if (!s) return;
    s->fuel_mode = (uint8_t)mode;
    s->fuel = s->fuel_given = mode == GRAFT_FUEL_OFF ? UINT64_MAX : fuel;
}

void graft_store_add_fuel(graft_store *s, uint64_t fuel)
{
    if (!s || s->fuel_mode == GRAFT_FUEL_OFF) return;
    /* Saturate: a tank never wraps. */
    uint64_t room = UINT64_MAX - s->fuel;
    if (fuel > room) fuel = room;
    s->fuel += fuel;
    s->fuel_given += fuel < UINT64_MAX - s->fuel_given ? fuel : UINT64_MAX - s->fuel_given;
}

uint64_t graft_store_fuel(const graft_store *s)
{
    return s ? s->fuel : 0;
}

uint64_t graft_store_fuel_consumed(const graft_store *s)
{
    return s ? s->fuel_given - s->fuel : 0;
}

void graft_func_set_cost(graft_func *f, uint64_t units)
{
    if (f && f->host) f->host_cost = units;
}

/* A host function's charge for its own work. Never suspends (the native
 * host frame cannot be kept), so suspend mode traps like trap mode; with
 * fuel off the UINT64_MAX tank only counts. */
graft_result graft_caller_charge(graft_caller *c, uint64_t units)
{
    graft_store *s = graft_caller_store(c);
    if (s->fuel >= units) {
        s->fuel -= units;
        return GRAFT_OK;
    }
    if (s->fuel_mode == GRAFT_FUEL_OFF) return GRAFT_OK;
    s->host_short = 1;
    return graft__error(&s->err, GRAFT_E_TRAP_OUT_OF_FUEL, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        NULL);
}

/* The suspended call is over (finished, trapped or abandoned): the store is
 * idle again. */
static void end_suspended(graft_store *s)
{
    s->stack_top = s->susp_fp;
    s->nframes = 0;
    s->suspended = 0;
    s->susp_func = NULL;
    s->susp_fp = NULL;
    s->bulk_pc = NULL;
    s->bulk_done = 0;
}

graft_result graft_resume(graft_store *s, graft_val *results, size_t nresults)
{
    if (!s) return GRAFT_ERR_API;
    graft__error_clear(&s->err);
    graft_result r = graft__fuel_check(s, NULL);
    if (r != GRAFT_OK) return r;
    if (!s->suspended)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "graft_resume: no call is suspended");
    const gr_functype *t = s->susp_func->type;
    if (nresults != t->nresults || (nresults && !results))
        return graft__error(&s->err, GRAFT_E_ARITY_MISMATCH, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "the suspended function returns %u results; room for %zu",
                            t->nresults, nresults);
    r = graft__interp_resume(s);
    if (r == GRAFT_SUSPENDED) return r;
    gr_slot *fp = s->susp_fp;
    end_suspended(s);
    if (r == GRAFT_OK) {
        for (size_t i = 0; i < nresults; i++)
            graft__slot_to_val(fp[i], (graft_valtype)t->results[i], &results[i]);
    }
    return r;
}

void graft_abandon(graft_store *s)
{
    if (!s || !s->suspended) return;
    end_suspended(s);
}
