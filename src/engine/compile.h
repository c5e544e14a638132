/* compile.h - the compiler's insides, shared by compile.c (driver, locals,
 * operand stack, emission, plain instructions) and compile_ctl.c (blocks,
 * branches, calls, returns). Nothing outside the compiler includes this.
 *
 * gr_cc is the state of one graft__compile_module call. Its growable
 * buffers (operand stack, control stack, code, pcmap, fixups) are scratch
 * allocated through graft__realloc on the module's env, reused from one
 * function to the next and freed when the module is done; only the final,
 * exactly sized code and pcmap are copied into the module arena.
 *
 * The operand stack follows the spec's validation algorithm [spec A.3]
 * (types, or GR_UNKNOWN on a polymorphic stack) and adds, per entry, the
 * frame slot that holds the value at run time. An entry's slot is either
 * its own height slot (nlocal_slots + height) or, after `local.get x`, the
 * local's slot x ("an alias", no code emitted). Aliases of one local are
 * chained in a doubly linked list through the stack (alias_head[x] is the
 * topmost), so `local.set x` finds them without scanning the stack. */
#ifndef GR_COMPILE_H
#define GR_COMPILE_H

#include "code.h"
#include "reader.h"

#include <assert.h>

/* Functions may have up to this many locals (params included): more is
 * malformed "too many locals" (the spec's bound is 2^32-1; ours keeps frame
 * sizes sane while letting real-world functions with 50,000 locals compile). */
#define GR_MAX_LOCALS 50000000u

#define GR_UNKNOWN 0          /* operand type on a polymorphic stack */
#define GR_NONE 0xFFFFFFFFu   /* no index / no fixup / no pc */

/* Control frame kinds: a WebAssembly opcode, or the function itself. */
enum { GR_CTL_FUNC = 0, GR_CTL_BLOCK = 0x02, GR_CTL_LOOP = 0x03, GR_CTL_IF = 0x04,
       GR_CTL_ELSE = 0x05 };

typedef struct gr_ventry {
    uint8_t type;      /* graft_valtype, or GR_UNKNOWN */
    uint32_t slot;     /* frame slot holding the value; < nlocal_slots = alias */
    uint32_t up;       /* alias list: next entry aliasing the same local, higher */
    uint32_t down;     /* alias list: next entry aliasing the same local, lower */
} gr_ventry;

typedef struct gr_ctl {
    uint8_t kind;             /* GR_CTL_* */
    uint8_t unreachable;      /* the rest of the frame is stack-polymorphic */
    uint8_t dead;             /* entered in unreachable code: emit nothing */
    uint32_t height;          /* operand stack height at entry, params excluded */
    uint32_t nparams, nresults;
    const gr_valtype *params;   /* start types */
    const gr_valtype *results;  /* end types */
    uint32_t head_pc;         /* loop: pc of its loop_check (the label target) */
    uint32_t fixups;          /* chain of forward branches to this label's end */
    uint32_t else_fix;        /* if: the br_unless to patch at else/end */
    uint32_t stub_gen;        /* br_table: generation that stub_pc belongs to */
    uint32_t stub_pc;         /* br_table: pc of the copy stub for this label */
} gr_ctl;

/* A forward branch waiting for its target: word `word` becomes
 * target - base, where base is the branching instruction's first word. */
typedef struct gr_fixup {
    uint32_t word;
    uint32_t base;
    uint32_t next;            /* next fixup of the same label, or GR_NONE */
} gr_fixup;

/* A run of declared locals: locals [first, first + count) have type `type`. */
typedef struct gr_lrun {
    uint32_t first;
    uint32_t count;
    gr_valtype type;
} gr_lrun;

