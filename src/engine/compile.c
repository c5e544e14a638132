/* compile.c - validates each function body exactly as the spec's
 * validation algorithm does [spec A.3, 3.3] and, in the same single pass,
 * emits the register-style internal code of code.h.
 *
 * This file holds the driver (graft__compile_module: one function after
 * another, code copied into the module arena), local declarations, the
 * operand stack with its slot aliases, emission, and every instruction that
 * is not control flow: numeric (from the ops.def table), memory, variable,
 * parametric, reference, table and bulk instructions. compile_ctl.c holds
 * blocks, branches, calls and returns. The shared state, gr_cc, and the
 * aliasing scheme are described in compile.h.
 *
 * Ownership: gr_cc's buffers are scratch on the module's env, freed before
 * graft__compile_module returns, on success and on error alike. Each
 * function's gr_code, words and pcmap live in the module arena. */
#include "compile.h"

#include <string.h>

/* Local counts above this compile `local.get` to a copy instead of an alias,
 * so that the per-local alias table stays small. */
#define GR_MAX_ALIAS_LOCALS 65536u
/* Entries in any scratch buffer (code words, stack entries, fixups):
 * beyond it a function is "too complex" rather than a huge allocation. */
#define GR_MAX_ENTRIES (1u << 26)

/* ---- Errors and buffers ------------------------------------------------- */

graft_result graft__cc_fail(gr_cc *c, graft_error_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    graft_result r = graft__verror(c->err, code, c->at, c->func_index, fmt, ap);
    va_end(ap);
    return r;
}

graft_result graft__cc_grow(gr_cc *c, void **buf, uint32_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap) return GRAFT_OK;
    if (need > GR_MAX_ENTRIES)
        return graft__cc_fail(c, GRAFT_E_FUNC_TOO_COMPLEX, "more than %u code words, operands "
                              "or branches", GR_MAX_ENTRIES);
    uint64_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    if (ncap > GR_MAX_ENTRIES) ncap = GR_MAX_ENTRIES;
    void *p = graft__realloc(c->env, *buf, (size_t)*cap * elem, (size_t)ncap * elem);
    if (!p) return graft__oom(c->env, c->err, c->at, c->func_index, "compiler scratch");
    *buf = p;
    *cap = (uint32_t)ncap;
    return GRAFT_OK;
}

/* Names in messages; a polymorphic-stack entry is "any". */
static const char *type_name(uint8_t t)
{
    return t == GR_UNKNOWN ? "any" : graft__type_name(t);
}

/* ---- Operand stack [spec A.3 push_val, pop_val] ---------------------- */

static void unlink_alias(gr_cc *c, uint32_t idx)
{
    gr_ventry *e = gr_val_at(c, idx);
    if (e->up != GR_NONE) gr_val_at(c, e->up)->down = e->down;
    else c->alias_head[e->slot] = e->down;
    if (e->down != GR_NONE) gr_val_at(c, e->down)->up = e->up;
    e->up = e->down = GR_NONE;
    c->nalias--;
}

static void pop_top(gr_cc *c)
{
    uint32_t idx = c->nvals - 1;
    if (gr_val_at(c, idx)->slot < c->nlocals) unlink_alias(c, idx);
    c->nvals = idx;
    if (c->alias_floor > idx) c->alias_floor = idx;
}

graft_result graft__cc_push(gr_cc *c, uint8_t type)
{
    graft_result rc = graft__cc_grow(c, (void **)&c->vals, &c->vals_cap, (uint64_t)c->nvals + 1,
                                     sizeof *c->vals);
    if (rc != GRAFT_OK) return rc;
    gr_ventry *e = &c->vals[c->nvals];
    e->type = type;
    e->slot = gr_hslot(c, c->nvals);
    e->up = e->down = GR_NONE;
    c->nvals++;
    if (c->nvals > c->max_height) c->max_height = c->nvals;
    return GRAFT_OK;
}

/* Push an entry whose value is local x's slot (no code). */
static graft_result push_alias(gr_cc *c, uint8_t type, uint32_t x)
{
    graft_result rc = graft__cc_push(c, type);
    if (rc != GRAFT_OK) return rc;
    uint32_t idx = c->nvals - 1;
    gr_ventry *e = gr_val_at(c, idx);
    e->slot = x;
    e->down = c->alias_head[x];
    if (e->down != GR_NONE) gr_val_at(c, e->down)->up = idx;
    c->alias_head[x] = idx;
    c->nalias++;
    if (c->alias_floor > idx) c->alias_floor = idx;
    return GRAFT_OK;
}

graft_result graft__cc_pop(gr_cc *c, uint8_t expect, gr_ventry *out)
{
    const gr_ctl *f = gr_ctl_top(c);
    if (c->nvals == f->height) {
        if (f->unreachable) {
            out->type = GR_UNKNOWN;
            out->slot = gr_hslot(c, c->nvals);
            out->up = out->down = GR_NONE;
            return GRAFT_OK;
        }
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "expected %s but nothing is on the stack",
                              expect ? type_name(expect) : "a value");
    }
    gr_ventry e = *gr_val_at(c, c->nvals - 1);
    if (expect != GR_UNKNOWN && e.type != GR_UNKNOWN && e.type != expect)
        return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "expected %s, got %s", type_name(expect),
                              type_name(e.type));
    pop_top(c);
    *out = e;
    return GRAFT_OK;
}

/* Check that the top of the stack matches types[0..n) without popping:
 * equivalent to the spec's pop_vals followed by pushing back what was
 * popped (positions below a polymorphic frame's base count as unknown). */
graft_result graft__cc_check_vals(gr_cc *c, const gr_valtype *types, uint32_t n)
{
    const gr_ctl *f = gr_ctl_top(c);
    for (uint32_t k = 0; k < n; k++) {
        uint8_t want = types[n - 1 - k];
        if ((uint64_t)c->nvals < (uint64_t)f->height + k + 1) {
            if (f->unreachable) continue;
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "expected %u values, the stack has %u",
                                  n, k);
        }
        uint8_t have = gr_val_at(c, c->nvals - 1 - k)->type;
        if (have != GR_UNKNOWN && have != want)
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "expected %s, got %s", type_name(want),
                                  type_name(have));
    }
    return GRAFT_OK;
}

void graft__cc_drop_vals(gr_cc *c, uint32_t n)
{
    const gr_ctl *f = gr_ctl_top(c);
    while (n-- > 0 && c->nvals > f->height) pop_top(c);
}

