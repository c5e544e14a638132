/* compile.c (test) - the function-body validator and compiler.
 *
 * Modules are filled in by hand (types, functions, memories, tables,
 * globals) around hand-assembled bodies, so these tests need no decoder.
 * They check validation errors (class, code, message prefix, byte offset)
 * and golden disassembly of the internal code, compiled with an identity
 * handler table so that the dump is the same in every build. A last part
 * throws random bytes at the compiler: it must answer, never crash. */
#include "harness.h"
#include "code.h"
#include "module.h"

#include <stdlib.h>
#include <string.h>

#define I32 GRAFT_I32
#define I64 GRAFT_I64
#define F32 GRAFT_F32
#define F64 GRAFT_F64
#define FREF GRAFT_FUNCREF
#define XREF GRAFT_EXTERNREF

/* ---- A hand-filled module ---------------------------------------------- */

static graft_env *env;
static gr_errbuf err;
static int32_t ident[GR_IOP_COUNT_];

static struct {
    graft_module m;
    uint8_t bytes[1 << 16];
    size_t len;
    gr_functype types[8];
    gr_valtype tvals[8][16];
    uint32_t func_types[16];
    gr_func_def defs[16];
    gr_limits mem;
    gr_tabletype tables[2];
    gr_globaltype globals[2];
    uint8_t declared[2];
    gr_elem_seg elems[1];
} t;

static void reset(void)
{
    if (t.m.env) graft__arena_free_all(&t.m.arena);
    memset(&t, 0, sizeof t);
    t.m.env = env;
    graft__arena_init(&t.m.arena, env);
    t.m.types = t.types;
    t.m.func_types = t.func_types;
    t.m.func_defs = t.defs;
    t.m.memories = &t.mem;
    t.m.tables = t.tables;
    t.m.global_types = t.globals;
    t.m.declared_refs = t.declared;
    t.m.elems = t.elems;
    t.len = 8; /* bodies start after a pretend header, so offsets are not 0 */
}

/* A type from two strings of type bytes (params, results). */
static uint32_t add_type(const char *params, const char *results)
{
    uint32_t i = t.m.ntypes++;
    gr_functype *ft = &t.types[i];
    size_t np = strlen(params), nr = strlen(results);
    memcpy(t.tvals[i], params, np);
    memcpy(t.tvals[i] + 8, results, nr);
    ft->params = t.tvals[i];
    ft->results = t.tvals[i] + 8;
    ft->nparams = ft->param_slots = (uint32_t)np;
    ft->nresults = ft->result_slots = (uint32_t)nr;
    return i;
}

/* A defined function; body = locals vector, instructions, end. */
static uint64_t add_func(uint32_t type, const uint8_t *body, size_t n)
{
    uint32_t i = t.m.nfuncs - t.m.nimported_funcs;
    t.func_types[t.m.nfuncs++] = type;
    t.defs[i].type_index = type;
    t.defs[i].body_offset = t.len;
    t.defs[i].body_size = (uint32_t)n;
    memcpy(t.bytes + t.len, body, n);
    t.len += n;
    return t.defs[i].body_offset;
}

