/* compile_ctl.c - control instructions for the one-pass validator and
 * compiler (compile.c): blocks, loops, if/else, end, branches, return,
 * calls [spec 3.3.8, A.3].
 *
 * Labels. A control frame's label values live in canonical slots: the
 * frame's entry height plus i. A block's or if's label is its end: forward
 * branches to it are chained on the frame (gr_ctl.fixups) and patched when
 * the `end` is reached. A loop's label is its head, a `loop_check`
 * instruction, so branches to it are resolved on the spot. A branch to the
 * function's own frame is a return and compiles to ret0/ret1/retn.
 *
 * Values cross a label in its canonical slots: at block entry every aliased
 * entry is materialized (so params sit in their own height slots, which are
 * canonical), at end/else the results are materialized into their own
 * height slots (canonical again, since the stack is exactly the frame's
 * height plus the results), and a branch copies its values up to the
 * target's slots in ascending order. Sources are either locals (below every
 * label slot) or their own height slot (at or above the destination), so an
 * ascending copy never overwrites a value it has yet to read.
 *
 * Unreachable code is validated with the polymorphic stack but emits
 * nothing: a frame entered there is marked dead, and gr_live() is false in
 * it. */
#include "compile.h"

#include <string.h>

/* Reserved stub_pc value: this label needs no stub in the current br_table. */
#define GR_NOSTUB (GR_NONE - 1)

static const gr_valtype one_type[] = {GRAFT_I32, GRAFT_I64, GRAFT_F32, GRAFT_F64, GRAFT_FUNCREF,
                                      GRAFT_EXTERNREF};

/* A block type [spec 5.4.1]: empty (0x40), one value type, or a type index. */
static graft_result read_blocktype(gr_cc *c, gr_ctl *f)
{
    uint64_t bits;
    graft_result rc = cc_read_leb(&c->r, 33, 1, &bits, c->err, "block type");
    if (rc != GRAFT_OK) return rc;
    int64_t v = (int64_t)bits;
    f->nparams = f->nresults = 0;
    f->params = f->results = NULL;
    if (v >= 0) {
        if ((uint64_t)v >= c->m->ntypes)
            return graft__cc_fail(c, GRAFT_E_UNKNOWN_TYPE, "%llu", (unsigned long long)v);
        const gr_functype *t = &c->m->types[v];
        f->nparams = t->nparams;
        f->params = t->params;
        f->nresults = t->nresults;
        f->results = t->results;
        return GRAFT_OK;
    }
    if (v == -64) return GRAFT_OK;   /* 0x40: [] -> [] */
    uint8_t b = (uint8_t)(v & 0x7F);
    for (unsigned i = 0; i < sizeof one_type; i++) {
        if (one_type[i] == b && v >= -64) {
            f->nresults = 1;
            f->results = &one_type[i];
            return GRAFT_OK;
        }
    }
    return graft__cc_fail(c, GRAFT_E_BAD_VALTYPE, "block type %lld", (long long)v);
}

/* [spec A.3 push_ctrl], for a frame whose kind and types are filled in. */
static graft_result push_ctrl(gr_cc *c, const gr_ctl *proto)
{
    int dead = c->nctls > 0 && !gr_live(c);
    graft_result rc = graft__cc_grow(c, (void **)&c->ctls, &c->ctls_cap, (uint64_t)c->nctls + 1,
                                     sizeof *c->ctls);
    if (rc != GRAFT_OK) return rc;
    gr_ctl *f = &c->ctls[c->nctls++];
    *f = *proto;
    f->unreachable = 0;
    f->dead = (uint8_t)dead;
    f->height = c->nvals;
    f->head_pc = GR_NONE;
    f->fixups = GR_NONE;
    f->else_fix = GR_NONE;
    f->stub_gen = 0;
    f->stub_pc = GR_NONE;
    return graft__cc_push_vals(c, f->params, f->nparams);
}

graft_result graft__cc_push_func_frame(gr_cc *c)
{
    gr_ctl f = {0};
    f.kind = GR_CTL_FUNC;
    f.nresults = c->type->nresults;
    f.results = c->type->results;
    return push_ctrl(c, &f);
}

/* The label's types [spec A.3 label_types]. */
static uint32_t label_arity(const gr_ctl *f, const gr_valtype **types)
{
    if (f->kind == GR_CTL_LOOP) {
        *types = f->params;
        return f->nparams;
    }
    *types = f->results;
    return f->nresults;
}

