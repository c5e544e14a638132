/* fuel.c - deterministic fuel (docs/engine.md, "Fuel"): exact counts for
 * hand-made functions, trap mode, suspend and resume (also one unit at a
 * time through recursion and through 1 MiB bulk operations, against
 * unmetered runs), graft_abandon, calls refused while suspended, and host
 * function costs, including graft_caller_charge. The counts are hand-computed from the cost model and are
 * checked in every build (make check runs the switch build too).
 *
 * The module (wat2wasm fuel.wat):
 *
 * (module
 *   (import "env" "h" (func $h (param i32) (result i32)))
 *   (memory (export "mem") 40)
 *   (table $t 8 funcref)
 *   (data $d "0123456789abcdef")
 *   (elem $e funcref (ref.func $one) (ref.func $one) (ref.func $one))
 *   (func $one (export "one") (result i32) i32.const 1)
 *   (func (export "straight") (result i32) i32.const 1 i32.const 2 i32.add)
 *   (func (export "loop") (param $n i32) (result i32) (local $acc i32)
 *     (loop $l
 *       local.get $acc local.get $n i32.add local.set $acc
 *       local.get $n i32.const 1 i32.sub local.tee $n
 *       br_if $l)
 *     local.get $acc)
 *   (func (export "branch") (param i32) (result i32)
 *     (if (result i32) (local.get 0) (then i32.const 10) (else i32.const 20)))
 *   (func (export "nested") (param i32) (result i32)
 *     (block $b (block $c (br_if $b (local.get 0)) nop) (drop (i32.const 7)))
 *     i32.const 3)
 *   (func $fib (export "fib") (param i32) (result i32)
 *     (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
 *       (then local.get 0)
 *       (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
 *                      (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
 *   (func (export "callh") (result i32) i32.const 5 call $h)
 *   (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
 *   (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
 *   (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init $d)
 *   (func (export "tfill") (param i32 i32) local.get 0 ref.func $one local.get 1 table.fill $t)
 *   (func (export "tcopy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2
 *     table.copy $t $t)
 *   (func (export "tinit") (param i32 i32 i32) local.get 0 local.get 1 local.get 2
 *     table.init $t $e)
 *   (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
 *   (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow $t)) */
