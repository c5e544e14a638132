/* tests/agent/drivers_reload.c - the driver registry changed at run time:
 * drivers added, replaced (drv_move), removed (drv_remove) and re-topiced
 * (drv_set_topic) while module-like reader threads call them and the
 * publication thread publishes them. What must hold: a reader gets DRV_OK
 * or DRV_ENOENT, never a freed driver (ASan would report it; each context
 * also carries a canary checked on every call); a context is destroyed
 * only when no call is in flight on it; after drv_remove returns the driver
 * is never called again; a replaced driver is seen old-then-new by each
 * reader, never new-then-old; a removed sensor stops publishing and a
 * moved topic moves its readings. The deterministic parts use a fake
 * clock; the concurrent part runs on the real publication thread. */
#include "harness.h"

#include "drivers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic int64_t fake_now;
static int64_t fake_clock(void *ctx) { (void)ctx; return atomic_load(&fake_now); }

#define CANARY 0x5ca1ab1eu

/* A driver whose value is its generation; it counts calls in flight. */
typedef struct gen_drv {
    unsigned canary;
    int generation;
    _Atomic int inflight;
} gen_drv;

static _Atomic int created, destroyed, violations, calls_after_remove;
static _Atomic int removed_generation = -1;     /* calls on it after drv_remove returned are violations */

static int gen_read(void *ctx, int64_t now, drv_reading *out)
{
    gen_drv *g = ctx;
    (void)now;
    if (g->canary != CANARY) atomic_fetch_add(&violations, 1);
    if (g->generation == atomic_load(&removed_generation)) atomic_fetch_add(&calls_after_remove, 1);
    atomic_fetch_add(&g->inflight, 1);
    for (volatile int i = 0; i < 200; i++) {}   /* widen the window a little */
    out->value = g->generation;
    atomic_fetch_sub(&g->inflight, 1);
    return DRV_OK;
}

static int gen_write(void *ctx, int64_t now, double value)
{
    gen_drv *g = ctx;
    (void)now;
    (void)value;
    if (g->canary != CANARY) atomic_fetch_add(&violations, 1);
    return DRV_OK;
}

static void gen_destroy(void *ctx)
{
    gen_drv *g = ctx;
    if (g->canary != CANARY || atomic_load(&g->inflight) != 0) atomic_fetch_add(&violations, 1);
    g->canary = 0;
    atomic_fetch_add(&destroyed, 1);
    free(g);
}

static const drv_ops gen_sensor_ops = { gen_read, NULL, gen_destroy };
static const drv_ops gen_actuator_ops = { NULL, gen_write, gen_destroy };

static drv_result add_gen(drv_registry *reg, const char *name, drv_kind kind, int generation, unsigned period_ms)
{
    gen_drv *g = calloc(1, sizeof *g);
    g->canary = CANARY;
    g->generation = generation;
    atomic_fetch_add(&created, 1);
    return drv_register(reg, name, kind, 0, kind == DRV_SENSOR ? &gen_sensor_ops : &gen_actuator_ops, g,
                        period_ms);
}

/* ---- deterministic: the API on a fake clock ------------------------------------ */

