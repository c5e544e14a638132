/* heavy.c - valid modules that are big in one dimension each run correctly
 * within a sufficient budget and fail with a specific resource error when
 * the budget or a store cap is too small, while a healthy guest in the
 * same process keeps computing correctly between every step (sandbox.h).
 *
 * The modules are generated here, byte by byte: a table of 1,000,000
 * elements, 10,000 nested blocks with a branch out of all of them, a
 * function with 50,000 locals, a 100 MiB data segment, and a module whose
 * declared sizes exceed the budget.
 *
 * Each heavy case runs three times: with no budget (recording the env's
 * peak), with the peak as the budget (must succeed: the budget covers
 * exactly what the engine needs), and with half of it (must fail cleanly
 * with GRAFT_E_BUDGET_EXHAUSTED, wherever the allocation that crosses it
 * happens: load, store, instantiation or the first call). */
#include <graft.h>

#include "env.h"
#include "sandbox.h"

/* ---- A growable module builder ------------------------------------------ */

typedef struct buf {
    uint8_t *b;
    size_t n, cap;
} buf;

/* Append n bytes and return where they go. */
static uint8_t *grow(buf *w, size_t n)
{
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n) cap *= 2;
        w->b = realloc(w->b, cap);
        if (!w->b) exit(1);
        w->cap = cap;
    }
    w->n += n;
    return w->b + w->n - n;
}

static void put(buf *w, const void *p, size_t n)
{
    if (n) memcpy(grow(w, n), p, n);
}

static void put1(buf *w, uint8_t x)
{
    put(w, &x, 1);
}

static void putu(buf *w, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        put1(w, (uint8_t)(byte | (v ? 0x80 : 0)));
    } while (v);
}

static void section(buf *mod, uint8_t id, buf *body)
{
    put1(mod, id);
    putu(mod, (uint32_t)body->n);
    put(mod, body->b, body->n);
    body->n = 0;
}

/* What one generated module holds: one function "f" of (nparams x i32) ->
 * i32 with body `code` (locals declaration included), and optionally a
 * funcref table, a memory and an active data segment at address 0. */
typedef struct spec {
    uint32_t nparams;
    const buf *code;
    uint32_t table_min;      /* 0: no table */
    uint32_t mem_min;        /* pages; 0: no memory */
    size_t data_len;         /* 0: no data segment */
} spec;

static uint8_t data_byte(size_t i)
{
    return (uint8_t)(i * 131u + 7u);
}

