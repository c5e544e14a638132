/* hostile.c - guests that try to hang, exhaust or escape the sandbox
 * (tests/fault/wat/hostile.wat) end with a clean, specific error, while a
 * healthy guest in the same process keeps computing correctly between
 * every case (sandbox.h).
 *
 * The cases: an infinite loop and a host-call storm stopped by a deadline
 * (an interrupt from another thread) and by fuel (trap mode; suspend mode,
 * topped up a few times, then abandoned), a host function that waits until
 * graft_caller_interrupted says the deadline passed, infinite recursion, memory.grow and
 * table.grow in a loop against store caps below the declared maxima and
 * against the env budget, modules whose declared minimum exceeds a cap,
 * and every kind of out-of-bounds access at its exact boundary. */
#include <graft.h>

#include "env.h"
#include "sandbox.h"

#define PAGE 65536u

typedef struct hostile {
    graft_module *module;
    graft_store *store;
    graft_instance *inst;
    uint64_t ticks;           /* host "tick" calls */
    int slow_tick;            /* tick waits until the store is interrupted */
} hostile;

/* Wait (at most about 10 s) until the store's interrupt flag is set, then
 * fail the call. */
static graft_result wait_for_interrupt(graft_caller *c)
{
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < 10000 && !graft_caller_interrupted(c); i++) nanosleep(&ms, NULL);
    if (!graft_caller_interrupted(c)) return graft_caller_trap(c, "never interrupted");
    CHECK(graft_caller_interrupted(c));   /* reading does not clear the flag */
    return graft_caller_trap(c, "tick: deadline passed");
}

static graft_result host_tick(graft_caller *c, graft_slot *slots, void *user)
{
    hostile *h = user;
    h->ticks++;
    if (h->slow_tick) return wait_for_interrupt(c);
    slots[0].i32 += 1;
    return GRAFT_OK;
}

static const graft_valtype i32_type[] = {GRAFT_I32};

/* A fresh store (with these limits) and instance of the hostile module. */
static graft_result hostile_new(hostile *h, graft_env *env, const graft_store_limits *lim)
{
    static const graft_functype tick = {i32_type, 1, i32_type, 1};
    h->ticks = 0;
    h->slow_tick = 0;
    h->inst = NULL;
    if (graft_store_new(env, lim, &h->store) != GRAFT_OK) return GRAFT_ERR_RESOURCE;
    if (graft_store_define_func(h->store, "host", "tick", &tick, host_tick, h) != GRAFT_OK)
        return GRAFT_ERR_RESOURCE;
    return graft_instance_new(h->store, h->module, &h->inst);
}

static graft_result call0(hostile *h, const char *name)
{
    return graft_call(graft_instance_func(h->inst, name), NULL, 0, NULL, 0);
}

/* Call name(args...) expecting nres results in out; returns the result. */
static graft_result calln(hostile *h, const char *name, const int32_t *args, size_t nargs,
                          graft_val *out, size_t nres)
{
    graft_val a[3];
    for (size_t i = 0; i < nargs; i++) a[i] = (graft_val){.type = GRAFT_I32, .of.i32 = args[i]};
    graft_func *f = graft_instance_func(h->inst, name);
    CHECK(f != NULL);
    if (!f) return GRAFT_ERR_API;
    return graft_call(f, a, nargs, out, nres);
}

static void expect_trap(hostile *h, graft_result r, graft_error_code code, const char *what)
{
    CHECK_EQ_INT(r, GRAFT_ERR_TRAP);
    if (graft_store_error(h->store)->code != code)
        fprintf(stderr, "%s: got '%s'\n", what, graft_store_error(h->store)->message);
    CHECK_EQ_INT(graft_store_error(h->store)->code, code);
}

/* ---- Hangs ----------------------------------------------------------------- */

