/* ops.c - static instruction tables generated from ops.def, and the
 * encoding -> instruction lookup used by the decoder and compiler. */
#include "ops.h"

#include <assert.h>
#include <graft.h>

#define X 0
#define I32 GRAFT_I32
#define I64 GRAFT_I64
#define F32 GRAFT_F32
#define F64 GRAFT_F64
const gr_sig_info graft__sig_info[GR_SIG_COUNT_] = {
#define GR_SIG(id, n, p0, p1, r) {n, {p0, p1}, r},
#include "ops.def"
#undef GR_SIG
};
#undef X
#undef I32
#undef I64
#undef F32
#undef F64

/* Names are the C identifiers ("i32_add"); graft__op_text_name turns the
 * first '_' back into '.' where the text format has one. */
#define GR_IOPNUM_NUM(n) GR_IOP_##n
#define GR_IOPNUM_LOAD(n) GR_IOP_##n
#define GR_IOPNUM_STORE(n) GR_IOP_##n
#define GR_IOPNUM_SPECIAL(n) GR_IOP_COUNT_
const gr_op_info graft__op_info[GR_OP_COUNT_] = {
#define GR_OP(name, code, imm, sig, cls, arg) \
    {#name, code, GR_IMM_##imm, GR_SIG_##sig, GR_CLS_##cls, arg, GR_IOPNUM_##cls(name)},
#include "ops.def"
#undef GR_OP
};

const char *const graft__iop_names[GR_IOP_COUNT_] = {
#define GR_IOP(name, operands) #name,
#include "ops.def"
#undef GR_IOP
#define GR_OP(name, code, imm, sig, cls, arg) GR_NAME_IF_##cls(name)
#define GR_NAME_IF_NUM(n) #n,
#define GR_NAME_IF_LOAD(n) #n,
#define GR_NAME_IF_STORE(n) #n,
#define GR_NAME_IF_SPECIAL(n)
#include "ops.def"
#undef GR_OP
#define GR_FUSED(name, operands) #name,
#include "ops.def"
#undef GR_FUSED
};

/* The GRAFT_FEATURE_* bit a proposal's instruction needs; 0 for 2.0. */
static uint32_t op_feature(gr_wasm_op op)
{
    switch (op) {
    case GR_OP_return_call: case GR_OP_return_call_indirect: return GRAFT_FEATURE_TAIL_CALL;
    default: return 0;
    }
}

gr_wasm_op graft__op_lookup(uint8_t byte, uint32_t sub, uint32_t features)
{
    /* Direct-indexed map built at compile time by designated initializers:
     * single-byte encodings at [code], 0xFC-prefixed ones at [256 + sub].
     * Unlisted entries are 0, so stored values are biased by one. */
    static const uint8_t map[256 + 32] = {
#define GR_OP(name, code, imm, sig, cls, arg) \
    [(code) < 0x100 ? (code) : 256 + ((code)&0xFF)] = (uint8_t)(GR_OP_##name + 1),
#include "ops.def"
#undef GR_OP
    };
    static_assert(GR_OP_COUNT_ < 255, "opcode map holds uint8_t");
    unsigned idx;
    if (byte == 0xFC) {
        if (sub >= 32) return GR_OP_COUNT_;
        idx = 256 + sub;
    } else {
        idx = byte;
    }
    if (!map[idx]) return GR_OP_COUNT_;
    gr_wasm_op op = (gr_wasm_op)(map[idx] - 1);
    uint32_t need = op_feature(op);
    return (need & features) == need ? op : GR_OP_COUNT_;
}

size_t graft__op_text_name(gr_wasm_op op, char *buf, size_t cap)
{
    static const char *const dotted[] = {"i32_", "i64_", "f32_", "f64_", "local_", "global_",
                                         "table_", "memory_", "ref_", "elem_", "data_"};
    const char *name = graft__op_info[op].name;
    size_t n = 0, dot = (size_t)-1;
    for (size_t i = 0; i < sizeof dotted / sizeof dotted[0]; i++) {
        size_t k = 0;
        while (dotted[i][k] && dotted[i][k] == name[k]) k++;
        if (dotted[i][k] == 0) { dot = k - 1; break; }
    }
    if (cap == 0) return 0;
    for (; name[n] && n + 1 < cap; n++) buf[n] = (n == dot) ? '.' : name[n];
    buf[n] = 0;
    return n;
}
