/* interp.c - the interpreter: the one dispatch loop that runs the internal
 * code compile.c emits (code.h is the contract; read it first).
 *
 * Internal code, one instruction (32-bit words):
 *
 *     +---------+---------+---------+-----+
 *     | handler | operand | operand | ... |     i32_add:  h d a b
 *     +---------+---------+---------+-----+     i32_load: h d a off
 *       word 0    word 1    word 2              br_if:    h s T
 *
 *   handler  threaded build: byte distance from the base label (the
 *            `unreachable` handler) to the handler's label, so dispatch is
 *            one load, one add and an indirect jump; a zeroed word lands on
 *            `unreachable`. Switch build: the gr_iop number (also 0 for
 *            `unreachable`). The compiler takes it from
 *            graft__interp_handlers()[iop].
 *   operands slot indices (d a b s v), immediates, indices, counts and
 *            branch offsets T (signed words from the branching instruction's
 *            first word), in ops.def's order.
 *
 * Frames. Values live in 8-byte slots on the store's value stack; frame
 * records live on the store's frame stack (never the C stack, so deep
 * WebAssembly recursion cannot overflow the native stack):
 *
 *   s->stack                                                 stack_end
 *   |  ...caller frame.................|                          |
 *   |  locals | operand stack: a0 a1 ..|                          |
 *              fp + a = callee fp ^
 *                        | params | locals | operands |
 *                        fp'[0..)  zeroed   frame_slots
 *
 *   s->frames[first]     the frame this invocation pushed for f
 *   s->frames[k].pc      callers: where to continue after the call;
 *                        the innermost on a trap: the trapping instruction
 *
 * A call needs no argument copying: the caller evaluated the arguments into
 * consecutive slots from `a`, which become the callee's parameters, and the
 * callee leaves its results at fp'[0..), where the caller expects them.
 *
 * Re-entry: a host function may call back into WebAssembly (graft_call),
 * which calls graft__interp_run again with fp = s->stack_top. Before a host
 * call s->stack_top is moved past the host's slots; after it, restored.
 *
 * Locals kept in registers: pc, fp, the current instance, memory 0's base
 * and size. The memory cache is reloaded after memory.grow, after host
 * calls, and whenever the running instance changes (also on return), so a
 * return to the same instance keeps it: any grow since was reloaded where
 * it happened. Only backward branches (a loop's back-edge: offset T <= 0)
 * and calls test the interrupt flag. Handlers are small, do not call functions on the hot paths, and
 * trap by jumping to one shared exit with a trap code. */
#include "runtime.h"

#include "numeric.h"

#include <assert.h>
#include <string.h>

/* ---- Byte order: linear memory is little-endian [spec 4.2.8] ----------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#define LE64(x) __builtin_bswap64(x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif

static inline uint32_t ld8(const uint8_t *p) { return *p; }
static inline uint32_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return LE16(v); }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return LE32(v); }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return LE64(v); }
static inline void st8(uint8_t *p, uint64_t x) { *p = (uint8_t)x; }
static inline void st16(uint8_t *p, uint64_t x) { uint16_t v = LE16((uint16_t)x); memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint64_t x) { uint32_t v = LE32((uint32_t)x); memcpy(p, &v, 4); }
static inline void st64(uint8_t *p, uint64_t x) { uint64_t v = LE64(x); memcpy(p, &v, 8); }

/* ---- Fuel (docs/engine.md, "Fuel"): take n units, or stop at pc, which
 * is re-executed when a suspended call resumes. With fuel off the tank
 * holds UINT64_MAX, so this is the same subtract-and-branch either way. -- */
#define CHARGE(n)                                           \
    do {                                                    \
        uint64_t need_ = (n);                               \
        if (s->fuel < need_) goto out_of_fuel;              \
        s->fuel -= need_;                                   \
    } while (0)

/* ---- The interrupt flag (any thread or signal handler may set it) ------- */

#if !defined(__STDC_NO_ATOMICS__)
#define INTERRUPT_PENDING(s) atomic_load_explicit(&(s)->interrupt, memory_order_relaxed)
#define INTERRUPT_CLEAR(s) atomic_store_explicit(&(s)->interrupt, 0, memory_order_relaxed)
#else
#define INTERRUPT_PENDING(s) ((s)->interrupt)
#define INTERRUPT_CLEAR(s) ((s)->interrupt = 0)
#endif

/* ---- Dispatch -----------------------------------------------------------
 * OP(name) opens a handler; NEXT() dispatches the instruction at pc. The
 * handler bodies below are written once and build either way. */

#ifdef GRAFT_DISPATCH_SWITCH
#define OP(name) case GR_IOP_##name:
#define NEXT() goto dispatch
#else
#define OP(name) L_##name:
#define NEXT() goto *(const void *)((const char *)&&L_unreachable + (int32_t)pc[0])
#endif

/* The switch build's handler words: the gr_iop numbers themselves. */
#ifdef GRAFT_DISPATCH_SWITCH
#define IDENT_NUM(n) GR_IOP_##n,
#define IDENT_LOAD(n) GR_IOP_##n,
#define IDENT_STORE(n) GR_IOP_##n,
#define IDENT_SPECIAL(n)
static const int32_t identity_handlers[GR_IOP_COUNT_] = {
#define GR_IOP(name, operands) GR_IOP_##name,
#include "ops.def"
#undef GR_IOP
#define GR_OP(name, code, imm, sig, cls, arg) IDENT_##cls(name)
#include "ops.def"
#undef GR_OP
#define GR_FUSED(name, operands) GR_IOP_##name,
#include "ops.def"
#undef GR_FUSED
};
#endif

/* Operand word i of the current instruction, and the slot it names. */
#define W(i) (pc[i])
#define S(i) (fp[pc[i]])

/* Handler families. x and y are the operands, read before d is written
 * (d may name the same slot as an operand). */
#define UNARY(name, T, in, out, expr)                                          \
    OP(name) {                                                                 \
        T x = S(2).in;                                                         \
        S(1).out = (expr);                                                     \
        pc += 3;                                                               \
        NEXT();                                                                \
    }
#define BINARY(name, T, in, out, expr)                                         \
    OP(name) {                                                                 \
        T x = S(2).in, y = S(3).in;                                            \
        S(1).out = (expr);                                                     \
        pc += 4;                                                               \
        NEXT();                                                                \
    }
/* "d a i": the second operand is the immediate word, sign-extended to T. */
#define BINARY_IMM(name, T, in, out, expr)                                     \
    OP(name) {                                                                 \
        T x = S(2).in, y = (T)(int32_t)W(3);                                   \
        S(1).out = (expr);                                                     \
        pc += 4;                                                               \
        NEXT();                                                                \
    }
/* A load "d a i off" from (u32)(a + i) + off. */
#define LOAD_AI(name, N, out, expr)                                            \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)(uint32_t)(S(2).u32 + W(3)) + W(4);            \
        if (ea + N > ms) goto trap_mem;                                        \
        const uint8_t *p = mb + ea;                                            \
        S(1).out = (expr);                                                     \
        pc += 5;                                                               \
        NEXT();                                                                \
    }
/* f64 arithmetic with a memory operand "d a b i off": x is a, y the f64 at
 * (u32)(b + i) + off. */
#define LOAD_OP_F64(name, expr)                                                \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)(uint32_t)(S(3).u32 + W(4)) + W(5);            \
        if (ea + 8 > ms) goto trap_mem;                                        \
        gr_slot m_;                                                            \
        m_.u64 = ld64(mb + ea);                                                \
        double x = S(2).f64, y = m_.f64;                                       \
        S(1).f64 = (expr);                                                     \
        pc += 6;                                                               \
        NEXT();                                                                \
    }