static void test_deadlines(hostile *h, healthy *ok)
{
    interrupter it;
    interrupter_start(&it, h->store, 20);
    expect_trap(h, call0(h, "spin"), GRAFT_E_TRAP_INTERRUPTED, "spin");
    interrupter_join(&it);
    CHECK_PREFIX(graft_store_error(h->store)->message, "interrupted");
    healthy_check(ok);

    interrupter_start(&it, h->store, 20);
    expect_trap(h, call0(h, "storm"), GRAFT_E_TRAP_INTERRUPTED, "storm");
    interrupter_join(&it);
    CHECK(h->ticks > 1000);
    healthy_check(ok);

    /* the store is usable after an interrupt */
    graft_val r;
    CHECK_EQ_INT(calln(h, "i32.load8_u", (int32_t[]){0}, 1, &r, 1), GRAFT_OK);
    healthy_check(ok);
}

/* A host function that sees the deadline through graft_caller_interrupted
 * and fails the call; the flag is answered, so the next call runs. */
static void test_host_sees_interrupt(hostile *h, healthy *ok)
{
    interrupter it;
    h->slow_tick = 1;
    h->ticks = 0;
    interrupter_start(&it, h->store, 20);
    expect_trap(h, call0(h, "storm"), GRAFT_E_TRAP_HOST, "slow storm");
    interrupter_join(&it);
    h->slow_tick = 0;
    CHECK_EQ_U64(h->ticks, 1);
    CHECK(strstr(graft_store_error(h->store)->message, "tick: deadline passed") != NULL);
    healthy_check(ok);
    /* the interrupt was answered: a loop under fuel runs out of fuel */
    graft_store_set_fuel(h->store, GRAFT_FUEL_TRAP, 1000);
    expect_trap(h, call0(h, "spin"), GRAFT_E_TRAP_OUT_OF_FUEL, "spin after host interrupt");
    graft_store_set_fuel(h->store, GRAFT_FUEL_OFF, 0);
    healthy_check(ok);
}

/* Run name in suspend mode: it suspends, is topped up and resumed a few
 * times (suspending again each time, the healthy guest checked between),
 * then abandoned. */
static void suspend_and_abandon(hostile *h, healthy *ok, const char *name)
{
    graft_store_set_fuel(h->store, GRAFT_FUEL_SUSPEND, 10000);
    CHECK_EQ_INT(call0(h, name), GRAFT_SUSPENDED);
    CHECK_EQ_U64(graft_store_fuel(h->store), 0);
    healthy_check(ok);
    for (int i = 0; i < 3; i++) {
        uint64_t ticks = h->ticks;
        graft_store_add_fuel(h->store, 5000);
        CHECK_EQ_INT(graft_resume(h->store, NULL, 0), GRAFT_SUSPENDED);
        CHECK_EQ_U64(graft_store_fuel_consumed(h->store), 10000 + 5000 * (uint64_t)(i + 1));
        if (strcmp(name, "storm") == 0) CHECK(h->ticks > ticks);
        healthy_check(ok);
    }
    /* while suspended, new calls are refused */
    CHECK_EQ_INT(call0(h, "spin"), GRAFT_ERR_API);
    graft_abandon(h->store);
    CHECK_EQ_INT(graft_resume(h->store, NULL, 0), GRAFT_ERR_API);
    healthy_check(ok);
}

