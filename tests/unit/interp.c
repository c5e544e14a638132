/* tests/unit/interp.c - the interpreter on hand-assembled internal code.
 *
 * The compiler is written in parallel, so these tests build gr_code by hand
 * (handler word from graft__interp_handlers(), then operands as ops.def
 * spells them) and wrap it in store, instance and function structs set up
 * here, without graft_store_new. Runtime services the interpreter calls
 * (graft__trap) may still be placeholders: the checks only rely on the
 * store error's result and code, and on the frame records. */
#include "harness.h"
#include "runtime.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

/* ---- A tiny assembler ----------------------------------------------------- */

typedef struct asmb {
    uint32_t w[512];
    uint32_t n;
} asmb;

/* Append one instruction; returns its position (for branch offsets). */
static uint32_t emit(asmb *a, gr_iop op, int nops, ...)
{
    uint32_t at = a->n;
    a->w[a->n++] = (uint32_t)graft__interp_handlers()[op];
    va_list ap;
    va_start(ap, nops);
    for (int i = 0; i < nops; i++) a->w[a->n++] = va_arg(ap, uint32_t);
    va_end(ap);
    return at;
}

/* Patch the target word `word` of the branch at `at` to jump to `to`. */
static void patch(asmb *a, uint32_t at, uint32_t word, uint32_t to)
{
    a->w[at + word] = (uint32_t)((int32_t)to - (int32_t)at);
}

/* ---- A store with one instance, one memory, one table --------------------- */

#define NFUNCS 16
#define PAGE 65536u

typedef struct fixture {
    graft_store s;
    graft_module m;
    graft_instance inst;
    gr_functype types[4];          /* 0: (i32 i32)->i32  1: (i32)->i32  2: ()->()  3: (i32)->(i32 i32) */
    asmb code_words[NFUNCS];
    gr_code codes[NFUNCS];
    graft_func funcs[NFUNCS];
    graft_func *funcptrs[NFUNCS];
    graft_memory mem;
    graft_memory *memptrs[1];
    graft_table table;
    void *table_elems[8];
    graft_table *tableptrs[1];
    graft_global global;
    graft_global *globalptrs[1];
    gr_data_seg datas[1];
    uint32_t data_sizes[1];
    void *elem_items[3];
    void **elem_refs[1];
    uint32_t elem_sizes[1];
} fixture;

static fixture *fx_new(uint32_t depth, uint32_t slots)
{
    fixture *f = calloc(1, sizeof *f);
    f->s.limits.max_call_depth = depth;
    f->s.limits.max_stack_slots = slots;
    f->s.stack = calloc(slots, sizeof(gr_slot));
    f->s.frames = calloc(depth, sizeof(gr_frame));
    f->s.stack_top = f->s.stack;
    f->s.fuel = f->s.fuel_given = UINT64_MAX;   /* fuel off, as graft_store_new */
    graft__error_clear(&f->s.err);

    static const gr_valtype i32x2[2] = {GRAFT_I32, GRAFT_I32};
    f->types[0] = (gr_functype){2, 1, i32x2, i32x2, 2, 1, 1};
    f->types[1] = (gr_functype){1, 1, i32x2, i32x2, 1, 1, 2};
    f->types[2] = (gr_functype){0, 0, NULL, NULL, 0, 0, 3};
    f->types[3] = (gr_functype){1, 2, i32x2, i32x2, 1, 2, 4};
    f->m.types = f->types;
    f->m.ntypes = 4;
    f->m.nmemories = 1;
    f->m.ndatas = 1;
    f->m.datas = f->datas;
    f->datas[0].mode = GR_SEG_PASSIVE;
    f->datas[0].bytes = (const uint8_t *)"hello";
    f->datas[0].size = 5;

    f->mem.data = calloc(PAGE, 1);
    f->mem.size = PAGE;
    f->mem.pages = 1;
    f->memptrs[0] = &f->mem;
    f->table.elems = f->table_elems;
    f->table.size = 4;
    f->table.alloc = 8;
    f->table.elem = GRAFT_FUNCREF;
    f->tableptrs[0] = &f->table;
    f->global.type = GRAFT_I32;
    f->global.mutable_ = 1;
    f->globalptrs[0] = &f->global;

    f->inst.store = &f->s;
    f->inst.module = &f->m;
    f->inst.funcs = f->funcptrs;
    f->inst.memories = f->memptrs;
    f->inst.tables = f->tableptrs;
    f->inst.globals = f->globalptrs;
    f->inst.data_sizes = f->data_sizes;
    f->data_sizes[0] = 5;
    f->elem_refs[0] = f->elem_items;
    f->elem_sizes[0] = 3;
    f->inst.elem_refs = f->elem_refs;
    f->inst.elem_sizes = f->elem_sizes;
    return f;
}

static void fx_free(fixture *f)
{
    free(f->mem.data);
    free(f->s.stack);
    free(f->s.frames);
    free(f);
}

/* Make funcs[idx] run the code assembled in f->code_words[idx]. */
static graft_func *fx_func(fixture *f, uint32_t idx, uint32_t type, uint32_t nlocal_slots,
                           uint32_t frame_slots)
{
    gr_code *c = &f->codes[idx];
    c->words = f->code_words[idx].w;
    c->nwords = f->code_words[idx].n;
    c->nparam_slots = f->types[type].param_slots;
    c->nresult_slots = f->types[type].result_slots;
    c->nlocal_slots = nlocal_slots;
    c->frame_slots = frame_slots;
    c->func_index = idx;
    graft_func *fn = &f->funcs[idx];
    fn->store = &f->s;
    fn->type = &f->types[type];
    fn->inst = &f->inst;
    fn->code = c;
    f->funcptrs[idx] = fn;
    return fn;
}

/* Call funcs[idx] from the API side: args at the stack top, results there. */
static graft_result fx_call(fixture *f, uint32_t idx, const uint64_t *args, uint32_t nargs,
                            uint64_t *out)
{
    gr_slot *fp = f->s.stack_top;
    for (uint32_t i = 0; i < nargs; i++) fp[i].u64 = args[i];
    graft_result r = graft__interp_run(&f->s, f->funcptrs[idx], fp);
    if (out) *out = fp[0].u64;
    return r;
}

static int trapped(fixture *f, graft_result r, graft_error_code code)
{
    return r == GRAFT_ERR_TRAP && f->s.err.pub.code == code && f->s.nframes == 0;
}

/* ---- One-instruction functions ------------------------------------------ */

#define SCRATCH (NFUNCS - 1)

static graft_result binop(fixture *f, gr_iop op, uint64_t x, uint64_t y, uint64_t *out)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, op, 3, 2u, 0u, 1u);
    emit(a, GR_IOP_ret1, 1, 2u);
    fx_func(f, SCRATCH, 0, 2, 3);
    uint64_t args[2] = {x, y};
    return fx_call(f, SCRATCH, args, 2, out);
}

static graft_result unop(fixture *f, gr_iop op, uint64_t x, uint64_t *out)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, op, 2, 1u, 0u);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, SCRATCH, 1, 1, 2);
    return fx_call(f, SCRATCH, &x, 1, out);
}