graft_result graft__cc_push_vals(gr_cc *c, const gr_valtype *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        graft_result rc = graft__cc_push(c, types[i]);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* [spec A.3 unreachable]: purge the frame's operands, make it polymorphic. */
void graft__cc_set_unreachable(gr_cc *c)
{
    gr_ctl *f = gr_ctl_top(c);
    while (c->nvals > f->height) pop_top(c);
    f->unreachable = 1;
}

/* ---- Emission ------------------------------------------------------------ */

/* Append the pcmap entry of the instruction at word pc. */
static graft_result add_pcmap(gr_cc *c, uint32_t pc, uint32_t wasm_offset)
{
    graft_result rc = graft__cc_grow(c, (void **)&c->pcmap, &c->pcmap_cap,
                                     (uint64_t)c->npcmap + 1, sizeof *c->pcmap);
    if (rc != GRAFT_OK) return rc;
    c->npcmap++;
    gr_pcmap *e = gr_pcmap_at(c, c->npcmap - 1);
    e->pc = pc;
    e->wasm_offset = wasm_offset;
    return GRAFT_OK;
}

/* Append one instruction: handler word, then n operand words (zeros when
 * operands is NULL). traps: record a pcmap entry. */
static graft_result emit_raw(gr_cc *c, gr_iop op, int traps, uint32_t n, const uint32_t *operands)
{
    graft_result rc = graft__cc_grow(c, (void **)&c->words, &c->words_cap,
                                     (uint64_t)c->nwords + 1 + n, sizeof *c->words);
    if (rc != GRAFT_OK) return rc;
    uint32_t start = c->nwords;
    /* Every entry names an instruction already emitted: one left behind by
     * words taken back would be taken for the new instruction's own. */
    assert(c->npcmap == 0 || gr_pcmap_at(c, c->npcmap - 1)->pc < start);
    c->prev_d = c->last_d;
    c->prev_pc = c->last_pc;
    c->prev_op = c->last_op;
    if (traps) {
        rc = add_pcmap(c, start, (uint32_t)c->at);
        if (rc != GRAFT_OK) return rc;
    }
    c->words[start] = (uint32_t)c->handlers[op];
    c->last_pc = start;
    c->last_op = op;
    if (operands) memcpy(&c->words[start + 1], operands, n * sizeof *operands);
    else memset(&c->words[start + 1], 0, n * sizeof *c->words);
    c->nwords = start + 1 + n;
    c->last_d = GR_NONE;
    return GRAFT_OK;
}

/* Internal instructions that trap or call get a pcmap entry (code.h). */
int graft__iop_traps(gr_iop op)
{
    /* Loads and stores (all may trap) are consecutive rows of ops.def. */
    _Static_assert(GR_IOP_i64_store32 - GR_IOP_i32_load == 22, "memory rows are contiguous");
    if (op >= GR_IOP_i32_load && op <= GR_IOP_i64_store32) return 1;
    switch (op) {
    case GR_IOP_unreachable: case GR_IOP_loop_check: case GR_IOP_fuel: case GR_IOP_br_table:
    case GR_IOP_call: case GR_IOP_call_indirect:
    case GR_IOP_return_call: case GR_IOP_return_call_indirect:
    case GR_IOP_table_get: case GR_IOP_table_set: case GR_IOP_table_fill: case GR_IOP_table_copy:
    case GR_IOP_table_init: case GR_IOP_memory_init: case GR_IOP_memory_copy:
    case GR_IOP_memory_fill: case GR_IOP_memory_grow: case GR_IOP_table_grow:
    case GR_IOP_i32_div_s: case GR_IOP_i32_div_u: case GR_IOP_i32_rem_s: case GR_IOP_i32_rem_u:
    case GR_IOP_i64_div_s: case GR_IOP_i64_div_u: case GR_IOP_i64_rem_s: case GR_IOP_i64_rem_u:
    case GR_IOP_i32_trunc_f32_s: case GR_IOP_i32_trunc_f32_u: case GR_IOP_i32_trunc_f64_s:
    case GR_IOP_i32_trunc_f64_u: case GR_IOP_i64_trunc_f32_s: case GR_IOP_i64_trunc_f32_u:
    case GR_IOP_i64_trunc_f64_s: case GR_IOP_i64_trunc_f64_u:
#ifdef GR_WITH_FUSED
    case GR_IOP_i32_load_ai: case GR_IOP_i32_load8_u_ai: case GR_IOP_i32_load16_s_ai:
    case GR_IOP_f64_load_ai: case GR_IOP_i32_load_sai:
    case GR_IOP_f64_add_m: case GR_IOP_f64_sub_m: case GR_IOP_f64_mul_m:
    case GR_IOP_i32_load_idx: case GR_IOP_i32_add_imm_load:
    case GR_IOP_i32_store_k: case GR_IOP_i32_store8_k:
#endif
        return 1;
    default:
        return 0;
    }
}

graft_result graft__cc_emit(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands)
{
#ifdef GR_WITH_FUSED
    graft_result rc;
    if (op == GR_IOP_copy && graft__cc_fuse_copy(c, operands[0], operands[1], &rc)) return rc;
#endif
    return emit_raw(c, op, graft__iop_traps(op), n, operands);
}

void graft__cc_drop_last(gr_cc *c)
{
    if (gr_pcmap_of_last(c, c->last_pc)) c->npcmap--;
    c->nwords = c->last_pc;
    c->last_d = c->prev_d;
    c->last_pc = c->prev_pc;
    c->last_op = c->prev_op;
    c->prev_d = GR_NONE;
    c->prev_op = GR_IOP_COUNT_;
}

/* A branch to a loop head: it tests the interrupt flag (interp.c, JUMP),
 * so it may trap and gets a pcmap entry. br_table always has one. */
graft_result graft__cc_emit_backward(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands)
{
    return emit_raw(c, op, 1, n, operands);
}

/* Emit an instruction whose first operand is a destination slot written
 * once after all sources are read: `local.set` may retarget it. */
graft_result graft__cc_emit_def(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands)
{
    graft_result rc = graft__cc_emit(c, op, n, operands);
    if (rc == GRAFT_OK) c->last_d = c->nwords - n;
    return rc;
}

graft_result graft__cc_start_block(gr_cc *c)
{
    if (c->m->unmetered) {
        c->last_d = GR_NONE;   /* still a label: nothing before it is retargeted */
        c->last_op = GR_IOP_COUNT_;   /* nor fused with (compile_fuse.c) */
        return GRAFT_OK;
    }
    graft_result rc = graft__cc_emit(c, GR_IOP_fuel, 1, NULL);
    if (rc == GRAFT_OK) c->fuel_at = c->nwords - 1;
    return rc;
}

graft_result graft__cc_add_fixup(gr_cc *c, uint32_t word, uint32_t base, uint32_t *chain)
{
    graft_result rc = graft__cc_grow(c, (void **)&c->fix, &c->fix_cap, (uint64_t)c->nfix + 1,
                                     sizeof *c->fix);
    if (rc != GRAFT_OK) return rc;
    c->fix[c->nfix].word = word;
    c->fix[c->nfix].base = base;
    c->fix[c->nfix].next = *chain;
    *chain = c->nfix++;
    return GRAFT_OK;
}

/* Resolve every fixup on a chain to target. */
void graft__cc_patch(gr_cc *c, uint32_t chain, uint32_t target)
{
    for (uint32_t i = chain; i != GR_NONE; i = c->fix[i].next)
        c->words[c->fix[i].word] = target - c->fix[i].base;
}

/* ---- Materialization --------------------------------------------------- */

/* Give stack entry idx its own height slot, copying from the local it aliases. */
static graft_result materialize(gr_cc *c, uint32_t idx)
{
    gr_ventry *e = gr_val_at(c, idx);
    uint32_t src = e->slot;
    if (src >= c->nlocals) return GRAFT_OK;
    uint32_t d = gr_hslot(c, idx);
    unlink_alias(c, idx);
    e->slot = d;
    if (!gr_live(c)) return GRAFT_OK;
    return graft__cc_emit(c, GR_IOP_copy, 2, (uint32_t[]){d, src});
}

/* Every aliasing entry on the stack (block entry: a copy must never sit on
 * only one path of a conditional). */
graft_result graft__cc_materialize_all(gr_cc *c)
{
    if (c->nalias == 0) {
        c->alias_floor = c->nvals;
        return GRAFT_OK;
    }
    for (uint32_t i = c->alias_floor; i < c->nvals && c->nalias > 0; i++) {
        graft_result rc = materialize(c, i);
        if (rc != GRAFT_OK) return rc;
    }
    c->alias_floor = c->nvals;
    return GRAFT_OK;
}

/* The top n entries (results, call arguments). n never exceeds the frame's
 * operands in reachable code; below the frame base there is nothing. */
graft_result graft__cc_materialize_top(gr_cc *c, uint32_t n)
{
    const gr_ctl *f = gr_ctl_top(c);
    uint32_t avail = c->nvals - f->height;
    if (n > avail) n = avail;
    for (uint32_t i = c->nvals - n; i < c->nvals; i++) {
        graft_result rc = materialize(c, i);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* Before local x is written: entries that alias it keep the old value. */
static graft_result materialize_local(gr_cc *c, uint32_t x)
{
    while (c->alias_head[x] != GR_NONE) {
        graft_result rc = materialize(c, c->alias_head[x]);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* Before local x is written with the value the last instruction produced:
 * materialize x's aliases *ahead of* that instruction, so it can still be
 * retargeted to x (`local.get i; local.get i; i32.const 1; i32.add;
 * local.set i` becomes `copy h i; add_imm i i 1` instead of two copies).
 * The copies read x before the instruction writes it, and write height
 * slots of entries below the popped value, which the instruction does not
 * read. last_d is set, so no label or block head lies between (a label
 * bound at the instruction now reaches the copies, which belong to every
 * path into it). */
static graft_result materialize_local_ahead(gr_cc *c, uint32_t x)
{
    uint32_t saved[8];
    uint32_t start = c->last_pc, n = c->nwords - start, d_off = c->last_d - start;
    gr_iop op = c->last_op;
    const gr_pcmap *own = gr_pcmap_of_last(c, start);   /* a load's, a division's */
    int mapped = own != NULL;
    uint32_t own_offset = mapped ? own->wasm_offset : 0;
    if (n > sizeof saved / sizeof *saved) return materialize_local(c, x);
#ifdef GR_WITH_FUSED
    /* i32_add_imm_load writes x = p + k before its load: an alias taken
     * ahead of it would see x's older value. */
    if (op == GR_IOP_i32_add_imm_load && c->words[start + 1] == x) return materialize_local(c, x);
#endif
    /* The instruction's words and its pcmap entry go out together. An
     * entry left naming `start` would be taken for the first copy's own
     * and dropped when a second copy joins it as copy2 (graft__cc_drop_last);
     * the entry before it (the function's fuel charge) was then moved to
     * the instruction, so a trap there named the function's first byte, or
     * with none before it pcmap[UINT32_MAX] was written (issue 11). */
    memcpy(saved, &c->words[start], n * sizeof *saved);
    c->nwords = start;
    if (mapped) c->npcmap--;
    c->last_op = GR_IOP_COUNT_;   /* gone for now: nothing joins it */
    graft_result rc = materialize_local(c, x);
    if (rc != GRAFT_OK) return rc;
    uint32_t copy_pc = c->last_pc;   /* materialize_local emitted a copy */
    gr_iop copy_op = c->last_op;     /* copy, or copy2 (compile_fuse.c) */
    rc = graft__cc_grow(c, (void **)&c->words, &c->words_cap, (uint64_t)c->nwords + n,
                        sizeof *c->words);
    if (rc == GRAFT_OK && mapped) rc = add_pcmap(c, c->nwords, own_offset);
    if (rc != GRAFT_OK) return rc;
    memcpy(&c->words[c->nwords], saved, n * sizeof *saved);
    c->prev_d = GR_NONE;
    c->prev_pc = copy_pc;
    c->prev_op = copy_op;
    c->last_pc = c->nwords;
    c->last_op = op;
    c->last_d = c->nwords + d_off;
    c->nwords += n;
    return GRAFT_OK;
}

/* ---- Locals [spec 5.5.13] ------------------------------------------------ */

static graft_result read_locals(gr_cc *c)
{
    uint32_t nruns = 0;
    uint64_t total = c->type->param_slots;
    c->at = gr_offset(&c->r);
    graft_result rc = cc_read_u32(&c->r, &nruns, c->err, "local declaration count");
    c->nruns = 0;
    for (uint32_t i = 0; rc == GRAFT_OK && i < nruns; i++) {
        uint32_t count = 0;
        uint8_t t = 0;
        c->at = gr_offset(&c->r);
        rc = cc_read_u32(&c->r, &count, c->err, "local count");
        if (rc == GRAFT_OK) rc = cc_read_u8(&c->r, &t, c->err, "local type");
        if (rc != GRAFT_OK) break;
        if (!graft__is_valtype(t))
            return graft__cc_fail(c, GRAFT_E_BAD_VALTYPE, "local type 0x%x", t);
        if (total + count > GR_MAX_LOCALS)
            return graft__cc_fail(c, GRAFT_E_TOO_MANY_LOCALS, "more than %u", GR_MAX_LOCALS);
        if (count == 0) continue;
        rc = graft__cc_grow(c, (void **)&c->runs, &c->runs_cap, (uint64_t)c->nruns + 1,
                            sizeof *c->runs);
        if (rc != GRAFT_OK) break;
        c->runs[c->nruns].first = (uint32_t)total;
        c->runs[c->nruns].count = count;
        c->runs[c->nruns].type = t;
        c->nruns++;
        total += count;
    }
    c->nlocals = (uint32_t)total;
    /* Declared locals start at zero (bits param_slots .. min(nlocals, 32)). */
    uint32_t p = c->type->param_slots, n = c->nlocals < 32 ? c->nlocals : 32;
    c->zero_locals = p < n ? (n == 32 ? ~0u : (1u << n) - 1) & ~((1u << p) - 1) : 0;
    return rc;
}

/* Local x's type into *out; 0 when x is not a local. */
static int local_type(const gr_cc *c, uint32_t x, uint8_t *out)
{
    if (x >= c->nlocals) return 0;
    if (x < c->type->nparams) {
        *out = c->type->params[x];
        return 1;
    }
    /* x is a declared local, so there is a run (while param_slots equals
     * nparams: no two-slot v128 parameters yet). */
    assert(c->nruns > 0);
    uint32_t lo = 0, hi = c->nruns;   /* the run containing x is in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->runs[mid].first <= x) lo = mid;
        else hi = mid;
    }
    *out = c->runs[lo].type;
    return 1;
}

/* ---- Numeric, memory and constant instructions ---------------------------- */

/* NUM: pops the signature's params, pushes its result: `op d a [b]`. */
static graft_result compile_num(gr_cc *c, const gr_op_info *info)
{
    const gr_sig_info *s = &graft__sig_info[info->sig];
    gr_ventry a = {0}, b = {0};
    graft_result rc;
    if (s->nparams == 2) {
        rc = graft__cc_pop(c, s->params[1], &b);
        if (rc == GRAFT_OK) rc = graft__cc_pop(c, s->params[0], &a);
    } else {
        rc = graft__cc_pop(c, s->params[0], &a);
        b.slot = 0;
    }
    if (rc == GRAFT_OK) rc = graft__cc_push(c, s->result);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    uint32_t ops[3] = {gr_hslot(c, c->nvals - 1), a.slot, b.slot};
#ifdef GR_WITH_FUSED
    if (s->nparams == 2 && graft__cc_fuse_num(c, (gr_iop)info->iop, ops[0], a.slot, b.slot, &rc))
        return rc;
#endif
    return graft__cc_emit_def(c, (gr_iop)info->iop, 1u + s->nparams, ops);
}

/* The memory index byte of memory instructions [spec 5.4.6]. */
static graft_result read_zero(gr_cc *c)
{
    uint8_t b = 0;
    graft_result rc = cc_read_u8(&c->r, &b, c->err, "memory index");
    if (rc == GRAFT_OK && b != 0)
        return graft__cc_fail(c, GRAFT_E_ZERO_BYTE, "memory index byte 0x%x", b);
    return rc;
}

static graft_result need_memory(gr_cc *c)
{
    if (c->m->nmemories == 0) return graft__cc_fail(c, GRAFT_E_UNKNOWN_MEMORY, "memory 0");
    return GRAFT_OK;
}

/* A memarg [spec 5.4.6]; validates memory 0 and the alignment [spec 3.3.7]. */
static graft_result read_memarg(gr_cc *c, unsigned natural, uint32_t *offset)
{
    uint32_t align = 0;
    graft_result rc = cc_read_u32(&c->r, &align, c->err, "memarg alignment");
    if (rc == GRAFT_OK) rc = cc_read_u32(&c->r, offset, c->err, "memarg offset");
    if (rc == GRAFT_OK) rc = need_memory(c);
    if (rc == GRAFT_OK && align > natural)
        return graft__cc_fail(c, GRAFT_E_ALIGNMENT, "2^%u > 2^%u", align, natural);
    return rc;
}

/* LOAD `op d a off`, STORE `op a v off`. */
static graft_result compile_memop(gr_cc *c, const gr_op_info *info)
{
    const gr_sig_info *s = &graft__sig_info[info->sig];
    uint32_t off = 0;
    gr_ventry a = {0}, v = {0};
    graft_result rc = read_memarg(c, info->arg, &off);
    if (rc != GRAFT_OK) return rc;
    if (info->cls == GR_CLS_LOAD) {
        rc = graft__cc_pop(c, GRAFT_I32, &a);
        if (rc == GRAFT_OK) rc = graft__cc_push(c, s->result);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        uint32_t ops[3] = {gr_hslot(c, c->nvals - 1), a.slot, off};
#ifdef GR_WITH_FUSED
        if (graft__cc_fuse_load(c, (gr_iop)info->iop, ops[0], a.slot, off, &rc)) return rc;
#endif
        return graft__cc_emit_def(c, (gr_iop)info->iop, 3, ops);
    }
    rc = graft__cc_pop(c, s->params[1], &v);
    if (rc == GRAFT_OK) rc = graft__cc_pop(c, GRAFT_I32, &a);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    uint32_t ops[3] = {a.slot, v.slot, off};
#ifdef GR_WITH_FUSED
    if (graft__cc_fuse_store(c, (gr_iop)info->iop, a.slot, v.slot, off, &rc)) return rc;
#endif
    return graft__cc_emit(c, (gr_iop)info->iop, 3, ops);
}

static graft_result compile_const(gr_cc *c, gr_wasm_op op)
{
    uint64_t bits = 0;
    uint8_t type = GRAFT_I32;
    graft_result rc;
    if (op == GR_OP_i32_const) {
        rc = cc_read_leb(&c->r, 32, 1, &bits, c->err, "i32 constant");
        bits = (uint32_t)bits;
    } else if (op == GR_OP_i64_const) {
        rc = cc_read_leb(&c->r, 64, 1, &bits, c->err, "i64 constant");
        type = GRAFT_I64;
    } else {
        /* Raw little-endian IEEE 754 bits [spec 5.2.3]. */
        unsigned n = op == GR_OP_f32_const ? 4 : 8;
        const uint8_t *p = NULL;
        type = n == 4 ? GRAFT_F32 : GRAFT_F64;
        rc = gr_read_bytes(&c->r, n, &p, c->err, n == 4 ? "f32 constant" : "f64 constant");
        for (unsigned i = n; rc == GRAFT_OK && i-- > 0;) bits = bits << 8 | p[i];
    }
    if (rc == GRAFT_OK) rc = graft__cc_push(c, type);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    uint32_t d = gr_hslot(c, c->nvals - 1);
    if (type == GRAFT_I32 || type == GRAFT_F32)
        return graft__cc_emit_def(c, GR_IOP_const32, 2, (uint32_t[]){d, (uint32_t)bits});
    return graft__cc_emit_def(c, GR_IOP_const64, 3,
                              (uint32_t[]){d, (uint32_t)bits, (uint32_t)(bits >> 32)});
}

/* ---- Variable instructions [spec 3.3.5] ---------------------------------- */

/* Write value v into local x: retarget the instruction that just produced v
 * when possible, else copy. Aliases of x must already be materialized. */
static graft_result write_local(gr_cc *c, const gr_ventry *v, uint32_t x)
{
    if (v->slot == x) return GRAFT_OK;
    if (c->last_d != GR_NONE && v->slot >= c->nlocals && c->words[c->last_d] == v->slot) {
        c->words[c->last_d] = x;
        c->last_d = GR_NONE;
#ifdef GR_WITH_FUSED
        graft__cc_fuse_retarget(c);
#endif
        return GRAFT_OK;
    }
    return graft__cc_emit(c, GR_IOP_copy, 2, (uint32_t[]){x, v->slot});
}

/* Is v the constant zero the last instruction just made, about to be
 * written into local x, which still holds its entry zero and has no alias
 * on the stack? Then the constant and the write can both go. */
static int rewrites_zero(const gr_cc *c, const gr_ventry *v, uint32_t x)
{
    if (c->last_d == GR_NONE || v->slot < c->nlocals || c->words[c->last_d] != v->slot)
        return 0;
    if (c->use_alias && c->alias_head[x] != GR_NONE) return 0;
    const uint32_t *w = &c->words[c->last_d];
    if (c->last_op == GR_IOP_const32) return w[1] == 0;
    return c->last_op == GR_IOP_const64 && w[1] == 0 && w[2] == 0;
}

static graft_result compile_local(gr_cc *c, gr_wasm_op op)
{
    uint32_t x = 0;
    uint8_t t = 0;
    gr_ventry v = {0};
    graft_result rc = cc_read_u32(&c->r, &x, c->err, "local index");
    if (rc != GRAFT_OK) return rc;
    if (!local_type(c, x, &t)) return graft__cc_fail(c, GRAFT_E_UNKNOWN_LOCAL, "%u", x);
    if (op == GR_OP_local_get) {
        if (!gr_live(c)) return graft__cc_push(c, t);
        if (c->use_alias) return push_alias(c, t, x);
        rc = graft__cc_push(c, t);
        if (rc != GRAFT_OK) return rc;
        return graft__cc_emit_def(c, GR_IOP_copy, 2, (uint32_t[]){gr_hslot(c, c->nvals - 1), x});
    }
    rc = graft__cc_pop(c, t, &v);
    if (rc != GRAFT_OK) return rc;
    if (gr_live(c) && x < 32 && (c->zero_locals >> x & 1)) {
        if (rewrites_zero(c, &v, x)) {
            graft__cc_drop_last(c);   /* the constant: x holds that zero already */
            v.slot = x;
        } else {
            c->zero_locals &= ~(1u << x);
        }
    }
    if (gr_live(c)) {
        if (c->use_alias && c->alias_head[x] != GR_NONE)
            rc = c->last_d != GR_NONE && v.slot >= c->nlocals && c->words[c->last_d] == v.slot
                     ? materialize_local_ahead(c, x)
                     : materialize_local(c, x);
        if (rc == GRAFT_OK) rc = write_local(c, &v, x);
        if (rc != GRAFT_OK) return rc;
    }
    if (op == GR_OP_local_set) return GRAFT_OK;
    if (gr_live(c) && c->use_alias) return push_alias(c, t, x);
    rc = graft__cc_push(c, t);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    return graft__cc_emit(c, GR_IOP_copy, 2, (uint32_t[]){gr_hslot(c, c->nvals - 1), x});
}

static graft_result compile_global(gr_cc *c, gr_wasm_op op)
{
    uint32_t x = 0;
    gr_ventry v = {0};
    graft_result rc = cc_read_u32(&c->r, &x, c->err, "global index");
    if (rc != GRAFT_OK) return rc;
    if (x >= c->m->nglobals) return graft__cc_fail(c, GRAFT_E_UNKNOWN_GLOBAL, "%u", x);
    const gr_globaltype *g = &c->m->global_types[x];
    if (op == GR_OP_global_get) {
        rc = graft__cc_push(c, g->type);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_global_get, 2,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), x});
    }
    if (!g->mutable_) return graft__cc_fail(c, GRAFT_E_GLOBAL_IMMUTABLE, "global %u", x);
    rc = graft__cc_pop(c, g->type, &v);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    return graft__cc_emit(c, GR_IOP_global_set, 2, (uint32_t[]){x, v.slot});
}

/* ---- Parametric instructions [spec 3.3.4] -------------------------------- */

static int is_num(uint8_t t)
{
    return t == GRAFT_I32 || t == GRAFT_I64 || t == GRAFT_F32 || t == GRAFT_F64 || t == GR_UNKNOWN;
}

static graft_result compile_select(gr_cc *c, gr_wasm_op op)
{
    uint8_t want = GR_UNKNOWN;
    gr_ventry cond, v1, v2;
    graft_result rc = GRAFT_OK;
    if (op == GR_OP_select_t) {
        uint32_t n = 0;
        rc = cc_read_u32(&c->r, &n, c->err, "select type count");
        for (uint32_t i = 0; rc == GRAFT_OK && i < n; i++) {
            rc = cc_read_u8(&c->r, &want, c->err, "select type");
            if (rc == GRAFT_OK && !graft__is_valtype(want))
                return graft__cc_fail(c, GRAFT_E_BAD_VALTYPE, "select type 0x%x", want);
        }
        if (rc != GRAFT_OK) return rc;
        if (n != 1) return graft__cc_fail(c, GRAFT_E_INVALID_RESULT_ARITY, "select with %u types", n);
    }
    rc = graft__cc_pop(c, GRAFT_I32, &cond);
    if (rc == GRAFT_OK) rc = graft__cc_pop(c, want, &v2);
    if (rc == GRAFT_OK) rc = graft__cc_pop(c, want, &v1);
    if (rc != GRAFT_OK) return rc;
    uint8_t t = want;
    if (op == GR_OP_select) {
        if (!is_num(v1.type) || !is_num(v2.type))
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "select needs numeric operands, got "
                                  "%s and %s", type_name(v1.type), type_name(v2.type));
        if (v1.type != v2.type && v1.type != GR_UNKNOWN && v2.type != GR_UNKNOWN)
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "select operands %s and %s",
                                  type_name(v1.type), type_name(v2.type));
        t = v1.type == GR_UNKNOWN ? v2.type : v1.type;
    }
    rc = graft__cc_push(c, t);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    uint32_t ops[4] = {gr_hslot(c, c->nvals - 1), v1.slot, v2.slot, cond.slot};
#ifdef GR_WITH_FUSED
    if (graft__cc_fuse_select(c, ops, &rc)) return rc;
#endif
    return graft__cc_emit_def(c, GR_IOP_select, 4, ops);
}

/* ---- Reference instructions [spec 3.3.2] --------------------------------- */

static graft_result compile_ref(gr_cc *c, gr_wasm_op op)
{
    graft_result rc;
    uint32_t x = 0;
    if (op == GR_OP_ref_null) {
        uint8_t t = 0;
        rc = cc_read_u8(&c->r, &t, c->err, "reference type");
        if (rc != GRAFT_OK) return rc;
        if (!graft__is_reftype(t)) return graft__cc_fail(c, GRAFT_E_BAD_REFTYPE, "0x%x", t);
        rc = graft__cc_push(c, t);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_ref_null, 1, (uint32_t[]){gr_hslot(c, c->nvals - 1)});
    }
    if (op == GR_OP_ref_is_null) {
        gr_ventry v = {0};
        rc = graft__cc_pop(c, GR_UNKNOWN, &v);
        if (rc != GRAFT_OK) return rc;
        if (v.type != GR_UNKNOWN && !graft__is_reftype(v.type))
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "ref.is_null of %s", type_name(v.type));
        rc = graft__cc_push(c, GRAFT_I32);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_ref_is_null, 2,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), v.slot});
    }
    rc = cc_read_u32(&c->r, &x, c->err, "function index");
    if (rc != GRAFT_OK) return rc;
    if (x >= c->m->nfuncs) return graft__cc_fail(c, GRAFT_E_UNKNOWN_FUNC, "%u", x);
    if (!c->m->declared_refs || !(c->m->declared_refs[x >> 3] >> (x & 7) & 1))
        return graft__cc_fail(c, GRAFT_E_UNDECLARED_FUNC_REF, "function %u", x);
    rc = graft__cc_push(c, GRAFT_FUNCREF);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    return graft__cc_emit_def(c, GR_IOP_ref_func, 2, (uint32_t[]){gr_hslot(c, c->nvals - 1), x});
}

