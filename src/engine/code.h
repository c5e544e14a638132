/* code.h - the internal code format: the contract between the compiler
 * (compile.c, which writes it) and the interpreter (interp.c, which runs it).
 *
 * A function's frame is an array of 8-byte cells (gr_slot) addressed from
 * the frame pointer fp:
 *
 *     fp[0 .. nparam_slots)                 parameters
 *     fp[nparam_slots .. nlocal_slots)      declared locals, zeroed on entry
 *     fp[nlocal_slots .. frame_slots)       operand stack: the validator's
 *                                           stack height h lives at slot
 *                                           nlocal_slots + h
 *
 * Every value takes one slot (v128 will take two). Instructions name their
 * operands by slot index instead of pushing and popping, so `i32.add`
 * becomes `i32_add d a b`: fp[d].i32 = fp[a].i32 + fp[b].i32.
 *
 * Code is an array of 32-bit words. One instruction:
 *
 *     word 0      handler: in the threaded build, the byte distance from the
 *                 interpreter's base label to the handler's label (int32);
 *                 in the switch build, the gr_iop number. The compiler gets
 *                 this word from graft__interp_handlers()[iop], so it never
 *                 knows which build it is in.
 *     word 1..    operands, one word each unless stated, in the order that
 *                 ops.def's operand string gives:
 *        d        destination slot index
 *        s a b v  source slot index
 *        i        32-bit immediate
 *        L        64-bit immediate, low word first
 *        x        an index (function, type, table, global, segment)
 *        n        a count
 *        T        branch target: signed word offset relative to the first
 *                 word of the branching instruction
 *        *T       (br_table) n+1 targets follow n: cases then the default
 *        off      (LOAD/STORE) the memarg offset, u32
 *
 * NUM instructions are "d a" (unary) or "d a b" (binary); LOAD is "d a off";
 * STORE is "a v off". Internal-only instructions are listed with their
 * operand strings in ops.def.
 *
 * Calls: the caller evaluates arguments into consecutive operand slots
 * starting at `a`; the callee's frame begins there (fp' = fp + a), so
 * arguments become parameters without copying, and the callee leaves its
 * results at fp'[0 ..), which is exactly where the caller's validator
 * expects them (stack height of the first argument). Interpreter frames are
 * kept on an explicit frame stack, never on the native stack.
 *
 * Checks: every branch to a loop head (offset T <= 0: each back-edge) and
 * every call test the store's interrupt flag. `loop_check n` heads every
 * loop of metered code and charges the loop body's first block.
 * Fuel: `fuel n` heads every other basic block and `loop_check n` carries
 * the loop body's count; n is the block's WebAssembly instruction count
 * (docs/engine.md, "Fuel"). */
#ifndef GR_CODE_H
#define GR_CODE_H

#include "module.h"
#include "ops.h"

/* A frame cell. Written and read through the member of the value's type. */
typedef union gr_slot {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    void *ref;      /* funcref (struct graft_func *) or externref; NULL = null */
} gr_slot;

_Static_assert(sizeof(gr_slot) == 8, "slots are 8 bytes");

/* Maps a code position back to the WebAssembly byte offset, for traces.
 * One entry per instruction that can trap or call, sorted by pc. */
typedef struct gr_pcmap {
    uint32_t pc;          /* word index of the instruction's handler word */
    uint32_t wasm_offset; /* byte offset of the WebAssembly instruction */
} gr_pcmap;

/* One compiled function. Allocated from the module arena. */
typedef struct gr_code {
    const uint32_t *words;    /* the code */
    uint32_t nwords;
    uint32_t nparam_slots;    /* = type's param_slots */
    uint32_t nresult_slots;   /* = type's result_slots */
    uint32_t nlocal_slots;    /* params + declared locals */
    uint32_t frame_slots;     /* locals + maximum operand stack height; at
                                 least max(nparam_slots, nresult_slots) */
    const gr_pcmap *pcmap;
    uint32_t npcmap;
    uint32_t func_index;      /* in the module's function index space */
} gr_code;

/* The per-build handler words, indexed by gr_iop (interp.c). */
const int32_t *graft__interp_handlers(void);

/* Does op get a pcmap entry wherever it is emitted (it can trap or call)?
 * Branches to a loop head, which test the interrupt flag, get one too,
 * whatever their op (compile.c). */
int graft__iop_traps(gr_iop op);

/* Byte offset of the WebAssembly instruction at word pc, or GRAFT_NO_OFFSET.
 * For a pc without its own pcmap entry (a return address), the nearest
 * entry before it (compile.c). */
uint64_t graft__code_wasm_offset(const gr_code *c, uint32_t pc);

/* graft__compile_module with an explicit handler-word table instead of
 * graft__interp_handlers(): tests pass an identity table (word = gr_iop) so
 * that disassembly is the same in every build (compile.c). */
graft_result graft__compile_module_ex(graft_module *m, const uint8_t *bytes, size_t len,
                                      const int32_t *handlers, gr_errbuf *err);

/* Disassemble c: one line per internal instruction, "pc: name operands",
 * passed to emit (the line is valid during the call only). handlers is the
 * table the code was compiled with; a word it cannot map back to one gr_iop
 * (e.g. a placeholder table of zeros) is printed raw, and so is everything
 * after it (code_dump.c). */
void graft__code_dump(const gr_code *c, const int32_t *handlers,
                      void (*emit)(void *user, const char *line), void *user);

#endif
