/* sandbox.h - what the hostile and heavy module tests share: reading the
 * modules wat2wasm built from tests/fault/wat (GRAFT_TEST_WASM_DIR), the
 * healthy guest that runs beside every case in the same process, and a
 * thread that interrupts a store after a delay (the deadline).
 *
 * The healthy guest lives in its own store of the same env, as a second
 * vendor's module would; healthy_check calls it and asserts its result and
 * its memory after every hostile or heavy case. */
#ifndef GRAFT_TEST_SANDBOX_H
#define GRAFT_TEST_SANDBOX_H

#include <graft.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

/* Read GRAFT_TEST_WASM_DIR/name into a malloc'd buffer. */
static inline uint8_t *read_wasm(const char *name, size_t *out_len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", GRAFT_TEST_WASM_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *out_len = (size_t)n;
    return b;
}

/* Load a module that must load; exits with the engine's message if not. */
static inline graft_module *load_ok(graft_env *env, const uint8_t *bytes, size_t len, const char *what)
{
    graft_module *m = NULL;
    if (graft_module_load(env, bytes, len, &m) != GRAFT_OK) {
        fprintf(stderr, "%s: %s\n", what, graft_env_error(env)->message);
        exit(1);
    }
    return m;
}

typedef struct healthy {
    graft_module *module;
    graft_store *store;
    graft_instance *inst;
    graft_func *work;
    uint32_t calls;          /* healthy_check calls so far */
} healthy;

static inline void healthy_new(healthy *h, graft_env *env)
{
    size_t len;
    uint8_t *bytes = read_wasm("healthy.wasm", &len);
    h->module = load_ok(env, bytes, len, "healthy.wasm");
    free(bytes);
    h->calls = 0;
    if (graft_store_new(env, NULL, &h->store) != GRAFT_OK ||
        graft_instance_new(h->store, h->module, &h->inst) != GRAFT_OK) {
        fprintf(stderr, "healthy instance: cannot instantiate\n");
        exit(1);
    }
    h->work = graft_instance_func(h->inst, "work");
}

/* The healthy guest still computes, and its memory holds what it wrote. */
static inline void healthy_check(healthy *h)
{
    uint32_t n = 1000 + h->calls++;
    graft_val arg = {.type = GRAFT_I32, .of.i32 = (int32_t)n}, res;
    int32_t want = (int32_t)(n * (n - 1) / 2);
    CHECK_EQ_INT(graft_call(h->work, &arg, 1, &res, 1), GRAFT_OK);
    CHECK_EQ_INT(res.of.i32, want);
    int32_t stored;
    memcpy(&stored, graft_memory_data(graft_instance_memory(h->inst)), 4);
    CHECK_EQ_INT(stored, want);
}

static inline void healthy_free(healthy *h)
{
    graft_store_free(h->store);
    graft_module_free(h->module);
}

/* ---- A deadline: interrupt a store from another thread after ms ---------- */

typedef struct interrupter {
    pthread_t thread;
    graft_store *store;
    unsigned ms;
} interrupter;

static inline void *interrupter_main(void *arg)
{
    interrupter *it = arg;
    struct timespec ts = {(time_t)(it->ms / 1000), (long)(it->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    graft_store_interrupt(it->store);
    return NULL;
}

static inline void interrupter_start(interrupter *it, graft_store *s, unsigned ms)
{
    it->store = s;
    it->ms = ms;
    if (pthread_create(&it->thread, NULL, interrupter_main, it) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
}

static inline void interrupter_join(interrupter *it)
{
    pthread_join(it->thread, NULL);
}

#endif
