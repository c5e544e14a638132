/* interrupt_latency.c - how long a guest keeps running after another
 * thread calls graft_store_interrupt: the time from the call to
 * graft_store_interrupt until graft_call returns "interrupted", over many
 * trials, for a loop-heavy and a call-heavy guest. Prints the median, p99
 * and maximum in microseconds. The goal (issue 3) is under 1 ms.
 *
 * A benchmark, not a test: build and run it by hand (bench/README.md):
 *   cmake --build build --target bench_interrupt_latency
 *   build/bench_interrupt_latency [TRIALS]
 *
 * Each trial: the main thread calls the guest; a second thread waits a
 * varying 0.2-2 ms (so the interrupt lands anywhere in the loop), reads the
 * monotonic clock and sets the flag; the main thread reads the clock when
 * the call returns. */
#include <graft.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* (module
 *   (func (export "loop") (local i32)
 *     (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l)))
 *   (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
 *   (func (export "calls") (local i32)
 *     (loop $l (local.set 0 (call $leaf (local.get 0))) (br $l)))) */
static const uint8_t guest_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x09, 0x02, 0x60, 0x00, 0x00, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x03, 0x04, 0x03, 0x00, 0x01, 0x00, 0x07, 0x10, 0x02, 0x04, 0x6c,
    0x6f, 0x6f, 0x70, 0x00, 0x00, 0x05, 0x63, 0x61, 0x6c, 0x6c, 0x73, 0x00, 0x02, 0x0a, 0x2a,
    0x03, 0x10, 0x01, 0x01, 0x7f, 0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, 0x0c,
    0x00, 0x0b, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b, 0x0f, 0x01, 0x01, 0x7f,
    0x03, 0x40, 0x20, 0x00, 0x10, 0x01, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct trial {
    graft_store *store;
    unsigned delay_us;          /* before interrupting */
    _Atomic uint64_t set_at;    /* ns, when the flag was set */
} trial;

static void *interrupter(void *arg)
{
    trial *t = arg;
    struct timespec ts = {0, (long)t->delay_us * 1000L};
    nanosleep(&ts, NULL);
    atomic_store(&t->set_at, now_ns());
    graft_store_interrupt(t->store);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Run trials of guest f; fills lat (ns). Returns 0 on success. */
static int measure(graft_store *s, graft_func *f, int trials, uint64_t *lat)
{
    for (int i = 0; i < trials; i++) {
        trial t = {.store = s, .delay_us = 200 + (unsigned)(i * 7919) % 1800};
        atomic_init(&t.set_at, 0);
        pthread_t th;
        if (pthread_create(&th, NULL, interrupter, &t) != 0) return 1;
        graft_result r = graft_call(f, NULL, 0, NULL, 0);
        uint64_t end = now_ns();
        pthread_join(th, NULL);
        if (r != GRAFT_ERR_TRAP || graft_store_error(s)->code != GRAFT_E_TRAP_INTERRUPTED) {
            fprintf(stderr, "trial %d: %s\n", i, graft_store_error(s)->message);
            return 1;
        }
        lat[i] = end - atomic_load(&t.set_at);
    }
    qsort(lat, (size_t)trials, sizeof *lat, cmp_u64);
    return 0;
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 1000;
    if (trials < 1) trials = 1000;
    graft_env *env;
    graft_module *m;
    graft_store *s;
    graft_instance *inst;
    if (graft_env_new(NULL, &env) != GRAFT_OK ||
        graft_module_load(env, guest_wasm, sizeof guest_wasm, &m) != GRAFT_OK ||
        graft_store_new(env, NULL, &s) != GRAFT_OK || graft_instance_new(s, m, &inst) != GRAFT_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    uint64_t *lat = malloc((size_t)trials * sizeof *lat);
    if (!lat) return 1;
    const char *guests[] = {"loop", "calls"};
    int status = 0;
    printf("interrupt latency over %d trials (us): guest median p99 max\n", trials);
    for (int g = 0; g < 2 && !status; g++) {
        status = measure(s, graft_instance_func(inst, guests[g]), trials, lat);
        if (!status)
            printf("%-6s %8.1f %8.1f %8.1f\n", guests[g], lat[trials / 2] / 1e3,
                   lat[(size_t)trials * 99 / 100] / 1e3, lat[trials - 1] / 1e3);
    }
    free(lat);
    graft_store_free(s);
    graft_module_free(m);
    graft_env_free(env);
    return status;
}