static void build(buf *mod, const spec *sp)
{
    static const uint8_t magic[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    buf s = {0};
    mod->n = 0;
    put(mod, magic, 8);
    putu(&s, 1), put1(&s, 0x60), putu(&s, sp->nparams);
    for (uint32_t i = 0; i < sp->nparams; i++) put1(&s, 0x7F);
    putu(&s, 1), put1(&s, 0x7F);
    section(mod, 1, &s);
    putu(&s, 1), putu(&s, 0);
    section(mod, 3, &s);
    if (sp->table_min) {
        putu(&s, 1), put1(&s, 0x70), put1(&s, 0), putu(&s, sp->table_min);
        section(mod, 4, &s);
    }
    if (sp->mem_min) {
        putu(&s, 1), put1(&s, 0), putu(&s, sp->mem_min);
        section(mod, 5, &s);
    }
    putu(&s, 1), putu(&s, 1), put(&s, "f", 1), put1(&s, 0), putu(&s, 0);
    section(mod, 7, &s);
    putu(&s, 1), putu(&s, (uint32_t)sp->code->n), put(&s, sp->code->b, sp->code->n);
    section(mod, 10, &s);
    if (sp->data_len) {
        putu(&s, 1), put1(&s, 0), put1(&s, 0x41), put1(&s, 0), put1(&s, 0x0B);
        putu(&s, (uint32_t)sp->data_len);
        uint8_t *data = grow(&s, sp->data_len);
        for (size_t i = 0; i < sp->data_len; i++) data[i] = data_byte(i);
        section(mod, 11, &s);
    }
    free(s.b);
}

/* ---- Running one case under a budget ---------------------------------------- */

typedef struct outcome {
    graft_result r;            /* GRAFT_OK or the first failure */
    graft_error_code code;     /* its catalogue entry */
    char message[256];
    size_t peak;               /* the env's high-water mark */
    int32_t result;            /* f's result when r == GRAFT_OK */
} outcome;

static void failed(outcome *o, graft_result r, const graft_error *e)
{
    o->r = r;
    o->code = e->code;
    snprintf(o->message, sizeof o->message, "%s", e->message);
}

/* Load, instantiate and call f(arg) in a fresh env with this budget and
 * these store limits. Everything is freed; the env must end empty. */
static outcome run(const buf *mod, size_t budget, const graft_store_limits *lim, int32_t arg,
                   uint32_t nparams)
{
    outcome o = {.r = GRAFT_OK};
    graft_env *env;
    graft_env_config cfg = {.budget = budget};
    CHECK_EQ_INT(graft_env_new(&cfg, &env), GRAFT_OK);
    graft_module *m = NULL;
    graft_store *s = NULL;
    graft_instance *inst;
    graft_result r = graft_module_load(env, mod->b, mod->n, &m);
    if (r != GRAFT_OK) {
        failed(&o, r, graft_env_error(env));
        goto done;
    }
    if ((r = graft_store_new(env, lim, &s)) != GRAFT_OK) {
        failed(&o, r, graft_env_error(env));
        goto done;
    }
    if ((r = graft_instance_new(s, m, &inst)) != GRAFT_OK) {
        failed(&o, r, graft_store_error(s));
        goto done;
    }
    graft_val a = {.type = GRAFT_I32, .of.i32 = arg}, res;
    r = graft_call(graft_instance_func(inst, "f"), &a, nparams, &res, 1);
    if (r != GRAFT_OK)
        failed(&o, r, graft_store_error(s));
    else
        o.result = res.of.i32;
done:
    graft_store_free(s);
    graft_module_free(m);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    o.peak = st.peak;
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
    return o;
}

/* Both sides of the budget for one module. */
static void budget_sides(const char *name, const buf *mod, const graft_store_limits *lim,
                         int32_t arg, uint32_t nparams, int32_t want, healthy *ok)
{
    outcome free_run = run(mod, 0, lim, arg, nparams);
    if (free_run.r != GRAFT_OK) fprintf(stderr, "%s: %s\n", name, free_run.message);
    CHECK_EQ_INT(free_run.r, GRAFT_OK);
    CHECK_EQ_INT(free_run.result, want);
    healthy_check(ok);

    outcome exact = run(mod, free_run.peak, lim, arg, nparams);
    if (exact.r != GRAFT_OK) fprintf(stderr, "%s at its peak: %s\n", name, exact.message);
    CHECK_EQ_INT(exact.r, GRAFT_OK);
    CHECK_EQ_INT(exact.result, want);
    healthy_check(ok);

    outcome half = run(mod, free_run.peak / 2, lim, arg, nparams);
    CHECK_EQ_INT(half.r, GRAFT_ERR_RESOURCE);
    if (half.code != GRAFT_E_BUDGET_EXHAUSTED) fprintf(stderr, "%s: %s\n", name, half.message);
    CHECK_EQ_INT(half.code, GRAFT_E_BUDGET_EXHAUSTED);
    CHECK_PREFIX(half.message, "allocation budget exhausted");
    CHECK(strstr(half.message, "budget of ") != NULL);
    healthy_check(ok);
}

/* A cap that is too small: the specific error, named. */
static void cap_side(const char *name, const buf *mod, const graft_store_limits *lim, int32_t arg,
                     uint32_t nparams, graft_result want_r, graft_error_code want_code,
                     const char *want_text, healthy *ok)
{
    outcome o = run(mod, 0, lim, arg, nparams);
    CHECK_EQ_INT(o.r, want_r);
    if (o.code != want_code) fprintf(stderr, "%s: %s\n", name, o.message);
    CHECK_EQ_INT(o.code, want_code);
    CHECK(strstr(o.message, want_text) != NULL);
    healthy_check(ok);
}

/* ---- The cases ---------------------------------------------------------------- */

static const graft_store_limits small_stack = {.max_stack_slots = 1u << 14};

static void test_huge_table(healthy *ok)
{
    buf code = {0}, mod = {0};
    put(&code, "\x00\xFC\x10\x00\x0B", 5); /* no locals; table.size 0; end */
    spec sp = {.code = &code, .table_min = 1000000};
    build(&mod, &sp);
    budget_sides("huge table", &mod, &small_stack, 0, 0, 1000000, ok);
    graft_store_limits lim = small_stack;
    lim.max_table_elems = 500000;
    cap_side("huge table", &mod, &lim, 0, 0, GRAFT_ERR_RESOURCE, GRAFT_E_LIMIT_EXCEEDED,
             "limit of 500000 elements", ok);
    free(code.b);
    free(mod.b);
}

static void test_nested_blocks(healthy *ok)
{
    enum { DEPTH = 10000 };
    buf code = {0}, mod = {0};
    put1(&code, 0);
    for (int i = 0; i < DEPTH; i++) put(&code, "\x02\x40", 2);
    put1(&code, 0x0C), putu(&code, DEPTH - 1); /* br out of every block */
    for (int i = 0; i < DEPTH; i++) put1(&code, 0x0B);
    put(&code, "\x41\x2A\x0B", 3); /* i32.const 42; end */
    spec sp = {.code = &code};
    build(&mod, &sp);
    budget_sides("nested blocks", &mod, &small_stack, 0, 0, 42, ok);
    free(code.b);
    free(mod.b);
}

static void test_many_locals(healthy *ok)
{
    enum { LOCALS = 50000 };
    buf code = {0}, mod = {0};
    putu(&code, 1), putu(&code, LOCALS), put1(&code, 0x7F);
    put1(&code, 0x20), putu(&code, 0);          /* local.get 0 (the parameter) */
    put1(&code, 0x21), putu(&code, LOCALS);     /* local.set 50000 */
    put1(&code, 0x20), putu(&code, LOCALS);     /* local.get 50000 */
    put1(&code, 0x20), putu(&code, LOCALS / 2); /* local.get 25000: zero */
    put(&code, "\x6A\x0B", 2);                  /* i32.add; end */
    spec sp = {.nparams = 1, .code = &code};
    build(&mod, &sp);
    graft_store_limits lim = {.max_stack_slots = 60000};
    budget_sides("50,000 locals", &mod, &lim, 1234, 1, 1234, ok);
    lim.max_stack_slots = 40000;
    cap_side("50,000 locals", &mod, &lim, 1234, 1, GRAFT_ERR_TRAP, GRAFT_E_TRAP_STACK_EXHAUSTED,
             "call stack exhausted", ok);
    free(code.b);
    free(mod.b);
}

static void test_big_data(healthy *ok)
{
    const size_t len = (size_t)100 << 20;
    buf code = {0}, mod = {0};
    put(&code, "\x00\x20\x00\x2D\x00\x00\x0B", 7); /* local.get 0; i32.load8_u; end */
    spec sp = {.nparams = 1, .code = &code, .mem_min = (uint32_t)(len >> 16), .data_len = len};
    build(&mod, &sp);
    int32_t at = (int32_t)(len - 1);
    budget_sides("100 MiB data", &mod, &small_stack, at, 1, data_byte(len - 1), ok);
    graft_store_limits lim = small_stack;
    lim.max_memory_pages = 1000;
    cap_side("100 MiB data", &mod, &lim, at, 1, GRAFT_ERR_RESOURCE, GRAFT_E_LIMIT_EXCEEDED,
             "limit of 1000 pages", ok);
    free(code.b);
    free(mod.b);
}

/* Declared sizes far beyond a 64 MiB budget: 4 GiB of memory, then
 * 10,000,000 table elements (80 MB of entries). */
static void test_declared_over_budget(healthy *ok)
{
    buf code = {0}, mod = {0};
    put(&code, "\x00\x41\x00\x0B", 4);
    spec mem = {.code = &code, .mem_min = 65536};
    spec tab = {.code = &code, .table_min = 10000000};
    const spec *cases[] = {&mem, &tab};
    for (int i = 0; i < 2; i++) {
        build(&mod, cases[i]);
        outcome o = run(&mod, (size_t)64 << 20, &small_stack, 0, 0);
        CHECK_EQ_INT(o.r, GRAFT_ERR_RESOURCE);
        CHECK_EQ_INT(o.code, GRAFT_E_BUDGET_EXHAUSTED);
        CHECK(strstr(o.message, "budget of 67108864 bytes") != NULL);
        healthy_check(ok);
    }
    free(code.b);
    free(mod.b);
}

int main(void)
{
    graft_env *env;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    healthy ok;
    healthy_new(&ok, env);
    healthy_check(&ok);
    test_huge_table(&ok);
    test_nested_blocks(&ok);
    test_many_locals(&ok);
    test_big_data(&ok);
    test_declared_over_budget(&ok);
    healthy_free(&ok);
    graft_env_free(env);
    TEST_MAIN_END();
}
