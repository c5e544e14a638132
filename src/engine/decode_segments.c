/* decode_segments.c - constant expressions and the element and data
 * sections [spec 5.4.9, 5.5.12, 5.5.14], for decode.c.
 *
 * A constant expression is decoded as a general instruction sequence up to
 * its `end`: any instruction's immediates are read by the table-driven
 * reader below (immediate kinds from ops.def), because a non-constant
 * instruction or a wrong count is a VALIDATION error, while an illegal
 * opcode, a bad immediate or a missing `end` is a decode error. A sequence
 * of exactly one constant instruction becomes a gr_const_expr; anything
 * else becomes GR_CONST_BAD carrying the error code valid.c reports.
 *
 * Segment items and data bytes are stored in the module arena. */
#include "decode.h"
#include "ops.h"

#include <string.h>

/* The immediates of one instruction, as far as constant expressions need
 * them. */
typedef struct imm {
    uint64_t bits;     /* i32/i64 value (sign-extended) or f32/f64 raw bits */
    uint32_t index;    /* function, global, ... index */
    gr_valtype type;   /* ref.null's reference type */
} imm;

/* memory.size, memory.grow and friends carry a reserved zero byte. */
static graft_result zero_byte(gr_dec *d, gr_reader *r)
{
    uint64_t at = gr_offset(r);
    uint8_t b;
    graft_result rc = gr_read_u8(r, &b, d->err, "a memory index byte");
    if (rc != GRAFT_OK) return rc;
    if (b != 0)
        return graft__error(d->err, GRAFT_E_ZERO_BYTE, at, GRAFT_NO_INDEX,
                            "found 0x%x at offset 0x%llx", b, (unsigned long long)at);
    return GRAFT_OK;
}

/* A block type [spec 5.4.1]: 0x40, a value type, or a type index (s33). */
static graft_result block_type(gr_dec *d, gr_reader *r)
{
    uint64_t at = gr_offset(r);
    int64_t bt;
    graft_result rc = gr_read_s33(r, &bt, d->err, "a block type");
    if (rc != GRAFT_OK) return rc;
    if (bt >= 0 || bt == -0x40 || (bt >= -0x40 && graft__is_valtype((gr_valtype)(bt + 0x80))))
        return GRAFT_OK;
    return graft__error(d->err, GRAFT_E_BAD_VALTYPE, at, GRAFT_NO_INDEX,
                        "block type at offset 0x%llx", (unsigned long long)at);
}

/* u32 pairs: call_indirect, table.init, table.copy, memarg. */
static graft_result two_u32(gr_dec *d, gr_reader *r, uint32_t *first, const char *what)
{
    uint32_t second;
    graft_result rc = gr_read_u32(r, first, d->err, what);
    if (rc != GRAFT_OK) return rc;
    return gr_read_u32(r, &second, d->err, what);
}

/* Read (and mostly skip) the immediates of op [spec 5.4]. */
static graft_result immediates(gr_dec *d, gr_reader *r, gr_wasm_op op, imm *v)
{
    graft_result rc = GRAFT_OK;
    uint32_t n = 0, u = 0;
    int32_t s32;
    int64_t s64;
    switch ((gr_imm_kind)graft__op_info[op].imm) {
    case GR_IMM_NONE: return GRAFT_OK;
    case GR_IMM_BLOCKTYPE: return block_type(d, r);
    case GR_IMM_BRTABLE:
        rc = graft__dec_count(d, r, &n, "a br_table label count");
        for (uint32_t i = 0; rc == GRAFT_OK && i <= n; i++)
            rc = gr_read_u32(r, &u, d->err, "a br_table label");
        return rc;
    case GR_IMM_LABEL: case GR_IMM_FUNC: case GR_IMM_LOCAL: case GR_IMM_GLOBAL:
    case GR_IMM_TABLE: case GR_IMM_ELEM: case GR_IMM_DATA:
        return gr_read_u32(r, &v->index, d->err, "an index");
    case GR_IMM_CALLIND: case GR_IMM_ELEM_TABLE: case GR_IMM_TABLE_TABLE:
        return two_u32(d, r, &v->index, "an index");
    case GR_IMM_MEMARG: return two_u32(d, r, &v->index, "a memory argument");
    case GR_IMM_MEMIDX: return zero_byte(d, r);
    case GR_IMM_DATA_MEM:
        rc = gr_read_u32(r, &v->index, d->err, "a data index");
        return rc == GRAFT_OK ? zero_byte(d, r) : rc;
    case GR_IMM_MEM_MEM:
        rc = zero_byte(d, r);
        return rc == GRAFT_OK ? zero_byte(d, r) : rc;
    case GR_IMM_I32:
        rc = gr_read_s32(r, &s32, d->err, "an i32 constant");
        v->bits = (uint64_t)(uint32_t)s32;
        return rc;
    case GR_IMM_I64:
        rc = gr_read_s64(r, &s64, d->err, "an i64 constant");
        v->bits = (uint64_t)s64;
        return rc;
    case GR_IMM_F32:
        rc = gr_read_fixed32(r, &u, d->err, "an f32 constant");
        v->bits = u;
        return rc;
    case GR_IMM_F64: return gr_read_fixed64(r, &v->bits, d->err, "an f64 constant");
    case GR_IMM_REFTYPE: return graft__dec_reftype(d, r, &v->type);
    case GR_IMM_SELECTT: {
        gr_valtype t;
        rc = graft__dec_count(d, r, &n, "a select type count");
        for (uint32_t i = 0; rc == GRAFT_OK && i < n; i++) rc = graft__dec_valtype(d, r, &t);
        return rc;
    }
    }
    return GRAFT_OK;
}