typedef struct gr_cc {
    graft_module *m;
    graft_env *env;
    gr_errbuf *err;
    const int32_t *handlers;  /* handler word per gr_iop */
    gr_reader r;              /* the current body */
    uint64_t at;              /* offset of the current instruction */
    uint32_t func_index;
    const gr_functype *type;  /* the current function's type */

    uint32_t nlocals;         /* = nlocal_slots */
    gr_lrun *runs;            /* declared local runs */
    uint32_t nruns, runs_cap;

    gr_ventry *vals;          /* operand stack */
    uint32_t nvals, vals_cap;
    uint32_t max_height;
    uint32_t *alias_head;     /* per local: topmost aliasing entry, or GR_NONE */
    uint32_t alias_cap;       /* entries allocated in alias_head */
    uint8_t use_alias;        /* local.get aliases (off for huge local counts) */
    uint32_t nalias;          /* aliasing entries on the stack */
    uint32_t alias_floor;     /* no entry below this index aliases */

    gr_ctl *ctls;             /* control stack; ctls[0] is the function */
    uint32_t nctls, ctls_cap;
    uint32_t stub_gen;        /* br_table generation counter */

    uint32_t *words;          /* code being emitted */
    uint32_t nwords, words_cap;
    gr_pcmap *pcmap;
    uint32_t npcmap, pcmap_cap;
    gr_fixup *fix;
    uint32_t nfix, fix_cap;
    uint32_t *depths;         /* br_table label depths */
    uint32_t depths_cap;

    uint32_t last_d;          /* word index of the d operand of the last emitted
                                 instruction when it may be retargeted, or GR_NONE */
    uint32_t last_pc;         /* word index of the last emitted instruction */
    gr_iop last_op;           /* and its internal opcode */
    uint32_t prev_d, prev_pc; /* last_d, last_pc and last_op of the instruction */
    gr_iop prev_op;           /* before the last (compile_fuse.c drops the last) */
    uint32_t zero_locals;     /* bit x: declared local x (< 32) still holds the
                                 zero it had on entry: no write to it yet, and no
                                 label (else, end, loop) crossed since the start */
    uint32_t fuel_at;         /* word index of the count operand of the charge
                                 (fuel or loop_check) heading the current basic
                                 block: every live WebAssembly instruction adds 1 */
} gr_cc;

/* ---- Indexing the scratch arrays -----------------------------------------
 * Every index into a scratch array that is computed from a count (the top
 * of a stack, the last pcmap entry) goes through these accessors. The
 * assert is on an internal invariant, never on input: an index derived
 * from a count of zero (n - 1 = UINT32_MAX) stops here in Debug builds
 * instead of writing far out of bounds, as materialize_local_ahead once
 * did into pcmap[UINT32_MAX]. Release builds (NDEBUG) compile them to the
 * plain index. */

/* The innermost control frame; the function's own frame is always there
 * while a body is compiled. */
static inline gr_ctl *gr_ctl_top(const gr_cc *c)
{
    assert(c->nctls > 0);
    return &c->ctls[c->nctls - 1];
}

/* Operand stack entry i (0 is the bottom). */
static inline gr_ventry *gr_val_at(const gr_cc *c, uint32_t i)
{
    assert(i < c->nvals);
    return &c->vals[i];
}

/* pcmap entry i of the function being compiled. */
static inline gr_pcmap *gr_pcmap_at(const gr_cc *c, uint32_t i)
{
    assert(i < c->npcmap);
    return &c->pcmap[i];
}

/* The pcmap entry of the instruction at word pc, when it has one: entries
 * are appended in pc order, so only the last can name the instruction just
 * emitted. NULL when there is none (npcmap may be 0). */
static inline gr_pcmap *gr_pcmap_of_last(const gr_cc *c, uint32_t pc)
{
    if (c->npcmap == 0) return NULL;
    gr_pcmap *e = gr_pcmap_at(c, c->npcmap - 1);
    return e->pc == pc ? e : NULL;
}

/* ---- Byte readers -------------------------------------------------------
 * reader.h's readers, with the output always written (0 on error): at -O2
 * GCC cannot see that graft__error never returns GRAFT_OK and would warn
 * that the value may be unset after a successful read. */

static inline graft_result cc_read_leb(gr_reader *r, unsigned bits, int is_signed, uint64_t *out,
                                       gr_errbuf *err, const char *what)
{
    uint64_t v = 0;
    graft_result rc = gr_read_leb(r, bits, is_signed, &v, err, what);
    *out = rc == GRAFT_OK ? v : 0;
    return rc;
}

static inline graft_result cc_read_u32(gr_reader *r, uint32_t *out, gr_errbuf *err,
                                       const char *what)
{
    uint64_t v;
    graft_result rc = cc_read_leb(r, 32, 0, &v, err, what);
    *out = (uint32_t)v;
    return rc;
}

static inline graft_result cc_read_u8(gr_reader *r, uint8_t *out, gr_errbuf *err,
                                      const char *what)
{
    *out = 0;
    return gr_read_u8(r, out, err, what);
}

/* ---- compile.c: shared helpers ------------------------------------------- */

graft_result graft__cc_fail(gr_cc *c, graft_error_code code, const char *fmt, ...);
graft_result graft__cc_grow(gr_cc *c, void **buf, uint32_t *cap, uint64_t need, size_t elem);