#ifdef GR_WITH_FUSED
/* A "d a i" instruction on x with immediate k. */
static uint64_t immop(fixture *f, gr_iop op, uint64_t x, uint32_t k)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, op, 3, 1u, 0u, k);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, SCRATCH, 1, 1, 2);
    uint64_t out = 0;
    CHECK_EQ_INT(fx_call(f, SCRATCH, &x, 1, &out), GRAFT_OK);
    return out;
}
#endif

static uint32_t b32(fixture *f, gr_iop op, uint32_t x, uint32_t y)
{
    uint64_t out = 0;
    CHECK_EQ_INT(binop(f, op, x, y, &out), GRAFT_OK);
    return (uint32_t)out;
}

static uint64_t b64(fixture *f, gr_iop op, uint64_t x, uint64_t y)
{
    uint64_t out = 0;
    CHECK_EQ_INT(binop(f, op, x, y, &out), GRAFT_OK);
    return out;
}

static uint64_t u64op(fixture *f, gr_iop op, uint64_t x)
{
    uint64_t out = 0;
    CHECK_EQ_INT(unop(f, op, x, &out), GRAFT_OK);
    return out;
}

static uint32_t fbits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static uint64_t dbits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static int is_nan32(uint64_t b) { return ((uint32_t)b & 0x7F800000u) == 0x7F800000u && ((uint32_t)b & 0x7FFFFFu); }
static int is_nan64(uint64_t b)
{
    return (b & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (b & 0xFFFFFFFFFFFFFull);
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_handlers(void)
{
    const int32_t *h = graft__interp_handlers();
    CHECK(h != NULL);
    CHECK_EQ_INT(h[GR_IOP_unreachable], 0);   /* a zeroed word traps */
    int distinct = 1;
    for (int i = 0; i < GR_IOP_COUNT_; i++)
        for (int j = i + 1; j < GR_IOP_COUNT_; j++)
            if (h[i] == h[j]) distinct = 0;
    CHECK(distinct);
    CHECK(graft__interp_handlers() == h);
}

static void test_i32(fixture *f)
{
    uint64_t out;
    CHECK_EQ_U64(b32(f, GR_IOP_i32_add, 0x7FFFFFFF, 1), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_sub, 0, 1), 0xFFFFFFFFu);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_mul, 0x10000, 0x10000), 0);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_mul, 0x80000000u, 0xFFFFFFFFu), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_div_s, (uint32_t)-7, 2), (uint32_t)-3);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_div_u, 0xFFFFFFFFu, 2), 0x7FFFFFFFu);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rem_s, (uint32_t)-7, 2), (uint32_t)-1);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rem_s, 0x80000000u, 0xFFFFFFFFu), 0);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rem_u, 0xFFFFFFFFu, 10), 5);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_div_s, 0x80000000u, 2), 0xC0000000u);

    CHECK(trapped(f, binop(f, GR_IOP_i32_div_s, 7, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i32_div_u, 7, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i32_rem_s, 7, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i32_rem_u, 7, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i32_div_s, 0x80000000u, 0xFFFFFFFFu, &out),
                  GRAFT_E_TRAP_INT_OVERFLOW));
    CHECK_EQ_STR(f->s.err.pub.message, "integer overflow");

    CHECK_EQ_U64(b32(f, GR_IOP_i32_shl, 1, 33), 2);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shl, 1, 31), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_s, 0x80000000u, 1), 0xC0000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_s, 0x80000000u, 32), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_s, 0x80000000u, 31), 0xFFFFFFFFu);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_s, 0x40000000u, 30), 1);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_u, 0x80000000u, 31), 1);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_shr_u, 0x80000000u, 0xFFFFFFE0u), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rotl, 0x80000001u, 1), 3);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rotl, 0x12345678u, 32), 0x12345678u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rotl, 0x12345678u, 4), 0x23456781u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rotr, 1, 1), 0x80000000u);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_rotr, 0x12345678u, 36), 0x81234567u);

    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_clz, 0), 32);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_clz, 1), 31);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_clz, 0x80000000u), 0);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_ctz, 0), 32);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_ctz, 0x80000000u), 31);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_popcnt, 0xFFFFFFFFu), 32);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_popcnt, 0xA5u), 4);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_eqz, 0), 1);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_eqz, 0x100000000ull), 1);  /* only the low half counts */
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_extend8_s, 0x80), 0xFFFFFF80u);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_extend8_s, 0x17F), 0x7F);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_extend16_s, 0x8000), 0xFFFF8000u);

    CHECK_EQ_U64(b32(f, GR_IOP_i32_lt_s, 0xFFFFFFFFu, 0), 1);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_lt_u, 0xFFFFFFFFu, 0), 0);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_ge_s, 0x80000000u, 0x7FFFFFFFu), 0);
    CHECK_EQ_U64(b32(f, GR_IOP_i32_ge_u, 0x80000000u, 0x7FFFFFFFu), 1);
#ifdef GR_WITH_FUSED
    /* Signed division by 2^k as a rounding shift: exactly i32.div_s. */
    static const int32_t xs[] = {0, 1, -1, 7, -7, 8, -8, 12345, -12345, INT32_MAX, INT32_MIN,
                                 INT32_MIN + 1, 0x40000000, -0x40000000};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        for (uint32_t k = 1; k <= 30; k++)
            CHECK_EQ_U64((uint32_t)immop(f, GR_IOP_i32_div_s_pow2, (uint32_t)xs[i], k),
                         (uint32_t)(xs[i] / (int32_t)(1u << k)));
    CHECK_EQ_U64(immop(f, GR_IOP_i64_mul_imm, 3, (uint32_t)-5), (uint64_t)-15);
    CHECK_EQ_U64(immop(f, GR_IOP_i64_shr_u_imm, 0x8000000000000000ull, 63), 1);
#endif
}

static void test_i64(fixture *f)
{
    uint64_t out;
    const uint64_t MIN = 0x8000000000000000ull, M1 = ~0ull;
    CHECK_EQ_U64(b64(f, GR_IOP_i64_add, 0x7FFFFFFFFFFFFFFFull, 1), MIN);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_mul, MIN, M1), MIN);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_div_s, (uint64_t)-7, 2), (uint64_t)-3);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_rem_s, MIN, M1), 0);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_div_u, M1, 2), 0x7FFFFFFFFFFFFFFFull);
    CHECK(trapped(f, binop(f, GR_IOP_i64_div_s, MIN, M1, &out), GRAFT_E_TRAP_INT_OVERFLOW));
    CHECK(trapped(f, binop(f, GR_IOP_i64_div_s, 1, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i64_rem_u, 1, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK(trapped(f, binop(f, GR_IOP_i64_rem_s, MIN, 0, &out), GRAFT_E_TRAP_DIV_ZERO));
    CHECK_EQ_U64(b64(f, GR_IOP_i64_shl, 1, 65), 2);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_shr_s, MIN, 63), M1);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_shr_s, MIN, 64), MIN);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_shr_u, MIN, 63), 1);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_rotl, MIN | 1, 1), 3);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_rotr, 1, 65), MIN);
    CHECK_EQ_U64(b64(f, GR_IOP_i64_rotl, 0x0123456789ABCDEFull, 64), 0x0123456789ABCDEFull);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_clz, 0), 64);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_ctz, 0), 64);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_ctz, MIN), 63);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_popcnt, M1), 64);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_extend32_s, 0x80000000ull), 0xFFFFFFFF80000000ull);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_extend8_s, 0xFF), M1);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_extend16_s, 0x7FFF), 0x7FFF);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_extend_i32_s, 0xFFFFFFFFull), M1);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_extend_i32_u, 0xDEADBEEFFFFFFFFFull), 0xFFFFFFFFull);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i32_wrap_i64, 0x1234567887654321ull), 0x87654321u);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_i64_lt_s, M1, 0), 1);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_i64_lt_u, M1, 0), 0);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_i64_eqz, 0x100000000ull), 0);
}

