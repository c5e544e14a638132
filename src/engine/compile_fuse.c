/* compile_fuse.c - fused instructions (ops.def, GR_FUSED): peephole
 * rewrites of the instruction the compiler has just emitted and the one it
 * is about to emit into one internal instruction.
 *
 * A rewrite only ever looks back at c->last_pc, and only while c->last_d
 * is set: every label, block head, copy and retarget clears it, so a fused
 * instruction never spans a basic-block head and fuel (counted per
 * WebAssembly instruction into the block's charge, not per internal
 * instruction) is charged exactly as without it. The instruction looked
 * back at must have written a height slot that the current instruction
 * pops: nothing else can read that slot afterwards, so dropping its write
 * is safe. Built only with GR_WITH_FUSED (the build option GRAFT_FUSED).
 *
 * Groups (ops.def): constant operands (graft__cc_fuse_num), compare and
 * branch (graft__cc_fuse_cond, from compile_ctl.c's conditional branches)
 * and loads from a constant-offset address (graft__cc_fuse_load). */
#include "compile.h"
#include "numeric.h"

#include <string.h>

#ifdef GR_WITH_FUSED

/* Is the last instruction `const32 slot k`, still removable? Then *k. */
static int last_const32(const gr_cc *c, uint32_t slot, uint32_t *k)
{
    if (c->last_d == GR_NONE || c->last_op != GR_IOP_const32 || slot < c->nlocals ||
        c->words[c->last_d] != slot)
        return 0;
    *k = c->words[c->last_d + 1];
    return 1;
}

/* Is the last instruction `const64 slot k` with k a sign-extended int32? */
static int last_const64_small(const gr_cc *c, uint32_t slot, uint32_t *k)
{
    if (c->last_d == GR_NONE || c->last_op != GR_IOP_const64 || slot < c->nlocals ||
        c->words[c->last_d] != slot)
        return 0;
    uint32_t lo = c->words[c->last_d + 1], hi = c->words[c->last_d + 2];
    if (hi != ((lo & 0x80000000u) ? 0xFFFFFFFFu : 0)) return 0;
    *k = lo;
    return 1;
}

/* A comparison with its operands swapped: x op k == k swapped(op) x. */
static gr_iop mirror(gr_iop op)
{
    switch (op) {
    case GR_IOP_i32_lt_s: return GR_IOP_i32_gt_s;
    case GR_IOP_i32_gt_s: return GR_IOP_i32_lt_s;
    case GR_IOP_i32_le_s: return GR_IOP_i32_ge_s;
    case GR_IOP_i32_ge_s: return GR_IOP_i32_le_s;
    case GR_IOP_i32_lt_u: return GR_IOP_i32_gt_u;
    case GR_IOP_i32_gt_u: return GR_IOP_i32_lt_u;
    case GR_IOP_i32_le_u: return GR_IOP_i32_ge_u;
    case GR_IOP_i32_ge_u: return GR_IOP_i32_le_u;
    case GR_IOP_i32_add: case GR_IOP_i32_mul: case GR_IOP_i32_and: case GR_IOP_i32_or:
    case GR_IOP_i32_xor: case GR_IOP_i32_eq: case GR_IOP_i32_ne:
        return op;
    default:
        return GR_IOP_COUNT_;   /* not commutative: no constant on the left */
    }
}

/* The "d a i" form of `op x k` (k the right operand), adjusting *k; or
 * GR_IOP_COUNT_ when there is none. */