/* ---- Table instructions [spec 3.3.6] ------------------------------------- */

static graft_result read_table(gr_cc *c, uint32_t *x)
{
    graft_result rc = cc_read_u32(&c->r, x, c->err, "table index");
    if (rc == GRAFT_OK && *x >= c->m->ntables)
        return graft__cc_fail(c, GRAFT_E_UNKNOWN_TABLE, "%u", *x);
    return rc;
}

static graft_result read_elem(gr_cc *c, uint32_t *x)
{
    graft_result rc = cc_read_u32(&c->r, x, c->err, "element segment index");
    if (rc == GRAFT_OK && *x >= c->m->nelems)
        return graft__cc_fail(c, GRAFT_E_UNKNOWN_ELEM, "%u", *x);
    return rc;
}

/* Pop n operands of the given types (last one on top) into out[]. */
static graft_result pop_n(gr_cc *c, uint32_t n, const uint8_t *types, gr_ventry *out)
{
    for (uint32_t i = n; i-- > 0;) {
        graft_result rc = graft__cc_pop(c, types[i], &out[i]);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* table.get/set/size/grow/fill: one table index. */
static graft_result compile_table1(gr_cc *c, gr_wasm_op op)
{
    uint32_t x = 0;
    gr_ventry v[3] = {{0}};
    graft_result rc = read_table(c, &x);
    if (rc != GRAFT_OK) return rc;
    uint8_t et = c->m->tables[x].elem;
    const uint8_t i_e_i[3] = {GRAFT_I32, et, GRAFT_I32};
    const uint8_t e_i[2] = {et, GRAFT_I32};
    switch (op) {
    case GR_OP_table_get:
        rc = pop_n(c, 1, i_e_i, v);
        if (rc == GRAFT_OK) rc = graft__cc_push(c, et);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_table_get, 3,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), x, v[0].slot});
    case GR_OP_table_set:
        rc = pop_n(c, 2, i_e_i, v);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit(c, GR_IOP_table_set, 3, (uint32_t[]){x, v[0].slot, v[1].slot});
    case GR_OP_table_size:
        rc = graft__cc_push(c, GRAFT_I32);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_table_size, 2,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), x});
    case GR_OP_table_grow:
        rc = pop_n(c, 2, e_i, v);
        if (rc == GRAFT_OK) rc = graft__cc_push(c, GRAFT_I32);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_table_grow, 4,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), x, v[0].slot, v[1].slot});
    default: /* table.fill */
        rc = pop_n(c, 3, i_e_i, v);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit(c, GR_IOP_table_fill, 4,
                              (uint32_t[]){x, v[0].slot, v[1].slot, v[2].slot});
    }
}

