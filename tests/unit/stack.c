/* stack.c - the store's value stack when its limit is larger than the
 * env's budget or allocator can give (issue 11: `--max-stack 32G` failed
 * with out of memory at the first call). The stack is allocated once and
 * never moves; a limit above the default (1 Mi cells) gets the largest
 * halving of it that is granted, and a frame past that traps `call stack
 * exhausted` like one past the configured limit, on a store that stays
 * usable. A limit up to the default is paid in full or fails for memory
 * (tests/unit/runtime.c, tests/fault/heavy.c). */
#include <graft.h>

#include "harness.h"
#include "runtime.h"

/* (module
 *   (func $r (export "rec") (local i64 x1000) (call $r))
 *   (func $d (export "down") (param i32) (result i32) (local i64 x1000)
 *     (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
 *       (else (call $d (i32.sub (local.get 0) (i32.const 1))))))
 *   (func (export "one") (result i32) (i32.const 1)))
 * Frames of about 1000 cells: 10,000 of them (the default call depth)
 * need 80 MB, past the budget below. */
static const uint8_t big_frames_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0d, 0x03, 0x60,
    0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x03,
    0x04, 0x03, 0x00, 0x01, 0x02, 0x07, 0x14, 0x03, 0x03, 0x72, 0x65, 0x63,
    0x00, 0x00, 0x04, 0x64, 0x6f, 0x77, 0x6e, 0x00, 0x01, 0x03, 0x6f, 0x6e,
    0x65, 0x00, 0x02, 0x0a, 0x24, 0x03, 0x07, 0x01, 0xe8, 0x07, 0x7e, 0x10,
    0x00, 0x0b, 0x15, 0x01, 0xe8, 0x07, 0x7e, 0x20, 0x00, 0x45, 0x04, 0x7f,
    0x41, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x01, 0x0b, 0x0b,
    0x04, 0x00, 0x41, 0x01, 0x0b};

#define BUDGET (64u << 20)

static graft_result call_i32(graft_instance *inst, const char *name, int32_t arg, int nargs,
                             int32_t *out)
{
    graft_val a = {.type = GRAFT_I32, .of.i32 = arg}, r = {0};
    graft_result rc = graft_call(graft_instance_func(inst, name), &a, (size_t)nargs, &r, 1);
    *out = r.of.i32;
    return rc;
}

/* The module in a store whose stack limit is nslots, on env; NULL when
 * something failed. The module must outlive the store. */
static graft_instance *instance(graft_env *env, uint32_t nslots, graft_module **out_module,
                                graft_store **out_store)
{
    graft_module *m = NULL;
    graft_store *s = NULL;
    graft_instance *inst = NULL;
    *out_store = NULL;
    *out_module = NULL;
    graft_store_limits lim = {0, nslots, 0, 0};
    CHECK_EQ_INT(graft_module_load(env, big_frames_wasm, sizeof big_frames_wasm, &m), GRAFT_OK);
    if (!m) return NULL;
    CHECK_EQ_INT(graft_store_new(env, &lim, &s), GRAFT_OK);
    if (s) CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_OK);
    *out_module = m;
    *out_store = s;
    return inst;
}

/* A 32 GiB limit (UINT32_MAX cells) on a 64 MiB budget: the calls that
 * fit run, the recursion that does not traps, and the store goes on. */
static void test_limit_past_budget(void)
{
    graft_env_config cfg = {.budget = BUDGET};
    graft_env *env;
    graft_store *s;
    graft_module *m;
    CHECK_EQ_INT(graft_env_new(&cfg, &env), GRAFT_OK);
    graft_instance *inst = instance(env, UINT32_MAX, &m, &s);
    int32_t v = -1;
    if (inst) {
        CHECK_EQ_INT(call_i32(inst, "down", 100, 1, &v), GRAFT_OK);   /* 100 frames: 800 KB */
        CHECK_EQ_INT(v, 0);
        CHECK(s->limits.max_stack_slots < UINT32_MAX);
        CHECK((uint64_t)s->limits.max_stack_slots * 8 <= BUDGET);
        CHECK(s->limits.max_stack_slots >= 100 * 1002);
        CHECK_EQ_INT(graft_call(graft_instance_func(inst, "rec"), NULL, 0, NULL, 0),
                     GRAFT_ERR_TRAP);
        CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_STACK_EXHAUSTED);
        CHECK_EQ_INT(call_i32(inst, "one", 0, 0, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 1);
    }
    graft_store_free(s);
    graft_module_free(m);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
}

/* The first call on a store whose stack limit is nslots, with the value
 * stack's allocation refused once or not: its result and the limit after. */
static void first_call(uint32_t nslots, int refuse, graft_result want, uint32_t want_slots)
{
    graft_env *env;
    graft_store *s;
    graft_module *m;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    graft_instance *inst = instance(env, nslots, &m, &s);
    /* The first call allocates the frame stack, then the value stack. */
    if (refuse) graft_env_fail_alloc_after(env, 2);
    int32_t v = -1;
    if (inst) {
        CHECK_EQ_INT(call_i32(inst, "one", 0, 0, &v), want);
        CHECK_EQ_INT(s->limits.max_stack_slots, want_slots);
    }
    graft_store_free(s);
    graft_module_free(m);
    graft_env_free(env);
}

/* A limit the allocator grants is kept as it is; when the allocator
 * refuses the stack (an injected failure), the next halving is taken, but
 * not below the default: a limit up to it fails the call for memory. */
static void test_limit_granted(void)
{
    first_call(1u << 22, 0, GRAFT_OK, 1u << 22);
    first_call(1u << 22, 1, GRAFT_OK, 1u << 21);
    first_call(1u << 20, 0, GRAFT_OK, 1u << 20);
    first_call(1u << 20, 1, GRAFT_ERR_RESOURCE, 1u << 20);
}

int main(void)
{
    test_limit_past_budget();
    test_limit_granted();
    TEST_MAIN_END();
}
