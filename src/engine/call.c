/* call.c - calling into the store from the host (graft_call) [spec 4.5.5
 * invocation], and the caller handle that host functions receive.
 *
 * graft_call checks the arguments against the function's type, makes sure
 * the execution stack exists, places the arguments as cells at
 * s->stack_top (the first free cell for a new outermost call) and hands
 * the frame to the interpreter. While the call runs, stack_top sits above
 * that frame, so a host function that calls back in (re-entrancy) gets a
 * fresh region; on return both stack_top and the frame count are restored,
 * whatever the interpreter left behind after a trap. An outermost call that
 * ends in an error also answers a pending interrupt (clears the flag).
 *
 * Ownership: nothing is allocated on the call path except the store's
 * stacks on the very first call; results are written to the caller's
 * array. */
#include "runtime.h"


static bool interrupt_pending(graft_store *s)
{
#if !defined(__STDC_NO_ATOMICS__)
    return atomic_load_explicit(&s->interrupt, memory_order_relaxed) != 0;
#else
    return s->interrupt != 0;
#endif
}

/* Counts, then each argument's type and store. */
static graft_result check_args(graft_store *s, const gr_functype *t, const graft_val *args,
                               size_t nargs, const graft_val *results, size_t nresults)
{
    if (nargs != t->nparams || nresults != t->nresults)
        return graft__error(&s->err, GRAFT_E_ARITY_MISMATCH, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "the function takes %u arguments and returns %u results; called "
                            "with %zu and room for %zu",
                            t->nparams, t->nresults, nargs, nresults);
    if ((nargs && !args) || (nresults && !results))
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "NULL argument or result array");
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].type != (graft_valtype)t->params[i])
            return graft__error(&s->err, GRAFT_E_VALUE_TYPE_MISMATCH, GRAFT_NO_OFFSET,
                                GRAFT_NO_INDEX, "argument %zu: expected %s, got %s", i,
                                graft_valtype_name((graft_valtype)t->params[i]),
                                graft_valtype_name(args[i].type));
        if (args[i].type == GRAFT_FUNCREF && args[i].of.funcref && args[i].of.funcref->store != s)
            return graft__error(&s->err, GRAFT_E_WRONG_STORE, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                                "argument %zu", i);
    }
    return GRAFT_OK;
}

graft_result graft_call(graft_func *f, const graft_val *args, size_t nargs, graft_val *results,
                        size_t nresults)
{
    if (!f) return GRAFT_ERR_API;
    graft_store *s = f->store;
    graft__error_clear(&s->err);
    if (s->suspended)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "a call is suspended on this store: graft_resume or "
                            "graft_abandon it first");
    graft_result r = graft__fuel_check(s, NULL);
    if (r != GRAFT_OK) return r;
    const gr_functype *t = f->type;
    r = check_args(s, t, args, nargs, results, nresults);
    if (r != GRAFT_OK) return r;
    if (!f->host && !f->code)
        return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                            "function has no code");
    r = graft__store_stack(s);
    if (r != GRAFT_OK) return r;

    uint32_t need = f->code ? f->code->frame_slots
                            : (t->param_slots > t->result_slots ? t->param_slots : t->result_slots);
    gr_slot *fp = s->stack_top;
    size_t room = (size_t)(s->stack + s->limits.max_stack_slots - fp);
    if (need > room || s->nframes >= s->limits.max_call_depth)
        return graft__error(&s->err, GRAFT_E_TRAP_STACK_EXHAUSTED, GRAFT_NO_OFFSET,
                            GRAFT_NO_INDEX, NULL);
    for (size_t i = 0; i < nargs; i++) graft__val_to_slot(&args[i], &fp[i]);

    uint32_t saved_frames = s->nframes;
    s->stack_top = fp + need;
    /* The outermost call (not one re-entered from a host function) may
     * suspend; it keeps its frames and stack until graft_resume. */
    int outermost = saved_frames == 0;
    if (outermost) {
        s->susp_func = f;
        s->susp_fp = fp;
    }
    r = graft__interp_run(s, f, fp);
    if (r == GRAFT_SUSPENDED) return r;
    if (outermost) s->susp_func = NULL;
    s->stack_top = fp;
    s->nframes = saved_frames;
    if (r == GRAFT_OK) {
        for (size_t i = 0; i < nresults; i++)
            graft__slot_to_val(fp[i], (graft_valtype)t->results[i], &results[i]);
    } else if (s->err.pub.code == GRAFT_E_TRAP_INTERRUPTED ||
               (outermost && interrupt_pending(s))) {
        /* The request has been answered (the call stopped, perhaps by a
         * host function that saw the flag); the next call runs normally. */
#if !defined(__STDC_NO_ATOMICS__)
        atomic_store(&s->interrupt, 0);
#else
        s->interrupt = 0;
#endif
    }
    return r;
}

/* ---- The caller handle ------------------------------------------------- */

graft_store *graft_caller_store(graft_caller *c)
{
    return c->store;
}

graft_instance *graft_caller_instance(graft_caller *c)
{
    return c->inst;
}

graft_memory *graft_caller_memory(graft_caller *c)
{
    graft_instance *inst = c->inst;
    return inst && inst->module->nmemories ? inst->memories[0] : NULL;
}

bool graft_caller_interrupted(graft_caller *c)
{
    return interrupt_pending(c->store);
}

graft_result graft_caller_trap(graft_caller *c, const char *message)
{
    return graft__error(&c->store->err, GRAFT_E_TRAP_HOST, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                        message ? "%s" : NULL, message);
}

graft_result graft_caller_exit(graft_caller *c, int32_t code)
{
    graft_result r = graft__error(&c->store->err, GRAFT_E_EXIT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX,
                                  "%d", (int)code);
    c->store->err.pub.exit_code = code;
    return r;
}