#include <graft.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const uint8_t fuel_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x15, 0x04, 0x60,
  0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x03, 0x7f, 0x7f,
  0x7f, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x00, 0x02, 0x09, 0x01, 0x03, 0x65,
  0x6e, 0x76, 0x01, 0x68, 0x00, 0x00, 0x03, 0x10, 0x0f, 0x01, 0x01, 0x00,
  0x00, 0x00, 0x00, 0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x02, 0x00, 0x00,
  0x04, 0x04, 0x01, 0x70, 0x00, 0x08, 0x05, 0x03, 0x01, 0x00, 0x28, 0x07,
  0x7b, 0x10, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x03, 0x6f, 0x6e, 0x65,
  0x00, 0x01, 0x08, 0x73, 0x74, 0x72, 0x61, 0x69, 0x67, 0x68, 0x74, 0x00,
  0x02, 0x04, 0x6c, 0x6f, 0x6f, 0x70, 0x00, 0x03, 0x06, 0x62, 0x72, 0x61,
  0x6e, 0x63, 0x68, 0x00, 0x04, 0x06, 0x6e, 0x65, 0x73, 0x74, 0x65, 0x64,
  0x00, 0x05, 0x03, 0x66, 0x69, 0x62, 0x00, 0x06, 0x05, 0x63, 0x61, 0x6c,
  0x6c, 0x68, 0x00, 0x07, 0x04, 0x66, 0x69, 0x6c, 0x6c, 0x00, 0x08, 0x04,
  0x63, 0x6f, 0x70, 0x79, 0x00, 0x09, 0x04, 0x69, 0x6e, 0x69, 0x74, 0x00,
  0x0a, 0x05, 0x74, 0x66, 0x69, 0x6c, 0x6c, 0x00, 0x0b, 0x05, 0x74, 0x63,
  0x6f, 0x70, 0x79, 0x00, 0x0c, 0x05, 0x74, 0x69, 0x6e, 0x69, 0x74, 0x00,
  0x0d, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x0e, 0x05, 0x74, 0x67, 0x72,
  0x6f, 0x77, 0x00, 0x0f, 0x09, 0x07, 0x01, 0x01, 0x00, 0x03, 0x01, 0x01,
  0x01, 0x0c, 0x01, 0x01, 0x0a, 0xc9, 0x01, 0x0f, 0x04, 0x00, 0x41, 0x01,
  0x0b, 0x07, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b, 0x19, 0x01, 0x01,
  0x7f, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00, 0x6a, 0x21, 0x01, 0x20, 0x00,
  0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b, 0x20, 0x01, 0x0b, 0x0c,
  0x00, 0x20, 0x00, 0x04, 0x7f, 0x41, 0x0a, 0x05, 0x41, 0x14, 0x0b, 0x0b,
  0x12, 0x00, 0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x0d, 0x01, 0x01, 0x0b,
  0x41, 0x07, 0x1a, 0x0b, 0x41, 0x03, 0x0b, 0x1c, 0x00, 0x20, 0x00, 0x41,
  0x02, 0x49, 0x04, 0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b,
  0x10, 0x06, 0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x06, 0x6a, 0x0b, 0x0b,
  0x06, 0x00, 0x41, 0x05, 0x10, 0x00, 0x0b, 0x0b, 0x00, 0x20, 0x00, 0x20,
  0x01, 0x20, 0x02, 0xfc, 0x0b, 0x00, 0x0b, 0x0c, 0x00, 0x20, 0x00, 0x20,
  0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b, 0x0c, 0x00, 0x20, 0x00,
  0x20, 0x01, 0x20, 0x02, 0xfc, 0x08, 0x00, 0x00, 0x0b, 0x0b, 0x00, 0x20,
  0x00, 0xd2, 0x01, 0x20, 0x01, 0xfc, 0x11, 0x00, 0x0b, 0x0c, 0x00, 0x20,
  0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0e, 0x00, 0x00, 0x0b, 0x0c, 0x00,
  0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0c, 0x00, 0x00, 0x0b, 0x06,
  0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, 0x09, 0x00, 0xd0, 0x70, 0x20, 0x00,
  0xfc, 0x0f, 0x00, 0x0b, 0x0b, 0x13, 0x01, 0x01, 0x10, 0x30, 0x31, 0x32,
  0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65,
  0x66
};

#define MIB (1u << 20)

typedef struct fx {
    graft_env *env;
    graft_module *m;
    graft_store *s;
    graft_instance *inst;
    graft_func *h;          /* the imported host function */
    int host_calls;
    int reenter;            /* h calls loop(1000) back in the instance */
    uint64_t charge;        /* h charges this much through graft_caller_charge */
} fx;

static graft_result host_h(graft_caller *c, graft_slot *slots, void *user)
{
    fx *f = user;
    f->host_calls++;
    if (f->charge) {
        graft_result r = graft_caller_charge(c, f->charge);
        if (r != GRAFT_OK) return r;
    }
    if (f->reenter) {
        graft_val arg = {.type = GRAFT_I32, .of.i32 = 1000}, res;
        graft_result r = graft_call(graft_instance_func(f->inst, "loop"), &arg, 1, &res, 1);
        if (r != GRAFT_OK) return r;
    }
    slots[0].i32 = slots[0].i32 * 2;
    return GRAFT_OK;
}

static void fx_new(fx *f)
{
    static const graft_valtype i32[] = {GRAFT_I32};
    graft_functype ht = {i32, 1, i32, 1};
    memset(f, 0, sizeof *f);
    CHECK_EQ_INT(graft_env_new(NULL, &f->env), GRAFT_OK);
    CHECK_EQ_INT(graft_module_load(f->env, fuel_wasm, sizeof fuel_wasm, &f->m), GRAFT_OK);
    CHECK_EQ_INT(graft_store_new(f->env, NULL, &f->s), GRAFT_OK);
    CHECK_EQ_INT(graft_func_new_host(f->s, &ht, host_h, f, &f->h), GRAFT_OK);
    graft_extern ext = {.kind = GRAFT_EXTERN_FUNC, .of.func = f->h};
    CHECK_EQ_INT(graft_store_define(f->s, "env", 3, "h", 1, ext), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(f->s, f->m, &f->inst), GRAFT_OK);
}