static gr_iop imm_form(gr_iop op, uint32_t *k)
{
    switch (op) {
    case GR_IOP_i32_add: return GR_IOP_i32_add_imm;
    case GR_IOP_i32_sub: *k = 0u - *k; return GR_IOP_i32_add_imm;
    case GR_IOP_i32_mul: return GR_IOP_i32_mul_imm;
    case GR_IOP_i32_and: return GR_IOP_i32_and_imm;
    case GR_IOP_i32_or: return GR_IOP_i32_or_imm;
    case GR_IOP_i32_xor: return GR_IOP_i32_xor_imm;
    case GR_IOP_i32_shl: *k &= 31; return GR_IOP_i32_shl_imm;
    case GR_IOP_i32_shr_s: *k &= 31; return GR_IOP_i32_shr_s_imm;
    case GR_IOP_i32_shr_u: *k &= 31; return GR_IOP_i32_shr_u_imm;
    case GR_IOP_i32_rotl: *k &= 31; return GR_IOP_i32_rotl_imm;
    case GR_IOP_i32_rotr: *k = (32 - (*k & 31)) & 31; return GR_IOP_i32_rotl_imm;
    case GR_IOP_i32_div_s:   /* by 2^1 .. 2^30: a rounding shift */
        if (*k < 2 || *k > 0x40000000u || (*k & (*k - 1))) return GR_IOP_COUNT_;
        *k = gr_ctz32(*k);
        return GR_IOP_i32_div_s_pow2;
    case GR_IOP_i32_eq: return GR_IOP_i32_eq_imm;
    case GR_IOP_i32_ne: return GR_IOP_i32_ne_imm;
    case GR_IOP_i32_lt_s: return GR_IOP_i32_lt_s_imm;
    case GR_IOP_i32_lt_u: return GR_IOP_i32_lt_u_imm;
    case GR_IOP_i32_gt_s: return GR_IOP_i32_gt_s_imm;
    case GR_IOP_i32_gt_u: return GR_IOP_i32_gt_u_imm;
    /* x <= k is x < k+1 and x >= k is x > k-1, unless k+1 or k-1 wraps. */
    case GR_IOP_i32_le_s:
        if (*k == 0x7FFFFFFFu) return GR_IOP_COUNT_;
        *k += 1;
        return GR_IOP_i32_lt_s_imm;
    case GR_IOP_i32_le_u:
        if (*k == 0xFFFFFFFFu) return GR_IOP_COUNT_;
        *k += 1;
        return GR_IOP_i32_lt_u_imm;
    case GR_IOP_i32_ge_s:
        if (*k == 0x80000000u) return GR_IOP_COUNT_;
        *k -= 1;
        return GR_IOP_i32_gt_s_imm;
    case GR_IOP_i32_ge_u:
        if (*k == 0) return GR_IOP_COUNT_;
        *k -= 1;
        return GR_IOP_i32_gt_u_imm;
    default:
        return GR_IOP_COUNT_;
    }
}

/* Drop the last instruction (a constant) and emit `op d a k` instead. */
static graft_result replace_last(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t k)
{
    graft__cc_drop_last(c);
    return graft__cc_emit_def(c, op, 3, (uint32_t[]){d, a, k});
}

/* f64 add, sub or mul of a value the last instruction just loaded (f64_load
 * or f64_load_ai into a height slot op pops; for sub, the right operand):
 * "d a b i off". A trap is the load's, so the fused instruction keeps the
 * load's pcmap offset. */
static int fuse_f64_mem(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t b, graft_result *rc)
{
    gr_iop f;
    switch (op) {
    case GR_IOP_f64_add: f = GR_IOP_f64_add_m; break;
    case GR_IOP_f64_sub: f = GR_IOP_f64_sub_m; break;
    case GR_IOP_f64_mul: f = GR_IOP_f64_mul_m; break;
    default: return 0;
    }
    int ai = c->last_op == GR_IOP_f64_load_ai;
    const gr_pcmap *load = gr_pcmap_of_last(c, c->last_pc);
    if (c->last_d == GR_NONE || (c->last_op != GR_IOP_f64_load && !ai) || !load) return 0;
    uint32_t t = c->words[c->last_d];
    if (t < c->nlocals || a == b) return 0;
    if (t != b) {
        if (t != a || op == GR_IOP_f64_sub) return 0;
        a = b;   /* add and mul commute */
    }
    const uint32_t *w = &c->words[c->last_pc];
    uint32_t ops[5] = {d, a, w[2], ai ? w[3] : 0, ai ? w[4] : w[3]};
    uint32_t at = load->wasm_offset;
    graft__cc_drop_last(c);
    *rc = graft__cc_emit_def(c, f, 5, ops);
    if (*rc == GRAFT_OK) gr_pcmap_at(c, c->npcmap - 1)->wasm_offset = at;
    return 1;
}

/* xor or add of a value the last instruction just shifted or rotated by a
 * constant (into a height slot op pops): "d a b k", d = a op (b shift k). */