/* The infinite loop and the host-call storm under fuel. */
static void test_fuel(hostile *h, healthy *ok)
{
    graft_store_set_fuel(h->store, GRAFT_FUEL_TRAP, 1000000);
    expect_trap(h, call0(h, "spin"), GRAFT_E_TRAP_OUT_OF_FUEL, "spin");
    CHECK_PREFIX(graft_store_error(h->store)->message, "out of fuel");
    CHECK(graft_store_fuel(h->store) < 1000000);
    healthy_check(ok);
    h->ticks = 0;
    graft_store_set_fuel(h->store, GRAFT_FUEL_TRAP, 1000000);
    expect_trap(h, call0(h, "storm"), GRAFT_E_TRAP_OUT_OF_FUEL, "storm");
    CHECK(h->ticks > 1000);
    healthy_check(ok);

    suspend_and_abandon(h, ok, "spin");
    suspend_and_abandon(h, ok, "storm");

    /* the store is usable after fuel, metered or not */
    graft_val r;
    graft_store_set_fuel(h->store, GRAFT_FUEL_TRAP, 1000);
    CHECK_EQ_INT(calln(h, "i32.load8_u", (int32_t[]){0}, 1, &r, 1), GRAFT_OK);
    graft_store_set_fuel(h->store, GRAFT_FUEL_OFF, 0);
    CHECK_EQ_INT(calln(h, "i32.load8_u", (int32_t[]){0}, 1, &r, 1), GRAFT_OK);
    healthy_check(ok);
}

static void test_recursion(hostile *h, healthy *ok)
{
    expect_trap(h, call0(h, "rec"), GRAFT_E_TRAP_STACK_EXHAUSTED, "rec");
    CHECK_PREFIX(graft_store_error(h->store)->message, "call stack exhausted");
    healthy_check(ok);
}

/* ---- Growth against caps and the budget -------------------------------- */

static void test_grow_caps(graft_env *env, hostile *h, healthy *ok)
{
    graft_store_limits lim = {.max_memory_pages = 4, .max_table_elems = 6};
    CHECK_EQ_INT(hostile_new(h, env, &lim), GRAFT_OK);
    graft_val r;
    /* declared max 100, store cap 4: three grows succeed, then -1s */
    CHECK_EQ_INT(calln(h, "grow_loop", NULL, 0, &r, 1), GRAFT_OK);
    CHECK_EQ_INT(r.of.i32, 3);
    CHECK_EQ_U64(graft_memory_size(graft_instance_memory(h->inst)), 4 * PAGE);
    healthy_check(ok);
    /* table declared max 10, store cap 6 */
    CHECK_EQ_INT(calln(h, "table_grow", (int32_t[]){2}, 1, &r, 1), GRAFT_OK);
    CHECK_EQ_INT(r.of.i32, 4);
    CHECK_EQ_INT(calln(h, "table_grow", (int32_t[]){1}, 1, &r, 1), GRAFT_OK);
    CHECK_EQ_INT(r.of.i32, -1);
    CHECK_EQ_INT(calln(h, "table_grow", (int32_t[]){0}, 1, &r, 1), GRAFT_OK);
    CHECK_EQ_INT(r.of.i32, 6);
    healthy_check(ok);
    /* the API's grow names the cap */
    uint32_t old;
    CHECK_EQ_INT(graft_memory_grow(graft_instance_memory(h->inst), 1, &old), GRAFT_ERR_RESOURCE);
    CHECK_EQ_INT(graft_store_error(h->store)->code, GRAFT_E_LIMIT_EXCEEDED);
    graft_store_free(h->store);
}

/* A budget below the store cap: memory.grow stops at the budget with -1s,
 * and the API reports the budget by name. */
static void test_grow_budget(hostile *h, healthy *ok, const uint8_t *bytes, size_t len)
{
    graft_env *env;
    graft_env_config cfg = {.budget = 1u << 20};
    CHECK_EQ_INT(graft_env_new(&cfg, &env), GRAFT_OK);
    graft_module *saved = h->module;
    h->module = load_ok(env, bytes, len, "hostile.wasm");
    graft_store_limits lim = {.max_stack_slots = 4096, .max_call_depth = 100};
    CHECK_EQ_INT(hostile_new(h, env, &lim), GRAFT_OK);
    graft_val r;
    CHECK_EQ_INT(calln(h, "grow_loop", NULL, 0, &r, 1), GRAFT_OK);
    CHECK(r.of.i32 >= 1 && r.of.i32 < 16);
    healthy_check(ok);
    uint32_t old;
    CHECK_EQ_INT(graft_memory_grow(graft_instance_memory(h->inst), 1, &old), GRAFT_ERR_RESOURCE);
    CHECK_EQ_INT(graft_store_error(h->store)->code, GRAFT_E_BUDGET_EXHAUSTED);
    CHECK_PREFIX(graft_store_error(h->store)->message, "allocation budget exhausted");
    CHECK(strstr(graft_store_error(h->store)->message, "budget of 1048576 bytes") != NULL);
    graft_store_free(h->store);
    graft_module_free(h->module);
    h->module = saved;
    graft_env_free(env);
    healthy_check(ok);
}

