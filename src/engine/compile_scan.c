/* compile_scan.c - the binary-format-only pass over function bodies.
 *
 * The reference decoder reads the whole module before it validates
 * anything, so a module that is both malformed and invalid is reported as
 * malformed even when the invalid part comes first. The compiler validates
 * as it decodes; when it finds a validation error it calls this scan over
 * the rest of the bodies, and a malformed body found there wins. The scan
 * reads locals and every instruction's immediates (from ops.def's
 * immediate kinds) and tracks block nesting, and checks only what the
 * binary format itself requires [spec 5.4, 5.5.13]. It allocates nothing. */
#include "compile.h"

#include <string.h>

typedef struct scan {
    const graft_module *m;
    gr_reader r;
    gr_errbuf *err;
    uint32_t func_index;
    uint64_t at;              /* offset of the current instruction */
} scan;

static graft_result scan_fail(scan *s, graft_error_code code, const char *what)
{
    return graft__error(s->err, code, s->at, s->func_index, "%s", what);
}

static graft_result scan_u32s(scan *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = 0;
        graft_result rc = cc_read_u32(&s->r, &v, s->err, "immediate");
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

static graft_result scan_zero(scan *s)
{
    uint8_t b = 0;
    graft_result rc = cc_read_u8(&s->r, &b, s->err, "memory index");
    if (rc == GRAFT_OK && b != 0) return scan_fail(s, GRAFT_E_ZERO_BYTE, "memory index");
    return rc;
}

/* memory.init and data.drop without a data count section: malformed, for
 * a segment that exists (a missing one is the validation error "unknown
 * data segment", as the spec suite expects; see compile.c). */
static graft_result scan_data(scan *s)
{
    uint32_t x = 0;
    graft_result rc = cc_read_u32(&s->r, &x, s->err, "data segment index");
    if (rc == GRAFT_OK && !s->m->has_data_count && x < s->m->ndatas)
        return scan_fail(s, GRAFT_E_DATA_COUNT_REQUIRED, "memory.init or data.drop");
    return rc;
}

static graft_result scan_blocktype(scan *s)
{
    uint64_t bits;
    graft_result rc = cc_read_leb(&s->r, 33, 1, &bits, s->err, "block type");
    int64_t v = (int64_t)bits;
    if (rc != GRAFT_OK || v >= 0 || v == -64) return rc;
    if (v >= -64 && graft__is_valtype((gr_valtype)(v & 0x7F))) return GRAFT_OK;
    return scan_fail(s, GRAFT_E_BAD_VALTYPE, "block type");
}

static graft_result scan_immediates(scan *s, gr_imm_kind imm)
{
    uint8_t b = 0;
    graft_result rc;
    switch (imm) {
    case GR_IMM_NONE: return GRAFT_OK;
    case GR_IMM_BLOCKTYPE: return scan_blocktype(s);
    case GR_IMM_LABEL: case GR_IMM_FUNC: case GR_IMM_LOCAL: case GR_IMM_GLOBAL:
    case GR_IMM_TABLE: case GR_IMM_ELEM:
        return scan_u32s(s, 1);
    case GR_IMM_CALLIND: case GR_IMM_MEMARG: case GR_IMM_ELEM_TABLE: case GR_IMM_TABLE_TABLE:
        return scan_u32s(s, 2);
    case GR_IMM_BRTABLE: {
        uint32_t n = 0;
        rc = cc_read_u32(&s->r, &n, s->err, "br_table label count");
        if (rc != GRAFT_OK) return rc;
        for (uint64_t k = 0; k <= n && rc == GRAFT_OK; k++) rc = scan_u32s(s, 1);
        return rc;
    }
    case GR_IMM_MEMIDX: return scan_zero(s);
    case GR_IMM_MEM_MEM:
        rc = scan_zero(s);
        return rc == GRAFT_OK ? scan_zero(s) : rc;
    case GR_IMM_DATA: return scan_data(s);
    case GR_IMM_DATA_MEM:
        rc = scan_data(s);
        return rc == GRAFT_OK ? scan_zero(s) : rc;
    case GR_IMM_I32: case GR_IMM_I64: {
        uint64_t v;
        return cc_read_leb(&s->r, imm == GR_IMM_I32 ? 32 : 64, 1, &v, s->err, "constant");
    }
    case GR_IMM_F32: case GR_IMM_F64: {
        const uint8_t *p = NULL;
        return gr_read_bytes(&s->r, imm == GR_IMM_F32 ? 4 : 8, &p, s->err, "constant");
    }
    case GR_IMM_REFTYPE:
        rc = cc_read_u8(&s->r, &b, s->err, "reference type");
        if (rc == GRAFT_OK && !graft__is_reftype(b))
            return scan_fail(s, GRAFT_E_BAD_REFTYPE, "ref.null");
        return rc;
    case GR_IMM_SELECTT: {
        uint32_t n = 0;
        rc = cc_read_u32(&s->r, &n, s->err, "select type count");
        for (uint32_t i = 0; i < n && rc == GRAFT_OK; i++) {
            rc = cc_read_u8(&s->r, &b, s->err, "select type");
            if (rc == GRAFT_OK && !graft__is_valtype(b))
                return scan_fail(s, GRAFT_E_BAD_VALTYPE, "select type");
        }
        return rc;
    }
    }
    return GRAFT_OK;
}

static graft_result scan_locals(scan *s)
{
    uint32_t nruns = 0;
    uint64_t total = 0;
    s->at = gr_offset(&s->r);
    graft_result rc = cc_read_u32(&s->r, &nruns, s->err, "local declaration count");
    for (uint32_t i = 0; i < nruns && rc == GRAFT_OK; i++) {
        uint32_t count = 0;
        uint8_t t = 0;
        s->at = gr_offset(&s->r);
        rc = cc_read_u32(&s->r, &count, s->err, "local count");
        if (rc == GRAFT_OK) rc = cc_read_u8(&s->r, &t, s->err, "local type");
        if (rc != GRAFT_OK) break;
        if (!graft__is_valtype(t)) return scan_fail(s, GRAFT_E_BAD_VALTYPE, "local type");
        total += count;
        if (total > GR_MAX_LOCALS) return scan_fail(s, GRAFT_E_TOO_MANY_LOCALS, "locals");
    }
    return rc;
}

/* One body: locals, then instructions up to the final end, counting block
 * nesting. (A stray `else` is left to the compiler.) */
static graft_result scan_body(scan *s)
{
    uint64_t depth = 1;
    graft_result rc = scan_locals(s);
    while (rc == GRAFT_OK && depth > 0) {
        uint8_t byte = 0;
        uint32_t sub = 0;
        s->at = gr_offset(&s->r);
        if (gr_at_end(&s->r)) return scan_fail(s, GRAFT_E_END_EXPECTED, "the body ends inside a block");
        byte = *s->r.p++;
        if (byte == 0xFC) {
            rc = cc_read_u32(&s->r, &sub, s->err, "opcode");
            if (rc != GRAFT_OK) break;
        }
        gr_wasm_op op = graft__op_lookup(byte, sub, s->m->env->features);
        if (op == GR_OP_COUNT_) return scan_fail(s, GRAFT_E_ILLEGAL_OPCODE, "opcode");
        rc = scan_immediates(s, (gr_imm_kind)graft__op_info[op].imm);
        if (op == GR_OP_block || op == GR_OP_loop || op == GR_OP_if) depth++;
        else if (op == GR_OP_end) depth--;
    }
    if (rc == GRAFT_OK && !gr_at_end(&s->r)) {
        s->at = gr_offset(&s->r);
        return scan_fail(s, GRAFT_E_SECTION_SIZE, "bytes after the function's final end");
    }
    return rc;
}

graft_result graft__compile_scan(const graft_module *m, const uint8_t *bytes, size_t len,
                                 uint32_t first, gr_errbuf *err)
{
    scan s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.err = err;
    s.r.base = bytes;
    for (uint32_t i = first; i < m->nfuncs - m->nimported_funcs; i++) {
        const gr_func_def *fd = &m->func_defs[i];
        if (fd->body_offset > len || fd->body_size > len - fd->body_offset) continue;
        s.func_index = m->nimported_funcs + i;
        s.r.p = bytes + fd->body_offset;
        s.r.end = s.r.p + fd->body_size;
        graft_result rc = scan_body(&s);
        if (rc == GRAFT_OK) continue;
        if (err->pub.code == GRAFT_E_UNEXPECTED_END)
            graft__error(err, GRAFT_E_SECTION_END, err->pub.offset, s.func_index, "in a body");
        if (err->pub.func_index == GRAFT_NO_INDEX) err->pub.func_index = s.func_index;
        return err->pub.result;
    }
    return GRAFT_OK;
}