/* Extended-const [proposal extended-const]: i32/i64 add, sub and mul are
 * constant too. */
static graft_error_code arithmetic(gr_wasm_op op, gr_const_expr *out)
{
    static const struct { gr_wasm_op op; uint8_t kind; gr_valtype type; } ops[] = {
        { GR_OP_i32_add, GR_CONST_I32_ADD, GRAFT_I32 }, { GR_OP_i32_sub, GR_CONST_I32_SUB, GRAFT_I32 },
        { GR_OP_i32_mul, GR_CONST_I32_MUL, GRAFT_I32 }, { GR_OP_i64_add, GR_CONST_I64_ADD, GRAFT_I64 },
        { GR_OP_i64_sub, GR_CONST_I64_SUB, GRAFT_I64 }, { GR_OP_i64_mul, GR_CONST_I64_MUL, GRAFT_I64 },
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].op != op) continue;
        out->kind = ops[i].kind;
        out->type = ops[i].type;
        return GRAFT_E_NONE;
    }
    return GRAFT_E_CONST_EXPR;
}

/* Is this instruction constant [spec 3.3.10]? Fills out when it is. In
 * 2.0, global.get in a module's constant expressions may refer only to
 * imported globals (the context C' of [spec 3.4.10]), which must be
 * immutable. Returns 0 or the validation error. */
static graft_error_code constant(gr_dec *d, gr_wasm_op op, const imm *v, gr_const_expr *out)
{
    const graft_module *m = d->m;
    out->bits = v->bits;
    out->index = v->index;
    switch (op) {
    case GR_OP_i32_const: out->kind = GR_CONST_I32; out->type = GRAFT_I32; return GRAFT_E_NONE;
    case GR_OP_i64_const: out->kind = GR_CONST_I64; out->type = GRAFT_I64; return GRAFT_E_NONE;
    case GR_OP_f32_const: out->kind = GR_CONST_F32; out->type = GRAFT_F32; return GRAFT_E_NONE;
    case GR_OP_f64_const: out->kind = GR_CONST_F64; out->type = GRAFT_F64; return GRAFT_E_NONE;
    case GR_OP_ref_null:
        out->kind = GR_CONST_REF_NULL;
        out->type = v->type;
        return GRAFT_E_NONE;
    case GR_OP_ref_func:
        out->kind = GR_CONST_REF_FUNC;
        out->type = GRAFT_FUNCREF;
        return GRAFT_E_NONE;
    case GR_OP_global_get:
        out->kind = GR_CONST_GLOBAL_GET;
        if (v->index >= m->nimported_globals) return GRAFT_E_UNKNOWN_GLOBAL;
        out->type = m->global_types[v->index].type;
        return m->global_types[v->index].mutable_ ? GRAFT_E_CONST_EXPR : GRAFT_E_NONE;
    default:
        return (m->env->features & GRAFT_FEATURE_EXTENDED_CONST) ? arithmetic(op, out)
                                                                 : GRAFT_E_CONST_EXPR;
    }
}

