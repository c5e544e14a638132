/* limits.c - the engine's bounds on a guest that never stops: fuel in trap
 * mode (one unit per WebAssembly instruction), the interrupt flag, and call-stack exhaustion, each followed by a healthy
 * call on the same store to show that the store stays usable. */
#include <graft.h>

#include "harness.h"
#include "runtime.h"

/* (module (func (export "spin") (loop (br 0)))
 *         (func (export "rec") (call 1))
 *         (func (export "one") (result i32) (i32.const 1))) */
static const uint8_t spin_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f,
    0x03, 0x04, 0x03, 0x00, 0x00, 0x01,
    0x07, 0x14, 0x03, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00, 0x03, 'r', 'e', 'c', 0x00, 0x01,
    0x03, 'o', 'n', 'e', 0x00, 0x02,
    0x0a, 0x13, 0x03, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 0x04, 0x00, 0x10, 0x01,
    0x0b, 0x04, 0x00, 0x41, 0x01, 0x0b};

static void healthy(graft_instance *inst)
{
    graft_val r;
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "one"), NULL, 0, &r, 1), GRAFT_OK);
    CHECK_EQ_INT(r.of.i32, 1);
}

int main(void)
{
    graft_env *env;
    graft_module *m;
    graft_store *s;
    graft_instance *inst;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    graft_result r = graft_module_load(env, spin_wasm, sizeof spin_wasm, &m);
    CHECK_EQ_INT(r, GRAFT_OK);
    if (r != GRAFT_OK) {
        fprintf(stderr, "load: %s\n", graft_env_error(env)->message);
        TEST_MAIN_END();
    }
    graft_store_limits lim = {500, 1 << 16, 0, 0};
    CHECK_EQ_INT(graft_store_new(env, &lim, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_OK);

    /* Fuel stops an infinite loop: the entry block pays for `loop`, each
     * pass of the body for `br 0`, so 1000 units run 999 passes and the
     * 1000th stops with nothing left. */
    graft_store_set_fuel(s, GRAFT_FUEL_TRAP, 1000);
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "spin"), NULL, 0, NULL, 0), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    CHECK_EQ_U64(graft_store_fuel(s), 0);
    CHECK_EQ_U64(graft_store_fuel_consumed(s), 1000);
    graft_store_set_fuel(s, GRAFT_FUEL_OFF, 0);
    healthy(inst);

    /* An interrupt set before the call stops it at the first check. */
    graft_store_interrupt(s);
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "spin"), NULL, 0, NULL, 0), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_INTERRUPTED);
    CHECK_PREFIX(graft_store_error(s)->message, "interrupted");
    healthy(inst);

    /* Unbounded recursion ends at the configured depth. */
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "rec"), NULL, 0, NULL, 0), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_STACK_EXHAUSTED);
    CHECK_PREFIX(graft_store_error(s)->message, "call stack exhausted");
    CHECK(graft_store_error(s)->backtrace[0] != 0);
    healthy(inst);

    graft_store_free(s);
    graft_module_free(m);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    graft_env_free(env);
    TEST_MAIN_END();
}