#define FUNC(type, ...) \
    add_func((type), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static graft_result compile(void)
{
    return graft__compile_module_ex(&t.m, t.bytes, t.len, ident, &err);
}

static char dumped[8192];
static size_t ndumped;

static void collect(void *user, const char *line)
{
    (void)user;
    size_t n = strlen(line);
    if (ndumped + n + 2 < sizeof dumped) {
        memcpy(dumped + ndumped, line, n);
        ndumped += n;
        dumped[ndumped++] = '\n';
        dumped[ndumped] = 0;
    }
}

static const char *dump(uint32_t def)
{
    ndumped = 0;
    dumped[0] = 0;
    if (!t.defs[def].code) return "(not compiled)";
    graft__code_dump(t.defs[def].code, ident, collect, NULL);
    return dumped;
}

/* Compile one function of type ty and expect an error. off is the offset
 * of the failing instruction within the body, or -1 to skip the check. */
static void expect_error(graft_result cls, graft_error_code code, const char *text, long off,
                         int line)
{
    graft_result r = compile();
    if (r != cls || err.pub.code != code) {
        harness_failed++;
        fprintf(stderr, "line %d: expected %s (%d), got result %d: %s\n", line, text, (int)code,
                (int)r, r ? err.pub.message : "ok");
        return;
    }
    harness_passed++;
    CHECK_PREFIX(err.pub.message, text);
    if (off >= 0 && err.pub.offset != t.defs[0].body_offset + (uint64_t)off) {
        harness_failed++;
        fprintf(stderr, "line %d: offset %llu, expected body+%ld = %llu\n", line,
                (unsigned long long)err.pub.offset, off,
                (unsigned long long)(t.defs[0].body_offset + (uint64_t)off));
    }
}

/* The pcmap of compiled function def against its code: sorted, each entry
 * at an instruction's first word, every instruction that can trap or call
 * mapped (graft__iop_traps), and nothing else but branches (to a loop head,
 * which test the interrupt flag). Returns the number of faults found. */
static int pcmap_faults(uint32_t def)
{
    const gr_code *c = t.defs[def].code;
    int faults = 0;
    uint32_t k = 0;   /* next pcmap entry */
    dump(def);
    for (const char *line = dumped; *line; line = strchr(line, '\n') + 1) {
        uint32_t pc = (uint32_t)strtoul(line, NULL, 10);
        if (line[0] < '0' || line[0] > '9') continue;   /* a br_table continued */
        gr_iop op = (gr_iop)c->words[pc];   /* ident handlers: the word is the op */
        while (k < c->npcmap && c->pcmap[k].pc < pc) faults++, k++;   /* inside an instruction */
        int mapped = k < c->npcmap && c->pcmap[k].pc == pc;
        if (mapped) k++;
        if (mapped != graft__iop_traps(op) &&
            !(mapped && strncmp(graft__iop_names[op], "br", 2) == 0)) {
            fprintf(stderr, "pcmap: %s at pc %u is %smapped\n", graft__iop_names[op], pc,
                    mapped ? "" : "not ");
            faults++;
        }
    }
    return faults + (int)(c->npcmap - k);
}

#define INVALID(code, text, off) expect_error(GRAFT_ERR_INVALID, GRAFT_E_##code, text, off, __LINE__)
#define MALFORMED(code, text, off) \
    expect_error(GRAFT_ERR_MALFORMED, GRAFT_E_##code, text, off, __LINE__)

/* ---- Golden disassembly ------------------------------------------------ */

static void test_golden_basic(void)
{
    reset();
    uint32_t ty = add_type("\x7f\x7f", "\x7f");
    FUNC(ty, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b);   /* local.get 0 1; i32.add */
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: i32_add 2, 0, 1\n"
                          "6: ret1 2\n");
    const gr_code *c = t.defs[0].code;
    CHECK_EQ_INT(c->nparam_slots, 2);
    CHECK_EQ_INT(c->nlocal_slots, 2);
    CHECK_EQ_INT(c->frame_slots, 4);
    CHECK_EQ_INT(c->npcmap, 1);   /* the entry block's fuel charge */
    CHECK(t.m.internal_code_bytes > 0);

    /* local.get, ret1 of an alias: no copies at all. */
    reset();
    ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x00, 0x20, 0x00, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 2\n"
                          "2: ret1 0\n");
}

static void test_golden_locals(void)
{
    /* (param i32) (local i32): local.set 1 (local.get 0 + 1): the add
     * writes the local directly. */
    reset();
    uint32_t ty = add_type("\x7f", "");
    FUNC(ty, 0x01, 0x01, 0x7f, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
#ifdef GR_WITH_FUSED
    CHECK_EQ_STR(dump(0), "0: fuel 5\n"
                          "2: i32_add_imm 1, 0, 1\n"
                          "6: ret0\n");
#else
    CHECK_EQ_STR(dump(0), "0: fuel 5\n"
                          "2: const32 3, 1\n"
                          "5: i32_add 1, 0, 3\n"
                          "9: ret0\n");
#endif

    /* local.get 0 stays the old value across local.set 0. */
    reset();
    ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x00, 0x20, 0x00, 0x41, 0x05, 0x21, 0x00, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: copy 1, 0\n"   /* ahead of the constant, */
                          "5: const32 0, 5\n"   /* which is retargeted */
                          "8: ret1 1\n");

    /* local.tee: the constant goes straight into the local, which is
     * then on the stack as an alias. */
    reset();
    ty = add_type("", "\x7e");
    FUNC(ty, 0x01, 0x01, 0x7e, 0x42, 0x07, 0x22, 0x00, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 3\n"
                          "2: const64 0, 0x7\n"
                          "6: ret1 0\n");
    CHECK_EQ_INT(t.defs[0].code->frame_slots, 2);

    /* A declared local still holding its entry zero: `local.set 1
     * (i32.const 0)` emits nothing. A parameter, and the same write inside
     * a loop (after a label), are kept. */
    reset();
    ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x01, 0x01, 0x7f, 0x41, 0x00, 0x21, 0x01, 0x41, 0x00, 0x21, 0x00, 0x03, 0x40, 0x41,
         0x00, 0x21, 0x01, 0x0b, 0x20, 0x01, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 5\n"
                          "2: const32 0, 0\n"
                          "5: loop_check 5\n"
                          "7: const32 1, 0\n"
                          "10: ret1 1\n");
}