static void fx_free(fx *f)
{
    graft_store_free(f->s);
    graft_module_free(f->m);
    graft_env_free(f->env);
}

/* Call export name with up to three i32 arguments; *out gets the i32
 * result when there is one. */
static graft_result call(fx *f, const char *name, int nargs, const int32_t *a, int nres,
                         int32_t *out)
{
    graft_val args[3], res[1];
    for (int i = 0; i < nargs; i++) args[i] = (graft_val){.type = GRAFT_I32, .of.i32 = a[i]};
    graft_func *fn = graft_instance_func(f->inst, name);
    CHECK(fn != NULL);
    graft_result r = graft_call(fn, args, (size_t)nargs, res, (size_t)nres);
    if (r == GRAFT_OK && nres && out) *out = res[0].of.i32;
    return r;
}

/* Fuel a call consumes, in trap mode with plenty of fuel. */
static uint64_t cost(fx *f, const char *name, int nargs, const int32_t *a, int nres)
{
    int32_t out = 0;
    graft_store_set_fuel(f->s, GRAFT_FUEL_TRAP, 1u << 30);
    CHECK_EQ_INT(call(f, name, nargs, a, nres, &out), GRAFT_OK);
    return graft_store_fuel_consumed(f->s);
}

/* The cost of fib(n) by the model: entry block 4 (local.get, i32.const,
 * i32.lt_u, if), then-branch 2 (local.get, else), else-branch 10, and the
 * block after the if 1 (end). */
static uint64_t fib_cost(int n)
{
    return n < 2 ? 4 + 2 + 1 : 4 + 10 + 1 + fib_cost(n - 1) + fib_cost(n - 2);
}