/* One instruction's opcode (with the 0xFC sub-opcode). */
static graft_result opcode(gr_dec *d, gr_reader *r, gr_wasm_op *out)
{
    uint64_t at = gr_offset(r);
    uint8_t b;
    uint32_t sub = 0;
    graft_result rc = gr_read_u8(r, &b, d->err, "an instruction");
    if (rc == GRAFT_OK && b == 0xFC) rc = gr_read_u32(r, &sub, d->err, "a 0xFC sub-opcode");
    if (rc != GRAFT_OK) return rc;
    *out = graft__op_lookup(b, sub, d->m->env->features);
    if (*out == GR_OP_COUNT_)
        return graft__error(d->err, GRAFT_E_ILLEGAL_OPCODE, at, GRAFT_NO_INDEX,
                            "0x%x (sub 0x%x) at offset 0x%llx", b, sub, (unsigned long long)at);
    return GRAFT_OK;
}

/* With extended-const, a sequence (or a lone arithmetic instruction) that
 * decoded without error becomes GR_CONST_SEQ: the sequence is read again
 * from `start` into count arena entries. */
static graft_result sequence(gr_dec *d, gr_reader start, uint32_t count, gr_const_expr *out)
{
    gr_const_expr *seq = graft__dec_array(d, count, sizeof *seq, out->offset);
    if (!seq) return d->err->pub.result;
    for (uint32_t i = 0; i < count; i++) {
        gr_wasm_op op;
        imm v = {0, 0, 0};
        seq[i].offset = gr_offset(&start);
        graft_result rc = opcode(d, &start, &op);
        if (rc == GRAFT_OK) rc = immediates(d, &start, op, &v);
        if (rc != GRAFT_OK) return rc;
        (void)constant(d, op, &v, &seq[i]);
    }
    out->kind = GR_CONST_SEQ;
    out->index = count;
    out->seq = seq;
    out->type = seq[count - 1].type;
    return GRAFT_OK;
}

graft_result graft__dec_const_expr(gr_dec *d, gr_reader *r, gr_const_expr *out)
{
    uint32_t count = 0, depth = 0;
    graft_error_code error = GRAFT_E_NONE;
    uint64_t error_at = 0;
    gr_reader start = *r;
    memset(out, 0, sizeof *out);
    out->offset = gr_offset(r);
    for (;;) {
        uint64_t at = gr_offset(r);
        gr_wasm_op op;
        imm v = {0, 0, 0};
        graft_result rc = opcode(d, r, &op);
        if (rc == GRAFT_OK) rc = immediates(d, r, op, &v);
        if (rc != GRAFT_OK) return rc;
        if (op == GR_OP_end && depth == 0) break;
        if (op == GR_OP_else && depth == 0)
            return graft__error(d->err, GRAFT_E_END_EXPECTED, at, GRAFT_NO_INDEX,
                                "else at offset 0x%llx in a constant expression",
                                (unsigned long long)at);
        if (op == GR_OP_block || op == GR_OP_loop || op == GR_OP_if) depth++;
        if (op == GR_OP_end) depth--;
        count++;
        if (error != GRAFT_E_NONE) continue;
        gr_const_expr scratch = *out;
        error = constant(d, op, &v, count == 1 ? out : &scratch);
        if (error != GRAFT_E_NONE) error_at = at;
    }
    int lone_arith = count == 1 && out->kind >= GR_CONST_I32_ADD;
    if (error == GRAFT_E_NONE && (count > 1 || lone_arith) &&
        (d->m->env->features & GRAFT_FEATURE_EXTENDED_CONST))
        return sequence(d, start, count, out);
    if (error == GRAFT_E_NONE && count != 1) {
        error = GRAFT_E_TYPE_MISMATCH;
        error_at = out->offset;
    }
    if (error != GRAFT_E_NONE) {
        out->kind = GR_CONST_BAD;
        out->error = (uint16_t)error;
        out->offset = error_at;
    }
    return GRAFT_OK;
}

/* ---- Element section [spec 5.5.12] ------------------------------------ */

/* Segment flags 0..7: bit 0 passive/declarative, bit 1 explicit table
 * index (active) or declarative, bit 2 expressions instead of indices. */