static void test_golden_blocks(void)
{
    /* block (result i32) local.get 0; local.get 0; br_if 0; drop; i32.const 2 end */
    reset();
    uint32_t ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x00, 0x02, 0x7f, 0x20, 0x00, 0x20, 0x00, 0x0d, 0x00, 0x1a, 0x41, 0x02, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: br_unless 0, @10\n"
                          "5: copy 1, 0\n"
                          "8: br @15\n"
                          "10: fuel 3\n"
                          "12: const32 1, 2\n"
                          "15: fuel 1\n"
                          "17: ret1 1\n");
}

static void test_golden_loop_if(void)
{
    /* loop: local.get 0; i32.const 1; i32.sub; local.tee 0; br_if 0; end */
    reset();
    uint32_t ty = add_type("\x7f", "");
    FUNC(ty, 0x00, 0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
#ifdef GR_WITH_FUSED
    CHECK_EQ_STR(dump(0), "0: fuel 1\n"
                          "2: loop_check 5\n"
                          "4: i32_add_imm 0, 0, -1\n"
                          "8: br_if 0, @2\n"
                          "11: fuel 2\n"
                          "13: ret0\n");
#else
    CHECK_EQ_STR(dump(0), "0: fuel 1\n"
                          "2: loop_check 5\n"
                          "4: const32 2, 1\n"
                          "7: i32_sub 0, 0, 2\n"
                          "11: br_if 0, @2\n"
                          "14: fuel 2\n"
                          "16: ret0\n");
#endif
    const gr_code *c = t.defs[0].code;
    CHECK_EQ_INT(c->npcmap, 4);   /* fuel, loop_check, br_if (a back-edge), fuel */
    CHECK_EQ_U64(graft__code_wasm_offset(c, 2), t.defs[0].body_offset + 1);
    CHECK_EQ_U64(graft__code_wasm_offset(c, 7), t.defs[0].body_offset + 1);
#ifdef GR_WITH_FUSED
    CHECK_EQ_U64(graft__code_wasm_offset(c, 8), t.defs[0].body_offset + 10);   /* br_if */
#else
    CHECK_EQ_U64(graft__code_wasm_offset(c, 11), t.defs[0].body_offset + 10);
#endif

    /* if (result i32) i32.const 1 else local.get 0 end */
    reset();
    ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x00, 0x20, 0x00, 0x04, 0x7f, 0x41, 0x01, 0x05, 0x20, 0x00, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 2\n"
                          "2: br_unless 0, @12\n"
                          "5: fuel 2\n"
                          "7: const32 1, 1\n"
                          "10: br @17\n"
                          "12: fuel 2\n"
                          "14: copy 1, 0\n"
                          "17: fuel 1\n"
                          "19: ret1 1\n");
}

#ifdef GR_WITH_FUSED
/* Fused constant operands (compile_fuse.c): a constant on the right, on
 * the left of a comparison (mirrored), le turned into lt by k+1, and no
 * fusion where k+1 would wrap. */
static void test_golden_fused_imm(void)
{
    reset();
    uint32_t ty = add_type("\x7f", "\x7f");
    /* local.get 0; i32.const 5; i32.le_s */
    FUNC(ty, 0x00, 0x20, 0x00, 0x41, 0x05, 0x4c, 0x0b);
    /* i32.const 3; local.get 0; i32.lt_u */
    FUNC(ty, 0x00, 0x41, 0x03, 0x20, 0x00, 0x49, 0x0b);
    /* local.get 0; i32.const 0x7fffffff; i32.le_s */
    FUNC(ty, 0x00, 0x20, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x4c, 0x0b);
    /* local.get 0; i32.const 33; i32.rotr */
    FUNC(ty, 0x00, 0x20, 0x00, 0x41, 0x21, 0x78, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: i32_lt_s_imm 1, 0, 6\n"
                          "6: ret1 1\n");
    CHECK_EQ_STR(dump(1), "0: fuel 4\n"
                          "2: i32_gt_u_imm 1, 0, 3\n"
                          "6: ret1 1\n");
    CHECK_EQ_STR(dump(2), "0: fuel 4\n"
                          "2: const32 2, 2147483647\n"
                          "5: i32_le_s 1, 0, 2\n"
                          "9: ret1 1\n");
    CHECK_EQ_STR(dump(3), "0: fuel 4\n"
                          "2: i32_rotl_imm 1, 0, 31\n"
                          "6: ret1 1\n");
}

/* Compare and branch: a loop's br_if on lt_s with a constant, an if on
 * gt_u of two params (branch when false: le_u), br_if on eqz (br_unless). */