/* Is code being emitted here (reachable, and not inside a dead frame)? */
static inline int gr_live(const gr_cc *c)
{
    const gr_ctl *f = gr_ctl_top(c);
    return !f->unreachable && !f->dead;
}

static inline uint32_t gr_hslot(const gr_cc *c, uint32_t height)
{
    return c->nlocals + height;
}

graft_result graft__cc_push(gr_cc *c, uint8_t type);
graft_result graft__cc_pop(gr_cc *c, uint8_t expect, gr_ventry *out);
graft_result graft__cc_check_vals(gr_cc *c, const gr_valtype *types, uint32_t n);
void graft__cc_drop_vals(gr_cc *c, uint32_t n);
graft_result graft__cc_push_vals(gr_cc *c, const gr_valtype *types, uint32_t n);
void graft__cc_set_unreachable(gr_cc *c);

graft_result graft__cc_materialize_all(gr_cc *c);
graft_result graft__cc_materialize_top(gr_cc *c, uint32_t n);

graft_result graft__cc_emit(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands);
graft_result graft__cc_emit_def(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands);
/* Remove the last instruction: the one before it becomes the last again
 * (and may be retargeted or fused); the one before that is no longer known. */
void graft__cc_drop_last(gr_cc *c);
/* A branch to a loop head, which tests the interrupt flag: with a pcmap entry. */
graft_result graft__cc_emit_backward(gr_cc *c, gr_iop op, uint32_t n, const uint32_t *operands);
void graft__cc_patch(gr_cc *c, uint32_t fixup, uint32_t target);
graft_result graft__cc_add_fixup(gr_cc *c, uint32_t word, uint32_t base, uint32_t *chain);
/* Start a basic block here: emit `fuel 0` and count into it (docs/engine.md,
 * "Fuel"). Called at every label that a branch can reach and after every
 * conditional branch; a loop's loop_check heads its block itself. In an
 * unmetered module (m->unmetered) nothing is emitted or counted, and a
 * loop head is a bare label (its back-edges test the interrupt flag). */
graft_result graft__cc_start_block(gr_cc *c);

/* ---- compile_fuse.c: fused instructions (ops.def, GR_FUSED) ------------- */

/* A conditional branch without its target: `op ops[0..n) T`. */
typedef struct gr_cond {
    gr_iop op;
    uint32_t n;
    uint32_t ops[3];          /* room for the target after the operands */
} gr_cond;

#ifdef GR_WITH_FUSED
/* When the instruction just emitted is a comparison into slot, remove it
 * and fill *out with a branch taken when the comparison is `when` (1 or 0):
 * returns 1; else 0 and nothing changes. */
int graft__cc_fuse_cond(gr_cc *c, uint32_t slot, int when, gr_cond *out);
/* Emit binary NUM op `d a b` as a fused form when the instruction just
 * emitted was a constant feeding it: 1 if done (*rc is the result), 0 if
 * the caller emits op as usual. */
int graft__cc_fuse_num(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t b, graft_result *rc);
#endif

#ifdef GR_WITH_FUSED
/* Emit LOAD op `d a off` as a fused form when the instruction just emitted
 * computed a as a plus a constant: as graft__cc_fuse_num. */
int graft__cc_fuse_load(gr_cc *c, gr_iop op, uint32_t d, uint32_t a, uint32_t off,
                        graft_result *rc);
#endif

#ifdef GR_WITH_FUSED
/* Emit `copy d s` joined to the instruction just emitted (a copy or an
 * i32_add_imm of the same basic block): as graft__cc_fuse_num. */
int graft__cc_fuse_copy(gr_cc *c, uint32_t d, uint32_t s, graft_result *rc);
/* A store whose value the last instruction just made as a constant:
 * i32_store_k / i32_store8_k. */
int graft__cc_fuse_store(gr_cc *c, gr_iop op, uint32_t a, uint32_t v, uint32_t off,
                         graft_result *rc);
/* select "d x y s" whose condition s the last instruction just computed
 * as a signed i32 comparison: select_lt_s and its constant forms. */
int graft__cc_fuse_select(gr_cc *c, const uint32_t ops[4], graft_result *rc);
/* The last instruction was just retargeted to a local: join it to the one
 * before when they make a pair (i32_add_imm2). */
void graft__cc_fuse_retarget(gr_cc *c);
#endif

/* ---- compile_ctl.c: control instructions, calls ------------------------ */

graft_result graft__cc_control(gr_cc *c, gr_wasm_op op);
graft_result graft__cc_push_func_frame(gr_cc *c);

#endif