static int fuse_shifted(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t b, graft_result *rc)
{
    static const struct { uint16_t op, shift, fused; } map[] = {
        {GR_IOP_i32_xor, GR_IOP_i32_rotl_imm, GR_IOP_i32_xor_rotl},
        {GR_IOP_i32_xor, GR_IOP_i32_shr_u_imm, GR_IOP_i32_xor_shr_u},
        {GR_IOP_i32_add, GR_IOP_i32_shl_imm, GR_IOP_i32_add_shl},
    };
    if (c->last_d == GR_NONE) return 0;
    uint32_t t = c->words[c->last_d];
    if (t < c->nlocals || a == b || (t != a && t != b)) return 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].op != op || map[i].shift != c->last_op) continue;
        const uint32_t *w = &c->words[c->last_pc];
        uint32_t ops[4] = {d, t == b ? a : b, w[2], w[3]};   /* both ops commute */
        graft__cc_drop_last(c);
        *rc = graft__cc_emit_def(c, (gr_iop)map[i].fused, 4, ops);
        return 1;
    }
    return 0;
}

/* i32.add of the sum or product the last instruction just made (into a
 * height slot the add pops): "d a b c" with c the add's other operand. */
static int fuse_sum3(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t b, graft_result *rc)
{
    if (op != GR_IOP_i32_add || c->last_d == GR_NONE ||
        (c->last_op != GR_IOP_i32_add && c->last_op != GR_IOP_i32_mul))
        return 0;
    uint32_t t = c->words[c->last_d];
    if (t < c->nlocals || a == b || (t != a && t != b)) return 0;
    const uint32_t *w = &c->words[c->last_pc];
    uint32_t ops[4] = {d, w[2], w[3], t == a ? b : a};
    gr_iop f = c->last_op == GR_IOP_i32_add ? GR_IOP_i32_add3 : GR_IOP_i32_mul_add;
    graft__cc_drop_last(c);
    *rc = graft__cc_emit_def(c, f, 4, ops);
    return 1;
}

int graft__cc_fuse_num(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t b, graft_result *rc)
{
    uint32_t k = 0;
    gr_iop f = GR_IOP_COUNT_;
    if (fuse_f64_mem(c, op, d, a, b, rc) || fuse_shifted(c, op, d, a, b, rc) ||
        fuse_sum3(c, op, d, a, b, rc))
        return 1;
    if (op == GR_IOP_i64_add || op == GR_IOP_i64_sub || op == GR_IOP_i64_mul ||
        op == GR_IOP_i64_shr_u) {
        if (!last_const64_small(c, b, &k) || (op == GR_IOP_i64_sub && k == 0x80000000u)) return 0;
        if (op == GR_IOP_i64_sub) k = 0u - k;
        f = op == GR_IOP_i64_mul ? GR_IOP_i64_mul_imm : GR_IOP_i64_add_imm;
        if (op == GR_IOP_i64_shr_u) {
            k &= 63;
            f = GR_IOP_i64_shr_u_imm;
        }
        *rc = replace_last(c, f, d, a, k);
        return 1;
    }
    if (last_const32(c, b, &k)) {
        f = imm_form(op, &k);
    } else if (last_const32(c, a, &k) && mirror(op) != GR_IOP_COUNT_) {
        f = imm_form(mirror(op), &k);
        a = b;
    }
    if (f == GR_IOP_COUNT_) return 0;
    *rc = replace_last(c, f, d, a, k);
    return 1;
}

/* The comparison that holds exactly when op does not; for a "d a i" form,
 * adjusting *k. GR_IOP_COUNT_ when there is none (k at the edge). */