/* table.copy, table.init, elem.drop. */
static graft_result compile_table2(gr_cc *c, gr_wasm_op op)
{
    static const uint8_t iii[3] = {GRAFT_I32, GRAFT_I32, GRAFT_I32};
    uint32_t x = 0, y = 0;
    gr_ventry v[3] = {{0}};
    graft_result rc;
    if (op == GR_OP_elem_drop) {
        rc = read_elem(c, &x);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit(c, GR_IOP_elem_drop, 1, &x);
    }
    if (op == GR_OP_table_copy) {
        rc = read_table(c, &x);                      /* destination */
        if (rc == GRAFT_OK) rc = read_table(c, &y);  /* source */
        if (rc == GRAFT_OK && c->m->tables[x].elem != c->m->tables[y].elem)
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "table.copy from %s to %s table",
                                  type_name(c->m->tables[y].elem), type_name(c->m->tables[x].elem));
    } else {
        /* Binary order: element segment y, then table x [spec 5.4.5]. */
        rc = cc_read_u32(&c->r, &y, c->err, "element segment index");
        if (rc == GRAFT_OK) rc = read_table(c, &x);
        if (rc == GRAFT_OK && y >= c->m->nelems)
            return graft__cc_fail(c, GRAFT_E_UNKNOWN_ELEM, "%u", y);
        if (rc == GRAFT_OK && c->m->tables[x].elem != c->m->elems[y].type)
            return graft__cc_fail(c, GRAFT_E_TYPE_MISMATCH, "table.init of a %s table from %s "
                                  "segment", type_name(c->m->tables[x].elem),
                                  type_name(c->m->elems[y].type));
    }
    if (rc == GRAFT_OK) rc = pop_n(c, 3, iii, v);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    gr_iop iop = op == GR_OP_table_copy ? GR_IOP_table_copy : GR_IOP_table_init;
    return graft__cc_emit(c, iop, 5, (uint32_t[]){x, y, v[0].slot, v[1].slot, v[2].slot});
}