/* Return with the top n entries as results. */
static graft_result emit_return(gr_cc *c, uint32_t n)
{
    if (n == 0) return graft__cc_emit(c, GR_IOP_ret0, 0, NULL);
    if (n == 1) return graft__cc_emit(c, GR_IOP_ret1, 1, &gr_val_at(c, c->nvals - 1)->slot);
    graft_result rc = graft__cc_materialize_top(c, n);
    if (rc != GRAFT_OK) return rc;
    return graft__cc_emit(c, GR_IOP_retn, 2, (uint32_t[]){n, gr_hslot(c, c->nvals - n)});
}

static int needs_copies(const gr_cc *c, const gr_ctl *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (gr_val_at(c, c->nvals - n + i)->slot != gr_hslot(c, f->height + i)) return 1;
    return 0;
}

static graft_result emit_label_copies(gr_cc *c, const gr_ctl *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t src = gr_val_at(c, c->nvals - n + i)->slot, dst = gr_hslot(c, f->height + i);
        if (src == dst) continue;
        graft_result rc = graft__cc_emit(c, GR_IOP_copy, 2, (uint32_t[]){dst, src});
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* The branch on slot cond's i32 being nonzero (when = 1) or zero (0):
 * br_if/br_unless, or a fused compare-and-branch replacing the comparison
 * just emitted. */
static void cond_branch(gr_cc *c, uint32_t cond, int when, gr_cond *k)
{
#ifdef GR_WITH_FUSED
    if (graft__cc_fuse_cond(c, cond, when, k)) return;
#endif
    k->op = when ? GR_IOP_br_if : GR_IOP_br_unless;
    k->n = 1;
    k->ops[0] = cond;
}

/* `br T` (cond == GR_NONE) or a branch when cond is true, to frame f (not
 * the function). */
static graft_result emit_jump(gr_cc *c, gr_ctl *f, uint32_t cond)
{
    gr_cond k = {GR_IOP_br, 0, {0}};
    if (cond != GR_NONE) cond_branch(c, cond, 1, &k);
    uint32_t start = c->nwords;
    if (f->kind == GR_CTL_LOOP) {
        k.ops[k.n] = f->head_pc - start;
        return graft__cc_emit_backward(c, k.op, k.n + 1, k.ops);
    }
    k.ops[k.n] = 0;
    graft_result rc = graft__cc_emit(c, k.op, k.n + 1, k.ops);
    if (rc != GRAFT_OK) return rc;
    return graft__cc_add_fixup(c, c->nwords - 1, start, &f->fixups);
}

/* Leave for frame index fi with the top n entries as its label values. */
static graft_result emit_branch(gr_cc *c, uint32_t fi, uint32_t n)
{
    if (fi == 0) return emit_return(c, n);
    graft_result rc = emit_label_copies(c, &c->ctls[fi], n);
    if (rc != GRAFT_OK) return rc;
    return emit_jump(c, &c->ctls[fi], GR_NONE);
}

/* A branch when cond is false (`br_unless cond, skip` or fused), whose
 * skip target is patched by the caller. */
static graft_result emit_skip(gr_cc *c, uint32_t cond, uint32_t *chain)
{
    gr_cond k;
    cond_branch(c, cond, 0, &k);
    uint32_t start = c->nwords;
    k.ops[k.n] = 0;
    graft_result rc = graft__cc_emit(c, k.op, k.n + 1, k.ops);
    if (rc != GRAFT_OK) return rc;
    return graft__cc_add_fixup(c, c->nwords - 1, start, chain);
}

/* ---- Blocks -------------------------------------------------------------- */

static graft_result compile_block(gr_cc *c, gr_wasm_op op)
{
    gr_ctl f = {0};
    gr_ventry cond = {0};
    graft_result rc = read_blocktype(c, &f);
    f.kind = op == GR_OP_block ? GR_CTL_BLOCK : op == GR_OP_loop ? GR_CTL_LOOP : GR_CTL_IF;
    if (rc == GRAFT_OK && f.kind == GR_CTL_IF) rc = graft__cc_pop(c, GRAFT_I32, &cond);
    if (rc == GRAFT_OK) rc = graft__cc_check_vals(c, f.params, f.nparams);
    if (rc != GRAFT_OK) return rc;
    int live = gr_live(c);
    if (live) {
        rc = graft__cc_materialize_all(c);
        if (rc != GRAFT_OK) return rc;
    }
    graft__cc_drop_vals(c, f.nparams);
    rc = push_ctrl(c, &f);
    if (rc != GRAFT_OK || !live) return rc;
    gr_ctl *top = gr_ctl_top(c);
    if (f.kind == GR_CTL_LOOP) {
        /* The loop_check heads the body's first block and carries its fuel;
         * an unmetered module, where nothing counts, has nothing there: the
         * head is only a label. The back-edges test the interrupt flag. */
        top->head_pc = c->nwords;
        c->zero_locals = 0;   /* the back-edges bring writes */
        if (c->m->unmetered) return graft__cc_start_block(c);
        rc = graft__cc_emit(c, GR_IOP_loop_check, 1, NULL);
        c->fuel_at = c->nwords - 1;
        return rc;
    }
    if (f.kind == GR_CTL_IF) {
        rc = emit_skip(c, cond.slot, &top->else_fix);
        return rc == GRAFT_OK ? graft__cc_start_block(c) : rc;   /* the then-branch */
    }
    c->last_d = GR_NONE;
    return GRAFT_OK;
}

/* The checks of [spec A.3 pop_ctrl] that precede leaving a frame's body. */
static graft_result check_frame_end(gr_cc *c, const gr_ctl *f)
{
    graft_result rc = graft__cc_check_vals(c, f->results, f->nresults);
    if (rc != GRAFT_OK) return rc;
    uint64_t expect = (uint64_t)f->height + f->nresults;
    if (c->nvals > expect || (!f->unreachable && c->nvals != expect))
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "%llu values left at the end of a block "
                              "that yields %u", (unsigned long long)(c->nvals - f->height),
                              f->nresults);
    return GRAFT_OK;
}