static void test_counts(void)
{
    fx f;
    fx_new(&f);
    int32_t a[3];
    CHECK_EQ_U64(cost(&f, "straight", 0, NULL, 1), 4);   /* 3 instructions + end */
    /* loop(n): `loop` 1, each pass 9, then end, local.get, end: 9n + 4. */
    a[0] = 10;
    CHECK_EQ_U64(cost(&f, "loop", 1, a, 1), 94);
    a[0] = 1;
    CHECK_EQ_U64(cost(&f, "loop", 1, a, 1), 13);
    /* if/else: local.get, if; const, else | const, end; end. */
    a[0] = 1;
    CHECK_EQ_U64(cost(&f, "branch", 1, a, 1), 5);
    a[0] = 0;
    CHECK_EQ_U64(cost(&f, "branch", 1, a, 1), 5);
    /* block block local.get br_if = 4; taken: i32.const end = 2;
     * fall-through adds nop end i32.const drop end = 5. */
    a[0] = 1;
    CHECK_EQ_U64(cost(&f, "nested", 1, a, 1), 6);
    a[0] = 0;
    CHECK_EQ_U64(cost(&f, "nested", 1, a, 1), 11);
    a[0] = 15;
    CHECK_EQ_U64(cost(&f, "fib", 1, a, 1), fib_cost(15));
    /* A host call: i32.const, call, end, plus the host's cost. */
    CHECK_EQ_U64(cost(&f, "callh", 0, NULL, 1), 3 + 1);
    graft_func_set_cost(f.h, 100);
    CHECK_EQ_U64(cost(&f, "callh", 0, NULL, 1), 3 + 100);
    graft_func_set_cost(f.h, 0);
    CHECK_EQ_U64(cost(&f, "callh", 0, NULL, 1), 3);
    /* Bulk memory: 4 instructions + end, plus 1 unit per 64 bytes. */
    a[0] = 0, a[1] = 7, a[2] = 0;
    CHECK_EQ_U64(cost(&f, "fill", 3, a, 0), 5);
    a[2] = 1;
    CHECK_EQ_U64(cost(&f, "fill", 3, a, 0), 6);
    a[2] = 64;
    CHECK_EQ_U64(cost(&f, "fill", 3, a, 0), 6);
    a[2] = 65;
    CHECK_EQ_U64(cost(&f, "fill", 3, a, 0), 7);
    a[2] = (int32_t)MIB;
    CHECK_EQ_U64(cost(&f, "fill", 3, a, 0), 5 + MIB / 64);
    a[0] = 100, a[1] = 0, a[2] = 1000;
    CHECK_EQ_U64(cost(&f, "copy", 3, a, 0), 5 + 16);
    a[0] = 0, a[1] = 0, a[2] = 16;
    CHECK_EQ_U64(cost(&f, "init", 3, a, 0), 5 + 1);
    /* Bulk tables: 1 unit per element. */
    a[0] = 1, a[1] = 6;
    CHECK_EQ_U64(cost(&f, "tfill", 2, a, 0), 5 + 6);
    a[0] = 0, a[1] = 2, a[2] = 5;
    CHECK_EQ_U64(cost(&f, "tcopy", 3, a, 0), 5 + 5);
    a[0] = 4, a[1] = 0, a[2] = 3;
    CHECK_EQ_U64(cost(&f, "tinit", 3, a, 0), 5 + 3);
    /* Growth: 1024 units a page, 1 an element; a refused grow only its
     * instructions. */
    a[0] = 2;
    CHECK_EQ_U64(cost(&f, "grow", 1, a, 1), 3 + 2 * 1024);
    a[0] = 0x20000;
    CHECK_EQ_U64(cost(&f, "grow", 1, a, 1), 3);
    a[0] = 3;
    CHECK_EQ_U64(cost(&f, "tgrow", 1, a, 1), 4 + 3);
    /* Fuel off counts too, and a trap charges the whole block it was in. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_OFF, 0);
    a[0] = 10;
    CHECK_EQ_INT(call(&f, "loop", 1, a, 1, NULL), GRAFT_OK);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 94);
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 1000);
    a[0] = 0x7FFFFFF0, a[1] = 0, a[2] = 100;
    CHECK_EQ_INT(call(&f, "fill", 3, a, 0, NULL), GRAFT_ERR_TRAP);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 5);
    fx_free(&f);
}

static void test_trap(void)
{
    fx f;
    fx_new(&f);
    int32_t a[3] = {1000}, out = 0;
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 50);
    CHECK_EQ_INT(call(&f, "loop", 1, a, 1, &out), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    CHECK_PREFIX(graft_store_error(f.s)->message, "out of fuel");
    /* 1 for the entry block, 9 per pass: 5 passes, 4 units left over. */
    CHECK_EQ_U64(graft_store_fuel(f.s), 4);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 46);
    /* The leftover still pays for a small call; then a healthy store. */
    CHECK_EQ_INT(call(&f, "straight", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 3);
    CHECK_EQ_U64(graft_store_fuel(f.s), 0);
    graft_store_add_fuel(f.s, 100);
    a[0] = 10;
    CHECK_EQ_INT(call(&f, "loop", 1, a, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 55);
    /* In trap mode a bulk operation that cannot be paid writes nothing. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 5 + 15);
    a[0] = 0, a[1] = 0x5A, a[2] = 1024;
    CHECK_EQ_INT(call(&f, "fill", 3, a, 0, NULL), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    CHECK_EQ_INT(graft_memory_data(graft_instance_memory(f.inst))[0], 0);
    /* A host function that cannot be paid is not called. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 2);
    f.host_calls = 0;
    CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(f.host_calls, 0);
    graft_store_set_fuel(f.s, GRAFT_FUEL_OFF, 0);
    CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 10);
    fx_free(&f);
}

/* Run a suspended call to completion, adding `step` units at a time;
 * returns the number of suspensions. */
static uint64_t drive(fx *f, graft_result r, uint64_t step, int nres, int32_t *out)
{
    uint64_t n = 0;
    graft_val res[1];
    while (r == GRAFT_SUSPENDED) {
        n++;
        graft_store_add_fuel(f->s, step);
        r = graft_resume(f->s, res, (size_t)nres);
    }
    CHECK_EQ_INT(r, GRAFT_OK);
    if (r == GRAFT_OK && nres) *out = res[0].of.i32;
    return n;
}

static void test_suspend(void)
{
    fx f;
    fx_new(&f);
    int32_t a[3] = {20}, out = 0;
    /* fib(20) one unit at a time through the recursion. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 1);
    graft_result r = call(&f, "fib", 1, a, 1, &out);
    CHECK_EQ_INT(r, GRAFT_SUSPENDED);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_SUSPENDED);
    /* While suspended, a new call is refused and the state is untouched. */
    CHECK_EQ_INT(call(&f, "one", 0, NULL, 1, &out), GRAFT_ERR_API);
    uint64_t stops = drive(&f, r, 1, 1, &out);
    CHECK_EQ_INT(out, 6765);
    CHECK(stops > 1000);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), fib_cost(20));
    CHECK_EQ_U64(graft_store_fuel(f.s), 0);

    /* Bigger steps: same result, same count. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 0);
    drive(&f, call(&f, "fib", 1, a, 1, &out), 777, 1, &out);
    CHECK_EQ_INT(out, 6765);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), fib_cost(20));

    /* A host function is charged before it runs and never interrupted. */
    graft_func_set_cost(f.h, 10);
    f.host_calls = 0;
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 5);
    r = call(&f, "callh", 0, NULL, 1, &out);
    CHECK_EQ_INT(r, GRAFT_SUSPENDED);
    CHECK_EQ_INT(f.host_calls, 0);
    drive(&f, r, 4, 1, &out);
    CHECK_EQ_INT(out, 10);
    CHECK_EQ_INT(f.host_calls, 1);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 13);

    /* graft_abandon leaves an idle, usable store; resume then is refused. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 10);
    a[0] = 1000;
    CHECK_EQ_INT(call(&f, "loop", 1, a, 1, &out), GRAFT_SUSPENDED);
    graft_abandon(f.s);
    graft_val res[1];
    CHECK_EQ_INT(graft_resume(f.s, res, 1), GRAFT_ERR_API);
    graft_store_add_fuel(f.s, 100);
    CHECK_EQ_INT(call(&f, "one", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 1);
    fx_free(&f);
}

/* 1 MiB fill and overlapping copies, suspended every 64 bytes, against the
 * same operations unmetered in a second store. */
