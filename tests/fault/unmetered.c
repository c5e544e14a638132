/* unmetered.c - modules compiled without fuel charges
 * (graft_env_config.unmetered; docs/engine.md, "Fuel"): they compute the
 * same results as metered ones, still stop at a deadline (loops keep their
 * interrupt check), consume no fuel, and a store with fuel on refuses them
 * at graft_call, graft_resume and graft_instance_new, naming the module.
 * A healthy guest of a metered env runs beside every case. */
#include <graft.h>

#include "sandbox.h"

static graft_result call_work(graft_instance *inst, int32_t n, int32_t *out)
{
    graft_val arg = {.type = GRAFT_I32, .of.i32 = n}, res;
    graft_result r = graft_call(graft_instance_func(inst, "work"), &arg, 1, &res, 1);
    if (r == GRAFT_OK) *out = res.of.i32;
    return r;
}

static void expect_refused(graft_store *s, graft_result r)
{
    CHECK_EQ_INT(r, GRAFT_ERR_API);
    CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_BAD_ARGUMENT);
    CHECK(strstr(graft_store_error(s)->message, "unmetered module") != NULL);
}

/* Same results as metered, no fuel consumed, refused while fuel is on. */
static void test_results_and_refusal(graft_env *uenv, const graft_module *um, healthy *ok)
{
    graft_store *s;
    graft_instance *inst;
    int32_t got = 0;
    CHECK_EQ_INT(graft_store_new(uenv, NULL, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, um, &inst), GRAFT_OK);
    CHECK_EQ_INT(call_work(inst, 1000, &got), GRAFT_OK);
    CHECK_EQ_INT(got, 499500);
    CHECK_EQ_U64(graft_store_fuel_consumed(s), 0);
    healthy_check(ok);

    graft_store_set_fuel(s, GRAFT_FUEL_TRAP, 1000000);
    expect_refused(s, call_work(inst, 10, &got));
    graft_store_set_fuel(s, GRAFT_FUEL_SUSPEND, 1000000);
    expect_refused(s, call_work(inst, 10, &got));
    expect_refused(s, graft_resume(s, NULL, 0));
    graft_instance *again = NULL;
    expect_refused(s, graft_instance_new(s, um, &again));
    CHECK(again == NULL);
    healthy_check(ok);

    graft_store_set_fuel(s, GRAFT_FUEL_OFF, 0);
    CHECK_EQ_INT(call_work(inst, 100, &got), GRAFT_OK);
    CHECK_EQ_INT(got, 4950);
    graft_store_free(s);
    healthy_check(ok);
}

/* A store of a metered env with fuel on refuses to instantiate it; a
 * store that holds it refuses metered calls too while fuel is on. */
static void test_mixed_store(graft_env *env, const graft_module *um, healthy *ok)
{
    graft_store *s;
    graft_instance *inst = NULL;
    int32_t got = 0;
    CHECK_EQ_INT(graft_store_new(env, NULL, &s), GRAFT_OK);
    graft_store_set_fuel(s, GRAFT_FUEL_TRAP, 1000000);
    expect_refused(s, graft_instance_new(s, um, &inst));
    CHECK(graft_store_error(s)->message[0] != '\0');
    CHECK(strstr(graft_store_error(s)->message, "instantiating") != NULL);
    CHECK_EQ_INT(call_work(ok->inst, 10, &got), GRAFT_OK);   /* another store: fine */
    graft_store_set_fuel(s, GRAFT_FUEL_OFF, 0);
    CHECK_EQ_INT(graft_instance_new(s, um, &inst), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, ok->module, &inst), GRAFT_OK);   /* metered */
    graft_store_set_fuel(s, GRAFT_FUEL_TRAP, 1000000);
    expect_refused(s, call_work(inst, 10, &got));
    CHECK(strstr(graft_store_error(s)->message, "holds") != NULL);
    graft_store_free(s);
    healthy_check(ok);
}

static graft_result host_tick(graft_caller *c, graft_slot *slots, void *user)
{
    (void)c, (void)user;
    slots[0].i32 += 1;
    return GRAFT_OK;
}

/* An unmetered infinite loop still stops at a deadline. */
static void test_deadline(graft_env *uenv, healthy *ok)
{
    size_t len;
    uint8_t *bytes = read_wasm("hostile.wasm", &len);
    graft_module *m = load_ok(uenv, bytes, len, "hostile.wasm");
    free(bytes);
    graft_store *s;
    graft_instance *inst;
    static const graft_valtype i32[] = {GRAFT_I32};
    static const graft_functype tick = {i32, 1, i32, 1};
    CHECK_EQ_INT(graft_store_new(uenv, NULL, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_store_define_func(s, "host", "tick", &tick, host_tick, NULL), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_OK);
    interrupter it;
    interrupter_start(&it, s, 20);
    CHECK_EQ_INT(graft_call(graft_instance_func(inst, "spin"), NULL, 0, NULL, 0), GRAFT_ERR_TRAP);
    interrupter_join(&it);
    CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_INTERRUPTED);
    graft_store_free(s);
    graft_module_free(m);
    healthy_check(ok);
}

int main(void)
{
    graft_env *env, *uenv;
    graft_env_config ucfg = {.unmetered = true};
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    CHECK_EQ_INT(graft_env_new(&ucfg, &uenv), GRAFT_OK);
    healthy ok;
    healthy_new(&ok, env);
    healthy_check(&ok);

    size_t len;
    uint8_t *bytes = read_wasm("healthy.wasm", &len);
    graft_module *um = load_ok(uenv, bytes, len, "healthy.wasm (unmetered)");
    free(bytes);
    size_t metered_code, unmetered_code, wasm;
    graft_module_code_size(ok.module, &metered_code, &wasm);
    graft_module_code_size(um, &unmetered_code, &wasm);
    CHECK(unmetered_code < metered_code);   /* the charges are gone */

    test_results_and_refusal(uenv, um, &ok);
    test_mixed_store(env, um, &ok);
    test_deadline(uenv, &ok);

    graft_module_free(um);
    healthy_free(&ok);
    graft_env_free(uenv);
    graft_env_free(env);
    TEST_MAIN_END();
}
