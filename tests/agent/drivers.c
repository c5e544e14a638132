/* tests/agent/drivers.c - native drivers under a fake clock: seeded sources
 * reproduce and match values computed here independently (our own
 * splitmix64), CSV replay (timing, looping, stopping, malformed lines with
 * line numbers), the log actuator's file, the reading ABI, the registry, and
 * periodic publication through the bus. */
#include "harness.h"

#include "drivers.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t fake_now;
static int64_t fake_clock(void *ctx) { (void)ctx; return fake_now; }

static char dir[256];

/* The reference variate, written from the documented formula. */
static double ref_u(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-12 * (1 + fabs(b)); }

static void test_sim(void)
{
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    const int64_t t0 = 1000000000000;                    /* 1000 s */
    drv_sim_config sine = { .kind = DRV_SIM_SINE, .seed = 7, .t0_ns = t0, .sample_period_ms = 100,
                            .offset = 20, .amplitude = 5, .period_s = 10, .phase = 0.5, .noise = 0.1 };
    drv_sim_config noise = { .kind = DRV_SIM_NOISE, .seed = 42, .t0_ns = t0, .sample_period_ms = 100,
                             .offset = 50, .amplitude = 2 };
    drv_sim_config walk = { .kind = DRV_SIM_WALK, .seed = 3, .t0_ns = t0, .sample_period_ms = 100,
                            .start = 10, .step = 1, .min = 9, .max = 12 };
    drv_sim_config square = { .kind = DRV_SIM_STEP, .seed = 0, .t0_ns = t0, .sample_period_ms = 100,
                              .low = 0, .high = 1, .hold = 5 };
    drv_sim_config levels = square;
    levels.seed = 99;
    levels.low = 10;
    levels.high = 30;
    CHECK_EQ_INT(drv_add_sim(reg, "temp", 1, &sine, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_sim(reg, "noise", 0, &noise, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_sim(reg, "walk", 0, &walk, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_sim(reg, "square", 0, &square, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_sim(reg, "levels", 0, &levels, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_sim(reg, "temp", 1, &sine, 0), DRV_EEXIST);
    CHECK(strstr(drv_errmsg(reg), "'temp'") != NULL);
    drv_sim_config bad = sine;
    bad.period_s = 0;
    CHECK_EQ_INT(drv_add_sim(reg, "bad", 0, &bad, 0), DRV_EINVAL);
    CHECK_EQ_INT(drv_add_sim(reg, "a/+", 0, &noise, 0), DRV_EINVAL);

    int wrong = 0;
    double x = 10;                                       /* the walk, independently */
    for (uint64_t k = 0; k < 300; k++) {
        if (k) {
            x += 2 * ref_u(3, k) - 1;
            x = x < 9 ? 9 : x > 12 ? 12 : x;
        }
        fake_now = t0 + (int64_t)k * 100000000 + 12345;  /* inside sample k */
        drv_reading r;
        double t = (double)k * 0.1;
        double want_sine = 20 + 5 * sin(2 * M_PI * t / 10 + 0.5) + 0.1 * (2 * ref_u(7, k) - 1);
        CHECK_EQ_INT(drv_read(reg, "temp", &r), DRV_OK);
        wrong += !near(r.value, want_sine) || r.unit != 1 || r.quality != 0 ||
                 r.timestamp_ns != t0 + (int64_t)k * 100000000;
        drv_read(reg, "noise", &r);
        wrong += !near(r.value, 50 + 2 * (2 * ref_u(42, k) - 1));
        drv_read(reg, "walk", &r);
        wrong += !near(r.value, x) || r.value < 9 || r.value > 12;
        drv_read(reg, "square", &r);
        wrong += r.value != ((k / 5) % 2 ? 1.0 : 0.0);
        drv_read(reg, "levels", &r);
        wrong += !near(r.value, 10 + 20 * ref_u(99, k / 5));
    }
    CHECK_EQ_INT(wrong, 0);
    /* Pure function agrees; the walk cache survives going back in time. */
    CHECK(near(drv_sim_value(&walk, 299), x));
    fake_now = t0 + 50 * 100000000LL;
    drv_reading r;
    drv_read(reg, "walk", &r);
    CHECK(near(r.value, drv_sim_value(&walk, 50)));
    fake_now = t0 - 5;                                   /* before t0: sample 0 */
    drv_read(reg, "walk", &r);
    CHECK(near(r.value, 10));
    CHECK_EQ_INT(drv_read(reg, "nosuch", &r), DRV_ENOENT);
    CHECK_EQ_INT(drv_write(reg, "temp", 1.0), DRV_ENOENT);   /* a sensor is not an actuator */
    CHECK(drv_has(reg, "temp", DRV_SENSOR));
    CHECK(!drv_has(reg, "temp", DRV_ACTUATOR));
    /* Reproducible: a second registry with the same seeds gives the same values. */
    drv_registry *again = drv_registry_new(fake_clock, NULL);
    drv_add_sim(again, "noise", 0, &noise, 0);
    fake_now = t0 + 77 * 100000000LL;
    drv_reading r1, r2;
    drv_read(reg, "noise", &r1);
    drv_read(again, "noise", &r2);
    CHECK(r1.value == r2.value);
    drv_registry_free(again);
    drv_registry_free(reg);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_csv(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/in.csv", dir);
    write_file(path, "timestamp,value\n# comment\n10.0,1.5\n10.5,2.5\n\n12.0,-3\n");
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    const int64_t t0 = 5000000000;
    CHECK_EQ_INT(drv_add_csv(reg, "loop", 0, path, true, t0, 0), DRV_OK);
    CHECK_EQ_INT(drv_add_csv(reg, "once", 0, path, false, t0, 0), DRV_OK);
    /* Rows at offsets 0, 0.5, 2.0 s; gap 1.5 s; cycle 3.5 s. */
    struct { double at; double value; double ts; } want[] = {
        { 0.0, 1.5, 0.0 }, { 0.49, 1.5, 0.0 }, { 0.5, 2.5, 0.5 }, { 1.99, 2.5, 0.5 },
        { 2.0, -3, 2.0 }, { 3.49, -3, 2.0 }, { 3.5, 1.5, 3.5 }, { 4.0, 2.5, 4.0 }, { 7.6, 2.5, 7.5 },
    };
    int wrong = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        fake_now = t0 + (int64_t)llround(want[i].at * 1e9);
        drv_reading r;
        int rc = drv_read(reg, "loop", &r);
        if (rc != DRV_OK || r.value != want[i].value || r.timestamp_ns != t0 + llround(want[i].ts * 1e9)) {
            wrong++;
            fprintf(stderr, "csv at %g: rc %d value %g ts %lld\n", want[i].at, rc, r.value,
                    (long long)r.timestamp_ns);
        }
        rc = drv_read(reg, "once", &r);
        bool ended = want[i].at >= 3.5;
        if (ended ? rc != DRV_EEND : (rc != DRV_OK || r.value != want[i].value)) wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
    drv_registry_free(reg);

    /* Malformed input: errors name the file and line. */
    reg = drv_registry_new(fake_clock, NULL);
    struct { const char *text; const char *where; } bad[] = {
        { "1,2\n2,x\n", ":2: expected" },
        { "timestamp,value\n1,2\n\n1;3\n", ":4: expected" },
        { "1,2,3\n", ":1: expected" },
        { "5,1\n4,1\n", ":2: timestamp 4 goes backwards" },
        { "# only a comment\n", "no rows" },
        { "timestamp,value\n,5\n", ":2: expected" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].text);
        CHECK_EQ_INT(drv_add_csv(reg, "bad", 0, path, false, 0, 0), DRV_EINVAL);
        if (!strstr(drv_errmsg(reg), bad[i].where))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, drv_errmsg(reg), bad[i].where);
        CHECK(strstr(drv_errmsg(reg), bad[i].where) != NULL);
        CHECK(strstr(drv_errmsg(reg), path) != NULL || strstr(bad[i].where, "rows"));
    }
    CHECK_EQ_INT(drv_add_csv(reg, "bad", 0, "/nonexistent/x.csv", false, 0, 0), DRV_EIO);
    CHECK(strstr(drv_errmsg(reg), "/nonexistent/x.csv") != NULL);
    CHECK(!drv_has(reg, "bad", DRV_SENSOR));
    drv_registry_free(reg);
}

static void test_actuator(void)
{
    char path[300], text[512] = { 0 };
    snprintf(path, sizeof path, "%s/act.log", dir);
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    CHECK_EQ_INT(drv_add_log_actuator(reg, "fan", 0, path), DRV_OK);
    fake_now = 111;
    CHECK_EQ_INT(drv_write(reg, "fan", 1.0), DRV_OK);
    fake_now = 222;
    CHECK_EQ_INT(drv_write(reg, "fan", 0.25), DRV_OK);
    CHECK_EQ_INT(drv_read(reg, "fan", &(drv_reading){ 0 }), DRV_ENOENT);
    FILE *f = fopen(path, "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    CHECK_EQ_STR(text, "111 fan 1\n222 fan 0.25\n");
    CHECK_EQ_INT(drv_add_log_actuator(reg, "x", 0, "/nonexistent/dir/log"), DRV_EIO);
    drv_registry_free(reg);
}

static void test_publish(void)
{
    uint8_t wire[DRV_READING_SIZE];
    drv_reading in = { 0x0102030405060708LL, -2.5, 4, 1 }, out;
    drv_reading_encode(&in, wire);
    CHECK_EQ_INT(wire[0], 0x08);
    CHECK_EQ_INT(wire[7], 0x01);
    CHECK_EQ_INT(wire[16], 4);
    CHECK_EQ_INT(wire[20], 1);
    drv_reading_decode(wire, &out);
    CHECK(out.timestamp_ns == in.timestamp_ns && out.value == in.value && out.unit == 4 && out.quality == 1);

    bus *b = bus_new(0);
    bus_sub *s = bus_sub_new(b, "reader", 100, 0);
    bus_sub_add_filter(s, "sensors/+");
    drv_registry *reg = drv_registry_new(fake_clock, NULL);
    drv_sim_config noise = { .kind = DRV_SIM_NOISE, .seed = 5, .sample_period_ms = 10,
                             .offset = 1, .amplitude = 1 };
    drv_add_sim(reg, "n", 7, &noise, 1000);
    fake_now = 0;
    CHECK_EQ_INT(drv_publish_due(reg, b), 1);
    CHECK_EQ_INT(drv_publish_due(reg, b), 0);            /* not due yet */
    fake_now = 999999999;
    CHECK_EQ_INT(drv_publish_due(reg, b), 0);
    fake_now = 1000000000;
    CHECK_EQ_INT(drv_publish_due(reg, b), 1);
    bus_msg *m;
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_OK);
    CHECK_EQ_STR(m->topic, "sensors/n");
    CHECK_EQ_INT(m->payload_len, DRV_READING_SIZE);
    drv_reading_decode(m->payload, &out);
    CHECK(near(out.value, 1 + (2 * ref_u(5, 0) - 1)));
    CHECK_EQ_INT(out.unit, 7);
    bus_msg_release(m);
    CHECK_EQ_INT(bus_sub_pop(s, 0, &m), BUS_OK);
    drv_reading_decode(m->payload, &out);
    CHECK(near(out.value, 1 + (2 * ref_u(5, 100) - 1)));
    CHECK_EQ_INT(out.timestamp_ns, 1000000000);
    bus_msg_release(m);
    drv_registry_free(reg);

    /* The thread, on the real clock: a 20 ms period gives a few messages. */
    reg = drv_registry_new(NULL, NULL);
    drv_add_sim(reg, "fast", 0, &noise, 20);
    CHECK_EQ_INT(drv_publish_start(reg, b), DRV_OK);
    usleep(150000);
    drv_publish_stop(reg);
    bus_sub_stats st;
    bus_sub_get_stats(s, &st);
    CHECK(st.enqueued >= 2 + 3 && st.enqueued <= 2 + 10);
    drv_registry_free(reg);
    bus_free(b);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/graft-drv-test-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_sim();
    test_csv();
    test_actuator();
    test_publish();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