/* ---- Memory instructions without a memarg [spec 3.3.7] -------------------- */

static graft_result need_data(gr_cc *c)
{
    if (!c->m->has_data_count)
        return graft__cc_fail(c, GRAFT_E_DATA_COUNT_REQUIRED, NULL);
    return GRAFT_OK;
}

/* memory.init and data.drop need a data count section [spec 5.5.16], a
 * malformed-module rule, but the spec suite (as converted by wabt) expects
 * "unknown memory" and "unknown data segment" to win over it when the
 * module has neither the memory nor the segment; so those validation
 * checks come first, counting the data section when there is no count. */
static graft_result check_data(gr_cc *c, uint32_t x)
{
    uint32_t ndata = c->m->has_data_count ? c->m->data_count : c->m->ndatas;
    if (x >= ndata) return graft__cc_fail(c, GRAFT_E_UNKNOWN_DATA, "%u", x);
    return need_data(c);
}

static graft_result compile_memory(gr_cc *c, gr_wasm_op op)
{
    static const uint8_t iii[3] = {GRAFT_I32, GRAFT_I32, GRAFT_I32};
    gr_ventry v[3] = {{0}};
    uint32_t x = 0;
    int data = op == GR_OP_memory_init || op == GR_OP_data_drop;
    graft_result rc = GRAFT_OK;
    if (data) rc = cc_read_u32(&c->r, &x, c->err, "data segment index");
    if (rc == GRAFT_OK && op != GR_OP_data_drop) rc = read_zero(c);
    if (rc == GRAFT_OK && op == GR_OP_memory_copy) rc = read_zero(c);
    if (rc == GRAFT_OK && op != GR_OP_data_drop) rc = need_memory(c);
    if (rc == GRAFT_OK && data) rc = check_data(c, x);
    if (rc != GRAFT_OK) return rc;
    switch (op) {
    case GR_OP_memory_size:
        rc = graft__cc_push(c, GRAFT_I32);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_memory_size, 1, (uint32_t[]){gr_hslot(c, c->nvals - 1)});
    case GR_OP_memory_grow:
        rc = pop_n(c, 1, iii, v);
        if (rc == GRAFT_OK) rc = graft__cc_push(c, GRAFT_I32);
        if (rc != GRAFT_OK || !gr_live(c)) return rc;
        return graft__cc_emit_def(c, GR_IOP_memory_grow, 2,
                                  (uint32_t[]){gr_hslot(c, c->nvals - 1), v[0].slot});
    case GR_OP_data_drop:
        if (!gr_live(c)) return GRAFT_OK;
        return graft__cc_emit(c, GR_IOP_data_drop, 1, &x);
    default:
        break;
    }
    rc = pop_n(c, 3, iii, v);
    if (rc != GRAFT_OK || !gr_live(c)) return rc;
    if (op == GR_OP_memory_init)
        return graft__cc_emit(c, GR_IOP_memory_init, 4, (uint32_t[]){x, v[0].slot, v[1].slot, v[2].slot});
    gr_iop iop = op == GR_OP_memory_copy ? GR_IOP_memory_copy : GR_IOP_memory_fill;
    return graft__cc_emit(c, iop, 3, (uint32_t[]){v[0].slot, v[1].slot, v[2].slot});
}