static void test_float(fixture *f)
{
    const uint64_t pz = fbits(0.0f), nz = fbits(-0.0f), qnan = 0x7FC00000u, snan = 0x7FA00001u;
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_min, nz, pz), nz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_min, pz, nz), nz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_max, nz, pz), pz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_max, pz, nz), pz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_min, nz, nz), nz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_max, nz, nz), nz);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_min, fbits(1.0f), fbits(2.0f)), fbits(1.0f));
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_max, fbits(-INFINITY), fbits(-1.0f)), fbits(-1.0f));
    CHECK(is_nan32(b64(f, GR_IOP_f32_min, qnan, fbits(1.0f))));
    CHECK(is_nan32(b64(f, GR_IOP_f32_min, fbits(-INFINITY), qnan)));
    CHECK(is_nan32(b64(f, GR_IOP_f32_max, fbits(1.0f), snan)));
    CHECK((b64(f, GR_IOP_f32_max, fbits(1.0f), snan) & 0x00400000u) != 0);   /* quieted */
    CHECK_EQ_U64(b64(f, GR_IOP_f64_min, dbits(-0.0), dbits(0.0)), dbits(-0.0));
    CHECK_EQ_U64(b64(f, GR_IOP_f64_max, dbits(-0.0), dbits(0.0)), dbits(0.0));
    CHECK(is_nan64(b64(f, GR_IOP_f64_max, dbits(NAN), dbits(INFINITY))));
    CHECK(is_nan64(b64(f, GR_IOP_f64_min, dbits(1.0), dbits(NAN))));

    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_nearest, fbits(2.5f)), fbits(2.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_nearest, fbits(3.5f)), fbits(4.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_nearest, fbits(-2.5f)), fbits(-2.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_nearest, fbits(-0.5f)), nz);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_nearest, fbits(8388609.0f)), fbits(8388609.0f));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_nearest, dbits(4.5)), dbits(4.0));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_nearest, dbits(-0.25)), dbits(-0.0));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_nearest, dbits(4503599627370497.0)), dbits(4503599627370497.0));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_ceil, fbits(-0.5f)), nz);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_floor, fbits(-0.5f)), fbits(-1.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_trunc, fbits(-1.5f)), fbits(-1.0f));
    /* Rounding a signalling NaN must give a quiet (arithmetic) NaN. */
    const gr_iop round32[4] = {GR_IOP_f32_ceil, GR_IOP_f32_floor, GR_IOP_f32_trunc, GR_IOP_f32_nearest};
    const gr_iop round64[4] = {GR_IOP_f64_ceil, GR_IOP_f64_floor, GR_IOP_f64_trunc, GR_IOP_f64_nearest};
    for (int i = 0; i < 4; i++) {
        uint64_t r32 = u64op(f, round32[i], 0xFFA00000u), r64 = u64op(f, round64[i], 0x7FF4000000000000ull);
        CHECK(is_nan32(r32) && (r32 & 0x00400000u));
        CHECK(is_nan64(r64) && (r64 & 0x0008000000000000ull));
    }
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_sqrt, dbits(2.25)), dbits(1.5));
    CHECK(is_nan64(u64op(f, GR_IOP_f64_sqrt, dbits(-1.0))));

    /* Bit operations keep NaN payloads, signalling ones included. */
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_abs, 0xFFA00001u), 0x7FA00001u);
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_neg, 0x7FA00001u), 0xFFA00001u);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_copysign, 0x7FA00001u, fbits(-1.0f)), 0xFFA00001u);
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_neg, 0x7FF0000000000001ull), 0xFFF0000000000001ull);
    CHECK_EQ_U64(b64(f, GR_IOP_f64_copysign, dbits(-2.0), dbits(0.0)), dbits(2.0));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_reinterpret_i32, 0x7FA00001u), 0x7FA00001u);
    CHECK_EQ_U64(u64op(f, GR_IOP_i64_reinterpret_f64, 0x7FF4000000000001ull), 0x7FF4000000000001ull);

    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_eq, qnan, qnan), 0);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_ne, qnan, qnan), 1);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_eq, nz, pz), 1);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f64_lt, dbits(NAN), dbits(1.0)), 0);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f64_ge, dbits(2.0), dbits(1.0)), 1);
    CHECK_EQ_U64((uint32_t)b64(f, GR_IOP_f32_add, fbits(1.5f), fbits(2.25f)), fbits(3.75f));
    CHECK_EQ_U64(b64(f, GR_IOP_f64_div, dbits(1.0), dbits(-0.0)), dbits(-INFINITY));

    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_convert_i64_u, ~0ull), fbits(18446744073709551616.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_convert_i32_s, 0xFFFFFFFFu), fbits(-1.0f));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_convert_i32_u, 0xFFFFFFFFu), fbits(4294967296.0f));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_convert_i64_s, 0x8000000000000000ull), dbits(-9223372036854775808.0));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_convert_i32_u, 0x80000000u), dbits(2147483648.0));
    CHECK_EQ_U64(u64op(f, GR_IOP_f64_promote_f32, fbits(1.5f)), dbits(1.5));
    CHECK_EQ_U64((uint32_t)u64op(f, GR_IOP_f32_demote_f64, dbits(1e300)), fbits(INFINITY));
}

static void trunc_ok(fixture *f, gr_iop op, uint64_t in, uint64_t want, int is32)
{
    uint64_t out = 0;
    CHECK_EQ_INT(unop(f, op, in, &out), GRAFT_OK);
    CHECK_EQ_U64(is32 ? (uint32_t)out : out, want);
}

static void trunc_trap(fixture *f, gr_iop op, uint64_t in, graft_error_code code)
{
    uint64_t out;
    CHECK(trapped(f, unop(f, op, in, &out), code));
}