static graft_result compile_else(gr_cc *c)
{
    gr_ctl *f = gr_ctl_top(c);
    if (f->kind != GR_CTL_IF)
        return graft__cc_fail(c, GRAFT_E_END_EXPECTED, "else without if");
    graft_result rc = check_frame_end(c, f);
    if (rc != GRAFT_OK) return rc;
    if (gr_live(c)) {
        /* The then-branch leaves its results in the canonical slots and
         * jumps over the else-branch. */
        rc = graft__cc_materialize_top(c, f->nresults);
        if (rc == GRAFT_OK) rc = emit_jump(c, f, GR_NONE);
        if (rc != GRAFT_OK) return rc;
    }
    graft__cc_patch(c, f->else_fix, c->nwords);
    f->else_fix = GR_NONE;
    graft__cc_drop_vals(c, f->nresults);
    f->kind = GR_CTL_ELSE;
    f->unreachable = 0;
    c->last_d = GR_NONE;
    c->last_op = GR_IOP_COUNT_;   /* a label */
    c->zero_locals = 0;           /* paths merge here */
    if (gr_live(c)) {
        rc = graft__cc_start_block(c);   /* the else-branch, reached by br_unless */
        if (rc != GRAFT_OK) return rc;
    }
    return graft__cc_push_vals(c, f->params, f->nparams);
}