/* ---- The instruction loop ------------------------------------------------ */

static graft_result compile_special(gr_cc *c, gr_wasm_op op)
{
    switch (op) {
    case GR_OP_i32_const: case GR_OP_i64_const: case GR_OP_f32_const: case GR_OP_f64_const:
        return compile_const(c, op);
    case GR_OP_local_get: case GR_OP_local_set: case GR_OP_local_tee:
        return compile_local(c, op);
    case GR_OP_global_get: case GR_OP_global_set:
        return compile_global(c, op);
    case GR_OP_drop: {
        gr_ventry v = {0};
        return graft__cc_pop(c, GR_UNKNOWN, &v);
    }
    case GR_OP_select: case GR_OP_select_t:
        return compile_select(c, op);
    case GR_OP_ref_null: case GR_OP_ref_is_null: case GR_OP_ref_func:
        return compile_ref(c, op);
    case GR_OP_table_get: case GR_OP_table_set: case GR_OP_table_size: case GR_OP_table_grow:
    case GR_OP_table_fill:
        return compile_table1(c, op);
    case GR_OP_table_copy: case GR_OP_table_init: case GR_OP_elem_drop:
        return compile_table2(c, op);
    case GR_OP_memory_size: case GR_OP_memory_grow: case GR_OP_memory_init:
    case GR_OP_data_drop: case GR_OP_memory_copy: case GR_OP_memory_fill:
        return compile_memory(c, op);
    default:
        return graft__cc_control(c, op);
    }
}