/* A module declaring (memory min) or (table min) above the store's cap
 * fails to instantiate, naming the limit. */
static void test_declared_over_cap(graft_env *env, healthy *ok)
{
    static const uint8_t mem8[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 8};
    static const uint8_t tab100[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 4, 4, 1, 0x70, 0, 100};
    graft_store_limits lim = {.max_memory_pages = 4, .max_table_elems = 50};
    const uint8_t *mods[] = {mem8, tab100};
    size_t lens[] = {sizeof mem8, sizeof tab100};
    const char *names[] = {"exceeds the limit of 4 pages", "exceeds the limit of 50 elements"};
    for (int i = 0; i < 2; i++) {
        graft_module *m = load_ok(env, mods[i], lens[i], "over-cap module");
        graft_store *s;
        graft_instance *inst;
        CHECK_EQ_INT(graft_store_new(env, &lim, &s), GRAFT_OK);
        CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_ERR_RESOURCE);
        CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_LIMIT_EXCEEDED);
        CHECK(strstr(graft_store_error(s)->message, names[i]) != NULL);
        graft_store_free(s);
        graft_module_free(m);
        healthy_check(ok);
    }
}

/* ---- Out-of-bounds accesses -------------------------------------------- */

static void test_loads_stores(hostile *h, healthy *ok)
{
    static const struct { const char *name; int32_t width; int store; } acc[] = {
        {"i32.load", 4, 0},     {"i32.load8_s", 1, 0},  {"i32.load8_u", 1, 0},
        {"i32.load16_s", 2, 0}, {"i32.load16_u", 2, 0}, {"i64.load", 8, 0},
        {"i64.load8_s", 1, 0},  {"i64.load8_u", 1, 0},  {"i64.load16_s", 2, 0},
        {"i64.load16_u", 2, 0}, {"i64.load32_s", 4, 0}, {"i64.load32_u", 4, 0},
        {"f32.load", 4, 0},     {"f64.load", 8, 0},     {"i32.store", 4, 1},
        {"i32.store8", 1, 1},   {"i32.store16", 2, 1},  {"i64.store", 8, 1},
        {"i64.store8", 1, 1},   {"i64.store16", 2, 1},  {"i64.store32", 4, 1},
        {"f32.store", 4, 1},    {"f64.store", 8, 1},
    };
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++) {
        graft_val r;
        size_t nres = acc[i].store ? 0 : 1;
        int32_t last = (int32_t)PAGE - acc[i].width;
        CHECK_EQ_INT(calln(h, acc[i].name, &last, 1, &r, nres), GRAFT_OK);
        int32_t bad[] = {last + 1, (int32_t)PAGE, -1, INT32_MIN};
        for (int k = 0; k < 4; k++)
            expect_trap(h, calln(h, acc[i].name, &bad[k], 1, &r, nres), GRAFT_E_TRAP_MEMORY_OOB,
                        acc[i].name);
    }
    graft_val r;
    expect_trap(h, calln(h, "load_offset", (int32_t[]){0}, 1, &r, 1), GRAFT_E_TRAP_MEMORY_OOB,
                "load_offset");
    healthy_check(ok);
}

typedef struct bulk_case {
    const char *name;
    int32_t args[3];
    graft_error_code want;   /* 0: succeeds */
} bulk_case;

