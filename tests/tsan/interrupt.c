/* interrupt.c - graft_store_interrupt from another thread while the store
 * runs a guest, built with -fsanitize=thread in build-tsan (`make
 * check-tsan`, ctest label tsan), so that ThreadSanitizer checks that the
 * flag is the only state the two threads share and that it is atomic.
 *
 * Each round: the main thread runs an infinite loop (and, in odd rounds,
 * infinite calls to a host function); a second thread interrupts after a
 * short delay. The call must end with "interrupted", and the next call on
 * the store must run normally. A third phase has a thread interrupting
 * continuously while short calls run, which races the engine's clearing of
 * the flag against the setter. */
#include <graft.h>

#include "fault/sandbox.h"

#define ROUNDS 20

static graft_result host_tick(graft_caller *c, graft_slot *slots, void *user)
{
    slots[0].i32 += 1;
    return GRAFT_OK;
}

typedef struct hammer {
    graft_store *store;
    atomic_int stop;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    while (!atomic_load(&h->stop)) graft_store_interrupt(h->store);
    return NULL;
}

int main(void)
{
    static const graft_valtype i32[] = {GRAFT_I32};
    static const graft_functype tick = {i32, 1, i32, 1};
    graft_env *env;
    graft_store *s;
    graft_instance *inst;
    CHECK_EQ_INT(graft_env_new(NULL, &env), GRAFT_OK);
    size_t len;
    uint8_t *bytes = read_wasm("hostile.wasm", &len);
    graft_module *m = load_ok(env, bytes, len, "hostile.wasm");
    CHECK_EQ_INT(graft_store_new(env, NULL, &s), GRAFT_OK);
    CHECK_EQ_INT(graft_store_define_func(s, "host", "tick", &tick, host_tick, NULL), GRAFT_OK);
    CHECK_EQ_INT(graft_instance_new(s, m, &inst), GRAFT_OK);
    graft_func *spin = graft_instance_func(inst, "spin");
    graft_func *storm = graft_instance_func(inst, "storm");
    graft_func *load = graft_instance_func(inst, "i32.load8_u");
    graft_val arg = {.type = GRAFT_I32, .of.i32 = 0}, res;

    for (int round = 0; round < ROUNDS; round++) {
        interrupter it;
        interrupter_start(&it, s, 1 + round % 5);
        graft_result r = graft_call(round % 2 ? storm : spin, NULL, 0, NULL, 0);
        interrupter_join(&it);
        CHECK_EQ_INT(r, GRAFT_ERR_TRAP);
        CHECK_EQ_INT(graft_store_error(s)->code, GRAFT_E_TRAP_INTERRUPTED);
        CHECK_EQ_INT(graft_call(load, &arg, 1, &res, 1), GRAFT_OK);
    }

    /* Interrupts racing short calls: each call either completes or is
     * interrupted; nothing else. */
    hammer h = {.store = s};
    atomic_init(&h.stop, 0);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, hammer_main, &h), 0);
    int interrupted = 0, completed = 0;
    for (int i = 0; i < 2000; i++) {
        graft_result r = graft_call(load, &arg, 1, &res, 1);
        if (r == GRAFT_OK)
            completed++;
        else if (r == GRAFT_ERR_TRAP && graft_store_error(s)->code == GRAFT_E_TRAP_INTERRUPTED)
            interrupted++;
    }
    atomic_store(&h.stop, 1);
    pthread_join(t, NULL);
    CHECK_EQ_INT(interrupted + completed, 2000);

    graft_store_free(s);
    graft_module_free(m);
    free(bytes);
    graft_env_free(env);
    TEST_MAIN_END();
}