static void test_trunc(fixture *f)
{
    const graft_error_code OVF = GRAFT_E_TRAP_INT_OVERFLOW, INV = GRAFT_E_TRAP_INVALID_CONV;
    trunc_trap(f, GR_IOP_i32_trunc_f32_s, 0x7FC00000u, INV);
    CHECK_EQ_STR(f->s.err.pub.message, "invalid conversion to integer");
    trunc_trap(f, GR_IOP_i32_trunc_f32_s, fbits(2147483648.0f), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f32_s, fbits(-2147483904.0f), OVF);
    trunc_ok(f, GR_IOP_i32_trunc_f32_s, fbits(-2147483648.0f), 0x80000000u, 1);
    trunc_ok(f, GR_IOP_i32_trunc_f32_s, fbits(-1.9f), 0xFFFFFFFFu, 1);
    trunc_ok(f, GR_IOP_i32_trunc_f32_u, fbits(-0.9f), 0, 1);
    trunc_ok(f, GR_IOP_i32_trunc_f32_u, fbits(4294967040.0f), 4294967040u, 1);
    trunc_trap(f, GR_IOP_i32_trunc_f32_u, fbits(-1.0f), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f32_u, fbits(4294967296.0f), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f32_u, fbits(INFINITY), OVF);
    trunc_ok(f, GR_IOP_i32_trunc_f64_s, dbits(-2147483648.9), 0x80000000u, 1);
    trunc_ok(f, GR_IOP_i32_trunc_f64_s, dbits(2147483647.9), 0x7FFFFFFFu, 1);
    trunc_trap(f, GR_IOP_i32_trunc_f64_s, dbits(-2147483649.0), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f64_s, dbits(2147483648.0), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f64_s, dbits(-NAN), INV);
    trunc_ok(f, GR_IOP_i32_trunc_f64_u, dbits(4294967295.9), 0xFFFFFFFFu, 1);
    trunc_ok(f, GR_IOP_i32_trunc_f64_u, dbits(-0.99), 0, 1);
    trunc_trap(f, GR_IOP_i32_trunc_f64_u, dbits(4294967296.0), OVF);
    trunc_trap(f, GR_IOP_i32_trunc_f64_u, dbits(-1.0), OVF);
    trunc_ok(f, GR_IOP_i64_trunc_f64_s, dbits(-9223372036854775808.0), 0x8000000000000000ull, 0);
    trunc_trap(f, GR_IOP_i64_trunc_f64_s, dbits(9223372036854775808.0), OVF);
    trunc_ok(f, GR_IOP_i64_trunc_f64_u, dbits(18446744073709549568.0), 0xFFFFFFFFFFFFF800ull, 0);
    trunc_trap(f, GR_IOP_i64_trunc_f64_u, dbits(18446744073709551616.0), OVF);
    trunc_trap(f, GR_IOP_i64_trunc_f64_u, dbits(NAN), INV);
    trunc_ok(f, GR_IOP_i64_trunc_f32_s, fbits(-9223372036854775808.0f), 0x8000000000000000ull, 0);
    trunc_trap(f, GR_IOP_i64_trunc_f32_s, fbits(9223372036854775808.0f), OVF);
    trunc_trap(f, GR_IOP_i64_trunc_f32_s, fbits(-INFINITY), OVF);
    trunc_ok(f, GR_IOP_i64_trunc_f32_u, fbits(18446742974197923840.0f), 18446742974197923840ull, 0);
    trunc_trap(f, GR_IOP_i64_trunc_f32_u, fbits(18446744073709551616.0f), OVF);

    trunc_ok(f, GR_IOP_i32_trunc_sat_f32_s, 0x7FC00000u, 0, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f32_s, fbits(1e10f), 0x7FFFFFFFu, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f32_s, fbits(-1e10f), 0x80000000u, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f32_u, fbits(-5.0f), 0, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f32_u, fbits(1e20f), 0xFFFFFFFFu, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f64_s, dbits(-2147483648.9), 0x80000000u, 1);
    trunc_ok(f, GR_IOP_i32_trunc_sat_f64_u, dbits(4294967295.5), 0xFFFFFFFFu, 1);
    trunc_ok(f, GR_IOP_i64_trunc_sat_f64_s, dbits(-INFINITY), 0x8000000000000000ull, 0);
    trunc_ok(f, GR_IOP_i64_trunc_sat_f64_s, dbits(NAN), 0, 0);
    trunc_ok(f, GR_IOP_i64_trunc_sat_f64_u, dbits(1e30), ~0ull, 0);
    trunc_ok(f, GR_IOP_i64_trunc_sat_f32_s, fbits(1e30f), 0x7FFFFFFFFFFFFFFFull, 0);
    trunc_ok(f, GR_IOP_i64_trunc_sat_f32_u, fbits(-0.5f), 0, 0);
}

/* Load: "d a off"; store: "a v off". */
static graft_result load(fixture *f, gr_iop op, uint32_t addr, uint32_t off, uint64_t *out)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, op, 3, 1u, 0u, off);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, SCRATCH, 1, 1, 2);
    uint64_t arg = addr;
    return fx_call(f, SCRATCH, &arg, 1, out);
}

static graft_result store(fixture *f, gr_iop op, uint32_t addr, uint64_t v, uint32_t off)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, op, 3, 0u, 1u, off);
    emit(a, GR_IOP_ret0, 0);
    fx_func(f, SCRATCH, 0, 2, 2);
    uint64_t args[2] = {addr, v};
    return fx_call(f, SCRATCH, args, 2, NULL);
}