static void test_api(void)
{
    bus *b = bus_new(0);
    bus_sub *s = bus_sub_new(b, "reader", 100, 0);
    bus_sub_add_filter(s, "#");
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    atomic_store(&fake_now, 1000000000);
    drv_sim_config noise = { .kind = DRV_SIM_NOISE, .seed = 9, .t0_ns = 0, .sample_period_ms = 100,
                             .offset = 1, .amplitude = 1 };
    CHECK_EQ_INT(drv_add_sim(reg, "n", 0, &noise, 1000), DRV_OK);
    CHECK_EQ_INT(add_gen(reg, "g", DRV_SENSOR, 1, 1000), DRV_OK);
    char topic[64];
    CHECK(drv_topic(reg, "n", topic, sizeof topic));
    CHECK_EQ_STR(topic, "sensors/n");
    CHECK_EQ_INT(drv_publish_due(reg, b), 2);

    /* A topic of its own: validated as a topic name, then the readings move. */
    CHECK_EQ_INT(drv_set_topic(reg, "n", "plant/+/n"), DRV_EINVAL);
    CHECK(strstr(drv_errmsg(reg), "plant/+/n") != NULL);
    CHECK_EQ_INT(drv_set_topic(reg, "n", "plant/#"), DRV_EINVAL);
    CHECK_EQ_INT(drv_set_topic(reg, "n", ""), DRV_EINVAL);
    CHECK_EQ_INT(drv_set_topic(reg, "nope", "a/b"), DRV_ENOENT);
    CHECK_EQ_INT(drv_set_topic(reg, "n", "plant/hall/n"), DRV_OK);
    CHECK(drv_topic(reg, "n", topic, sizeof topic));
    CHECK_EQ_STR(topic, "plant/hall/n");
    CHECK(!drv_topic(reg, "n", topic, 5));
    atomic_store(&fake_now, 2000000000);
    CHECK_EQ_INT(drv_publish_due(reg, b), 2);

    /* Removal: reads get DRV_ENOENT, publication stops, the context is destroyed. */
    int before = atomic_load(&destroyed);
    CHECK_EQ_INT(drv_remove(reg, "g"), DRV_OK);
    CHECK_EQ_INT(atomic_load(&destroyed), before + 1);
    CHECK_EQ_INT(drv_remove(reg, "g"), DRV_ENOENT);
    drv_reading r;
    CHECK_EQ_INT(drv_read(reg, "g", &r), DRV_ENOENT);
    CHECK(!drv_has(reg, "g", DRV_SENSOR));
    CHECK_EQ_INT(drv_count(reg), 1);
    atomic_store(&fake_now, 3000000000);
    CHECK_EQ_INT(drv_publish_due(reg, b), 1);

    /* Replacement from a staging registry: n becomes an actuator, g comes back. */
    drv_registry *staging = drv_registry_new(fake_clock, NULL);
    CHECK_EQ_INT(add_gen(staging, "n", DRV_ACTUATOR, 2, 0), DRV_OK);
    CHECK_EQ_INT(add_gen(staging, "g", DRV_SENSOR, 3, 1000), DRV_OK);
    CHECK_EQ_INT(drv_move(reg, staging, "n"), DRV_OK);
    CHECK_EQ_INT(drv_move(reg, staging, "g"), DRV_OK);
    CHECK_EQ_INT(drv_move(reg, staging, "g"), DRV_ENOENT);
    CHECK_EQ_INT(drv_count(staging), 0);
    drv_registry_free(staging);
    CHECK(drv_has(reg, "n", DRV_ACTUATOR) && !drv_has(reg, "n", DRV_SENSOR));
    CHECK_EQ_INT(drv_read(reg, "n", &r), DRV_ENOENT);
    CHECK_EQ_INT(drv_write(reg, "n", 1.0), DRV_OK);
    CHECK_EQ_INT(drv_read(reg, "g", &r), DRV_OK);
    CHECK(r.value == 3);
    CHECK_EQ_INT(drv_publish_due(reg, b), 1);         /* a moved-in sensor is due at once */
    CHECK_EQ_INT(drv_publish_due(reg, b), 0);

    /* What reached the bus, in order. */
    const char *want[] = { "sensors/n", "sensors/g", "plant/hall/n", "sensors/g", "plant/hall/n", "sensors/g" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bus_msg *m;
        if (bus_sub_pop(s, 0, &m) != BUS_OK) { CHECK(!"a message is missing"); break; }
        CHECK_EQ_STR(m->topic, want[i]);
        bus_msg_release(m);
    }
    bus_msg *m;
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_E_TIMEOUT);
    drv_registry_free(reg);
    bus_free(b);
}

/* ---- drv_remove waits for a call in flight ------------------------------------- */

static _Atomic bool gate_open, in_read, remove_returned, destroyed_while_reading;

static int slow_read(void *ctx, int64_t now, drv_reading *out)
{
    (void)ctx;
    (void)now;
    atomic_store(&in_read, true);
    while (!atomic_load(&gate_open)) usleep(1000);
    out->value = 42;
    atomic_store(&in_read, false);
    return DRV_OK;
}

static void slow_destroy(void *ctx)
{
    (void)ctx;
    if (atomic_load(&in_read)) atomic_store(&destroyed_while_reading, true);
}

static const drv_ops slow_ops = { slow_read, NULL, slow_destroy };

static void *read_once(void *arg)
{
    drv_reading r;
    int rc = drv_read(arg, "slow", &r);
    return rc == DRV_OK && r.value == 42 ? arg : NULL;
}

static void *remove_slow(void *arg)
{
    drv_remove(arg, "slow");
    atomic_store(&remove_returned, true);
    return NULL;
}

static void test_remove_waits(void)
{
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    CHECK_EQ_INT(drv_register(reg, "slow", DRV_SENSOR, 0, &slow_ops, NULL, 0), DRV_OK);
    pthread_t reader, remover;
    pthread_create(&reader, NULL, read_once, reg);
    while (!atomic_load(&in_read)) usleep(1000);
    pthread_create(&remover, NULL, remove_slow, reg);
    usleep(50000);
    CHECK(!atomic_load(&remove_returned));            /* blocked behind the read */
    drv_reading r;
    CHECK_EQ_INT(drv_read(reg, "slow", &r), DRV_ENOENT); /* yet already unreachable */
    atomic_store(&gate_open, true);
    void *ok;
    pthread_join(reader, &ok);
    pthread_join(remover, NULL);
    CHECK(ok == reg);                                  /* the read in flight completed normally */
    CHECK(atomic_load(&remove_returned));
    CHECK(!atomic_load(&destroyed_while_reading));
    drv_registry_free(reg);
}

