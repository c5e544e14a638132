/* tailcall.c - the proposals behind feature bits: tail calls
 * (GRAFT_FEATURE_TAIL_CALL) and extended constant expressions
 * (GRAFT_FEATURE_EXTENDED_CONST).
 *
 * Tail calls: deep tail recursion (direct, and mutual through
 * return_call_indirect) runs in constant stack under a call depth limit of
 * 100; return_call_indirect traps as call_indirect does; a tail call into a
 * host function and into another instance return the callee's results; with
 * the bit off the module is malformed (illegal opcode). Extended const:
 * arithmetic over constants and an imported global; with the bit off the
 * module is invalid (constant expression required).
 *
 * The modules were assembled from the WAT shown above each array. */
#include <graft.h>

#include "harness.h"

/* tail.wat (wat2wasm --enable-tail-call --enable-extended-const):
 *
 * (module
 *   (import "host" "add1" (func $add1 (param i64) (result i64)))
 *   (import "other" "twice" (func $twice (param i64) (result i64)))
 *   (type $t (func (param i64 i64) (result i64)))
 *   (table 4 funcref)
 *   (elem (i32.const 0) $count $even $hostwrap)
 *   (func $count (export "count") (param $n i64) (param $acc i64) (result i64)
 *     (if (result i64) (i64.eqz (local.get $n))
 *       (then (local.get $acc))
 *       (else (return_call $count (i64.sub (local.get $n) (i64.const 1))
 *                                 (i64.add (local.get $acc) (i64.const 1))))))
 *   (func $even (export "even") (param $n i64) (param $x i64) (result i64)
 *     (local f64 i32)
 *     (if (result i64) (i64.eqz (local.get $n))
 *       (then (i64.const 1))
 *       (else (return_call $odd (i64.sub (local.get $n) (i64.const 1)) (local.get $x)))))
 *   (func $odd (param $n i64) (param $x i64) (result i64)
 *     (if (result i64) (i64.eqz (local.get $n))
 *       (then (i64.const 0))
 *       (else (return_call_indirect (type $t) (i64.sub (local.get $n) (i64.const 1)) (local.get $x) (i32.const 1)))))
 *   (func (export "indirect") (param i32) (result i64)
 *     (return_call_indirect (type $t) (i64.const 5) (i64.const 0) (local.get 0)))
 *   (func $hostwrap (export "host") (param i64) (result i64)
 *     (return_call $add1 (local.get 0)))
 *   (func (export "cross") (param i64) (result i64)
 *     (return_call $twice (local.get 0)))
 * ) */
static const uint8_t tail_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x03, 0x60,
    0x02, 0x7e, 0x7e, 0x01, 0x7e, 0x60, 0x01, 0x7e, 0x01, 0x7e, 0x60, 0x01,
    0x7f, 0x01, 0x7e, 0x02, 0x1b, 0x02, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x04,
    0x61, 0x64, 0x64, 0x31, 0x00, 0x01, 0x05, 0x6f, 0x74, 0x68, 0x65, 0x72,
    0x05, 0x74, 0x77, 0x69, 0x63, 0x65, 0x00, 0x01, 0x03, 0x07, 0x06, 0x00,
    0x00, 0x00, 0x02, 0x01, 0x01, 0x04, 0x04, 0x01, 0x70, 0x00, 0x04, 0x07,
    0x2a, 0x05, 0x05, 0x63, 0x6f, 0x75, 0x6e, 0x74, 0x00, 0x02, 0x04, 0x65,
    0x76, 0x65, 0x6e, 0x00, 0x03, 0x08, 0x69, 0x6e, 0x64, 0x69, 0x72, 0x65,
    0x63, 0x74, 0x00, 0x05, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x06, 0x05,
    0x63, 0x72, 0x6f, 0x73, 0x73, 0x00, 0x07, 0x09, 0x09, 0x01, 0x00, 0x41,
    0x00, 0x0b, 0x03, 0x02, 0x03, 0x06, 0x0a, 0x64, 0x06, 0x17, 0x00, 0x20,
    0x00, 0x50, 0x04, 0x7e, 0x20, 0x01, 0x05, 0x20, 0x00, 0x42, 0x01, 0x7d,
    0x20, 0x01, 0x42, 0x01, 0x7c, 0x12, 0x02, 0x0b, 0x0b, 0x18, 0x02, 0x01,
    0x7c, 0x01, 0x7f, 0x20, 0x00, 0x50, 0x04, 0x7e, 0x42, 0x01, 0x05, 0x20,
    0x00, 0x42, 0x01, 0x7d, 0x20, 0x01, 0x12, 0x04, 0x0b, 0x0b, 0x17, 0x00,
    0x20, 0x00, 0x50, 0x04, 0x7e, 0x42, 0x00, 0x05, 0x20, 0x00, 0x42, 0x01,
    0x7d, 0x20, 0x01, 0x41, 0x01, 0x13, 0x00, 0x00, 0x0b, 0x0b, 0x0b, 0x00,
    0x42, 0x05, 0x42, 0x00, 0x20, 0x00, 0x13, 0x00, 0x00, 0x0b, 0x06, 0x00,
    0x20, 0x00, 0x12, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x12, 0x01, 0x0b,
};