/* i32_load_sai "d a s k off": (u32)((a << s) + k) + off. */
#define LOAD_SAI(name, N, out, expr)                                           \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)(uint32_t)((S(2).u32 << W(3)) + W(4)) + W(5);  \
        if (ea + N > ms) goto trap_mem;                                        \
        const uint8_t *p = mb + ea;                                            \
        S(1).out = (expr);                                                     \
        pc += 6;                                                               \
        NEXT();                                                                \
    }
/* Take a branch of off words. A backward one (off <= 0: to a loop head;
 * 0 is `loop br 0 end`) tests the interrupt flag first, so every loop
 * iteration does, and an interrupted one traps at the branch. */
#ifndef __OPTIMIZE_SIZE__
#define JUMP(off)                                                              \
    do {                                                                       \
        int32_t off_ = (int32_t)(off);                                         \
        if (off_ <= 0 && INTERRUPT_PENDING(s)) goto trap_interrupt;            \
        pc += off_;                                                            \
    } while (0)
#else
/* Built for size (-Os, microcontrollers): one shared back-edge test. */
#define JUMP(off)                                                              \
    do {                                                                       \
        back_off = (int32_t)(off);                                             \
        if (back_off <= 0) goto back_edge;                                     \
        pc += back_off;                                                        \
    } while (0)
#endif
/* Compare and branch "a b T" and "a i T": jump when expr holds. */
#define BR_CMP(name, T, in, expr)                                              \
    OP(name) {                                                                 \
        T x = S(1).in, y = S(2).in;                                            \
        if (expr) JUMP(W(3));                                                  \
        else pc += 4;                                                          \
        NEXT();                                                                \
    }
#define BR_CMP_IMM(name, T, in, expr)                                          \
    OP(name) {                                                                 \
        T x = S(1).in, y = (T)W(2);                                            \
        if (expr) JUMP(W(3));                                                  \
        else pc += 4;                                                          \
        NEXT();                                                                \
    }
/* Trapping float-to-int truncation [spec 4.3.3 trunc]: NaN is an invalid
 * conversion, anything else whose truncation does not fit an overflow. */
#define TRUNC(name, T, in, out, fits, conv)                                    \
    OP(name) {                                                                 \
        T x = S(2).in;                                                         \
        if (!fits(x)) {                                                        \
            tc = x != x ? GRAFT_E_TRAP_INVALID_CONV : GRAFT_E_TRAP_INT_OVERFLOW; \
            goto trap;                                                         \
        }                                                                      \
        S(1).out = (conv)x;                                                    \
        pc += 3;                                                               \
        NEXT();                                                                \
    }
/* Loads "d a off" and stores "a v off": the effective address is the u32
 * operand plus the u32 offset, computed in 64 bits so it cannot wrap. */
#define LOAD(name, N, out, expr)                                               \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)S(2).u32 + W(3);                               \
        if (ea + N > ms) goto trap_mem;                                        \
        const uint8_t *p = mb + ea;                                            \
        S(1).out = (expr);                                                     \
        pc += 4;                                                               \
        NEXT();                                                                \
    }
#define STORE(name, N, in, put)                                                \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)S(1).u32 + W(3);                               \
        if (ea + N > ms) goto trap_mem;                                        \
        put(mb + ea, S(2).in);                                                 \
        pc += 4;                                                               \
        NEXT();                                                                \
    }

/* A constant store "a k off": the immediate k to (u32)a + off. */
#define STORE_K(name, N, put)                                                  \
    OP(name) {                                                                 \
        uint64_t ea = (uint64_t)S(1).u32 + W(3);                               \
        if (ea + N > ms) goto trap_mem;                                        \
        put(mb + ea, W(2));                                                    \
        pc += 4;                                                               \
        NEXT();                                                                \
    }

#define RELOAD_MEM()                                                           \
    do {                                                                       \
        const graft_memory *mem_ = memory0(inst);                              \
        mb = mem_ ? mem_->data : NULL;                                         \
        ms = mem_ ? mem_->size : 0;                                            \
    } while (0)

/* Memory 0 of an instance, or NULL (host callers have no instance). */
static inline graft_memory *memory0(const graft_instance *inst)
{
    return inst && inst->module->nmemories ? inst->memories[0] : NULL;
}

/* The ends of the store's value stack and frame stack. Computed where a
 * call needs them rather than held across the dispatch loop, which keeps
 * registers for pc, fp and memory 0. */
#define STACK_END() (s->stack + s->limits.max_stack_slots)
#define FRAMES_END() (s->frames + s->limits.max_call_depth)

/* Slots a host function's frame takes: params on entry, results on exit. */
static inline uint32_t host_slots(const graft_func *f)
{
    const gr_functype *t = f->type;
    return t->param_slots > t->result_slots ? t->param_slots : t->result_slots;
}

/* Call host function f with its slots at fp, from instance inst (NULL from
 * the API). Pushes a frame record for it at s->nframes (the caller checked
 * depth and stack room) so that re-entrant calls nest above it, moves the
 * stack top past its slots for the same reason, and clears the store error
 * so that the caller can tell whether the host set one (graft_caller_trap,
 * graft_caller_exit, or an inner call's trap). */
static graft_result call_host(graft_store *s, graft_func *f, gr_slot *fp, graft_instance *inst)
{
    gr_frame *fr = &s->frames[s->nframes++];
    fr->func = f;
    fr->pc = NULL;
    fr->fp = fp;
    gr_slot *saved_top = s->stack_top, *top = fp + host_slots(f);
    if (top > saved_top) s->stack_top = top;
    graft_caller caller = {s, inst};
    graft__error_clear(&s->err);
    s->host_short = 0;
    graft_result r = f->host(&caller, (graft_slot *)fp, f->host_user);
    if (r == GRAFT_OK) s->host_short = 0;   /* a short charge it recovered from */
    s->stack_top = saved_top;
    s->nframes--;
    return r;
}

/* Zero a frame's declared locals (code.h). Most functions declare a
 * few: stores in a fallthrough chain, where a loop would become a call to
 * memset costing more than the call it is part of. */
#ifndef __OPTIMIZE_SIZE__
static inline void zero_locals(gr_slot *fp, const gr_code *code)
{
    gr_slot *p = fp + code->nparam_slots;
    uint32_t n = code->nlocal_slots - code->nparam_slots;
    switch (n) {
    default: memset(p, 0, (size_t)n * sizeof *p); break;
    case 6: p[5].u64 = 0; /* fall through */
    case 5: p[4].u64 = 0; /* fall through */
    case 4: p[3].u64 = 0; /* fall through */
    case 3: p[2].u64 = 0; /* fall through */
    case 2: p[1].u64 = 0; /* fall through */
    case 1: p[0].u64 = 0; /* fall through */
    case 0: break;
    }
}
#else
static void zero_locals(gr_slot *fp, const gr_code *code)
{
    memset(fp + code->nparam_slots, 0,
           (size_t)(code->nlocal_slots - code->nparam_slots) * sizeof *fp);
}
#endif

/* The callee of call_indirect or return_call_indirect [spec 4.4.8
 * call_indirect]: table `table`'s element i, checked in the spec's order
 * (bounds, null, then the type against type index `type`). NULL with the
 * trap code in *tc. */