static int same_types(const gr_valtype *a, uint32_t na, const gr_valtype *b, uint32_t nb)
{
    if (na != nb) return 0;
    for (uint32_t i = 0; i < na; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static graft_result compile_end(gr_cc *c)
{
    gr_ctl *f = gr_ctl_top(c);
    graft_result rc = check_frame_end(c, f);
    if (rc != GRAFT_OK) return rc;
    /* An if without else has an implicit empty else: [t1*] -> [t2*] needs t1* = t2*. */
    if (f->kind == GR_CTL_IF && !same_types(f->params, f->nparams, f->results, f->nresults))
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "if without else must not change the "
                              "stack's types");
    if (gr_live(c)) {
        rc = f->kind == GR_CTL_FUNC ? emit_return(c, f->nresults)
                                    : graft__cc_materialize_top(c, f->nresults);
        if (rc != GRAFT_OK) return rc;
    }
    /* A label that branches reach, or that falls from unreachable code,
     * starts a new basic block (fuel: what follows is not paid for by the
     * block before it). */
    int new_block = f->fixups != GR_NONE || f->else_fix != GR_NONE || f->unreachable;
    graft__cc_patch(c, f->else_fix, c->nwords);
    graft__cc_patch(c, f->fixups, c->nwords);
    graft__cc_drop_vals(c, f->nresults);
    c->nctls--;
    c->last_d = GR_NONE;
    c->last_op = GR_IOP_COUNT_;   /* a label */
    c->zero_locals = 0;           /* paths merge here */
    if (c->nctls == 0) return GRAFT_OK;
    if (new_block && gr_live(c)) {
        rc = graft__cc_start_block(c);
        if (rc != GRAFT_OK) return rc;
    }
    return graft__cc_push_vals(c, f->results, f->nresults);
}

/* ---- Branches ------------------------------------------------------------ */

/* A label depth into a frame index. */
static graft_result read_label(gr_cc *c, uint32_t *fi)
{
    uint32_t depth = 0;
    graft_result rc = cc_read_u32(&c->r, &depth, c->err, "label");
    if (rc != GRAFT_OK) return rc;
    if (depth >= c->nctls) return graft__cc_fail(c, GRAFT_E_UNKNOWN_LABEL, "%u", depth);
    *fi = c->nctls - 1 - depth;
    return GRAFT_OK;
}

static graft_result compile_br(gr_cc *c)
{
    uint32_t fi = 0;
    const gr_valtype *types;
    graft_result rc = read_label(c, &fi);
    if (rc != GRAFT_OK) return rc;
    uint32_t n = label_arity(&c->ctls[fi], &types);
    rc = graft__cc_check_vals(c, types, n);
    if (rc == GRAFT_OK && gr_live(c)) rc = emit_branch(c, fi, n);
    if (rc != GRAFT_OK) return rc;
    graft__cc_set_unreachable(c);
    return GRAFT_OK;
}

static graft_result compile_br_if(gr_cc *c)
{
    uint32_t fi = 0, skip = GR_NONE;
    const gr_valtype *types;
    gr_ventry cond = {0};
    graft_result rc = read_label(c, &fi);
    if (rc == GRAFT_OK) rc = graft__cc_pop(c, GRAFT_I32, &cond);
    if (rc != GRAFT_OK) return rc;
    gr_ctl *f = &c->ctls[fi];
    uint32_t n = label_arity(f, &types);
    rc = graft__cc_check_vals(c, types, n);
    if (rc != GRAFT_OK) return rc;
    if (gr_live(c)) {
        if (fi != 0 && !needs_copies(c, f, n)) {
            rc = emit_jump(c, f, cond.slot);
        } else {
            /* Copies happen on the taken path only; values that must be
             * moved for a multi-value return are moved first, on both
             * paths, so the stack entries stay right for the fall-through. */
            if (fi == 0 && n > 1) rc = graft__cc_materialize_top(c, n);
            if (rc == GRAFT_OK) rc = emit_skip(c, cond.slot, &skip);
            if (rc == GRAFT_OK) rc = emit_branch(c, fi, n);
            if (rc != GRAFT_OK) return rc;
            graft__cc_patch(c, skip, c->nwords);
            c->last_op = GR_IOP_COUNT_;   /* a label */
    c->zero_locals = 0;           /* paths merge here */
        }
        /* The fall-through is a new basic block. */
        return rc == GRAFT_OK ? graft__cc_start_block(c) : rc;
    }
    /* [spec A.3]: pop the label types, push them back (refining unknowns). */
    if (!gr_ctl_top(c)->unreachable) return GRAFT_OK;
    graft__cc_drop_vals(c, n);
    return graft__cc_push_vals(c, types, n);
}

/* Validate br_table's labels [spec A.3]; each frame's types are checked
 * once per instruction (frames carry the generation that checked them). */
static graft_result check_br_table(gr_cc *c, uint32_t nlabels, uint32_t *arity)
{
    const gr_valtype *types;
    uint32_t gen = ++c->stub_gen;
    *arity = label_arity(&c->ctls[c->depths[nlabels - 1]], &types);
    for (uint32_t k = 0; k < nlabels; k++) {
        gr_ctl *f = &c->ctls[c->depths[k]];
        if (label_arity(f, &types) != *arity)
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "br_table labels of arity %u and %u",
                                  label_arity(f, &types), *arity);
        if (f->stub_gen == gen) continue;
        f->stub_gen = gen;
        graft_result rc = graft__cc_check_vals(c, types, *arity);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* `br_table s n T0..Tn-1 Tdefault`; a target whose values need copying, or
 * that returns, goes through a stub emitted after the table. */
static graft_result emit_br_table(gr_cc *c, uint32_t cond, uint32_t nlabels, uint32_t arity)
{
    graft_result rc = GRAFT_OK;
    for (uint32_t k = 0; k < nlabels && arity > 1; k++)
        if (c->depths[k] == 0) {
            rc = graft__cc_materialize_top(c, arity);
            break;
        }
    uint32_t gen = ++c->stub_gen, start = c->nwords;
    if (rc == GRAFT_OK) rc = graft__cc_emit(c, GR_IOP_br_table, 2 + nlabels, NULL);
    if (rc != GRAFT_OK) return rc;
    c->words[start + 1] = cond;
    c->words[start + 2] = nlabels - 1;
    for (uint32_t k = 0; k < nlabels && rc == GRAFT_OK; k++) {
        gr_ctl *f = &c->ctls[c->depths[k]];
        if (f->stub_gen != gen) {
            f->stub_gen = gen;
            f->stub_pc = (c->depths[k] == 0 || needs_copies(c, f, arity)) ? GR_NONE : GR_NOSTUB;
        }
        if (f->stub_pc != GR_NOSTUB) continue;
        if (f->kind == GR_CTL_LOOP) c->words[start + 3 + k] = f->head_pc - start;
        else rc = graft__cc_add_fixup(c, start + 3 + k, start, &f->fixups);
    }
    for (uint32_t k = 0; k < nlabels && rc == GRAFT_OK; k++) {
        gr_ctl *f = &c->ctls[c->depths[k]];
        if (f->stub_pc == GR_NOSTUB) continue;
        if (f->stub_pc == GR_NONE) {
            f->stub_pc = c->nwords;
            rc = emit_branch(c, c->depths[k], arity);
        }
        c->words[start + 3 + k] = f->stub_pc - start;
    }
    return rc;
}

static graft_result compile_br_table(gr_cc *c)
{
    uint32_t n = 0, arity = 0;
    gr_ventry cond = {0};
    graft_result rc = cc_read_u32(&c->r, &n, c->err, "br_table label count");
    if (rc != GRAFT_OK) return rc;
    if (n >= gr_remaining(&c->r)) return gr_eof(&c->r, c->err, "br_table labels");
    rc = graft__cc_grow(c, (void **)&c->depths, &c->depths_cap, (uint64_t)n + 1, sizeof *c->depths);
    for (uint32_t k = 0; k <= n && rc == GRAFT_OK; k++) {
        uint32_t depth = 0;
        rc = cc_read_u32(&c->r, &depth, c->err, "br_table label");
        c->depths[k] = depth;  /* a depth here, a frame index after the checks */
    }
    if (rc == GRAFT_OK) rc = graft__cc_pop(c, GRAFT_I32, &cond);
    for (uint32_t k = 0; k <= n && rc == GRAFT_OK; k++) {
        if (c->depths[k] >= c->nctls)
            return graft__cc_fail(c, GRAFT_E_UNKNOWN_LABEL, "%u", c->depths[k]);
        c->depths[k] = c->nctls - 1 - c->depths[k];
    }
    if (rc == GRAFT_OK) rc = check_br_table(c, n + 1, &arity);
    if (rc == GRAFT_OK && gr_live(c)) rc = emit_br_table(c, cond.slot, n + 1, arity);
    if (rc != GRAFT_OK) return rc;
    graft__cc_set_unreachable(c);
    return GRAFT_OK;
}

static graft_result compile_return(gr_cc *c)
{
    const gr_ctl *fn = &c->ctls[0];
    graft_result rc = graft__cc_check_vals(c, fn->results, fn->nresults);
    if (rc == GRAFT_OK && gr_live(c)) rc = emit_return(c, fn->nresults);
    if (rc != GRAFT_OK) return rc;
    graft__cc_set_unreachable(c);
    return GRAFT_OK;
}

/* ---- Calls [spec 3.3.8.10, 3.3.8.11] --------------------------------------- */

/* Check and pass the arguments of t, emit the call, push its results. The
 * callee's frame starts at the first argument's slot. */
static graft_result finish_call(gr_cc *c, const gr_functype *t, gr_iop op, uint32_t *ops,
                                uint32_t nops)
{
    graft_result rc = graft__cc_check_vals(c, t->params, t->nparams);
    if (rc != GRAFT_OK) return rc;
    if (gr_live(c)) {
        rc = graft__cc_materialize_top(c, t->nparams);
        ops[nops - 1] = gr_hslot(c, c->nvals - t->nparams);
        if (rc == GRAFT_OK) rc = graft__cc_emit(c, op, nops, ops);
        if (rc != GRAFT_OK) return rc;
    }
    graft__cc_drop_vals(c, t->nparams);
    return graft__cc_push_vals(c, t->results, t->nresults);
}

/* A tail call [proposal tail-call]: the callee's results must be the
 * current function's; arguments pass as for a call (materialized into
 * height slots, above every local, so the interpreter may move them down
 * to fp[0..) ascending), and the rest of the block is unreachable. */
static graft_result finish_return_call(gr_cc *c, const gr_functype *t, gr_iop op,
                                       uint32_t *ops, uint32_t nops)
{
    const gr_ctl *fn = &c->ctls[0];
    if (t->nresults != fn->nresults ||
        (t->nresults && memcmp(t->results, fn->results, t->nresults) != 0))
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH,
                              "tail call results differ from the function's");
    graft_result rc = finish_call(c, t, op, ops, nops);
    if (rc != GRAFT_OK) return rc;
    graft__cc_set_unreachable(c);
    return GRAFT_OK;
}

static graft_result compile_call(gr_cc *c, int tail)
{
    uint32_t x = 0;
    graft_result rc = cc_read_u32(&c->r, &x, c->err, "function index");
    if (rc != GRAFT_OK) return rc;
    if (x >= c->m->nfuncs) return graft__cc_fail(c, GRAFT_E_UNKNOWN_FUNC, "%u", x);
    uint32_t tx = c->m->func_types[x];
    if (tx >= c->m->ntypes) return graft__cc_fail(c, GRAFT_E_UNKNOWN_TYPE, "%u", tx);
    uint32_t ops[2] = {x, 0};
    if (tail) return finish_return_call(c, &c->m->types[tx], GR_IOP_return_call, ops, 2);
    return finish_call(c, &c->m->types[tx], GR_IOP_call, ops, 2);
}

static graft_result compile_call_indirect(gr_cc *c, int tail)
{
    uint32_t y = 0, x = 0;
    gr_ventry elem = {0};
    graft_result rc = cc_read_u32(&c->r, &y, c->err, "type index");
    if (rc == GRAFT_OK) rc = cc_read_u32(&c->r, &x, c->err, "table index");
    if (rc != GRAFT_OK) return rc;
    if (x >= c->m->ntables) return graft__cc_fail(c, GRAFT_E_UNKNOWN_TABLE, "%u", x);
    if (y >= c->m->ntypes) return graft__cc_fail(c, GRAFT_E_UNKNOWN_TYPE, "%u", y);
    if (c->m->tables[x].elem != GRAFT_FUNCREF)
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "call_indirect through a table of %s",
                              c->m->tables[x].elem == GRAFT_EXTERNREF ? "externref" : "?");
    rc = graft__cc_pop(c, GRAFT_I32, &elem);
    if (rc != GRAFT_OK) return rc;
    uint32_t ops[4] = {y, x, elem.slot, 0};
    if (tail) return finish_return_call(c, &c->m->types[y], GR_IOP_return_call_indirect, ops, 4);
    return finish_call(c, &c->m->types[y], GR_IOP_call_indirect, ops, 4);
}