/* other.wat (wat2wasm --enable-tail-call --enable-extended-const):
 *
 * (module
 *   (memory 1)
 *   (data (i32.const 0) "\02")
 *   (func (export "twice") (param i64) (result i64)
 *     (i64.mul (local.get 0) (i64.load8_u (i32.const 0))))) */
static const uint8_t other_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
    0x01, 0x7e, 0x01, 0x7e, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00,
    0x01, 0x07, 0x09, 0x01, 0x05, 0x74, 0x77, 0x69, 0x63, 0x65, 0x00, 0x00,
    0x0a, 0x0c, 0x01, 0x0a, 0x00, 0x20, 0x00, 0x41, 0x00, 0x31, 0x00, 0x00,
    0x7e, 0x0b, 0x0b, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x02,
};

/* ext.wat (wat2wasm --enable-tail-call --enable-extended-const):
 *
 * (module
 *   (import "host" "g" (global $g i32))
 *   (global (export "a") i32 (i32.add (global.get $g) (i32.mul (i32.const 6) (i32.const 7))))
 *   (global (export "b") i64 (i64.sub (i64.const 10) (i64.mul (i64.const 3) (i64.const 5))))
 *   (global (export "c") i32 (i32.sub (i32.const 0) (global.get $g)))) */
static const uint8_t ext_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x01, 0x67, 0x03, 0x7f, 0x00, 0x06, 0x1f, 0x03,
    0x7f, 0x00, 0x23, 0x00, 0x41, 0x06, 0x41, 0x07, 0x6c, 0x6a, 0x0b, 0x7e,
    0x00, 0x42, 0x0a, 0x42, 0x03, 0x42, 0x05, 0x7e, 0x7d, 0x0b, 0x7f, 0x00,
    0x41, 0x00, 0x23, 0x00, 0x6b, 0x0b, 0x07, 0x0d, 0x03, 0x01, 0x61, 0x03,
    0x01, 0x01, 0x62, 0x03, 0x02, 0x01, 0x63, 0x03, 0x03,
};

static graft_env *new_env(uint32_t features)
{
    graft_env_config cfg = {.features = features};
    graft_env *env = NULL;
    CHECK_EQ_INT(graft_env_new(&cfg, &env), GRAFT_OK);
    return env;
}

static graft_val i64v(int64_t v)
{
    graft_val x;
    x.type = GRAFT_I64;
    x.of.i64 = v;
    return x;
}

static graft_val i32v(int32_t v)
{
    graft_val x;
    x.type = GRAFT_I32;
    x.of.i32 = v;
    return x;
}

/* host.add1: i64 -> i64 */
static graft_result add1(graft_caller *c, graft_slot *slots, void *user)
{
    (void)c;
    (void)user;
    slots[0].i64 = slots[0].i64 + 1;
    return GRAFT_OK;
}

/* Call f with args, expecting one i64 result (or a failure: returns r). */
static graft_result call_i64(graft_func *f, const graft_val *args, size_t nargs, int64_t *out)
{
    graft_val res = i64v(0);
    graft_result r = graft_call(f, args, nargs, &res, 1);
    *out = res.of.i64;
    return r;
}

static void expect_trap(graft_store *s, graft_func *f, int32_t index, graft_error_code code)
{
    graft_val arg = i32v(index);
    int64_t v = 0;
    CHECK_EQ_INT(call_i64(f, &arg, 1, &v), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(s)->code, code);
}