/* ---- concurrent: readers, the publisher and a reloading main thread ------------- */

static _Atomic bool stop_readers;

typedef struct reader_stats { long ok, enoent, bad, backwards; } reader_stats;

static void *reader_main(void *arg)
{
    drv_registry *reg = arg;
    reader_stats *st = calloc(1, sizeof *st);
    double last = -1;
    while (!atomic_load(&stop_readers)) {
        drv_reading r;
        int rc = drv_read(reg, "s", &r);
        if (rc == DRV_OK) {
            st->ok++;
            if (r.value < last) st->backwards++;
            last = r.value;
        } else if (rc == DRV_ENOENT) {
            st->enoent++;
        } else {
            st->bad++;
        }
        rc = drv_write(reg, "a", 1.0);
        if (rc != DRV_OK && rc != DRV_ENOENT) st->bad++;
        drv_has(reg, "s", DRV_SENSOR);
    }
    return st;
}

static void test_concurrent(void)
{
    bus *b = bus_new(0);
    bus_sub *sub = bus_sub_new(b, "all", 1u << 16, 0);
    bus_sub_add_filter(sub, "#");
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    int generation = 0;
    CHECK_EQ_INT(add_gen(reg, "s", DRV_SENSOR, generation, 1), DRV_OK);
    CHECK_EQ_INT(add_gen(reg, "a", DRV_ACTUATOR, generation, 0), DRV_OK);
    CHECK_EQ_INT(drv_publish_start(reg, b), DRV_OK);
    enum { READERS = 4, ROUNDS = 3000 };
    pthread_t readers[READERS];
    for (int i = 0; i < READERS; i++) pthread_create(&readers[i], NULL, reader_main, reg);
    for (int round = 1; round <= ROUNDS; round++) {
        atomic_fetch_add(&fake_now, 1000000);          /* 1 ms: s is due every round */
        generation++;
        switch (round % 4) {
        case 0: {                                      /* replace both through a staging registry */
            drv_registry *staging = drv_registry_new(fake_clock, NULL);
            add_gen(staging, "s", DRV_SENSOR, generation, 1);
            add_gen(staging, "a", DRV_ACTUATOR, generation, 0);
            CHECK_EQ_INT(drv_move(reg, staging, "s"), DRV_OK);
            CHECK_EQ_INT(drv_move(reg, staging, "a"), DRV_OK);
            drv_registry_free(staging);
            break;
        }
        case 1:                                        /* remove s: nothing may call it afterwards */
            CHECK_EQ_INT(drv_remove(reg, "s"), DRV_OK);
            atomic_store(&removed_generation, generation - 1);
            break;
        case 2:                                        /* add it back, on a topic of its own */
            CHECK_EQ_INT(add_gen(reg, "s", DRV_SENSOR, generation, 1), DRV_OK);
            CHECK_EQ_INT(drv_set_topic(reg, "s", round % 8 == 2 ? "plant/s" : "sensors/s"), DRV_OK);
            break;
        default:
            CHECK_EQ_INT(drv_set_topic(reg, "s", "moved/s"), DRV_OK);
            break;
        }
        if (round % 64 == 0) usleep(1000);
    }
    atomic_store(&stop_readers, true);
    long ok = 0, enoent = 0;
    for (int i = 0; i < READERS; i++) {
        void *p;
        pthread_join(readers[i], &p);
        reader_stats *st = p;
        CHECK_EQ_INT(st->bad, 0);
        CHECK_EQ_INT(st->backwards, 0);
        ok += st->ok;
        enoent += st->enoent;
        free(st);
    }
    drv_publish_stop(reg);
    CHECK(ok > 0);
    CHECK(enoent > 0);
    bus_sub_stats bs;
    bus_sub_get_stats(sub, &bs);
    CHECK(bs.enqueued > 0);
    /* Every reading came on one of the topics s ever had. */
    bus_msg *m;
    size_t wrong = 0;
    while (bus_sub_pop(sub, 0, &m) == BUS_OK) {
        if (strcmp(m->topic, "sensors/s") && strcmp(m->topic, "plant/s") && strcmp(m->topic, "moved/s")) wrong++;
        bus_msg_release(m);
    }
    CHECK_EQ_INT(wrong, 0);
    drv_registry_free(reg);
    bus_free(b);
    CHECK_EQ_INT(atomic_load(&violations), 0);
    CHECK_EQ_INT(atomic_load(&calls_after_remove), 0);
    CHECK_EQ_INT(atomic_load(&created), atomic_load(&destroyed));
}

int main(void)
{
    test_api();
    test_remove_waits();
    test_concurrent();
    TEST_MAIN_END();
}
