/* ops.h - opcode enums and tables generated from ops.def.
 *
 * Two numberings:
 *   gr_wasm_op  one per WebAssembly instruction (GR_OP rows), in table order;
 *               the decoder maps encodings to it with gr_wasm_op_lookup.
 *   gr_iop      one per internal instruction: the internal-only rows first
 *               (GR_IOP), then one per NUM/LOAD/STORE WebAssembly row, named
 *               GR_IOP_<name> too, then the fused instructions (GR_FUSED)
 *               when GR_WITH_FUSED is defined. This is the number the
 *               compiler emits and the interpreter dispatches on. */
#ifndef GR_OPS_H
#define GR_OPS_H

/* Fused instructions are built unless GRAFT_NO_FUSED (CMake GRAFT_FUSED=OFF). */
#ifndef GRAFT_NO_FUSED
#define GR_WITH_FUSED 1
#endif

#include <stddef.h>
#include <stdint.h>

typedef enum gr_imm_kind {
    GR_IMM_NONE,
    GR_IMM_BLOCKTYPE,   /* s33 block type */
    GR_IMM_LABEL,       /* u32 label depth */
    GR_IMM_BRTABLE,     /* vec(label) label */
    GR_IMM_FUNC,        /* u32 function index */
    GR_IMM_CALLIND,     /* u32 type index, u32 table index */
    GR_IMM_LOCAL,       /* u32 local index */
    GR_IMM_GLOBAL,      /* u32 global index */
    GR_IMM_TABLE,       /* u32 table index */
    GR_IMM_MEMARG,      /* u32 align, u32 offset */
    GR_IMM_MEMIDX,      /* one zero byte (memory index 0) */
    GR_IMM_I32,         /* s32 */
    GR_IMM_I64,         /* s64 */
    GR_IMM_F32,         /* 4 raw bytes */
    GR_IMM_F64,         /* 8 raw bytes */
    GR_IMM_REFTYPE,     /* one reftype byte */
    GR_IMM_SELECTT,     /* vec(valtype), length must be 1 */
    GR_IMM_ELEM_TABLE,  /* u32 elem index, u32 table index */
    GR_IMM_ELEM,        /* u32 elem index */
    GR_IMM_TABLE_TABLE, /* u32 dst table, u32 src table */
    GR_IMM_DATA_MEM,    /* u32 data index, zero byte */
    GR_IMM_DATA,        /* u32 data index */
    GR_IMM_MEM_MEM      /* two zero bytes */
} gr_imm_kind;

typedef enum gr_op_class { GR_CLS_NUM, GR_CLS_LOAD, GR_CLS_STORE, GR_CLS_SPECIAL } gr_op_class;

typedef enum gr_sig_id {
#define GR_SIG(id, n, p0, p1, r) GR_SIG_##id,
#include "ops.def"
#undef GR_SIG
    GR_SIG_COUNT_
} gr_sig_id;

typedef enum gr_wasm_op {
#define GR_OP(name, code, imm, sig, cls, arg) GR_OP_##name,
#include "ops.def"
#undef GR_OP
    GR_OP_COUNT_
} gr_wasm_op;

#define GR_IOP_FROM_NUM(n) GR_IOP_##n,
#define GR_IOP_FROM_LOAD(n) GR_IOP_##n,
#define GR_IOP_FROM_STORE(n) GR_IOP_##n,
#define GR_IOP_FROM_SPECIAL(n)
typedef enum gr_iop {
#define GR_IOP(name, operands) GR_IOP_##name,
#include "ops.def"
#undef GR_IOP
#define GR_OP(name, code, imm, sig, cls, arg) GR_IOP_FROM_##cls(name)
#include "ops.def"
#undef GR_OP
#define GR_FUSED(name, operands) GR_IOP_##name,
#include "ops.def"
#undef GR_FUSED
    GR_IOP_COUNT_
} gr_iop;

/* Static facts about one WebAssembly instruction. */
typedef struct gr_op_info {
    const char *name;      /* text-format name, e.g. "i32.add" */
    uint16_t code;         /* encoding: byte, or 0xFC00 | sub */
    uint8_t imm;           /* gr_imm_kind */
    uint8_t sig;           /* gr_sig_id */
    uint8_t cls;           /* gr_op_class */
    uint8_t arg;           /* LOAD/STORE: log2 natural alignment */
    uint16_t iop;          /* internal op for NUM/LOAD/STORE, else GR_IOP_COUNT_ */
} gr_op_info;

/* One signature: nparams (0..2) param types, result type or 0 for none.
 * Types are graft_valtype encodings. */
typedef struct gr_sig_info {
    uint8_t nparams;
    uint8_t params[2];
    uint8_t result;
} gr_sig_info;

extern const gr_op_info graft__op_info[GR_OP_COUNT_];
extern const gr_sig_info graft__sig_info[GR_SIG_COUNT_];
extern const char *const graft__iop_names[GR_IOP_COUNT_];

/* Map an encoding (first byte, and sub-opcode after 0xFC) to a gr_wasm_op;
 * returns GR_OP_COUNT_ when the encoding is not a 2.0 non-SIMD instruction,
 * nor one of a proposal turned on in features (GRAFT_FEATURE_* bits). */
gr_wasm_op graft__op_lookup(uint8_t byte, uint32_t sub, uint32_t features);

/* The text-format name ("i32.add", "br_if") into buf; returns its length. */
size_t graft__op_text_name(gr_wasm_op op, char *buf, size_t cap);

#endif