static inline graft_func *indirect_callee(const graft_instance *inst, uint32_t type,
                                          uint32_t table, uint32_t i, graft_error_code *tc)
{
    const graft_table *t = inst->tables[table];
    if (i >= t->size) {
        *tc = GRAFT_E_TRAP_UNDEFINED_ELEM;
        return NULL;
    }
    graft_func *callee = t->elems[i];
    if (!callee) {
        *tc = GRAFT_E_TRAP_UNINIT_ELEM;
        return NULL;
    }
    const gr_functype *want = &inst->module->types[type];
    if (callee->type != want &&
        (callee->type->hash != want->hash || !graft__functype_eq(callee->type, want))) {
        *tc = GRAFT_E_TRAP_INDIRECT_TYPE;
        return NULL;
    }
    return callee;
}

/* After a host function failed: does the trap still need reporting? Yes
 * when the host set no error (a bare error result), and when it used
 * graft_caller_trap (graft__trap keeps that message and adds where it
 * happened and the backtrace). No for graft_caller_exit and for an error
 * from a re-entrant call, which already carries its own report. */
static int host_trap_unreported(const graft_store *s)
{
    return s->err.pub.result == GRAFT_OK || s->err.pub.code == GRAFT_E_TRAP_HOST;
}

/* A host function returned r != GRAFT_OK: the call's result, with the trap
 * reported at the host call when it needs reporting. A failed
 * graft_caller_charge (s->host_short) is the trap "out of fuel" there. */
static graft_result host_failed(graft_store *s, graft_result r, uint32_t first)
{
    int short_fuel = s->host_short && s->err.pub.code == GRAFT_E_TRAP_OUT_OF_FUEL;
    s->host_short = 0;
    if (short_fuel) return graft__trap(s, GRAFT_E_TRAP_OUT_OF_FUEL, first);
    if (host_trap_unreported(s)) return graft__trap(s, GRAFT_E_TRAP_HOST, first);
    return r;
}

/* ---- Fuel for bulk operations (docs/engine.md, "Fuel") -------------------
 * A bulk operation pays 1 unit per GR_FUEL_BYTES bytes (memory) or per
 * element (tables), rounded up, on top of its instruction's unit. take_bulk
 * charges for `left` items at `per` items a unit: all of them when the tank
 * pays; else, when the call may suspend, the whole units the tank holds
 * (the caller does that much, records its progress in s->bulk_pc/bulk_done
 * and suspends at the same instruction); else nothing (the caller traps,
 * having written nothing). */
#define GR_FUEL_BYTES 64u
#define GR_FUEL_PAGE (65536u / GR_FUEL_BYTES)   /* memory.grow, per page */

static inline uint64_t take_bulk(graft_store *s, uint64_t left, uint32_t per, int can_suspend)
{
    uint64_t cost = left / per + (left % per != 0);
    if (s->fuel >= cost) {
        s->fuel -= cost;
        return left;
    }
    if (!can_suspend) return 0;
    uint64_t k = s->fuel * per;   /* fuel < cost <= 2^32, so no overflow; k < left */
    s->fuel = 0;
    return k;
}

/* May this invocation suspend (rather than trap) when fuel runs out? Only
 * the outermost call of a graft_call in suspend mode. */
#define CAN_SUSPEND() (s->fuel_mode == GRAFT_FUEL_SUSPEND && first == 0 && s->susp_func)

/* After a bulk operation did k more of its n items: finish, or record the
 * progress and stop for fuel at this instruction (which re-runs on resume
 * and continues from s->bulk_done). */
#define BULK_END(done, k, n)                                                   \
    do {                                                                       \
        if ((done) + (k) < (n)) {                                              \
            s->bulk_pc = pc;                                                   \
            s->bulk_done = (done) + (k);                                       \
            goto out_of_fuel;                                                  \
        }                                                                      \
        s->bulk_pc = NULL;                                                     \
    } while (0)

/* Items a bulk operation at pc already did before it suspended. */
static inline uint64_t bulk_done(const graft_store *s, const uint32_t *pc)
{
    return s->bulk_pc == pc ? s->bulk_done : 0;
}

/* Bounds of a bulk operation [spec 4.4.6/4.4.5]: start + n must not pass
 * size. Checked in 64 bits before anything is written, so a trapping
 * operation writes nothing; n == 0 at exactly the end is allowed. */
static inline int range_ok(uint32_t start, uint32_t n, uint64_t size)
{
    return (uint64_t)start + n <= size;
}

/* The dispatch loop. With out_handlers non-NULL (threaded build only) it
 * just returns the handler table: label addresses exist only inside this
 * function, and this keeps the table a static const with no global state.
 * Never inlined or cloned, so every label has one address. */