static void test_memory(fixture *f)
{
    uint64_t out = 0;
    const graft_error_code OOB = GRAFT_E_TRAP_MEMORY_OOB;
    CHECK_EQ_INT(store(f, GR_IOP_i32_store, 0, 0x11223344u, 0), GRAFT_OK);
    CHECK(f->mem.data[0] == 0x44 && f->mem.data[3] == 0x11);
    CHECK_EQ_INT(load(f, GR_IOP_i32_load16_s, 1, 0, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 0x2233u);
    f->mem.data[5] = 0x80;
    CHECK_EQ_INT(load(f, GR_IOP_i32_load16_s, 4, 0, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 0xFFFF8000u);
    CHECK_EQ_INT(load(f, GR_IOP_i64_load8_s, 0, 5, &out), GRAFT_OK);
    CHECK_EQ_U64(out, 0xFFFFFFFFFFFFFF80ull);
    CHECK_EQ_INT(load(f, GR_IOP_i64_load32_u, 0, 0, &out), GRAFT_OK);
    CHECK_EQ_U64(out, 0x11223344u);
    CHECK_EQ_INT(store(f, GR_IOP_f32_store, 8, 0x7FA00001u, 0), GRAFT_OK);
    CHECK_EQ_INT(load(f, GR_IOP_f32_load, 8, 0, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 0x7FA00001u);
    CHECK_EQ_INT(store(f, GR_IOP_i64_store32, 16, 0xAABBCCDDEEFF0011ull, 0), GRAFT_OK);
    CHECK_EQ_INT(load(f, GR_IOP_i64_load, 16, 0, &out), GRAFT_OK);
    CHECK_EQ_U64(out, 0xEEFF0011u);

    /* The exact boundary: the last byte is PAGE - 1. */
    CHECK_EQ_INT(load(f, GR_IOP_i32_load, PAGE - 4, 0, &out), GRAFT_OK);
    CHECK(trapped(f, load(f, GR_IOP_i32_load, PAGE - 3, 0, &out), OOB));
    CHECK_EQ_STR(f->s.err.pub.message, "out of bounds memory access");
    CHECK(trapped(f, load(f, GR_IOP_i32_load, PAGE - 4, 1, &out), OOB));
    CHECK_EQ_INT(load(f, GR_IOP_i64_load, PAGE - 8, 0, &out), GRAFT_OK);
    CHECK(trapped(f, load(f, GR_IOP_i64_load, PAGE - 7, 0, &out), OOB));
    CHECK_EQ_INT(load(f, GR_IOP_i32_load8_u, 0, PAGE - 1, &out), GRAFT_OK);
    CHECK(trapped(f, load(f, GR_IOP_i32_load8_u, PAGE, 0, &out), OOB));
    CHECK(trapped(f, load(f, GR_IOP_i32_load8_u, 0xFFFFFFFFu, 1, &out), OOB));   /* no wrap */
    CHECK(trapped(f, load(f, GR_IOP_i64_load16_u, 1, 0xFFFFFFFFu, &out), OOB));
    CHECK_EQ_INT(store(f, GR_IOP_i64_store, PAGE - 8, ~0ull, 0), GRAFT_OK);
    memset(f->mem.data + PAGE - 8, 0, 8);
    CHECK(trapped(f, store(f, GR_IOP_i64_store, PAGE - 7, ~0ull, 0), OOB));
    CHECK(trapped(f, store(f, GR_IOP_i32_store16, PAGE - 1, ~0ull, 0), OOB));
    int untouched = 1;
    for (uint32_t i = PAGE - 8; i < PAGE; i++) untouched &= f->mem.data[i] == 0;
    CHECK(untouched);

    /* The trap is recorded at the trapping instruction. */
    CHECK(trapped(f, load(f, GR_IOP_i32_load, PAGE, 0, &out), OOB));
    CHECK(f->s.frames[0].pc == f->codes[SCRATCH].words);
    CHECK(f->s.frames[0].func == f->funcptrs[SCRATCH]);

    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, GR_IOP_memory_size, 1, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, SCRATCH, 2, 0, 1);
    CHECK_EQ_INT(fx_call(f, SCRATCH, NULL, 0, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 1);
}

/* One bulk instruction with three slot operands (and an optional index). */
static graft_result bulk(fixture *f, gr_iop op, int with_index, uint32_t x, uint32_t a0, uint32_t a1,
                         uint32_t a2)
{
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    if (with_index == 2) emit(a, op, 5, 0u, x, 0u, 1u, 2u);
    else if (with_index == 1) emit(a, op, 4, x, 0u, 1u, 2u);
    else emit(a, op, 3, 0u, 1u, 2u);
    emit(a, GR_IOP_ret0, 0);
    fx_func(f, SCRATCH, 2, 0, 3);   /* operands sit above the (no) locals */
    uint64_t args[3] = {a0, a1, a2};
    gr_slot *fp = f->s.stack_top;
    for (int i = 0; i < 3; i++) fp[i].u64 = args[i];
    return graft__interp_run(&f->s, f->funcptrs[SCRATCH], fp);
}

static void test_bulk(fixture *f)
{
    const graft_error_code OOB = GRAFT_E_TRAP_MEMORY_OOB, TOOB = GRAFT_E_TRAP_TABLE_OOB;
    uint8_t *m = f->mem.data;
    memset(m, 0, PAGE);
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_fill, 0, 0, PAGE - 6, 0xAB, 6), GRAFT_OK);
    CHECK(m[PAGE - 6] == 0xAB && m[PAGE - 1] == 0xAB && m[PAGE - 7] == 0);
    memset(m + PAGE - 8, 0, 8);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_fill, 0, 0, PAGE - 6, 0xAB, 7), OOB));
    CHECK(m[PAGE - 1] == 0);   /* nothing written */
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_fill, 0, 0, PAGE, 1, 0), GRAFT_OK);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_fill, 0, 0, PAGE + 1, 1, 0), OOB));

    for (int i = 0; i < 8; i++) m[i] = (uint8_t)(i + 1);
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_copy, 0, 0, 1, 0, 7), GRAFT_OK);   /* overlap upward */
    CHECK(m[0] == 1 && m[1] == 1 && m[2] == 2 && m[7] == 7);
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_copy, 0, 0, 0, 1, 7), GRAFT_OK);   /* and back down */
    CHECK(m[0] == 1 && m[1] == 2 && m[6] == 7);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_copy, 0, 0, 0, PAGE - 2, 3), OOB));
    CHECK(m[0] == 1);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_copy, 0, 0, PAGE - 2, 0, 3), OOB));
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_copy, 0, 0, PAGE, PAGE, 0), GRAFT_OK);

    CHECK_EQ_INT(bulk(f, GR_IOP_memory_init, 1, 0, 10, 1, 3), GRAFT_OK);
    CHECK(memcmp(m + 10, "ell", 3) == 0);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_init, 1, 0, 20, 3, 3), OOB));
    CHECK(m[20] == 0);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_init, 1, 0, PAGE - 1, 0, 2), OOB));
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_init, 1, 0, PAGE, 5, 0), GRAFT_OK);

    /* Tables: elem segment 0 holds three references. */
    void *r0 = &f->funcs[0], *r1 = &f->funcs[1], *r2 = &f->funcs[2];
    f->elem_items[0] = r0;
    f->elem_items[1] = r1;
    f->elem_items[2] = r2;
    memset(f->table_elems, 0, sizeof f->table_elems);
    CHECK_EQ_INT(bulk(f, GR_IOP_table_init, 2, 0, 1, 0, 3), GRAFT_OK);
    CHECK(f->table_elems[0] == NULL && f->table_elems[1] == r0 && f->table_elems[3] == r2);
    CHECK(trapped(f, bulk(f, GR_IOP_table_init, 2, 0, 2, 0, 3), TOOB));
    CHECK(trapped(f, bulk(f, GR_IOP_table_init, 2, 0, 0, 1, 3), TOOB));
    CHECK(f->table_elems[0] == NULL);
    CHECK_EQ_STR(f->s.err.pub.message, "out of bounds table access");
    CHECK_EQ_INT(bulk(f, GR_IOP_table_copy, 2, 0, 0, 1, 3), GRAFT_OK);   /* xx: dst 0, src 0 */
    CHECK(f->table_elems[0] == r0 && f->table_elems[2] == r2 && f->table_elems[3] == r2);
    CHECK(trapped(f, bulk(f, GR_IOP_table_copy, 2, 0, 2, 0, 3), TOOB));
    CHECK_EQ_INT(bulk(f, GR_IOP_table_fill, 1, 0, 1, 0, 2), GRAFT_OK);   /* value slot holds 0: null */
    CHECK(f->table_elems[0] == r0 && f->table_elems[1] == NULL && f->table_elems[2] == NULL);
    CHECK(trapped(f, bulk(f, GR_IOP_table_fill, 1, 0, 3, 0, 2), TOOB));
    CHECK_EQ_INT(bulk(f, GR_IOP_table_fill, 1, 0, 4, 0, 0), GRAFT_OK);

    /* data.drop and elem.drop: afterwards only empty ranges work. */
    asmb *a = &f->code_words[SCRATCH];
    a->n = 0;
    emit(a, GR_IOP_data_drop, 1, 0u);
    emit(a, GR_IOP_elem_drop, 1, 0u);
    emit(a, GR_IOP_ret0, 0);
    fx_func(f, SCRATCH, 2, 0, 0);
    CHECK_EQ_INT(fx_call(f, SCRATCH, NULL, 0, NULL), GRAFT_OK);
    CHECK_EQ_INT(f->data_sizes[0], 0);
    CHECK_EQ_INT(bulk(f, GR_IOP_memory_init, 1, 0, 0, 0, 0), GRAFT_OK);
    CHECK(trapped(f, bulk(f, GR_IOP_memory_init, 1, 0, 0, 0, 1), OOB));
    CHECK_EQ_INT(bulk(f, GR_IOP_table_init, 2, 0, 0, 0, 0), GRAFT_OK);
    CHECK(trapped(f, bulk(f, GR_IOP_table_init, 2, 0, 0, 0, 1), TOOB));
    f->data_sizes[0] = 5;
    f->elem_sizes[0] = 3;

    /* table.get / table.set / table.size, ref.func / ref.is_null. */
    a->n = 0;
    emit(a, GR_IOP_ref_func, 2, 1u, 2u);        /* slot1 = funcs[2] */
    emit(a, GR_IOP_table_set, 3, 0u, 0u, 1u);   /* table[slot0] = slot1 */
    emit(a, GR_IOP_table_get, 3, 1u, 0u, 0u);   /* slot1 = table[slot0] */
    emit(a, GR_IOP_ref_is_null, 2, 2u, 1u);
    emit(a, GR_IOP_table_size, 2, 3u, 0u);
    emit(a, GR_IOP_i32_add, 3, 0u, 2u, 3u);     /* is_null + size */
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, SCRATCH, 1, 1, 4);
    uint64_t out = 0, arg = 3;
    fx_func(f, 2, 2, 0, 0);
    CHECK_EQ_INT(fx_call(f, SCRATCH, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 4);
    CHECK(f->table_elems[3] == &f->funcs[2]);
    arg = 4;
    CHECK(trapped(f, fx_call(f, SCRATCH, &arg, 1, &out), TOOB));
    CHECK(f->s.frames[0].pc == f->codes[SCRATCH].words + 3);   /* at table.set */
}