static void test_suspend_bulk(void)
{
    fx f, g;
    fx_new(&f);
    fx_new(&g);
    static const int32_t ops[][4] = {
        {0 /* fill */, 4096, 0xA5, (int32_t)MIB},
        {1 /* copy */, 1000, 0, 3000},               /* prepare a pattern source */
        {2 /* init */, 77, 0, 16},
        {1 /* copy up, overlapping */, 4096 + 100, 4096, (int32_t)MIB},
        {0, 4096 + 5000, 0x3C, 12345},
        {1 /* copy down, overlapping */, 10, 4096 + 30, (int32_t)MIB},
    };
    static const char *names[] = {"fill", "copy", "init"};
    uint8_t *fm = graft_memory_data(graft_instance_memory(f.inst));
    uint8_t *gm = graft_memory_data(graft_instance_memory(g.inst));
    for (uint32_t i = 0; i < 40u * 65536u; i += 4096) fm[i] = gm[i] = (uint8_t)(i >> 12);
    graft_store_set_fuel(g.s, GRAFT_FUEL_OFF, 0);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const char *name = names[ops[i][0]];
        CHECK_EQ_INT(call(&g, name, 3, &ops[i][1], 0, NULL), GRAFT_OK);
        graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 1);
        uint64_t stops = drive(&f, call(&f, name, 3, &ops[i][1], 0, NULL), 1, 0, NULL);
        uint64_t n = (uint64_t)(uint32_t)ops[i][3];
        CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 5 + (n + 63) / 64);
        CHECK(stops >= (n + 63) / 64);
    }
    CHECK(memcmp(fm, gm, 40u * 65536u) == 0);

    /* Tables, one element at a time: fill, then an overlapping copy. */
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 0);
    int32_t a[3] = {0, 8};
    drive(&f, call(&f, "tfill", 2, a, 0, NULL), 1, 0, NULL);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 5 + 8);
    a[0] = 3, a[1] = 0, a[2] = 3;
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 0);
    drive(&f, call(&f, "tinit", 3, a, 0, NULL), 1, 0, NULL);
    a[0] = 1, a[1] = 0, a[2] = 7;
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 0);
    drive(&f, call(&f, "tcopy", 3, a, 0, NULL), 1, 0, NULL);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 5 + 7);
    fx_free(&f);
    fx_free(&g);
}