/* The third round's fused forms (docs/engine.md, "Fused instructions"). */
static void test_golden_fused_more(void)
{
    reset();
    t.m.nmemories = 1;
    uint32_t ty = add_type("\x7f", "\x7f");
    /* (local i32) x = p + 12 (tee); x = load(x); return old x + x: the
     * alias of the teed x must be copied after the add, not ahead of it. */
    FUNC(ty, 0x01, 0x01, 0x7f, 0x20, 0x00, 0x41, 0x0c, 0x6a, 0x22, 0x01, 0x20, 0x01, 0x28, 0x02,
         0x00, 0x21, 0x01, 0x20, 0x01, 0x6a, 0x0b);
    uint32_t ty2 = add_type("\x7f\x7f", "\x7f"), tyf = add_type("\x7f\x7c", "\x7c");
    /* a += 4; b += 8; a + b: an add pair */
    FUNC(ty2, 0x00, 0x20, 0x00, 0x41, 0x04, 0x6a, 0x21, 0x00, 0x20, 0x01, 0x41, 0x08, 0x6a, 0x21,
         0x01, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b);
    /* load(a + (b << 2)) ^ (a ^ rotl(b, 7)): indexed load, shifted operand */
    FUNC(ty2, 0x00, 0x20, 0x00, 0x20, 0x01, 0x41, 0x02, 0x74, 0x6a, 0x28, 0x02, 0x00, 0x20, 0x00,
         0x20, 0x01, 0x41, 0x07, 0x77, 0x73, 0x73, 0x0b);
    /* x * f64[p] - f64[p + 8]: memory operands */
    FUNC(tyf, 0x00, 0x20, 0x01, 0x20, 0x00, 0x2b, 0x03, 0x00, 0xa2, 0x20, 0x00, 0x2b, 0x03, 0x08,
         0xa1, 0x0b);
    /* store8 [a + 3] = 1; a * b + a + b: constant store, multiply-add */
    FUNC(ty2, 0x00, 0x20, 0x00, 0x41, 0x01, 0x3a, 0x00, 0x03, 0x20, 0x00, 0x20, 0x01, 0x6c, 0x20,
         0x00, 0x6a, 0x20, 0x01, 0x6a, 0x0b);
    /* a > b ? a : b, and a < 10 ? a : b: compare and select */
    FUNC(ty2, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x00, 0x20, 0x01, 0x4a, 0x1b, 0x20, 0x00, 0x20,
         0x01, 0x20, 0x00, 0x41, 0x0a, 0x48, 0x1b, 0x6a, 0x0b);
    /* a / 8 + a / 6: division by a power of two is a rounding shift */
    FUNC(ty2, 0x00, 0x20, 0x00, 0x41, 0x08, 0x6d, 0x20, 0x00, 0x41, 0x06, 0x6d, 0x6a, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(6), "0: fuel 8\n"
                          "2: i32_div_s_pow2 2, 0, 3\n"
                          "6: const32 4, 6\n"
                          "9: i32_div_s 3, 0, 4\n"
                          "13: i32_add 2, 2, 3\n"
                          "17: ret1 2\n");
    CHECK_EQ_STR(dump(5), "0: fuel 14\n"
                          "2: select_lt_s 2, 0, 1, 1, 0\n"
                          "8: select_lt_s_imm 3, 0, 1, 0, 10\n"
                          "14: i32_add 2, 2, 3\n"
                          "18: ret1 2\n");
    CHECK_EQ_STR(dump(4), "0: fuel 11\n"
                          "2: i32_store8_k 0, 1, 3\n"
                          "6: i32_mul_add 2, 0, 1, 0\n"
                          "11: i32_add 2, 2, 1\n"
                          "15: ret1 2\n");
    CHECK_EQ_STR(dump(0), "0: fuel 10\n"
                          "2: i32_add_imm_load 1, 0, 12, 3, 0\n"
                          "8: copy2 2, 1, 1, 3\n"
                          "13: i32_add 2, 2, 1\n"
                          "17: ret1 2\n");
    CHECK_EQ_STR(dump(1), "0: fuel 12\n"
                          "2: i32_add_imm2 0, 0, 4, 1, 1, 8\n"
                          "9: i32_add 2, 0, 1\n"
                          "13: ret1 2\n");
    CHECK_EQ_STR(dump(2), "0: fuel 13\n"
                          "2: i32_load_idx 2, 0, 1, 2, 0\n"
                          "8: i32_xor_rotl 3, 0, 1, 7\n"
                          "13: i32_xor 2, 2, 3\n"
                          "17: ret1 2\n");
    CHECK_EQ_STR(dump(3), "0: fuel 8\n"
                          "2: f64_mul_m 2, 1, 0, 0, 0\n"
                          "8: f64_sub_m 2, 2, 0, 0, 8\n"
                          "14: ret1 2\n");
    /* A trap in a memory operand is reported at its f64.load. */
    CHECK_EQ_U64(graft__code_wasm_offset(t.defs[3].code, 2), t.defs[3].body_offset + 5);
    CHECK_EQ_U64(graft__code_wasm_offset(t.defs[3].code, 8), t.defs[3].body_offset + 11);
}