static gr_iop negate(gr_iop op, uint32_t *k)
{
    switch (op) {
    case GR_IOP_i32_eq: return GR_IOP_i32_ne;
    case GR_IOP_i32_ne: return GR_IOP_i32_eq;
    case GR_IOP_i32_lt_s: return GR_IOP_i32_ge_s;
    case GR_IOP_i32_ge_s: return GR_IOP_i32_lt_s;
    case GR_IOP_i32_gt_s: return GR_IOP_i32_le_s;
    case GR_IOP_i32_le_s: return GR_IOP_i32_gt_s;
    case GR_IOP_i32_lt_u: return GR_IOP_i32_ge_u;
    case GR_IOP_i32_ge_u: return GR_IOP_i32_lt_u;
    case GR_IOP_i32_gt_u: return GR_IOP_i32_le_u;
    case GR_IOP_i32_le_u: return GR_IOP_i32_gt_u;
    case GR_IOP_i64_eq: return GR_IOP_i64_ne;
    case GR_IOP_i64_ne: return GR_IOP_i64_eq;
    case GR_IOP_i64_lt_s: return GR_IOP_i64_ge_s;
    case GR_IOP_i64_ge_s: return GR_IOP_i64_lt_s;
    case GR_IOP_i64_gt_s: return GR_IOP_i64_le_s;
    case GR_IOP_i64_le_s: return GR_IOP_i64_gt_s;
    case GR_IOP_i64_lt_u: return GR_IOP_i64_ge_u;
    case GR_IOP_i64_ge_u: return GR_IOP_i64_lt_u;
    case GR_IOP_i64_gt_u: return GR_IOP_i64_le_u;
    case GR_IOP_i64_le_u: return GR_IOP_i64_gt_u;
    case GR_IOP_i32_eq_imm: return GR_IOP_i32_ne_imm;
    case GR_IOP_i32_ne_imm: return GR_IOP_i32_eq_imm;
    /* !(x < k) is x > k-1, !(x > k) is x < k+1, unless that wraps. */
    case GR_IOP_i32_lt_s_imm:
        if (*k == 0x80000000u) return GR_IOP_COUNT_;
        *k -= 1;
        return GR_IOP_i32_gt_s_imm;
    case GR_IOP_i32_gt_s_imm:
        if (*k == 0x7FFFFFFFu) return GR_IOP_COUNT_;
        *k += 1;
        return GR_IOP_i32_lt_s_imm;
    case GR_IOP_i32_lt_u_imm:
        if (*k == 0) return GR_IOP_COUNT_;
        *k -= 1;
        return GR_IOP_i32_gt_u_imm;
    case GR_IOP_i32_gt_u_imm:
        if (*k == 0xFFFFFFFFu) return GR_IOP_COUNT_;
        *k += 1;
        return GR_IOP_i32_lt_u_imm;
    default:
        return GR_IOP_COUNT_;
    }
}

/* The branch taken when comparison op of x and y holds: "a b T" with gt/ge
 * swapped into lt/le, or "a i T" for an immediate form (y is k). */
static int branch_form(gr_iop op, uint32_t x, uint32_t y, gr_cond *out)
{
    static const struct { uint16_t cmp, br; uint8_t swap; } map[] = {
        {GR_IOP_i32_eq, GR_IOP_br_eq, 0},       {GR_IOP_i32_ne, GR_IOP_br_ne, 0},
        {GR_IOP_i32_lt_s, GR_IOP_br_lt_s, 0},   {GR_IOP_i32_gt_s, GR_IOP_br_lt_s, 1},
        {GR_IOP_i32_le_s, GR_IOP_br_le_s, 0},   {GR_IOP_i32_ge_s, GR_IOP_br_le_s, 1},
        {GR_IOP_i32_lt_u, GR_IOP_br_lt_u, 0},   {GR_IOP_i32_gt_u, GR_IOP_br_lt_u, 1},
        {GR_IOP_i32_le_u, GR_IOP_br_le_u, 0},   {GR_IOP_i32_ge_u, GR_IOP_br_le_u, 1},
        {GR_IOP_i64_eq, GR_IOP_br_eq64, 0},     {GR_IOP_i64_ne, GR_IOP_br_ne64, 0},
        {GR_IOP_i64_lt_s, GR_IOP_br_lt_s64, 0}, {GR_IOP_i64_gt_s, GR_IOP_br_lt_s64, 1},
        {GR_IOP_i64_le_s, GR_IOP_br_le_s64, 0}, {GR_IOP_i64_ge_s, GR_IOP_br_le_s64, 1},
        {GR_IOP_i64_lt_u, GR_IOP_br_lt_u64, 0}, {GR_IOP_i64_gt_u, GR_IOP_br_lt_u64, 1},
        {GR_IOP_i64_le_u, GR_IOP_br_le_u64, 0}, {GR_IOP_i64_ge_u, GR_IOP_br_le_u64, 1},
        {GR_IOP_i32_eq_imm, GR_IOP_br_eq_imm, 0},     {GR_IOP_i32_ne_imm, GR_IOP_br_ne_imm, 0},
        {GR_IOP_i32_lt_s_imm, GR_IOP_br_lt_s_imm, 0}, {GR_IOP_i32_gt_s_imm, GR_IOP_br_gt_s_imm, 0},
        {GR_IOP_i32_lt_u_imm, GR_IOP_br_lt_u_imm, 0}, {GR_IOP_i32_gt_u_imm, GR_IOP_br_gt_u_imm, 0},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].cmp != op) continue;
        out->op = (gr_iop)map[i].br;
        out->n = 2;
        out->ops[0] = map[i].swap ? y : x;
        out->ops[1] = map[i].swap ? x : y;
        return 1;
    }
    return 0;
}