/* (module (func $s (loop (br 0))) (start $s)) */
static const uint8_t start_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x08, 0x01, 0x00, 0x0a, 0x09, 0x01,
    0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b};

/* Only the outermost call suspends: a call a host function makes back into
 * WebAssembly, and a start function, trap "out of fuel" instead. */
static void test_no_suspend(void)
{
    fx f;
    fx_new(&f);
    int32_t out = 0;
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 20);
    f.reenter = 1;
    CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    /* callh's block 3, the host 1, loop's entry 1 and one pass 9: 6 left. */
    CHECK_EQ_U64(graft_store_fuel(f.s), 6);
    f.reenter = 0;
    graft_val res[1];
    CHECK_EQ_INT(graft_resume(f.s, res, 1), GRAFT_ERR_API);   /* nothing suspended */
    CHECK_EQ_INT(call(&f, "straight", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 3);

    graft_module *m;
    graft_instance *inst;
    CHECK_EQ_INT(graft_module_load(f.env, start_wasm, sizeof start_wasm, &m), GRAFT_OK);
    graft_store_set_fuel(f.s, GRAFT_FUEL_SUSPEND, 100);
    CHECK_EQ_INT(graft_instance_new(f.s, m, &inst), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 100);
    CHECK_EQ_INT(call(&f, "one", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_INT(out, 1);
    graft_store_free(f.s);   /* before the modules its instances use */
    graft_module_free(m);
    graft_module_free(f.m);
    graft_env_free(f.env);
}

/* graft_caller_charge: a host function pays for its own work, exactly, on
 * top of its cost; short, it takes nothing and the call traps "out of fuel"
 * at the host call (in suspend mode too); the store stays usable. */
static void test_caller_charge(void)
{
    fx f;
    fx_new(&f);
    int32_t out = 0;
    f.charge = 40;
    CHECK_EQ_U64(cost(&f, "callh", 0, NULL, 1), 3 + 1 + 40);
    graft_func_set_cost(f.h, 10);
    CHECK_EQ_U64(cost(&f, "callh", 0, NULL, 1), 3 + 10 + 40);
    graft_store_set_fuel(f.s, GRAFT_FUEL_OFF, 0);
    CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_OK);
    CHECK_EQ_U64(graft_store_fuel_consumed(f.s), 3 + 10 + 40);
    for (int mode = GRAFT_FUEL_TRAP; mode <= GRAFT_FUEL_SUSPEND; mode++) {
        graft_store_set_fuel(f.s, (graft_fuel_mode)mode, 3 + 10 + 39);
        f.host_calls = 0;
        CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_ERR_TRAP);
        CHECK_EQ_INT(f.host_calls, 1);
        CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
        CHECK_PREFIX(graft_store_error(f.s)->message, "out of fuel");
        CHECK(graft_store_error(f.s)->func_index != GRAFT_NO_INDEX);
        CHECK_EQ_U64(graft_store_fuel(f.s), 39);   /* the short charge took nothing */
        graft_store_add_fuel(f.s, 3 + 10 + 1);
        CHECK_EQ_INT(call(&f, "callh", 0, NULL, 1, &out), GRAFT_OK);
        CHECK_EQ_INT(out, 10);
        CHECK_EQ_U64(graft_store_fuel(f.s), 0);
    }
    /* A host function called straight from the API charges the same way. */
    graft_val arg = {.type = GRAFT_I32, .of.i32 = 4}, res;
    graft_store_set_fuel(f.s, GRAFT_FUEL_TRAP, 10 + 40);
    CHECK_EQ_INT(graft_call(f.h, &arg, 1, &res, 1), GRAFT_OK);
    CHECK_EQ_INT(res.of.i32, 8);
    CHECK_EQ_U64(graft_store_fuel(f.s), 0);
    CHECK_EQ_INT(graft_call(f.h, &arg, 1, &res, 1), GRAFT_ERR_TRAP);
    CHECK_EQ_INT(graft_store_error(f.s)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
    fx_free(&f);
}

int main(void)
{
    test_counts();
    test_trap();
    test_suspend();
    test_suspend_bulk();
    test_no_suspend();
    test_caller_charge();
    TEST_MAIN_END();
}