static void test_golden_fused_branch(void)
{
    reset();
    uint32_t ty = add_type("\x7f\x7f", "");
    /* loop local.get 0; i32.const 10; i32.lt_s; br_if 0 end */
    FUNC(ty, 0x00, 0x03, 0x40, 0x20, 0x00, 0x41, 0x0a, 0x48, 0x0d, 0x00, 0x0b, 0x0b);
    /* local.get 0; local.get 1; i32.gt_u; if nop end */
    FUNC(ty, 0x00, 0x20, 0x00, 0x20, 0x01, 0x4b, 0x04, 0x40, 0x01, 0x0b, 0x0b);
    /* block local.get 0; i32.eqz; br_if 0 end */
    FUNC(ty, 0x00, 0x02, 0x40, 0x20, 0x00, 0x45, 0x0d, 0x00, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 1\n"
                          "2: loop_check 4\n"
                          "4: br_lt_s_imm 0, 10, @2\n"
                          "8: fuel 2\n"
                          "10: ret0\n");
    CHECK_EQ_STR(dump(1), "0: fuel 4\n"
                          "2: br_le_u 0, 1, @8\n"
                          "6: fuel 2\n"
                          "8: fuel 1\n"
                          "10: ret0\n");
    CHECK_EQ_STR(dump(2), "0: fuel 4\n"
                          "2: br_unless 0, @7\n"
                          "5: fuel 1\n"
                          "7: fuel 1\n"
                          "9: ret0\n");
}
#endif

static void test_golden_calls(void)
{
    /* f0 (i32 i32)->i32; f1: i32.const 7; local.get 0; local.get 0; call 0; i32.add */
    reset();
    uint32_t t2 = add_type("\x7f\x7f", "\x7f");
    uint32_t t1 = add_type("\x7f", "\x7f");
    FUNC(t2, 0x00, 0x20, 0x00, 0x0b);
    FUNC(t1, 0x00, 0x41, 0x07, 0x20, 0x00, 0x20, 0x00, 0x10, 0x00, 0x6a, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
#ifdef GR_WITH_FUSED
    CHECK_EQ_STR(dump(1), "0: fuel 6\n"
                          "2: const32 1, 7\n"
                          "5: copy2 2, 0, 3, 0\n"   /* a copy pair */
                          "10: call 0, 2\n"
                          "13: i32_add 1, 1, 2\n"
                          "17: ret1 1\n");
#else
    CHECK_EQ_STR(dump(1), "0: fuel 6\n"
                          "2: const32 1, 7\n"
                          "5: copy 2, 0\n"
                          "8: copy 3, 0\n"
                          "11: call 0, 2\n"
                          "14: i32_add 1, 1, 2\n"
                          "18: ret1 1\n");
#endif
    CHECK_EQ_INT(t.defs[1].code->frame_slots, 4);
    CHECK_EQ_INT(t.defs[1].code->npcmap, 2);   /* fuel, call */

    /* br_table with a return target and a block target needing no copy */
    reset();
    uint32_t ty = add_type("\x7f", "");
    FUNC(ty, 0x00, 0x02, 0x40, 0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 3\n"
                          "2: br_table 0, 2, @9, @8, @9\n"
                          "8: ret0\n"
                          "9: fuel 1\n"
                          "11: ret0\n");
}

static void test_golden_multi(void)
{
    /* Several results: retn from consecutive height slots. */
    reset();
    uint32_t ty = add_type("", "\x7f\x7e");
    FUNC(ty, 0x00, 0x41, 0x01, 0x42, 0x02, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 3\n"
                          "2: const32 0, 1\n"
                          "5: const64 1, 0x2\n"
                          "9: retn 2, 0\n");

    /* br_if out of the function with two results: the values are moved
     * before the test, so both paths see them in place. */
    reset();
    ty = add_type("\x7f\x7e", "\x7f\x7e");
    FUNC(ty, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x00, 0x0d, 0x00, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
#ifdef GR_WITH_FUSED
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: copy2 2, 0, 3, 1\n"
                          "7: br_unless 0, @13\n"
                          "10: retn 2, 2\n"
                          "13: fuel 1\n"
                          "15: retn 2, 2\n");
#else
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: copy 2, 0\n"
                          "5: copy 3, 1\n"
                          "8: br_unless 0, @14\n"
                          "11: retn 2, 2\n"
                          "14: fuel 1\n"
                          "16: retn 2, 2\n");
#endif

    /* br_table targets that need copies or return go through stubs,
     * one per label. */
    reset();
    ty = add_type("\x7f", "\x7f");
    FUNC(ty, 0x00, 0x02, 0x7f, 0x20, 0x00, 0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 4\n"
                          "2: br_table 0, 2, @8, @13, @8\n"
                          "8: copy 1, 0\n"
                          "11: br @15\n"
                          "13: ret1 0\n"
                          "15: fuel 1\n"
                          "17: ret1 1\n");

    /* Memory and call_indirect operands. */
    reset();
    ty = add_type("\x7f", "\x7f");
    t.m.nmemories = 1;
    t.m.ntables = 1;
    t.tables[0].elem = FREF;
    FUNC(ty, 0x00, 0x20, 0x00, 0x28, 0x02, 0x04, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 5\n"
                          "2: i32_load 1, 0, 4\n"
                          "6: call_indirect 0, 0, 0, 1\n"
                          "11: ret1 1\n");
    const gr_code *c = t.defs[0].code;
    CHECK_EQ_INT(c->npcmap, 3);   /* fuel, i32.load, call_indirect */
    CHECK_EQ_U64(graft__code_wasm_offset(c, 6), t.defs[0].body_offset + 8);
    CHECK_EQ_U64(graft__code_wasm_offset(c, 11), t.defs[0].body_offset + 8);
}