int graft__cc_fuse_cond(gr_cc *c, uint32_t slot, int when, gr_cond *out)
{
    if (c->last_d == GR_NONE || slot < c->nlocals || c->words[c->last_d] != slot) return 0;
    gr_iop op = c->last_op;
    uint32_t x = c->words[c->last_d + 1];
    if (op == GR_IOP_i32_eqz) {
        out->op = when ? GR_IOP_br_unless : GR_IOP_br_if;
        out->n = 1;
        out->ops[0] = x;
    } else {
        if (c->nwords - c->last_d != 3) return 0;   /* only "d a b" and "d a i" */
        uint32_t y = c->words[c->last_d + 2];
        if (!when) op = negate(op, &y);
        if (op == GR_IOP_COUNT_ || !branch_form(op, x, y, out)) return 0;
    }
    graft__cc_drop_last(c);
    c->last_d = GR_NONE;
    return 1;
}

/* i32.load from the sum the last instruction just computed: a[i]
 * (i32_add_shl into a height slot) is i32_load_idx; p + k just stored to
 * local a (an i32_add_imm retargeted by local.tee, right before) is
 * i32_add_imm_load, whose load result may still be retargeted. */
static int fuse_load_sum(gr_cc *c, uint32_t d, uint32_t a, uint32_t off, graft_result *rc)
{
    const uint32_t *w = &c->words[c->last_pc];
    if (c->last_op == GR_IOP_i32_add_shl && c->last_d != GR_NONE && a >= c->nlocals &&
        w[1] == a) {
        uint32_t ops[5] = {d, w[2], w[3], w[4], off};
        graft__cc_drop_last(c);
        *rc = graft__cc_emit_def(c, GR_IOP_i32_load_idx, 5, ops);
        return 1;
    }
    if (c->last_op == GR_IOP_i32_add_imm && c->last_d == GR_NONE && a < c->nlocals &&
        w[1] == a && c->last_pc + 4 == c->nwords) {
        uint32_t ops[5] = {a, w[2], w[3], d, off};
        graft__cc_drop_last(c);
        *rc = graft__cc_emit(c, GR_IOP_i32_add_imm_load, 5, ops);
        if (*rc == GRAFT_OK) c->last_d = c->last_pc + 4;
        return 1;
    }
    return 0;
}

int graft__cc_fuse_load(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t off,
                        graft_result *rc)
{
    gr_iop f;
    if (op == GR_IOP_i32_load && c->last_op != GR_IOP_COUNT_ && fuse_load_sum(c, d, a, off, rc))
        return 1;
    switch (op) {
    case GR_IOP_i32_load: f = GR_IOP_i32_load_ai; break;
    case GR_IOP_i32_load8_u: f = GR_IOP_i32_load8_u_ai; break;
    case GR_IOP_i32_load16_s: f = GR_IOP_i32_load16_s_ai; break;
    case GR_IOP_f64_load: f = GR_IOP_f64_load_ai; break;
    default: return 0;
    }
    if (c->last_d == GR_NONE || c->last_op != GR_IOP_i32_add_imm || a < c->nlocals ||
        c->words[c->last_d] != a)
        return 0;
    uint32_t x = c->words[c->last_d + 1], k = c->words[c->last_d + 2];
    graft__cc_drop_last(c);
    if (f == GR_IOP_i32_load_ai && c->last_d != GR_NONE && c->last_op == GR_IOP_i32_shl_imm &&
        x >= c->nlocals && c->words[c->last_d] == x) {
        uint32_t y = c->words[c->last_d + 1], s = c->words[c->last_d + 2];
        graft__cc_drop_last(c);
        *rc = graft__cc_emit_def(c, GR_IOP_i32_load_sai, 5, (uint32_t[]){d, y, s, k, off});
        return 1;
    }
    *rc = graft__cc_emit_def(c, f, 4, (uint32_t[]){d, x, k, off});
    return 1;
}