static void test_tail_calls(void)
{
    static const graft_valtype I[] = {GRAFT_I64};
    const graft_functype add1_type = {I, 1, I, 1};
    graft_env *env = new_env(GRAFT_FEATURE_TAIL_CALL);
    graft_store_limits lim = {100, 0, 0, 0};   /* at most 100 frames */
    graft_store *s = NULL;
    graft_module *tail = NULL, *other = NULL;
    graft_instance *oi = NULL, *ti = NULL;
    CHECK_EQ_INT(graft_store_new(env, &lim, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_module_load(env, other_wasm, sizeof other_wasm, &other), GRAFT_OK);
    CHECK_EQ_INT(graft_module_load(env, tail_wasm, sizeof tail_wasm, &tail), GRAFT_OK);
    CHECK_EQ_INT(graft_store_define_func(s, "host", "add1", &add1_type, add1, NULL), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, other, &oi), GRAFT_OK);
    CHECK_EQ_INT(graft_store_define_instance(s, "other", 5, oi), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, tail, &ti), GRAFT_OK);
    if (ti) {
        int64_t v = -1;
        graft_val args[2] = {i64v(10000000), i64v(0)};
        /* 10 million self tail calls with 100 frames allowed. */
        CHECK_EQ_INT(call_i64(graft_instance_func(ti, "count"), args, 2, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 10000000);
        /* Mutual recursion even -> odd -> (indirect) even ..., the callee's
         * frame larger than the caller's (even has two more locals). */
        args[0] = i64v(1000001);
        CHECK_EQ_INT(call_i64(graft_instance_func(ti, "even"), args, 2, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 0);
        args[0] = i64v(1000000);
        CHECK_EQ_INT(call_i64(graft_instance_func(ti, "even"), args, 2, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 1);
        /* return_call_indirect: a hit, and call_indirect's three traps. */
        graft_func *ind = graft_instance_func(ti, "indirect");
        args[0] = i32v(0);
        CHECK_EQ_INT(call_i64(ind, args, 1, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 5);
        expect_trap(s, ind, 2, GRAFT_E_TRAP_INDIRECT_TYPE);
        expect_trap(s, ind, 3, GRAFT_E_TRAP_UNINIT_ELEM);
        expect_trap(s, ind, 4, GRAFT_E_TRAP_UNDEFINED_ELEM);
        /* Into a host function, and into another instance (its memory). */
        args[0] = i64v(41);
        CHECK_EQ_INT(call_i64(graft_instance_func(ti, "host"), args, 1, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 42);
        args[0] = i64v(21);
        CHECK_EQ_INT(call_i64(graft_instance_func(ti, "cross"), args, 1, &v), GRAFT_OK);
        CHECK_EQ_INT(v, 42);
    }
    graft_store_free(s);
    graft_module_free(tail);
    graft_module_free(other);
    graft_env_free(env);
}

static void test_tail_call_off(void)
{
    graft_env *env = new_env(GRAFT_FEATURE_EXTENDED_CONST);   /* tail calls off */
    graft_module *m = NULL;
    CHECK_EQ_INT(graft_module_load(env, tail_wasm, sizeof tail_wasm, &m), GRAFT_ERR_MALFORMED);
    CHECK_EQ_INT(graft_env_error(env)->code, GRAFT_E_ILLEGAL_OPCODE);
    CHECK(m == NULL);
    graft_env_free(env);
}

static int32_t global_i32(graft_instance *inst, const char *name, graft_val *out)
{
    graft_extern e;
    graft_result r = graft_instance_export(inst, name, strlen(name), &e);
    CHECK_EQ_INT(r, GRAFT_OK);
    CHECK_EQ_INT(e.kind, GRAFT_EXTERN_GLOBAL);
    out->of.i64 = 0;
    if (r == GRAFT_OK) graft_global_get(e.of.global, out);
    return out->of.i32;
}

static void test_extended_const(void)
{
    graft_env *env = new_env(GRAFT_FEATURE_EXTENDED_CONST);
    graft_store *s = NULL;
    graft_module *m = NULL;
    graft_instance *inst = NULL;
    graft_global *g = NULL;
    graft_val v;
    CHECK_EQ_INT(graft_store_new(env, NULL, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_module_load(env, ext_wasm, sizeof ext_wasm, &m), GRAFT_OK);
    CHECK_EQ_INT(graft_global_new(s, GRAFT_I32, false, i32v(8), &g), GRAFT_OK);
    graft_extern ge = {.kind = GRAFT_EXTERN_GLOBAL};
    ge.of.global = g;
    CHECK_EQ_INT(graft_store_define(s, "host", 4, "g", 1, ge), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_OK);
    if (inst) {
        CHECK_EQ_INT(global_i32(inst, "a", &v), 8 + 6 * 7);
        global_i32(inst, "b", &v);
        CHECK_EQ_INT(v.of.i64, 10 - 3 * 5);
        CHECK_EQ_INT(global_i32(inst, "c", &v), -8);
    }
    graft_store_free(s);
    graft_module_free(m);
    graft_env_free(env);
}

static void test_extended_const_off(void)
{
    graft_env *env = new_env(GRAFT_FEATURE_TAIL_CALL);   /* extended-const off */
    graft_module *m = NULL;
    CHECK_EQ_INT(graft_module_load(env, ext_wasm, sizeof ext_wasm, &m), GRAFT_ERR_INVALID);
    CHECK_EQ_INT(graft_env_error(env)->code, GRAFT_E_CONST_EXPR);
    CHECK_PREFIX(graft_env_error(env)->message, "constant expression required");
    CHECK(m == NULL);
    graft_env_free(env);
}

int main(void)
{
    test_tail_calls();
    test_tail_call_off();
    test_extended_const();
    test_extended_const_off();
    TEST_MAIN_END();
}