/* Every allocation of a compile fails in turn: a clean resource error,
 * never a crash or a leak (the final in_use check catches leaks). */
static void test_alloc_failures(void)
{
    int finished = 0;
    for (uint64_t k = 1; k < 200 && !finished; k++) {
        reset();
        uint32_t t2 = add_type("\x7f\x7f", "\x7f");
        uint32_t t1 = add_type("\x7f", "\x7f");
        FUNC(t2, 0x00, 0x20, 0x00, 0x0b);
        FUNC(t1, 0x00, 0x02, 0x7f, 0x20, 0x00, 0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b,
             0x0b);
        FUNC(t1, 0x00, 0x41, 0x07, 0x20, 0x00, 0x20, 0x00, 0x10, 0x00, 0x6a, 0x0b);
        graft_env_fail_alloc_after(env, k);
        graft_result r = compile();
        graft_env_fail_alloc_after(env, 0);
        CHECK(r == GRAFT_OK || r == GRAFT_ERR_RESOURCE);
        finished = r == GRAFT_OK;
    }
    CHECK(finished);
}

/* ---- Validation errors ------------------------------------------------- */

static void test_errors_types(void)
{
    reset();
    uint32_t ty = add_type("", "\x7f");
    FUNC(ty, 0x00, 0x42, 0x01, 0x41, 0x01, 0x6a, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 5);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x01, 0x0b);   /* value left on the stack */
    INVALID(TYPE_MISMATCH, "type mismatch", 3);

    reset();
    ty = add_type("", "\x7f");
    FUNC(ty, 0x00, 0x0b);               /* missing result */
    INVALID(TYPE_MISMATCH, "type mismatch", 1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x6a, 0x1a, 0x0b);   /* i32.add on an empty stack */
    INVALID(TYPE_MISMATCH, "type mismatch", 1);

    /* Unreachable code is stack-polymorphic... */
    reset();
    ty = add_type("", "\x7f");
    FUNC(ty, 0x00, 0x00, 0x6a, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 1\n"
                          "2: unreachable\n");
    /* ...but still typed. */
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x00, 0x42, 0x00, 0x6a, 0x1a, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 4);
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x0c, 0x00, 0x41, 0x00, 0x0b);   /* br 0; i32.const 0; end */
    INVALID(TYPE_MISMATCH, "type mismatch", 5);

    /* select: numeric operands only; select_t needs exactly one type. */
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0xd0, 0x70, 0xd0, 0x70, 0x41, 0x01, 0x1b, 0x1a, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 7);
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x01, 0x41, 0x01, 0x41, 0x01, 0x1c, 0x02, 0x7f, 0x7f, 0x1a, 0x0b);
    INVALID(INVALID_RESULT_ARITY, "invalid result arity", 7);
    reset();
    ty = add_type("", "\x70");
    FUNC(ty, 0x00, 0xd0, 0x70, 0xd0, 0x70, 0x41, 0x01, 0x1c, 0x01, 0x70, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);

    /* if without else must have params = results. */
    reset();
    ty = add_type("", "\x7f");
    FUNC(ty, 0x00, 0x41, 0x01, 0x04, 0x7f, 0x41, 0x01, 0x0b, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 7);

    /* br_table arities must agree. */
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x02, 0x7f, 0x41, 0x01, 0x41, 0x01, 0x0e, 0x01, 0x00, 0x01, 0x0b, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 7);
}