static void test_bulk(hostile *h, healthy *ok)
{
    const int32_t P = (int32_t)PAGE;
    const bulk_case cases[] = {
        {"memory.fill", {P - 10, 0x55, 10}, 0},
        {"memory.fill", {P - 10, 0x55, 11}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.fill", {P, 0, 0}, 0},
        {"memory.fill", {P + 1, 0, 0}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.fill", {0, 0, -1}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.copy", {0, P - 7, 7}, 0},
        {"memory.copy", {0, P - 7, 8}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.copy", {P - 7, 0, 8}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.copy", {-1, 0, 1}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.init", {P - 7, 0, 7}, 0},
        {"memory.init", {P - 6, 0, 7}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.init", {0, 1, 7}, GRAFT_E_TRAP_MEMORY_OOB},
        {"memory.init", {0, 8, 0}, GRAFT_E_TRAP_MEMORY_OOB},
        {"table.get", {3}, 0},
        {"table.get", {4}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.get", {-1}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.set", {4}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.fill", {2, 2}, 0},
        {"table.fill", {3, 2}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.fill", {5, 0}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.copy", {0, 2, 2}, 0},
        {"table.copy", {0, 3, 2}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.copy", {3, 0, 2}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.init", {2, 0, 2}, 0},
        {"table.init", {3, 0, 2}, GRAFT_E_TRAP_TABLE_OOB},
        {"table.init", {0, 1, 2}, GRAFT_E_TRAP_TABLE_OOB},
        {"call_indirect", {2}, 0},
        {"call_indirect", {0}, GRAFT_E_TRAP_UNINIT_ELEM},
        {"call_indirect", {4}, GRAFT_E_TRAP_UNDEFINED_ELEM},
        {"call_indirect", {-1}, GRAFT_E_TRAP_UNDEFINED_ELEM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bulk_case *c = &cases[i];
        graft_func *f = graft_instance_func(h->inst, c->name);
        graft_functype ft;
        graft_func_type(f, &ft);
        graft_val r;
        graft_result got = calln(h, c->name, c->args, ft.nparams, &r, ft.nresults);
        if (c->want)
            expect_trap(h, got, c->want, c->name);
        else if (got != GRAFT_OK)
            fprintf(stderr, "%s case %zu: %s\n", c->name, i, graft_store_error(h->store)->message);
        if (!c->want)
            CHECK_EQ_INT(got, GRAFT_OK);
    }
    /* the fill of 10 bytes at the end landed, the refused fill of 11 wrote
     * nothing past it, and memory.init overwrote the last 7 */
    const uint8_t *mem = graft_memory_data(graft_instance_memory(h->inst));
    CHECK_EQ_INT(mem[PAGE - 10], 0x55);
    CHECK_EQ_INT(mem[PAGE - 11], 0);
    CHECK_EQ_INT(mem[PAGE - 1], 'e');
    healthy_check(ok);
}

int main(void)
{
    graft_env *env;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    healthy ok;
    healthy_new(&ok, env);
    healthy_check(&ok);

    size_t len;
    uint8_t *bytes = read_wasm("hostile.wasm", &len);
    hostile h;
    h.module = load_ok(env, bytes, len, "hostile.wasm");
    graft_store_limits lim = {.max_call_depth = 1000, .max_stack_slots = 1u << 16};
    CHECK_EQ_INT(hostile_new(&h, env, &lim), GRAFT_OK);
    test_deadlines(&h, &ok);
    test_fuel(&h, &ok);
    test_host_sees_interrupt(&h, &ok);
    test_recursion(&h, &ok);
    test_loads_stores(&h, &ok);
    test_bulk(&h, &ok);
    graft_store_free(h.store);

    test_grow_caps(env, &h, &ok);
    test_grow_budget(&h, &ok, bytes, len);
    test_declared_over_cap(env, &ok);

    graft_module_free(h.module);
    free(bytes);
    healthy_free(&ok);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
    TEST_MAIN_END();
}