static graft_result compile_body(gr_cc *c)
{
    while (c->nctls > 0) {
        uint8_t byte = 0;
        uint32_t sub = 0;
        c->at = gr_offset(&c->r);
        if (gr_at_end(&c->r))
            return graft__cc_fail(c, GRAFT_E_END_EXPECTED, "the body ends inside %u blocks",
                                  c->nctls);
        byte = *c->r.p++;
        if (byte == 0xFC) {
            graft_result rc = cc_read_u32(&c->r, &sub, c->err, "opcode");
            if (rc != GRAFT_OK) return rc;
        }
        gr_wasm_op op = graft__op_lookup(byte, sub, c->env->features);
        if (op == GR_OP_COUNT_) {
            if (byte == 0xFC) return graft__cc_fail(c, GRAFT_E_ILLEGAL_OPCODE, "0xfc %u", sub);
            return graft__cc_fail(c, GRAFT_E_ILLEGAL_OPCODE, "0x%x", byte);
        }
        const gr_op_info *info = &graft__op_info[op];
        graft_result rc;
        /* Fuel: one unit per WebAssembly instruction reached in live code,
         * charged by the block's head (docs/engine.md, "Fuel"). */
        if (gr_live(c) && !c->m->unmetered) c->words[c->fuel_at]++;
        if (info->cls == GR_CLS_NUM) rc = compile_num(c, info);
        else if (info->cls == GR_CLS_SPECIAL) rc = compile_special(c, op);
        else rc = compile_memop(c, info);
        if (rc != GRAFT_OK) return rc;
    }
    if (!gr_at_end(&c->r)) {
        c->at = gr_offset(&c->r);
        return graft__cc_fail(c, GRAFT_E_SECTION_SIZE, "bytes after the function's final end");
    }
    return GRAFT_OK;
}

/* ---- Functions and the module -------------------------------------------- */

/* The pcmap is sorted by pc, one entry per instruction, each inside the
 * code: graft__code_wasm_offset's binary search relies on it. (inline: no
 * unused-function warning when NDEBUG drops the assert that calls it.) */
static inline int pcmap_ordered(const gr_cc *c)
{
    for (uint32_t i = 0; i < c->npcmap; i++) {
        const gr_pcmap *e = gr_pcmap_at(c, i);
        if (e->pc >= c->nwords || (i > 0 && gr_pcmap_at(c, i - 1)->pc >= e->pc)) return 0;
    }
    return 1;
}