static void test_errors_indices(void)
{
    reset();
    uint32_t ty = add_type("\x7f", "");
    FUNC(ty, 0x01, 0x01, 0x7e, 0x20, 0x02, 0x1a, 0x0b);
    INVALID(UNKNOWN_LOCAL, "unknown local", 3);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x02, 0x40, 0x0c, 0x02, 0x0b, 0x0b);
    INVALID(UNKNOWN_LABEL, "unknown label", 3);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x10, 0x05, 0x0b);
    INVALID(UNKNOWN_FUNC, "unknown function", 1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x23, 0x00, 0x1a, 0x0b);
    INVALID(UNKNOWN_GLOBAL, "unknown global", 1);

    reset();
    ty = add_type("", "");
    t.m.nglobals = 1;
    t.globals[0].type = I32;
    FUNC(ty, 0x00, 0x41, 0x00, 0x24, 0x00, 0x0b);
    INVALID(GLOBAL_IMMUTABLE, "global is immutable", 3);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x1a, 0x0b);
    INVALID(UNKNOWN_MEMORY, "unknown memory", 3);

    reset();
    ty = add_type("", "");
    t.m.nmemories = 1;
    FUNC(ty, 0x00, 0x41, 0x00, 0x28, 0x03, 0x00, 0x1a, 0x0b);
    INVALID(ALIGNMENT, "alignment must not be larger than natural", 3);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x02, 0x05, 0x0b, 0x0b);
    INVALID(UNKNOWN_TYPE, "unknown type", 1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
    INVALID(UNKNOWN_TABLE, "unknown table", 3);

    reset();
    ty = add_type("", "");
    t.m.ntables = 1;
    t.tables[0].elem = XREF;
    FUNC(ty, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
    INVALID(TYPE_MISMATCH, "type mismatch", 3);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0xd2, 0x00, 0x1a, 0x0b);
    INVALID(UNDECLARED_FUNC_REF, "undeclared function reference", 1);
    t.declared[0] = 1;
    CHECK_EQ_INT(compile(), GRAFT_OK);

    reset();
    ty = add_type("", "");
    t.m.has_data_count = 1;
    FUNC(ty, 0x00, 0xfc, 0x09, 0x00, 0x0b);
    INVALID(UNKNOWN_DATA, "unknown data segment", 1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0xfc, 0x0d, 0x00, 0x0b);
    INVALID(UNKNOWN_ELEM, "unknown elem segment", 1);
}

static void test_errors_malformed(void)
{
    reset();
    uint32_t ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x01, 0x1a);    /* no end */
    MALFORMED(END_EXPECTED, "END opcode expected", 4);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x0b, 0x01);          /* a byte after the end */
    MALFORMED(SECTION_SIZE, "section size mismatch", 2);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x06, 0x0b);
    MALFORMED(ILLEGAL_OPCODE, "illegal opcode", 1);
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0xfc, 0x12, 0x0b);
    MALFORMED(ILLEGAL_OPCODE, "illegal opcode", 1);

    reset();
    ty = add_type("", "");
    t.m.nmemories = 1;
    FUNC(ty, 0x00, 0x3f, 0x01, 0x1a, 0x0b);
    MALFORMED(ZERO_BYTE, "zero byte expected", 1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b);
    MALFORMED(INT_TOO_LONG, "integer representation too long", 2);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x41);
    MALFORMED(SECTION_END, "unexpected end of section or function", 2);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x02, 0x7e, 0x0b);
    MALFORMED(TOO_MANY_LOCALS, "too many locals", -1);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0xd0, 0x7f, 0x1a, 0x0b);
    MALFORMED(BAD_REFTYPE, "malformed reference type", 1);

    reset();
    ty = add_type("", "");
    t.m.nmemories = 1;
    t.m.ndatas = 1;
    FUNC(ty, 0x00, 0xfc, 0x09, 0x00, 0x0b);
    MALFORMED(DATA_COUNT_REQUIRED, "data count section required", 1);
    /* A segment that does not exist is the validation error (spec suite). */
    t.m.ndatas = 0;
    INVALID(UNKNOWN_DATA, "unknown data segment", 1);

    /* Malformed wins over invalid, even in a later function. */
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x6a, 0x0b);                /* invalid: i32.add on nothing */
    FUNC(ty, 0x00, 0x02, 0x0b, 0x0b);          /* block type 11, end, no final end */
    MALFORMED(END_EXPECTED, "END opcode expected", -1);
    CHECK_EQ_INT(err.pub.func_index, 1);
    CHECK_EQ_U64(err.pub.offset, t.defs[1].body_offset + 4);
    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x10, 0x07, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x0b); /* both */
    MALFORMED(INT_TOO_LONG, "integer representation too long", 4);

    reset();
    ty = add_type("", "");
    FUNC(ty, 0x00, 0x05, 0x0b);
    MALFORMED(END_EXPECTED, "END opcode expected", 1);
}

/* ---- The pcmap (issue 11) ----------------------------------------------- */

/* local.tee of a local whose aliases are on the stack, right after a load
 * that is the function's first mapped instruction: the aliases are copied
 * ahead of the load (materialize_local_ahead), two copies join as copy2,
 * and the load keeps its own pcmap entry. Unmetered, the load was the only
 * entry and the compiler wrote pcmap[UINT32_MAX] (SIGSEGV); metered, the
 * function's fuel charge lost its entry to the load, whose traps then
 * named the function's first byte. */