static void test_control(fixture *f)
{
    /* factorial(n): acc = 1; loop { if n == 0 break; acc *= n; n -= 1 } */
    asmb *a = &f->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_const32, 2, 1u, 1u);              /* acc (slot 1) = 1 */
    uint32_t loop = emit(a, GR_IOP_loop_check, 1, 0u);
    emit(a, GR_IOP_i32_eqz, 2, 2u, 0u);
    uint32_t exit_br = emit(a, GR_IOP_br_if, 2, 2u, 0u);
    emit(a, GR_IOP_i32_mul, 3, 1u, 1u, 0u);
    emit(a, GR_IOP_const32, 2, 2u, 1u);
    emit(a, GR_IOP_i32_sub, 3, 0u, 0u, 2u);
    uint32_t back = emit(a, GR_IOP_br, 1, 0u);
    patch(a, back, 1, loop);
    uint32_t end = emit(a, GR_IOP_ret1, 1, 1u);
    patch(a, exit_br, 2, end);
    fx_func(f, 0, 1, 2, 3);
    uint64_t out = 0, arg = 10;
    CHECK_EQ_INT(fx_call(f, 0, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 3628800);
    arg = 0;
    CHECK_EQ_INT(fx_call(f, 0, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 1);

    /* br_table: case 0 -> 100, case 1 -> 200, default -> 300; and select. */
    a = &f->code_words[1];
    a->n = 0;
    uint32_t bt = emit(a, GR_IOP_br_table, 5, 0u, 2u, 0u, 0u, 0u);
    uint32_t c0 = emit(a, GR_IOP_const32, 2, 0u, 100u);
    uint32_t j0 = emit(a, GR_IOP_br, 1, 0u);
    uint32_t c1 = emit(a, GR_IOP_const32, 2, 0u, 200u);
    uint32_t j1 = emit(a, GR_IOP_br, 1, 0u);
    uint32_t cd = emit(a, GR_IOP_const32, 2, 0u, 300u);
    uint32_t done = emit(a, GR_IOP_ret1, 1, 0u);
    patch(a, bt, 3, c0);
    patch(a, bt, 4, c1);
    patch(a, bt, 5, cd);
    patch(a, j0, 1, done);
    patch(a, j1, 1, done);
    fx_func(f, 1, 1, 1, 1);
    uint64_t want[5] = {100, 200, 300, 300, 300};
    uint64_t idx[5] = {0, 1, 2, 3, 0xFFFFFFFFu};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(fx_call(f, 1, &idx[i], 1, &out), GRAFT_OK);
        CHECK_EQ_U64((uint32_t)out, want[i]);
    }

    /* select, const64, copy, retn, globals: (x) -> (x ? big : 7, global) */
    a = &f->code_words[2];
    a->n = 0;
    emit(a, GR_IOP_const64, 3, 1u, 0x89ABCDEFu, 0x01234567u);
    emit(a, GR_IOP_const32, 2, 2u, 7u);
    emit(a, GR_IOP_select, 4, 3u, 1u, 2u, 0u);
    emit(a, GR_IOP_global_set, 2, 0u, 3u);
    emit(a, GR_IOP_global_get, 2, 4u, 0u);
    emit(a, GR_IOP_copy, 2, 5u, 3u);
    emit(a, GR_IOP_retn, 2, 2u, 4u);
    fx_func(f, 2, 3, 1, 6);
    arg = 1;
    gr_slot *fp = f->s.stack_top;
    CHECK_EQ_INT(fx_call(f, 2, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64(fp[0].u64, 0x0123456789ABCDEFull);
    CHECK_EQ_U64(fp[1].u64, 0x0123456789ABCDEFull);
    CHECK_EQ_U64(f->global.val.u64, 0x0123456789ABCDEFull);
    arg = 0x100000000ull;   /* the condition is the low 32 bits: false */
    CHECK_EQ_INT(fx_call(f, 2, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)fp[1].u64, 7);

    /* unreachable traps where it stands; locals are zeroed on entry. */
    a = &f->code_words[3];
    a->n = 0;
    emit(a, GR_IOP_br_unless, 2, 1u, 4u);   /* local slot 1 must be 0: skip */
    emit(a, GR_IOP_ret0, 0);
    uint32_t u = emit(a, GR_IOP_unreachable, 0);
    CHECK_EQ_INT(u, 4);
    fx_func(f, 3, 1, 2, 2);
    f->s.stack_top[1].u64 = 99;
    arg = 5;
    CHECK(trapped(f, fx_call(f, 3, &arg, 1, NULL), GRAFT_E_TRAP_UNREACHABLE));
    CHECK(f->s.frames[0].pc == f->codes[3].words + 4);
    CHECK_EQ_STR(f->s.err.pub.message, "unreachable");
}

/* fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2), recursive through `call`. */
static void build_fib(fixture *f, uint32_t idx)
{
    asmb *a = &f->code_words[idx];
    a->n = 0;
    emit(a, GR_IOP_const32, 2, 1u, 2u);
    emit(a, GR_IOP_i32_lt_s, 3, 1u, 0u, 1u);
    uint32_t br = emit(a, GR_IOP_br_unless, 2, 1u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    uint32_t rec = emit(a, GR_IOP_const32, 2, 2u, 1u);
    patch(a, br, 2, rec);
    emit(a, GR_IOP_i32_sub, 3, 1u, 0u, 2u);
    emit(a, GR_IOP_call, 2, idx, 1u);
    emit(a, GR_IOP_const32, 2, 3u, 2u);
    emit(a, GR_IOP_i32_sub, 3, 2u, 0u, 3u);
    emit(a, GR_IOP_call, 2, idx, 2u);
    emit(a, GR_IOP_i32_add, 3, 1u, 1u, 2u);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, idx, 1, 1, 4);
}

static void test_calls(void)
{
    fixture *f = fx_new(50, 4096);
    build_fib(f, 0);
    uint64_t out = 0, arg = 20;
    CHECK_EQ_INT(fx_call(f, 0, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 6765);
    CHECK_EQ_INT(f->s.nframes, 0);

    /* countdown(n) = n == 0 ? 0 : countdown(n - 1): n + 1 frames deep. */
    asmb *a = &f->code_words[1];
    a->n = 0;
    uint32_t br = emit(a, GR_IOP_br_if, 2, 0u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    uint32_t rec = emit(a, GR_IOP_const32, 2, 1u, 1u);
    patch(a, br, 2, rec);
    emit(a, GR_IOP_i32_sub, 3, 1u, 0u, 1u);
    uint32_t call = emit(a, GR_IOP_call, 2, 1u, 1u);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, 1, 1, 1, 2);
    arg = 49;   /* 50 frames: exactly the limit */
    CHECK_EQ_INT(fx_call(f, 1, &arg, 1, &out), GRAFT_OK);
    arg = 50;
    CHECK(trapped(f, fx_call(f, 1, &arg, 1, &out), GRAFT_E_TRAP_STACK_EXHAUSTED));
    CHECK_EQ_STR(f->s.err.pub.message, "call stack exhausted");
    CHECK(f->s.frames[49].pc == f->codes[1].words + call);   /* the innermost caller, at its call */
    CHECK(f->s.frames[48].pc == f->codes[1].words + call + 3);   /* callers: the return pc */
    fx_free(f);

    /* The value stack runs out before the frame stack: 2 slots per frame. */
    f = fx_new(1000, 64);
    build_fib(f, 0);
    a = &f->code_words[1];
    a->n = 0;
    br = emit(a, GR_IOP_br_if, 2, 0u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    rec = emit(a, GR_IOP_const32, 2, 1u, 1u);
    patch(a, br, 2, rec);
    emit(a, GR_IOP_i32_sub, 3, 1u, 0u, 1u);
    emit(a, GR_IOP_call, 2, 1u, 1u);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, 1, 1, 1, 2);
    arg = 62;   /* frames at slots 0..62, the last needs slots 62 and 63 */
    CHECK_EQ_INT(fx_call(f, 1, &arg, 1, &out), GRAFT_OK);
    arg = 63;
    CHECK(trapped(f, fx_call(f, 1, &arg, 1, &out), GRAFT_E_TRAP_STACK_EXHAUSTED));
    fx_free(f);
}

static void test_call_indirect(void)
{
    fixture *f = fx_new(100, 4096);
    /* f0: (i32)->i32 doubles; f2: (i32 i32)->i32, a different type. */
    asmb *a = &f->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_i32_add, 3, 0u, 0u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 0, 1, 1, 1);
    a = &f->code_words[2];
    a->n = 0;
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 2, 0, 2, 2);
    f->table.size = 3;
    f->table_elems[0] = f->funcptrs[0];
    f->table_elems[1] = NULL;
    f->table_elems[2] = f->funcptrs[2];

    /* caller(i): call_indirect (type 1) table[i] with argument 21. */
    a = &f->code_words[3];
    a->n = 0;
    emit(a, GR_IOP_const32, 2, 1u, 21u);
    uint32_t ci = emit(a, GR_IOP_call_indirect, 4, 1u, 0u, 0u, 1u);
    emit(a, GR_IOP_ret1, 1, 1u);
    fx_func(f, 3, 1, 1, 2);
    uint64_t out = 0, arg = 0;
    CHECK_EQ_INT(fx_call(f, 3, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 42);
    arg = 1;
    CHECK(trapped(f, fx_call(f, 3, &arg, 1, &out), GRAFT_E_TRAP_UNINIT_ELEM));
    CHECK_EQ_STR(f->s.err.pub.message, "uninitialized element");
    arg = 2;
    CHECK(trapped(f, fx_call(f, 3, &arg, 1, &out), GRAFT_E_TRAP_INDIRECT_TYPE));
    CHECK_EQ_STR(f->s.err.pub.message, "indirect call type mismatch");
    CHECK(f->s.frames[0].pc == f->codes[3].words + ci);
    arg = 3;
    CHECK(trapped(f, fx_call(f, 3, &arg, 1, &out), GRAFT_E_TRAP_UNDEFINED_ELEM));
    CHECK_EQ_STR(f->s.err.pub.message, "undefined element");
    arg = 0xFFFFFFFFu;
    CHECK(trapped(f, fx_call(f, 3, &arg, 1, &out), GRAFT_E_TRAP_UNDEFINED_ELEM));
    fx_free(f);
}

/* ---- Host functions ------------------------------------------------------- */

typedef struct host_ctx {
    fixture *f;
    uint32_t reenter_idx;      /* wasm function the host calls back into */
    uint32_t depth_seen;       /* s->nframes inside the host */
    int top_ok;                /* stack_top was past the host's slots */
    int inst_ok;
    graft_result fail;         /* result to return without setting an error */
    int set_error;             /* set a store error before failing */
    int grow;                  /* swap in a 2-page memory, like memory.grow */
} host_ctx;

static graft_result host_fn(graft_caller *caller, graft_slot *slots, void *user)
{
    host_ctx *h = user;
    graft_store *s = caller->store;
    h->depth_seen = s->nframes;
    h->top_ok = (gr_slot *)slots + 1 <= s->stack_top;
    h->inst_ok = caller->inst == &h->f->inst;
    if (h->fail != GRAFT_OK) {
        if (h->set_error)
            return graft__error(&s->err, GRAFT_E_TRAP_UNREACHABLE, GRAFT_NO_OFFSET,
                                GRAFT_NO_INDEX, NULL);
        return h->fail;
    }
    if (h->grow) {
        graft_memory *m = &h->f->mem;
        uint8_t *bigger = calloc(2 * PAGE, 1);
        memcpy(bigger, m->data, PAGE);
        bigger[PAGE + 4] = 0x5A;
        free(m->data);
        m->data = bigger;
        m->size = 2 * PAGE;
        m->pages = 2;
        return GRAFT_OK;
    }
    /* Re-enter: run a WebAssembly function on top of our slots. */
    gr_slot *fp = s->stack_top;
    fp[0].i32 = slots[0].i32;
    graft_result r = graft__interp_run(s, h->f->funcptrs[h->reenter_idx], fp);
    if (r != GRAFT_OK) return r;
    slots[0].i32 = fp[0].i32 + 1;
    return GRAFT_OK;
}

static void test_host(void)
{
    fixture *f = fx_new(100, 4096);
    host_ctx h = {f, 0, 0, 0, 0, GRAFT_OK, 0, 0};
    /* funcs[0]: doubles. funcs[1]: host (i32)->i32, re-enters funcs[0].
     * funcs[2]: x -> host(x + 0) * 3 after a call nesting of one frame. */
    asmb *a = &f->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_i32_add, 3, 0u, 0u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 0, 1, 1, 1);
    graft_func *host = &f->funcs[1];
    host->store = &f->s;
    host->type = &f->types[1];
    host->host = host_fn;
    host->host_user = &h;
    f->funcptrs[1] = host;

    a = &f->code_words[2];
    a->n = 0;
    emit(a, GR_IOP_copy, 2, 2u, 0u);
    uint32_t call = emit(a, GR_IOP_call, 2, 1u, 2u);
    emit(a, GR_IOP_const32, 2, 1u, 3u);
    emit(a, GR_IOP_i32_mul, 3, 0u, 2u, 1u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 2, 1, 1, 3);

    uint64_t out = 0, arg = 5;
    CHECK_EQ_INT(fx_call(f, 2, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, (5 * 2 + 1) * 3);
    CHECK_EQ_INT(h.depth_seen, 2);   /* the caller's frame and the host's */
    CHECK(h.top_ok);
    CHECK(h.inst_ok);
    CHECK(f->s.stack_top == f->s.stack);
    CHECK_EQ_INT(f->s.nframes, 0);

    /* The host called straight from the API. */
    gr_slot *fp = f->s.stack_top;
    fp[0].i32 = 7;
    CHECK_EQ_INT(graft__interp_run(&f->s, host, fp), GRAFT_OK);
    CHECK_EQ_INT(fp[0].i32, 15);

    /* A failing host without a message: "host function trapped" at the call. */
    h.fail = GRAFT_ERR_TRAP;
    CHECK(trapped(f, fx_call(f, 2, &arg, 1, &out), GRAFT_E_TRAP_HOST));
    CHECK(f->s.frames[0].pc == f->codes[2].words + call);
    CHECK(f->s.stack_top == f->s.stack);
    /* With a message of its own (as graft_caller_trap sets), it is kept. */
    h.set_error = 1;
    CHECK(trapped(f, fx_call(f, 2, &arg, 1, &out), GRAFT_E_TRAP_UNREACHABLE));
    h.fail = GRAFT_OK;
    h.set_error = 0;

    /* An inner trap during re-entry unwinds both invocations. */
    a = &f->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_unreachable, 0);
    CHECK(trapped(f, fx_call(f, 2, &arg, 1, &out), GRAFT_E_TRAP_UNREACHABLE));
    CHECK(f->s.stack_top == f->s.stack);

    /* The host grows memory: the caller sees the new size at once. */
    h.grow = 1;
    a = &f->code_words[3];
    a->n = 0;
    emit(a, GR_IOP_call, 2, 1u, 1u);
    emit(a, GR_IOP_i32_load8_u, 3, 0u, 0u, PAGE);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 3, 1, 1, 2);
    arg = 4;
    CHECK_EQ_INT(fx_call(f, 3, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 0x5A);
    fx_free(f);
}

/* A call into another instance switches memory 0, and back on return. */
static void test_cross_instance(void)
{
    fixture *f = fx_new(100, 4096);
    fixture *g = fx_new(100, 16);
    g->mem.data[0] = 0x22;
    f->mem.data[0] = 0x11;
    asmb *a = &g->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_i32_load8_u, 3, 0u, 0u, 0u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(g, 0, 1, 1, 1);
    f->funcptrs[1] = g->funcptrs[0];   /* an import from g */

    a = &f->code_words[0];
    a->n = 0;
    emit(a, GR_IOP_const32, 2, 1u, 0u);
    emit(a, GR_IOP_call, 2, 1u, 1u);                /* slot1 = g's byte */
    emit(a, GR_IOP_i32_load8_u, 3, 2u, 0u, 0u);     /* slot2 = our byte */
    emit(a, GR_IOP_const32, 2, 3u, 8u);
    emit(a, GR_IOP_i32_shl, 3, 1u, 1u, 3u);
    emit(a, GR_IOP_i32_or, 3, 0u, 1u, 2u);
    emit(a, GR_IOP_ret1, 1, 0u);
    fx_func(f, 0, 1, 1, 4);
    uint64_t out = 0, arg = 0;
    CHECK_EQ_INT(fx_call(f, 0, &arg, 1, &out), GRAFT_OK);
    CHECK_EQ_U64((uint32_t)out, 0x2211);
    fx_free(g);
    fx_free(f);
}

static void test_interrupt(void)
{
    fixture *f = fx_new(100, 4096);
    asmb *a = &f->code_words[0];
    a->n = 0;
    uint32_t loop = emit(a, GR_IOP_loop_check, 1, 0u);
    uint32_t br = emit(a, GR_IOP_br, 1, 0u);
    patch(a, br, 1, loop);
    fx_func(f, 0, 2, 0, 0);
    atomic_store(&f->s.interrupt, 1);
    CHECK(trapped(f, fx_call(f, 0, NULL, 0, NULL), GRAFT_E_TRAP_INTERRUPTED));
    CHECK_EQ_INT(atomic_load(&f->s.interrupt), 0);
    CHECK(f->s.frames[0].pc == f->codes[0].words + br);   /* the back-edge */

    /* At a call, before the callee's frame exists. */
    a = &f->code_words[1];
    a->n = 0;
    emit(a, GR_IOP_ret0, 0);
    fx_func(f, 1, 2, 0, 0);
    a = &f->code_words[2];
    a->n = 0;
    uint32_t call = emit(a, GR_IOP_call, 2, 1u, 0u);
    emit(a, GR_IOP_ret0, 0);
    fx_func(f, 2, 2, 0, 0);
    CHECK_EQ_INT(fx_call(f, 2, NULL, 0, NULL), GRAFT_OK);
    atomic_store(&f->s.interrupt, 1);
    CHECK(trapped(f, fx_call(f, 2, NULL, 0, NULL), GRAFT_E_TRAP_INTERRUPTED));
    CHECK(f->s.frames[0].pc == f->codes[2].words + call);
    CHECK_EQ_INT(fx_call(f, 2, NULL, 0, NULL), GRAFT_OK);   /* cleared: runs again */
    fx_free(f);
}

int main(void)
{
    test_handlers();
    fixture *f = fx_new(100, 4096);
    test_i32(f);
    test_i64(f);
    test_float(f);
    test_trunc(f);
    test_memory(f);
    test_bulk(f);
    test_control(f);
    fx_free(f);
    test_calls();
    test_call_indirect();
    test_host();
    test_cross_instance();
    test_interrupt();
    TEST_MAIN_END();
}