static graft_result elem_segment(gr_dec *d, gr_reader *r, gr_elem_seg *s)
{
    uint64_t at = gr_offset(r);
    uint32_t flags;
    graft_result rc = gr_read_u32(r, &flags, d->err, "element segment flags");
    if (rc != GRAFT_OK) return rc;
    if (flags > 7)
        return graft__error(d->err, GRAFT_E_BAD_SEGMENT_FLAGS, at, GRAFT_NO_INDEX,
                            "element segment flags %u at offset 0x%llx", flags,
                            (unsigned long long)at);
    s->mode = !(flags & 1) ? GR_SEG_ACTIVE : (flags & 2) ? GR_SEG_DECLARATIVE : GR_SEG_PASSIVE;
    s->type = GRAFT_FUNCREF;
    if (s->mode == GR_SEG_ACTIVE) {
        if (flags & 2) rc = gr_read_u32(r, &s->table, d->err, "an element segment's table");
        if (rc == GRAFT_OK) rc = graft__dec_const_expr(d, r, &s->offset);
        if (rc != GRAFT_OK) return rc;
    }
    if (flags & 3) {
        if (flags & 4) {
            rc = graft__dec_reftype(d, r, &s->type);
        } else {
            uint8_t kind;
            at = gr_offset(r);
            rc = gr_read_u8(r, &kind, d->err, "an element kind");
            if (rc == GRAFT_OK && kind != 0x00)
                return graft__error(d->err, GRAFT_E_BAD_ELEM_KIND, at, GRAFT_NO_INDEX,
                                    "0x%x at offset 0x%llx", kind, (unsigned long long)at);
        }
        if (rc != GRAFT_OK) return rc;
    }
    rc = graft__dec_count(d, r, &s->count, "an element segment's item count");
    if (rc != GRAFT_OK) return rc;
    s->items = graft__dec_array(d, s->count, sizeof *s->items, gr_offset(r));
    if (!s->items) return d->err->pub.result;
    for (uint32_t i = 0; i < s->count; i++) {
        gr_const_expr *e = &s->items[i];
        if (flags & 4) {
            rc = graft__dec_const_expr(d, r, e);
        } else {
            e->offset = gr_offset(r);
            e->kind = GR_CONST_REF_FUNC;
            e->type = GRAFT_FUNCREF;
            rc = gr_read_u32(r, &e->index, d->err, "a function index");
        }
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

graft_result graft__dec_elem_section(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, "the element segment count");
    if (rc != GRAFT_OK) return rc;
    m->elems = graft__dec_array(d, n, sizeof *m->elems, gr_offset(r));
    if (!m->elems) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = elem_segment(d, r, &m->elems[i]);
        if (rc != GRAFT_OK) return rc;
        m->nelems = i + 1;
    }
    return GRAFT_OK;
}

/* ---- Data section [spec 5.5.14] --------------------------------------- */

static graft_result data_segment(gr_dec *d, gr_reader *r, gr_data_seg *s)
{
    uint64_t at = gr_offset(r);
    uint32_t flags, size;
    const uint8_t *bytes;
    graft_result rc = gr_read_u32(r, &flags, d->err, "data segment flags");
    if (rc != GRAFT_OK) return rc;
    if (flags > 2)
        return graft__error(d->err, GRAFT_E_BAD_SEGMENT_FLAGS, at, GRAFT_NO_INDEX,
                            "data segment flags %u at offset 0x%llx", flags,
                            (unsigned long long)at);
    s->mode = flags == 1 ? GR_SEG_PASSIVE : GR_SEG_ACTIVE;
    if (flags == 2) rc = gr_read_u32(r, &s->memory, d->err, "a data segment's memory");
    if (rc == GRAFT_OK && flags != 1) rc = graft__dec_const_expr(d, r, &s->offset);
    if (rc == GRAFT_OK) rc = gr_read_u32(r, &size, d->err, "a data segment's size");
    if (rc == GRAFT_OK) rc = gr_read_bytes(r, size, &bytes, d->err, "a data segment's bytes");
    if (rc != GRAFT_OK) return rc;
    uint8_t *copy = graft__dec_array(d, size, 1, gr_offset(r));
    if (!copy) return d->err->pub.result;
    if (size) memcpy(copy, bytes, size);
    s->size = size;
    s->bytes = copy;
    return GRAFT_OK;
}

graft_result graft__dec_data_section(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, "the data segment count");
    if (rc != GRAFT_OK) return rc;
    m->datas = graft__dec_array(d, n, sizeof *m->datas, gr_offset(r));
    if (!m->datas) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = data_segment(d, r, &m->datas[i]);
        if (rc != GRAFT_OK) return rc;
        m->ndatas = i + 1;
    }
    return GRAFT_OK;
}