static void test_pcmap_ahead(void)
{
    for (int unmetered = 0; unmetered <= 1; unmetered++) {
        reset();
        t.m.unmetered = (uint8_t)unmetered;
        t.m.nmemories = 1;
        uint32_t ty = add_type("\x7f", "\x7f");
        FUNC(ty, 0x00, 0x20, 0x00, 0x20, 0x00, 0x41, 0x00,
             0x28, 0x02, 0xea, 0x10,                        /* i32.load offset=2154, at 7 */
             0x22, 0x00, 0x1a, 0x1a, 0x1a, 0x20, 0x00, 0x0b);
        CHECK_EQ_INT(compile(), GRAFT_OK);
        if (!t.defs[0].code) continue;
        const gr_code *c = t.defs[0].code;
        CHECK_EQ_INT(pcmap_faults(0), 0);
        CHECK_EQ_INT(c->npcmap, unmetered ? 1 : 2);
        uint32_t load_pc = c->pcmap[c->npcmap - 1].pc;
        CHECK_EQ_STR(graft__iop_names[c->words[load_pc]], "i32_load");
        CHECK_EQ_U64(graft__code_wasm_offset(c, load_pc), t.defs[0].body_offset + 7);
        if (!unmetered) CHECK_EQ_U64(graft__code_wasm_offset(c, 0), t.defs[0].body_offset);
    }
}

/* ---- Big and hostile functions ------------------------------------------- */

static void test_many_locals(void)
{
    /* 50,000 locals (two runs), with local.get of the last one. */
    reset();
    uint32_t ty = add_type("", "\x7e");
    FUNC(ty, 0x02, 0xcf, 0x86, 0x03, 0x7f, 0x01, 0x7e, 0x20, 0xcf, 0x86, 0x03, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_INT(t.defs[0].code->nlocal_slots, 50000);
    CHECK_EQ_STR(dump(0), "0: fuel 2\n"
                          "2: ret1 49999\n");

    reset();
    ty = add_type("", "\x7e");
    /* 100,000 i64 locals: aliasing is off, local.get copies. */
    FUNC(ty, 0x01, 0xa0, 0x8d, 0x06, 0x7e, 0x20, 0x05, 0x0b);
    CHECK_EQ_INT(compile(), GRAFT_OK);
    CHECK_EQ_STR(dump(0), "0: fuel 2\n"
                          "2: copy 100000, 5\n"
                          "5: ret1 100000\n");
}

static void test_random_bodies(void)
{
    /* Random bytes after a few plausible prefixes: the compiler must
     * return (ok or an error) without crashing or leaking, metered and
     * unmetered (the two compile different code: issue 11), and what it
     * compiles must have a well-formed pcmap. */
    static const uint8_t prefixes[][4] = {{0x00}, {0x01, 0x02, 0x7f}, {0x00, 0x02, 0x40}};
    uint32_t seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        reset();
        t.m.unmetered = (uint8_t)(iter >> 1 & 1);
        add_type("\x7f\x7e", "\x7f");
        add_type("", "");
        t.m.nmemories = 1;
        t.m.ntables = 1;
        t.tables[0].elem = FREF;
        t.m.nglobals = 1;
        t.globals[0].type = I32;
        t.globals[0].mutable_ = 1;
        t.m.has_data_count = 1;
        t.m.data_count = 1;
        t.m.nelems = 1;
        t.elems[0].type = FREF;
        t.declared[0] = 3;
        uint8_t body[64];
        const uint8_t *pre = prefixes[iter % 3];
        size_t np = pre[0] ? 3 : 1, n = np + 1 + (size_t)(iter % 48);
        memcpy(body, pre, np);
        for (size_t i = np; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            uint8_t b = (uint8_t)(seed >> 16);
            /* bias towards small immediates and common opcodes */
            body[i] = (seed >> 8) % 3 == 0 ? (uint8_t)(b % 4) : b;
        }
        body[n - 1] = 0x0b;
        add_func((uint32_t)(iter & 1), body, n);
        add_func(1, (const uint8_t[]){0x00, 0x0b}, 2);
        graft_result r = compile();
        CHECK(r == GRAFT_OK || r == GRAFT_ERR_INVALID || r == GRAFT_ERR_MALFORMED);
        if (r == GRAFT_OK) CHECK_EQ_INT(pcmap_faults(0), 0);
    }
}

int main(void)
{
    for (int i = 0; i < GR_IOP_COUNT_; i++) ident[i] = i;
    if (graft_env_new(NULL, &env) != GRAFT_OK) return 1;
    test_golden_basic();
    test_golden_locals();
    test_golden_blocks();
    test_golden_loop_if();
#ifdef GR_WITH_FUSED
    test_golden_fused_imm();
    test_golden_fused_branch();
    test_golden_fused_more();
#endif
    test_golden_calls();
    test_golden_multi();
    test_alloc_failures();
    test_errors_types();
    test_errors_indices();
    test_errors_malformed();
    test_pcmap_ahead();
    test_many_locals();
    test_random_bodies();
    reset();
    graft__arena_free_all(&t.m.arena);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env)); /* the env itself; no scratch left */
    graft_env_free(env);
    TEST_MAIN_END();
}