graft_result graft__cc_control(gr_cc *c, gr_wasm_op op)
{
    switch (op) {
    case GR_OP_nop:
        return GRAFT_OK;
    case GR_OP_unreachable:
        if (gr_live(c)) {
            graft_result rc = graft__cc_emit(c, GR_IOP_unreachable, 0, NULL);
            if (rc != GRAFT_OK) return rc;
        }
        graft__cc_set_unreachable(c);
        return GRAFT_OK;
    case GR_OP_block: case GR_OP_loop: case GR_OP_if:
        return compile_block(c, op);
    case GR_OP_else:
        return compile_else(c);
    case GR_OP_end:
        return compile_end(c);
    case GR_OP_br:
        return compile_br(c);
    case GR_OP_br_if:
        return compile_br_if(c);
    case GR_OP_br_table:
        return compile_br_table(c);
    case GR_OP_return:
        return compile_return(c);
    case GR_OP_call:
        return compile_call(c, 0);
    case GR_OP_call_indirect:
        return compile_call_indirect(c, 0);
    case GR_OP_return_call:
        return compile_call(c, 1);
    case GR_OP_return_call_indirect:
        return compile_call_indirect(c, 1);
    default:
        return graft__cc_fail(c, GRAFT_E_ILLEGAL_OPCODE, "%s is not handled",
                              graft__op_info[op].name);
    }
}