/* Copy the finished code into the module arena. */
static graft_result finish(gr_cc *c, gr_func_def *fd)
{
    assert(pcmap_ordered(c));
    graft_module *m = c->m;
    uint64_t frame = (uint64_t)c->nlocals + c->max_height;
    if (frame < c->type->param_slots) frame = c->type->param_slots;
    if (frame < c->type->result_slots) frame = c->type->result_slots;
    if (frame > UINT32_MAX) return graft__cc_fail(c, GRAFT_E_FUNC_TOO_COMPLEX, "frame size");
    gr_code *code = graft__arena_alloc(&m->arena, sizeof *code);
    uint32_t *words = graft__arena_alloc(&m->arena, (size_t)(c->nwords ? c->nwords : 1) * 4);
    gr_pcmap *pcmap = graft__arena_alloc(&m->arena,
                                         (c->npcmap ? c->npcmap : 1) * sizeof *pcmap);
    if (!code || !words || !pcmap)
        return graft__oom(c->env, c->err, c->at, c->func_index, "compiled code");
    memcpy(words, c->words, (size_t)c->nwords * 4);
    if (c->npcmap) memcpy(pcmap, c->pcmap, c->npcmap * sizeof *pcmap);
    code->words = words;
    code->nwords = c->nwords;
    code->nparam_slots = c->type->param_slots;
    code->nresult_slots = c->type->result_slots;
    code->nlocal_slots = c->nlocals;
    code->frame_slots = (uint32_t)frame;
    code->pcmap = pcmap;
    code->npcmap = c->npcmap;
    code->func_index = c->func_index;
    fd->code = code;
    m->internal_code_bytes += sizeof *code + (size_t)c->nwords * 4 + c->npcmap * sizeof *pcmap;
    return GRAFT_OK;
}

/* Give every local an empty alias list (or switch aliasing off). */
static graft_result reset_aliases(gr_cc *c)
{
    c->nalias = 0;
    c->alias_floor = 0;
    c->use_alias = c->nlocals <= GR_MAX_ALIAS_LOCALS;
    if (!c->use_alias || c->nlocals <= c->alias_cap) return GRAFT_OK;
    uint32_t old = c->alias_cap;
    graft_result rc = graft__cc_grow(c, (void **)&c->alias_head, &c->alias_cap, c->nlocals,
                                     sizeof *c->alias_head);
    if (rc != GRAFT_OK) return rc;
    /* Lists are empty again at the end of every function, so only new
     * entries need clearing. */
    memset(c->alias_head + old, 0xFF, (size_t)(c->alias_cap - old) * sizeof *c->alias_head);
    return GRAFT_OK;
}

static graft_result compile_function(gr_cc *c, uint32_t i, size_t len)
{
    graft_module *m = c->m;
    gr_func_def *fd = &m->func_defs[i];
    c->func_index = m->nimported_funcs + i;
    c->at = fd->body_offset;
    if (fd->body_offset > len || fd->body_size > len - fd->body_offset)
        return graft__cc_fail(c, GRAFT_E_SECTION_END, "function body beyond the module");
    if (fd->type_index >= m->ntypes)
        return graft__cc_fail(c, GRAFT_E_UNKNOWN_TYPE, "%u", fd->type_index);
    c->r.p = c->r.base + fd->body_offset;
    c->r.end = c->r.p + fd->body_size;
    c->type = &m->types[fd->type_index];
    graft_result rc = read_locals(c);
    if (rc == GRAFT_OK) rc = reset_aliases(c);
    if (rc != GRAFT_OK) return rc;
    c->nvals = c->nctls = c->nwords = c->npcmap = c->nfix = c->max_height = 0;
    /* Nothing emitted yet: no word of the previous function may be looked
     * back at (retargeted, fused or dropped). */
    c->last_d = c->prev_d = GR_NONE;
    c->last_pc = c->prev_pc = 0;
    c->last_op = c->prev_op = GR_IOP_COUNT_;
    rc = graft__cc_push_func_frame(c);
    if (rc == GRAFT_OK) rc = graft__cc_start_block(c);
    if (rc == GRAFT_OK) rc = compile_body(c);
    if (rc == GRAFT_OK) rc = finish(c, fd);
    return rc;
}

static void free_scratch(gr_cc *c)
{
    graft__free(c->env, c->runs, (size_t)c->runs_cap * sizeof *c->runs);
    graft__free(c->env, c->vals, (size_t)c->vals_cap * sizeof *c->vals);
    graft__free(c->env, c->alias_head, (size_t)c->alias_cap * sizeof *c->alias_head);
    graft__free(c->env, c->ctls, (size_t)c->ctls_cap * sizeof *c->ctls);
    graft__free(c->env, c->words, (size_t)c->words_cap * sizeof *c->words);
    graft__free(c->env, c->pcmap, (size_t)c->pcmap_cap * sizeof *c->pcmap);
    graft__free(c->env, c->fix, (size_t)c->fix_cap * sizeof *c->fix);
    graft__free(c->env, c->depths, (size_t)c->depths_cap * sizeof *c->depths);
}

/* The shared byte readers know neither the function nor that they read
 * inside a body: an overrun there is "unexpected end of section or
 * function" (reader.h). */
static graft_result localize_error(gr_cc *c)
{
    gr_errbuf *err = c->err;
    if (err->pub.code == GRAFT_E_UNEXPECTED_END) {
        char details[GR_MSG_CAP];
        const char *text = graft_error_code_text(GRAFT_E_UNEXPECTED_END);
        size_t skip = strlen(text);
        if (strncmp(err->msg, text, skip) == 0 && err->msg[skip] == ':') skip += 2;
        else skip = 0;
        graft__fmt(details, sizeof details, "%s", err->msg + skip);
        graft__error(err, GRAFT_E_SECTION_END, err->pub.offset, c->func_index, "%s", details);
    }
    if (err->pub.func_index == GRAFT_NO_INDEX) err->pub.func_index = c->func_index;
    return err->pub.result;
}

graft_result graft__compile_module_ex(graft_module *m, const uint8_t *bytes, size_t len,
                                      const int32_t *handlers, gr_errbuf *err)
{
    gr_cc c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.env = m->env;
    c.err = err;
    c.handlers = handlers;
    c.r.base = bytes;
    graft_result rc = GRAFT_OK;
    uint32_t ndefs = m->nfuncs - m->nimported_funcs;
    for (uint32_t i = 0; i < ndefs && rc == GRAFT_OK; i++) {
        rc = compile_function(&c, i, len);
        if (rc != GRAFT_OK) rc = localize_error(&c);
        /* As the reference decoder reads everything before validating, a
         * malformed body anywhere from here on wins over a validation error. */
        if (rc == GRAFT_ERR_INVALID) {
            graft_result scan = graft__compile_scan(m, bytes, len, i, err);
            if (scan != GRAFT_OK) rc = scan;
        }
    }
    free_scratch(&c);
    return rc;
}

graft_result graft__compile_module(graft_module *m, const uint8_t *bytes, size_t len,
                                   gr_errbuf *err)
{
    return graft__compile_module_ex(m, bytes, len, graft__interp_handlers(), err);
}

/* The pcmap entry at or before pc: exact for a trapping instruction, and
 * for a return address (the pc after a call) it names the call. */
uint64_t graft__code_wasm_offset(const gr_code *c, uint32_t pc)
{
    uint32_t lo = 0, hi = c->npcmap;   /* first entry with pc > target is in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->pcmap[mid].pc <= pc) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? GRAFT_NO_OFFSET : c->pcmap[lo - 1].wasm_offset;
}