#if defined(__clang__)
__attribute__((noinline))
#elif defined(__GNUC__)
__attribute__((noinline, noclone))
#endif
static graft_result run(graft_store *s, graft_func *f, gr_slot *fp, const int32_t **out_handlers)
{
#ifndef GRAFT_DISPATCH_SWITCH
#define HANDLER_NUM(n) [GR_IOP_##n] = (int32_t)(&&L_##n - &&L_unreachable),
#define HANDLER_LOAD(n) HANDLER_NUM(n)
#define HANDLER_STORE(n) HANDLER_NUM(n)
#define HANDLER_SPECIAL(n)
    static const int32_t handlers[GR_IOP_COUNT_] = {
#define GR_IOP(name, operands) HANDLER_NUM(name)
#include "ops.def"
#undef GR_IOP
#define GR_OP(name, code, imm, sig, cls, arg) HANDLER_##cls(name)
#include "ops.def"
#undef GR_OP
#define GR_FUSED(name, operands) HANDLER_NUM(name)
#include "ops.def"
#undef GR_FUSED
    };
    if (out_handlers) {
        *out_handlers = handlers;
        return GRAFT_OK;
    }
#endif
    /* This invocation's first frame (a resumed call's is 0). Read only by
     * returns and traps; volatile keeps it in memory, so that GCC's
     * allocator, which otherwise gave it a register and spilled memory 0's
     * base, leaves the registers to pc, fp, mb and ms (crc32 -2.5% and
     * sensor -2.2% machine instructions, callgrind). */
    volatile uint32_t first = f ? s->nframes : 0;
    gr_slot *const stack_end = STACK_END();
    gr_frame *const frames_end = FRAMES_END();
    graft_error_code tc = GRAFT_E_NONE;       /* trap code, at `trap` */
#ifdef __OPTIMIZE_SIZE__
    int32_t back_off = 0;                     /* at back_edge: JUMP's offset */
#endif
    graft_result r;

    if (f && first >= s->limits.max_call_depth)
        return graft__trap(s, GRAFT_E_TRAP_STACK_EXHAUSTED, first);
    if (f && !f->code) {
        /* A host function called straight from the API. */
        if ((size_t)(stack_end - fp) < host_slots(f))
            return graft__trap(s, GRAFT_E_TRAP_STACK_EXHAUSTED, first);
        if (s->fuel < f->host_cost) return graft__trap(s, GRAFT_E_TRAP_OUT_OF_FUEL, first);
        s->fuel -= f->host_cost;
        r = call_host(s, f, fp, NULL);
        return r == GRAFT_OK ? r : host_failed(s, r, first);
    }

    gr_frame *fr = s->frames + first;         /* the innermost frame record */
    const gr_code *code;
    graft_instance *inst;
    uint8_t *mb;                              /* memory 0's bytes */
    uint64_t ms;                              /* memory 0's size in bytes */
    const uint32_t *pc;
    graft_func *callee;                       /* at call_enter */
    gr_slot *nfp;                             /* at call_enter: the callee's fp */
    const uint32_t *npc;                      /* at call_enter: the return pc */

    if (f) {
        code = f->code;
        fr->func = f;
        fr->fp = fp;
        fr->pc = NULL;
        s->nframes = first + 1;
        zero_locals(fp, code);
        pc = code->words;
    } else {
        /* Resume a suspended call: its innermost frame holds pc and fp. */
        fr = s->frames + s->nframes - 1;
        f = fr->func;
        code = f->code;
        fp = fr->fp;
        pc = fr->pc;
        s->suspended = 0;
    }
    inst = f->inst;
    RELOAD_MEM();

#ifdef GRAFT_DISPATCH_SWITCH
dispatch:
    switch ((gr_iop)pc[0]) {
#else
    NEXT();
#endif

    /* ---- Control [spec 4.4.8] ---- */
    OP(unreachable) {
        tc = GRAFT_E_TRAP_UNREACHABLE;
        goto trap;
    }
    OP(loop_check) {
        CHARGE(W(1));
        pc += 2;
        NEXT();
    }
    OP(fuel) {
        CHARGE(W(1));
        pc += 2;
        NEXT();
    }
    OP(br) {
        JUMP(W(1));
        NEXT();
    }
    OP(br_if) {
        if (S(1).i32) JUMP(W(2));
        else pc += 3;
        NEXT();
    }
    OP(br_unless) {
        if (!S(1).i32) JUMP(W(2));
        else pc += 3;
        NEXT();
    }
    OP(br_table) {
        uint32_t i = S(1).u32, n = W(2);
        JUMP(W(3 + (i < n ? i : n)));
        NEXT();
    }
    OP(copy) {
        S(1) = S(2);
        pc += 3;
        NEXT();
    }
    OP(const32) {
        S(1).u32 = W(2);
        pc += 3;
        NEXT();
    }
    OP(const64) {
        S(1).u64 = (uint64_t)W(2) | (uint64_t)W(3) << 32;
        pc += 4;
        NEXT();
    }
    OP(ret0) {
        goto ret;
    }
    OP(ret1) {
        fp[0] = S(1);
        goto ret;
    }
    OP(retn) {
        /* Ascending, so an overlapping move down is safe (s >= 0). */
        const gr_slot *src = fp + W(2);
        for (uint32_t i = 0, n = W(1); i < n; i++) fp[i] = src[i];
        goto ret;
    }
    OP(call) {
        callee = inst->funcs[W(1)];
        nfp = fp + W(2);
        npc = pc + 3;
        goto call_enter;
    }
    OP(call_indirect) {
        callee = indirect_callee(inst, W(1), W(2), S(3).u32, &tc);
        if (!callee) goto trap;
        nfp = fp + W(4);
        npc = pc + 5;
        goto call_enter;
    }
    OP(return_call) {
        callee = inst->funcs[W(1)];
        nfp = fp + W(2);
        goto tail_enter;
    }
    OP(return_call_indirect) {
        callee = indirect_callee(inst, W(1), W(2), S(3).u32, &tc);
        if (!callee) goto trap;
        nfp = fp + W(4);
        goto tail_enter;
    }

    /* ---- Parametric and variable [spec 4.4.4, 4.4.5] ---- */
    OP(select) {
        S(1) = S(4).i32 ? S(2) : S(3);
        pc += 5;
        NEXT();
    }
    OP(global_get) {
        S(1) = inst->globals[W(2)]->val;
        pc += 3;
        NEXT();
    }
    OP(global_set) {
        inst->globals[W(1)]->val = S(2);
        pc += 3;
        NEXT();
    }

    /* ---- Reference [spec 4.4.2] ---- */
    OP(ref_null) {
        S(1).u64 = 0;
        S(1).ref = NULL;
        pc += 2;
        NEXT();
    }
    OP(ref_is_null) {
        S(1).u32 = S(2).ref == NULL;
        pc += 3;
        NEXT();
    }
    OP(ref_func) {
        S(1).u64 = 0;
        S(1).ref = inst->funcs[W(2)];
        pc += 3;
        NEXT();
    }

    /* ---- Table [spec 4.4.6] ---- */
    OP(table_get) {
        const graft_table *t = inst->tables[W(2)];
        uint32_t i = S(3).u32;
        if (i >= t->size) goto trap_table;
        S(1).u64 = 0;
        S(1).ref = t->elems[i];
        pc += 4;
        NEXT();
    }
    OP(table_set) {
        graft_table *t = inst->tables[W(1)];
        uint32_t i = S(2).u32;
        if (i >= t->size) goto trap_table;
        t->elems[i] = S(3).ref;
        pc += 4;
        NEXT();
    }
    OP(table_size) {
        S(1).u32 = inst->tables[W(2)]->size;
        pc += 3;
        NEXT();
    }
    OP(table_grow) {
        /* 1 unit per element when the table can grow that far; a refused
         * grow (-1) costs only its instruction. */
        graft_table *t = inst->tables[W(2)];
        uint32_t delta = S(4).u32;
        CHARGE(delta <= t->cap - t->size ? delta : 0);
        int64_t old = graft__table_grow(t, delta, S(3).ref);
        S(1).u32 = (uint32_t)old;   /* -1 becomes 0xFFFFFFFF, i32 -1 */
        pc += 5;
        NEXT();
    }
    OP(table_fill) {
        graft_table *t = inst->tables[W(1)];
        uint32_t i = S(2).u32, n = S(4).u32;
        void *v = S(3).ref;
        if (!range_ok(i, n, t->size)) goto trap_table;
        uint64_t done = bulk_done(s, pc), k = take_bulk(s, n - done, 1, CAN_SUSPEND());
        for (uint64_t j = done; j < done + k; j++) t->elems[i + j] = v;
        BULK_END(done, k, n);
        pc += 5;
        NEXT();
    }
    OP(table_copy) {
        graft_table *td = inst->tables[W(1)];
        const graft_table *ts = inst->tables[W(2)];
        uint32_t d = S(3).u32, src = S(4).u32, n = S(5).u32;
        if (!range_ok(d, n, td->size) || !range_ok(src, n, ts->size)) goto trap_table;
        uint64_t done = bulk_done(s, pc), k = take_bulk(s, n - done, 1, CAN_SUSPEND());
        /* In chunks: front first when moving down, back first when moving
         * up, as memmove would. */
        uint64_t at = d <= src ? done : n - done - k;
        if (k) memmove(td->elems + d + at, ts->elems + src + at, (size_t)k * sizeof(void *));
        BULK_END(done, k, n);
        pc += 6;
        NEXT();
    }
    OP(table_init) {
        graft_table *t = inst->tables[W(1)];
        uint32_t seg = W(2);
        uint32_t d = S(3).u32, src = S(4).u32, n = S(5).u32;
        if (!range_ok(d, n, t->size) || !range_ok(src, n, inst->elem_sizes[seg]))
            goto trap_table;
        uint64_t done = bulk_done(s, pc), k = take_bulk(s, n - done, 1, CAN_SUSPEND());
        if (k) memcpy(t->elems + d + done, inst->elem_refs[seg] + src + done, (size_t)k * sizeof(void *));
        BULK_END(done, k, n);
        pc += 6;
        NEXT();
    }
    OP(elem_drop) {
        inst->elem_sizes[W(1)] = 0;
        pc += 2;
        NEXT();
    }

    /* ---- Memory [spec 4.4.7] ---- */
    OP(memory_size) {
        S(1).u32 = (uint32_t)(ms >> 16);
        pc += 2;
        NEXT();
    }
    OP(memory_grow) {
        /* GR_FUEL_PAGE units per page when the memory can grow that far; a
         * refused grow (-1) costs only its instruction. */
        uint32_t delta = S(2).u32;
        graft_memory *mem = memory0(inst);
        CHARGE(delta <= mem->cap_pages - mem->pages ? (uint64_t)delta * GR_FUEL_PAGE : 0);
        int64_t old = graft__memory_grow(mem, delta);
        S(1).u32 = (uint32_t)old;   /* -1 becomes i32 -1 */
        RELOAD_MEM();
        pc += 3;
        NEXT();
    }
    OP(memory_init) {
        uint32_t seg = W(1);
        uint32_t d = S(2).u32, src = S(3).u32, n = S(4).u32;
        if (!range_ok(d, n, ms) || !range_ok(src, n, inst->data_sizes[seg])) goto trap_mem;
        uint64_t done = bulk_done(s, pc);
        uint64_t k = take_bulk(s, n - done, GR_FUEL_BYTES, CAN_SUSPEND());
        if (k) memcpy(mb + d + done, inst->module->datas[seg].bytes + src + done, k);
        BULK_END(done, k, n);
        pc += 5;
        NEXT();
    }
    OP(data_drop) {
        inst->data_sizes[W(1)] = 0;
        pc += 2;
        NEXT();
    }
    OP(memory_copy) {
        uint32_t d = S(1).u32, src = S(2).u32, n = S(3).u32;
        if (!range_ok(d, n, ms) || !range_ok(src, n, ms)) goto trap_mem;
        uint64_t done = bulk_done(s, pc);
        uint64_t k = take_bulk(s, n - done, GR_FUEL_BYTES, CAN_SUSPEND());
        uint64_t at = d <= src ? done : n - done - k;   /* as in table.copy */
        if (k) memmove(mb + d + at, mb + src + at, k);
        BULK_END(done, k, n);
        pc += 4;
        NEXT();
    }
    OP(memory_fill) {
        uint32_t d = S(1).u32, n = S(3).u32;
        if (!range_ok(d, n, ms)) goto trap_mem;
        uint64_t done = bulk_done(s, pc);
        uint64_t k = take_bulk(s, n - done, GR_FUEL_BYTES, CAN_SUSPEND());
        if (k) memset(mb + d + done, (int)(S(2).u32 & 0xFF), k);
        BULK_END(done, k, n);
        pc += 4;
        NEXT();
    }

    LOAD(i32_load, 4, u32, ld32(p))
    LOAD(i64_load, 8, u64, ld64(p))
    LOAD(f32_load, 4, u32, ld32(p))
    LOAD(f64_load, 8, u64, ld64(p))
    LOAD(i32_load8_s, 1, u32, gr_sext32(ld8(p), 8))
    LOAD(i32_load8_u, 1, u32, ld8(p))
    LOAD(i32_load16_s, 2, u32, gr_sext32(ld16(p), 16))
    LOAD(i32_load16_u, 2, u32, ld16(p))
    LOAD(i64_load8_s, 1, u64, gr_sext64(ld8(p), 8))
    LOAD(i64_load8_u, 1, u64, ld8(p))
    LOAD(i64_load16_s, 2, u64, gr_sext64(ld16(p), 16))
    LOAD(i64_load16_u, 2, u64, ld16(p))
    LOAD(i64_load32_s, 4, u64, gr_sext64(ld32(p), 32))
    LOAD(i64_load32_u, 4, u64, ld32(p))
    STORE(i32_store, 4, u32, st32)
    STORE(i64_store, 8, u64, st64)
    STORE(f32_store, 4, u32, st32)
    STORE(f64_store, 8, u64, st64)
    STORE(i32_store8, 1, u32, st8)
    STORE(i32_store16, 2, u32, st16)
    STORE(i64_store8, 1, u64, st8)
    STORE(i64_store16, 2, u64, st16)
    STORE(i64_store32, 4, u64, st32)

    /* ---- i32 [spec 4.3.2]: unsigned arithmetic, so nothing overflows in C ---- */
    UNARY(i32_eqz, uint32_t, u32, u32, x == 0)
    BINARY(i32_eq, uint32_t, u32, u32, x == y)
    BINARY(i32_ne, uint32_t, u32, u32, x != y)
    BINARY(i32_lt_s, int32_t, i32, u32, x < y)
    BINARY(i32_lt_u, uint32_t, u32, u32, x < y)
    BINARY(i32_gt_s, int32_t, i32, u32, x > y)
    BINARY(i32_gt_u, uint32_t, u32, u32, x > y)
    BINARY(i32_le_s, int32_t, i32, u32, x <= y)
    BINARY(i32_le_u, uint32_t, u32, u32, x <= y)
    BINARY(i32_ge_s, int32_t, i32, u32, x >= y)
    BINARY(i32_ge_u, uint32_t, u32, u32, x >= y)
    UNARY(i32_clz, uint32_t, u32, u32, gr_clz32(x))
    UNARY(i32_ctz, uint32_t, u32, u32, gr_ctz32(x))
    UNARY(i32_popcnt, uint32_t, u32, u32, gr_popcnt32(x))
    BINARY(i32_add, uint32_t, u32, u32, x + y)
    BINARY(i32_sub, uint32_t, u32, u32, x - y)
    BINARY(i32_mul, uint32_t, u32, u32, x * y)
    OP(i32_div_s) {
        int32_t x = S(2).i32, y = S(3).i32;
        if (y == 0) goto trap_div0;
        if (x == INT32_MIN && y == -1) goto trap_overflow;
        S(1).i32 = x / y;
        pc += 4;
        NEXT();
    }
    OP(i32_div_u) {
        uint32_t x = S(2).u32, y = S(3).u32;
        if (y == 0) goto trap_div0;
        S(1).u32 = x / y;
        pc += 4;
        NEXT();
    }
    OP(i32_rem_s) {
        /* INT32_MIN rem -1 is 0 in WebAssembly but undefined in C. */
        int32_t x = S(2).i32, y = S(3).i32;
        if (y == 0) goto trap_div0;
        S(1).i32 = y == -1 ? 0 : x % y;
        pc += 4;
        NEXT();
    }
    OP(i32_rem_u) {
        uint32_t x = S(2).u32, y = S(3).u32;
        if (y == 0) goto trap_div0;
        S(1).u32 = x % y;
        pc += 4;
        NEXT();
    }
    BINARY(i32_and, uint32_t, u32, u32, x & y)
    BINARY(i32_or, uint32_t, u32, u32, x | y)
    BINARY(i32_xor, uint32_t, u32, u32, x ^ y)
    BINARY(i32_shl, uint32_t, u32, u32, x << (y & 31))
    BINARY(i32_shr_s, uint32_t, u32, u32, gr_shr_s32(x, y))
    BINARY(i32_shr_u, uint32_t, u32, u32, x >> (y & 31))
    BINARY(i32_rotl, uint32_t, u32, u32, gr_rotl32(x, y))
    BINARY(i32_rotr, uint32_t, u32, u32, gr_rotr32(x, y))

    /* ---- i64 ---- */
    UNARY(i64_eqz, uint64_t, u64, u32, x == 0)
    BINARY(i64_eq, uint64_t, u64, u32, x == y)
    BINARY(i64_ne, uint64_t, u64, u32, x != y)
    BINARY(i64_lt_s, int64_t, i64, u32, x < y)
    BINARY(i64_lt_u, uint64_t, u64, u32, x < y)
    BINARY(i64_gt_s, int64_t, i64, u32, x > y)
    BINARY(i64_gt_u, uint64_t, u64, u32, x > y)
    BINARY(i64_le_s, int64_t, i64, u32, x <= y)
    BINARY(i64_le_u, uint64_t, u64, u32, x <= y)
    BINARY(i64_ge_s, int64_t, i64, u32, x >= y)
    BINARY(i64_ge_u, uint64_t, u64, u32, x >= y)
    UNARY(i64_clz, uint64_t, u64, u64, gr_clz64(x))
    UNARY(i64_ctz, uint64_t, u64, u64, gr_ctz64(x))
    UNARY(i64_popcnt, uint64_t, u64, u64, gr_popcnt64(x))
    BINARY(i64_add, uint64_t, u64, u64, x + y)
    BINARY(i64_sub, uint64_t, u64, u64, x - y)
    BINARY(i64_mul, uint64_t, u64, u64, x * y)
    OP(i64_div_s) {
        int64_t x = S(2).i64, y = S(3).i64;
        if (y == 0) goto trap_div0;
        if (x == INT64_MIN && y == -1) goto trap_overflow;
        S(1).i64 = x / y;
        pc += 4;
        NEXT();
    }
    OP(i64_div_u) {
        uint64_t x = S(2).u64, y = S(3).u64;
        if (y == 0) goto trap_div0;
        S(1).u64 = x / y;
        pc += 4;
        NEXT();
    }
    OP(i64_rem_s) {
        int64_t x = S(2).i64, y = S(3).i64;
        if (y == 0) goto trap_div0;
        S(1).i64 = y == -1 ? 0 : x % y;
        pc += 4;
        NEXT();
    }
    OP(i64_rem_u) {
        uint64_t x = S(2).u64, y = S(3).u64;
        if (y == 0) goto trap_div0;
        S(1).u64 = x % y;
        pc += 4;
        NEXT();
    }
    BINARY(i64_and, uint64_t, u64, u64, x & y)
    BINARY(i64_or, uint64_t, u64, u64, x | y)
    BINARY(i64_xor, uint64_t, u64, u64, x ^ y)
    BINARY(i64_shl, uint64_t, u64, u64, x << (y & 63))
    BINARY(i64_shr_s, uint64_t, u64, u64, gr_shr_s64(x, y))
    BINARY(i64_shr_u, uint64_t, u64, u64, x >> (y & 63))
    BINARY(i64_rotl, uint64_t, u64, u64, gr_rotl64(x, y))
    BINARY(i64_rotr, uint64_t, u64, u64, gr_rotr64(x, y))

    /* ---- Floats [spec 4.3.3]: IEEE arithmetic from C; abs, neg and
     * copysign on the bits so NaN payloads pass through. ---- */
    BINARY(f32_eq, float, f32, u32, x == y)
    BINARY(f32_ne, float, f32, u32, x != y)
    BINARY(f32_lt, float, f32, u32, x < y)
    BINARY(f32_gt, float, f32, u32, x > y)
    BINARY(f32_le, float, f32, u32, x <= y)
    BINARY(f32_ge, float, f32, u32, x >= y)
    BINARY(f64_eq, double, f64, u32, x == y)
    BINARY(f64_ne, double, f64, u32, x != y)
    BINARY(f64_lt, double, f64, u32, x < y)
    BINARY(f64_gt, double, f64, u32, x > y)
    BINARY(f64_le, double, f64, u32, x <= y)
    BINARY(f64_ge, double, f64, u32, x >= y)

    UNARY(f32_abs, uint32_t, u32, u32, x & 0x7FFFFFFFu)
    UNARY(f32_neg, uint32_t, u32, u32, x ^ 0x80000000u)
    UNARY(f32_ceil, float, f32, f32, gr_fceil32(x))
    UNARY(f32_floor, float, f32, f32, gr_ffloor32(x))
    UNARY(f32_trunc, float, f32, f32, gr_ftrunc32(x))
    UNARY(f32_nearest, float, f32, f32, gr_fnearest32(x))
    UNARY(f32_sqrt, float, f32, f32, sqrtf(x))
    BINARY(f32_add, float, f32, f32, x + y)
    BINARY(f32_sub, float, f32, f32, x - y)
    BINARY(f32_mul, float, f32, f32, x * y)
    BINARY(f32_div, float, f32, f32, x / y)
    BINARY(f32_min, float, f32, f32, gr_fmin32(x, y))
    BINARY(f32_max, float, f32, f32, gr_fmax32(x, y))
    BINARY(f32_copysign, uint32_t, u32, u32, (x & 0x7FFFFFFFu) | (y & 0x80000000u))

    UNARY(f64_abs, uint64_t, u64, u64, x & 0x7FFFFFFFFFFFFFFFull)
    UNARY(f64_neg, uint64_t, u64, u64, x ^ 0x8000000000000000ull)
    UNARY(f64_ceil, double, f64, f64, gr_fceil64(x))
    UNARY(f64_floor, double, f64, f64, gr_ffloor64(x))
    UNARY(f64_trunc, double, f64, f64, gr_ftrunc64(x))
    UNARY(f64_nearest, double, f64, f64, gr_fnearest64(x))
    UNARY(f64_sqrt, double, f64, f64, sqrt(x))
    BINARY(f64_add, double, f64, f64, x + y)
    BINARY(f64_sub, double, f64, f64, x - y)
    BINARY(f64_mul, double, f64, f64, x * y)
    BINARY(f64_div, double, f64, f64, x / y)
    BINARY(f64_min, double, f64, f64, gr_fmin64(x, y))
    BINARY(f64_max, double, f64, f64, gr_fmax64(x, y))
    BINARY(f64_copysign, uint64_t, u64, u64,
           (x & 0x7FFFFFFFFFFFFFFFull) | (y & 0x8000000000000000ull))

    /* ---- Conversions [spec 4.3.4] ---- */
    UNARY(i32_wrap_i64, uint64_t, u64, u32, (uint32_t)x)
    TRUNC(i32_trunc_f32_s, float, f32, i32, gr_f32_fits_i32, int32_t)
    TRUNC(i32_trunc_f32_u, float, f32, u32, gr_f32_fits_u32, uint32_t)
    TRUNC(i32_trunc_f64_s, double, f64, i32, gr_f64_fits_i32, int32_t)
    TRUNC(i32_trunc_f64_u, double, f64, u32, gr_f64_fits_u32, uint32_t)
    UNARY(i64_extend_i32_s, int32_t, i32, i64, (int64_t)x)
    UNARY(i64_extend_i32_u, uint32_t, u32, u64, (uint64_t)x)
    TRUNC(i64_trunc_f32_s, float, f32, i64, gr_f32_fits_i64, int64_t)
    TRUNC(i64_trunc_f32_u, float, f32, u64, gr_f32_fits_u64, uint64_t)
    TRUNC(i64_trunc_f64_s, double, f64, i64, gr_f64_fits_i64, int64_t)
    TRUNC(i64_trunc_f64_u, double, f64, u64, gr_f64_fits_u64, uint64_t)
    UNARY(f32_convert_i32_s, int32_t, i32, f32, (float)x)
    UNARY(f32_convert_i32_u, uint32_t, u32, f32, (float)x)
    UNARY(f32_convert_i64_s, int64_t, i64, f32, (float)x)
    UNARY(f32_convert_i64_u, uint64_t, u64, f32, (float)x)
    UNARY(f32_demote_f64, double, f64, f32, (float)x)
    UNARY(f64_convert_i32_s, int32_t, i32, f64, (double)x)
    UNARY(f64_convert_i32_u, uint32_t, u32, f64, (double)x)
    UNARY(f64_convert_i64_s, int64_t, i64, f64, (double)x)
    UNARY(f64_convert_i64_u, uint64_t, u64, f64, (double)x)
    UNARY(f64_promote_f32, float, f32, f64, (double)x)
    /* Reinterpretation is a bit copy: floats already live in slots as bits. */
    UNARY(i32_reinterpret_f32, uint32_t, u32, u32, x)
    UNARY(i64_reinterpret_f64, uint64_t, u64, u64, x)
    UNARY(f32_reinterpret_i32, uint32_t, u32, u32, x)
    UNARY(f64_reinterpret_i64, uint64_t, u64, u64, x)
    UNARY(i32_extend8_s, uint32_t, u32, u32, gr_sext32(x, 8))
    UNARY(i32_extend16_s, uint32_t, u32, u32, gr_sext32(x, 16))
    UNARY(i64_extend8_s, uint64_t, u64, u64, gr_sext64(x, 8))
    UNARY(i64_extend16_s, uint64_t, u64, u64, gr_sext64(x, 16))
    UNARY(i64_extend32_s, uint64_t, u64, u64, gr_sext64(x, 32))
    UNARY(i32_trunc_sat_f32_s, float, f32, i32, gr_sat_f32_i32(x))
    UNARY(i32_trunc_sat_f32_u, float, f32, u32, gr_sat_f32_u32(x))
    UNARY(i32_trunc_sat_f64_s, double, f64, i32, gr_sat_f64_i32(x))
    UNARY(i32_trunc_sat_f64_u, double, f64, u32, gr_sat_f64_u32(x))
    UNARY(i64_trunc_sat_f32_s, float, f32, i64, gr_sat_f32_i64(x))
    UNARY(i64_trunc_sat_f32_u, float, f32, u64, gr_sat_f32_u64(x))
    UNARY(i64_trunc_sat_f64_s, double, f64, i64, gr_sat_f64_i64(x))
    UNARY(i64_trunc_sat_f64_u, double, f64, u64, gr_sat_f64_u64(x))

#ifdef GR_WITH_FUSED
    /* ---- Fused instructions (ops.def, GR_FUSED; compile_fuse.c) ---- */
    BINARY_IMM(i32_add_imm, uint32_t, u32, u32, x + y)
    OP(copy2) {
        S(1) = S(2);
        S(3) = S(4);
        pc += 5;
        NEXT();
    }
    OP(i32_add_imm_copy) {
        S(1).u32 = S(2).u32 + W(3);
        S(4) = S(5);
        pc += 6;
        NEXT();
    }
    OP(i32_add_imm2) {
        S(1).u32 = S(2).u32 + W(3);
        S(4).u32 = S(5).u32 + W(6);
        pc += 7;
        NEXT();
    }
    OP(i32_xor_rotl) {
        S(1).u32 = S(2).u32 ^ gr_rotl32(S(3).u32, W(4));
        pc += 5;
        NEXT();
    }
    OP(i32_xor_shr_u) {
        S(1).u32 = S(2).u32 ^ (S(3).u32 >> W(4));
        pc += 5;
        NEXT();
    }
    OP(i32_add_shl) {
        S(1).u32 = S(2).u32 + (S(3).u32 << W(4));
        pc += 5;
        NEXT();
    }
    OP(i32_load_idx) {
        uint64_t ea = (uint64_t)(uint32_t)(S(2).u32 + (S(3).u32 << W(4))) + W(5);
        if (ea + 4 > ms) goto trap_mem;
        S(1).u32 = ld32(mb + ea);
        pc += 6;
        NEXT();
    }
    OP(i32_add_imm_load) {
        uint32_t x = S(2).u32 + W(3);
        S(1).u32 = x;
        uint64_t ea = (uint64_t)x + W(5);
        if (ea + 4 > ms) goto trap_mem;
        S(4).u32 = ld32(mb + ea);
        pc += 6;
        NEXT();
    }
    OP(select_lt_s) {
        S(1) = S(4).i32 < S(5).i32 ? S(2) : S(3);
        pc += 6;
        NEXT();
    }
    OP(select_lt_s_imm) {
        S(1) = S(4).i32 < (int32_t)W(5) ? S(2) : S(3);
        pc += 6;
        NEXT();
    }
    OP(select_gt_s_imm) {
        S(1) = S(4).i32 > (int32_t)W(5) ? S(2) : S(3);
        pc += 6;
        NEXT();
    }
    OP(i32_add3) {
        S(1).u32 = S(2).u32 + S(3).u32 + S(4).u32;
        pc += 5;
        NEXT();
    }
    OP(i32_mul_add) {
        S(1).u32 = S(2).u32 * S(3).u32 + S(4).u32;
        pc += 5;
        NEXT();
    }
    STORE_K(i32_store_k, 4, st32)
    STORE_K(i32_store8_k, 1, st8)
    LOAD_OP_F64(f64_add_m, x + y)
    LOAD_OP_F64(f64_sub_m, x - y)
    LOAD_OP_F64(f64_mul_m, x * y)
    BINARY_IMM(i32_mul_imm, uint32_t, u32, u32, x * y)
    BINARY_IMM(i32_and_imm, uint32_t, u32, u32, x & y)
    BINARY_IMM(i32_or_imm, uint32_t, u32, u32, x | y)
    BINARY_IMM(i32_xor_imm, uint32_t, u32, u32, x ^ y)
    BINARY_IMM(i32_shl_imm, uint32_t, u32, u32, x << y)
    BINARY_IMM(i32_shr_s_imm, uint32_t, u32, u32, gr_shr_s32(x, y))
    BINARY_IMM(i32_shr_u_imm, uint32_t, u32, u32, x >> y)
    BINARY_IMM(i32_rotl_imm, uint32_t, u32, u32, gr_rotl32(x, y))
    BINARY_IMM(i32_eq_imm, uint32_t, u32, u32, x == y)
    BINARY_IMM(i32_ne_imm, uint32_t, u32, u32, x != y)
    BINARY_IMM(i32_lt_s_imm, int32_t, i32, u32, x < y)
    BINARY_IMM(i32_lt_u_imm, uint32_t, u32, u32, x < y)
    BINARY_IMM(i32_gt_s_imm, int32_t, i32, u32, x > y)
    BINARY_IMM(i32_gt_u_imm, uint32_t, u32, u32, x > y)
    BINARY_IMM(i64_add_imm, uint64_t, u64, u64, x + y)
    BINARY_IMM(i64_mul_imm, uint64_t, u64, u64, x * y)
    BINARY_IMM(i64_shr_u_imm, uint64_t, u64, u64, x >> y)
    OP(i32_div_s_pow2) {
        /* Bias a negative dividend by 2^i - 1 so the arithmetic shift
         * rounds toward zero, as i32.div_s does. */
        int32_t x = S(2).i32;
        uint32_t k = W(3);
        uint32_t bias = (uint32_t)(x >> 31) >> (32 - k);
        S(1).u32 = gr_shr_s32((uint32_t)x + bias, k);
        pc += 4;
        NEXT();
    }
    BR_CMP(br_eq, uint32_t, u32, x == y)
    BR_CMP(br_ne, uint32_t, u32, x != y)
    BR_CMP(br_lt_s, int32_t, i32, x < y)
    BR_CMP(br_lt_u, uint32_t, u32, x < y)
    BR_CMP(br_le_s, int32_t, i32, x <= y)
    BR_CMP(br_le_u, uint32_t, u32, x <= y)
    BR_CMP_IMM(br_eq_imm, uint32_t, u32, x == y)
    BR_CMP_IMM(br_ne_imm, uint32_t, u32, x != y)
    BR_CMP_IMM(br_lt_s_imm, int32_t, i32, x < y)
    BR_CMP_IMM(br_lt_u_imm, uint32_t, u32, x < y)
    BR_CMP_IMM(br_gt_s_imm, int32_t, i32, x > y)
    BR_CMP_IMM(br_gt_u_imm, uint32_t, u32, x > y)
    BR_CMP(br_eq64, uint64_t, u64, x == y)
    BR_CMP(br_ne64, uint64_t, u64, x != y)
    BR_CMP(br_lt_s64, int64_t, i64, x < y)
    BR_CMP(br_lt_u64, uint64_t, u64, x < y)
    BR_CMP(br_le_s64, int64_t, i64, x <= y)
    BR_CMP(br_le_u64, uint64_t, u64, x <= y)
    LOAD_AI(i32_load_ai, 4, u32, ld32(p))
    LOAD_AI(i32_load8_u_ai, 1, u32, ld8(p))
    LOAD_AI(i32_load16_s_ai, 2, u32, gr_sext32(ld16(p), 16))
    LOAD_AI(f64_load_ai, 8, u64, ld64(p))
    LOAD_SAI(i32_load_sai, 4, u32, ld32(p))
#endif

#ifdef GRAFT_DISPATCH_SWITCH
    case GR_IOP_COUNT_:
        break;
    }
    /* A handler word that names no instruction: the compiler is broken. */
    assert(!"bad handler word");
    tc = GRAFT_E_TRAP_UNREACHABLE;
    goto trap;
#endif

    /* ---- Calls [spec 4.4.8 call, 4.4.10 invoke]: callee, nfp (its frame)
     * and npc (the return pc) are set; pc is still the call instruction,
     * which is where a trap here is reported. ---- */
call_enter:
    if (INTERRUPT_PENDING(s)) goto trap_interrupt;
    if (fr + 1 >= frames_end) goto trap_stack;
    if (callee->code) {
        code = callee->code;
        if ((size_t)(stack_end - nfp) < code->frame_slots) goto trap_stack;
        fr->pc = npc;
        fr++;
        fr->func = callee;
        fr->fp = nfp;
        zero_locals(nfp, code);
        fp = nfp;
        pc = code->words;
        if (callee->inst != inst) {
            inst = callee->inst;
            RELOAD_MEM();
        }
        NEXT();
    }
    if ((size_t)(stack_end - nfp) < host_slots(callee)) goto trap_stack;
    CHARGE(callee->host_cost);   /* before the host runs; never inside it */
    fr->pc = npc;
    s->nframes = (uint32_t)(fr - s->frames) + 1;
    r = call_host(s, callee, nfp, inst);
    if (r != GRAFT_OK) {
        /* Report at the call instruction, keeping an error the host set. */
        fr->pc = pc;
        r = host_failed(s, r, first);
        s->nframes = first;
        return r;
    }
    pc = npc;
    RELOAD_MEM();
    NEXT();

    /* ---- Tail calls [proposal tail-call]: callee and nfp (its arguments,
     * in operand slots above every local) are set; pc is the instruction.
     * A WebAssembly callee replaces the current frame in place: arguments
     * move down to fp[0..) (ascending is safe, nfp >= fp), locals are
     * zeroed, the frame record names the callee, and no frame is pushed,
     * so a tail-recursive loop runs in constant stack. A host callee runs
     * as from a call and its results become this function's. ---- */
tail_enter:
    if (INTERRUPT_PENDING(s)) goto trap_interrupt;
    if (!callee->code) goto tail_host;
    if ((size_t)(stack_end - fp) < callee->code->frame_slots) goto trap_stack;
    code = callee->code;
    for (uint32_t i = 0; i < code->nparam_slots; i++) fp[i] = nfp[i];
    zero_locals(fp, code);
    fr->func = callee;
    pc = code->words;
    if (callee->inst != inst) {
        inst = callee->inst;
        RELOAD_MEM();
    }
    NEXT();
tail_host:
    if (fr + 1 >= frames_end) goto trap_stack;
    if ((size_t)(stack_end - nfp) < host_slots(callee)) goto trap_stack;
    CHARGE(callee->host_cost);   /* as call_enter: before the host runs */
    fr->pc = pc;
    s->nframes = (uint32_t)(fr - s->frames) + 1;
    r = call_host(s, callee, nfp, inst);
    if (r != GRAFT_OK) {
        r = host_failed(s, r, first);
        s->nframes = first;
        return r;
    }
    for (uint32_t i = 0; i < callee->type->result_slots; i++) fp[i] = nfp[i];
    RELOAD_MEM();   /* the host may have grown memory; ret keeps mb and ms */
    goto ret;

    /* ---- Return: results are at fp[0..) already ---- */
ret:
    if (fr == s->frames + first) {
        s->nframes = first;
        return GRAFT_OK;
    }
    fr--;
    pc = fr->pc;
    fp = fr->fp;
    if (fr->func->inst != inst) {   /* else mb and ms are current */
        inst = fr->func->inst;
        RELOAD_MEM();
    }
    NEXT();

    /* ---- Traps [spec 4.4]: record the trapping pc, let the runtime build
     * the message and backtrace, drop this invocation's frames. ---- */
trap_mem:
    tc = GRAFT_E_TRAP_MEMORY_OOB;
    goto trap;
trap_table:
    tc = GRAFT_E_TRAP_TABLE_OOB;
    goto trap;
trap_div0:
    tc = GRAFT_E_TRAP_DIV_ZERO;
    goto trap;
trap_overflow:
    tc = GRAFT_E_TRAP_INT_OVERFLOW;
    goto trap;
trap_stack:
    tc = GRAFT_E_TRAP_STACK_EXHAUSTED;
    goto trap;
#ifdef __OPTIMIZE_SIZE__
back_edge:
    if (INTERRUPT_PENDING(s)) goto trap_interrupt;
    pc += back_off;
    NEXT();
#endif
trap_interrupt:
    INTERRUPT_CLEAR(s);
    tc = GRAFT_E_TRAP_INTERRUPTED;
    goto trap;
out_of_fuel:
    /* pc is the charging instruction. Suspend only the outermost call of a
     * graft_call (nothing native is held then); a call re-entered from a
     * host function, or a start function, traps instead. */
    if (!CAN_SUSPEND()) {
        s->bulk_pc = NULL;
        tc = GRAFT_E_TRAP_OUT_OF_FUEL;
        goto trap;
    }
    fr->pc = pc;
    s->nframes = (uint32_t)(fr - s->frames) + 1;
    s->suspended = 1;
    return graft__error(&s->err, GRAFT_E_SUSPENDED, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, NULL);
trap:
    fr->pc = pc;
    s->nframes = (uint32_t)(fr - s->frames) + 1;
    r = graft__trap(s, tc, first);
    s->nframes = first;
    return r;
}

const int32_t *graft__interp_handlers(void)
{
#ifdef GRAFT_DISPATCH_SWITCH
    return identity_handlers;
#else
    const int32_t *h = NULL;
    run(NULL, NULL, NULL, &h);
    return h;
#endif
}

/* [spec 4.4.10 invoke] Run f with its frame at fp; see runtime.h. */
graft_result graft__interp_run(graft_store *s, graft_func *f, gr_slot *fp)
{
    return run(s, f, fp, NULL);
}

graft_result graft__interp_resume(graft_store *s)
{
    return run(s, NULL, NULL, NULL);
}