/* Copy pairs. Every label and the unmetered block head set last_op to
 * GR_IOP_COUNT_ (compile.c, compile_ctl.c), and a metered block head is a
 * charge, so a copy joins only an instruction of its own basic block; no
 * branch can enter between the two. */
int graft__cc_fuse_copy(gr_cc *c, uint32_t d, uint32_t s, graft_result *rc)
{
    uint32_t w[5], n;
    gr_iop f;
    if (c->last_op == GR_IOP_copy && c->last_pc + 3 == c->nwords) {
        f = GR_IOP_copy2;
        n = 2;
    } else if (c->last_op == GR_IOP_i32_add_imm && c->last_pc + 4 == c->nwords) {
        f = GR_IOP_i32_add_imm_copy;
        n = 3;
    } else {
        return 0;
    }
    memcpy(w, &c->words[c->last_pc + 1], n * sizeof *w);
    w[n] = d;
    w[n + 1] = s;
    graft__cc_drop_last(c);
    *rc = graft__cc_emit(c, f, n + 2, w);
    return 1;
}

int graft__cc_fuse_store(gr_cc *c, gr_iop op, uint32_t a, uint32_t v, uint32_t off,
                         graft_result *rc)
{
    uint32_t k;
    if ((op != GR_IOP_i32_store && op != GR_IOP_i32_store8) || a == v || !last_const32(c, v, &k))
        return 0;
    graft__cc_drop_last(c);
    *rc = graft__cc_emit(c, op == GR_IOP_i32_store ? GR_IOP_i32_store_k : GR_IOP_i32_store8_k, 3,
                         (uint32_t[]){a, k, off});
    return 1;
}

int graft__cc_fuse_select(gr_cc *c, const uint32_t ops[4], graft_result *rc)
{
    /* Only "d a b" and "d a i" comparisons qualify: 4 words, read below. */
    if (c->last_d == GR_NONE || ops[3] < c->nlocals || c->words[c->last_d] != ops[3] ||
        c->nwords - c->last_pc != 4)
        return 0;
    const uint32_t *w = &c->words[c->last_pc];
    uint32_t d = ops[0], x = ops[1], y = ops[2], a = w[2], b = w[3], t;
    gr_iop f = GR_IOP_select_lt_s;
    switch (c->last_op) {
    case GR_IOP_i32_lt_s: break;
    case GR_IOP_i32_gt_s: t = a; a = b; b = t; break;               /* b < a */
    case GR_IOP_i32_ge_s: t = x; x = y; y = t; break;               /* !(a < b) */
    case GR_IOP_i32_le_s: t = a; a = b; b = t; t = x; x = y; y = t; break;   /* !(b < a) */
    case GR_IOP_i32_lt_s_imm: f = GR_IOP_select_lt_s_imm; break;
    case GR_IOP_i32_gt_s_imm: f = GR_IOP_select_gt_s_imm; break;
    default: return 0;
    }
    graft__cc_drop_last(c);
    *rc = graft__cc_emit_def(c, f, 5, (uint32_t[]){d, x, y, a, b});
    return 1;
}

/* Add pairs: the last instruction, an i32_add_imm just retargeted to a
 * local, and the i32_add_imm right before it (prev_op is only an
 * instruction of the same basic block: labels and unmetered block heads
 * reset last_op, metered ones emit a charge) become one i32_add_imm2. */
void graft__cc_fuse_retarget(gr_cc *c)
{
    if (c->last_op != GR_IOP_i32_add_imm || c->prev_op != GR_IOP_i32_add_imm ||
        c->prev_pc + 4 != c->last_pc)
        return;
    uint32_t *w = &c->words[c->prev_pc];
    w[0] = (uint32_t)c->handlers[GR_IOP_i32_add_imm2];
    memmove(&w[4], &w[5], 3 * sizeof *w);
    c->nwords--;
    c->last_pc = c->prev_pc;
    c->last_op = GR_IOP_i32_add_imm2;
    c->last_d = GR_NONE;
    c->prev_d = GR_NONE;
    c->prev_op = GR_IOP_COUNT_;
}

#endif
