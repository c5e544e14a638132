/* tests/agent/hostapi.c - the iot_v1 host API against real modules.
 *
 * Two kinds of guests: small forwarder modules generated here (each export
 * f_NAME passes its arguments straight to the import iot_v1.NAME, so the
 * test can hand the host any pointer it likes), and the C example modules
 * built from source by the `examples` target (GRAFT_BINARY_DIR/examples/
 * modules; missing ones fail the test, they are not skipped). A test
 * services table records every call and keeps kv in memory. */
#include "graft.h"
#include "graft_iot.h"
#include "harness.h"
#include "iot_v1.h"
#include "manifest.h"

#include <stdlib.h>

/* ---- test services ------------------------------------------------------ */

#define KV_MAX 32

typedef struct rec {
    int logs, host_logs, publishes, actuator_writes, timers_started;
    char last_topic[256];
    char last_payload[512];
    size_t last_payload_len;
    char last_host_log[512];
    double last_actuator;
    char kv_key[KV_MAX][64];
    uint8_t kv_val[KV_MAX][4096];
    size_t kv_len[KV_MAX];
    int nkv;
} rec;

static void s_log(void *u, iot_log_origin o, int level, const char *m, size_t n)
{
    rec *r = u;
    (void)level;
    if (o == IOT_LOG_HOST) {
        r->host_logs++;
        snprintf(r->last_host_log, sizeof r->last_host_log, "%.*s", (int)n, m);
    } else {
        r->logs++;
    }
}

static int64_t s_clock(void *u) { (void)u; return 123456789; }

static int s_sensor(void *u, const char *name, size_t n, iot_reading *out)
{
    (void)u;
    if (n == 5 && memcmp(name, "temp1", 5) == 0) {
        *out = (iot_reading){ .timestamp_ns = 1700000000000000001LL, .value = 21.5, .unit = 1, .quality = 0 };
        return IOT_OK;
    }
    return IOT_ENOENT;
}

static int s_actuator(void *u, const char *name, size_t n, double v)
{
    rec *r = u;
    (void)name; (void)n;
    r->actuator_writes++;
    r->last_actuator = v;
    return IOT_OK;
}

static int s_publish(void *u, const char *t, size_t tl, const uint8_t *p, size_t pl)
{
    rec *r = u;
    r->publishes++;
    snprintf(r->last_topic, sizeof r->last_topic, "%.*s", (int)tl, t);
    r->last_payload_len = pl < sizeof r->last_payload - 1 ? pl : sizeof r->last_payload - 1;
    memcpy(r->last_payload, p, r->last_payload_len);
    r->last_payload[r->last_payload_len] = '\0';
    return IOT_OK;
}

static int kv_find(rec *r, const char *k, size_t kl)
{
    for (int i = 0; i < r->nkv; i++)
        if (strlen(r->kv_key[i]) == kl && memcmp(r->kv_key[i], k, kl) == 0) return i;
    return -1;
}

static int s_kv_get(void *u, const char *k, size_t kl, uint8_t *buf, size_t cap)
{
    rec *r = u;
    int i = kv_find(r, k, kl);
    if (i < 0) return IOT_ENOENT;
    memcpy(buf, r->kv_val[i], r->kv_len[i] < cap ? r->kv_len[i] : cap);
    return (int)r->kv_len[i];
}

static int s_kv_put(void *u, const char *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = u;
    int i = kv_find(r, k, kl);
    if (vl > sizeof r->kv_val[0] || kl >= sizeof r->kv_key[0]) return IOT_EQUOTA;
    if (i < 0) {
        if (r->nkv == KV_MAX) return IOT_EQUOTA;
        i = r->nkv++;
        memcpy(r->kv_key[i], k, kl);
        r->kv_key[i][kl] = '\0';
    }
    memcpy(r->kv_val[i], v, vl);
    r->kv_len[i] = vl;
    return IOT_OK;
}

static int s_kv_delete(void *u, const char *k, size_t kl)
{
    rec *r = u;
    int i = kv_find(r, k, kl);
    if (i < 0) return IOT_ENOENT;
    r->kv_key[i][0] = '\0';
    return IOT_OK;
}

static int s_timer_start(void *u, int32_t id, uint32_t period, bool periodic)
{
    rec *r = u;
    (void)id; (void)period; (void)periodic;
    r->timers_started++;
    return IOT_OK;
}

static int s_timer_cancel(void *u, int32_t id) { (void)u; (void)id; return IOT_OK; }

static iot_services services_for(rec *r)
{
    return (iot_services){ r, s_log, s_clock, s_clock, s_sensor, s_actuator, s_publish,
                           s_kv_get, s_kv_put, s_kv_delete, s_timer_start, s_timer_cancel };
}

/* ---- generated forwarder modules --------------------------------------- */

typedef struct wbuf { uint8_t b[4096]; size_t n; } wbuf;

static void put(wbuf *w, uint8_t x) { w->b[w->n++] = x; }
static void leb(wbuf *w, uint32_t v) { do { uint8_t x = v & 0x7F; v >>= 7; put(w, (uint8_t)(x | (v ? 0x80 : 0))); } while (v); }
static void str(wbuf *w, const char *s) { leb(w, (uint32_t)strlen(s)); for (; *s; s++) put(w, (uint8_t)*s); }
static void section(wbuf *w, uint8_t id, const wbuf *body) { put(w, id); leb(w, (uint32_t)body->n); memcpy(w->b + w->n, body->b, body->n); w->n += body->n; }

/* Types: 0 (i32 i32 i32)->i32, 1 (i32 i32 f64)->i32, 2 (i32 x4)->i32, 3 (i32 i32)->i32, 4 (i32)->i32 */
static const struct { const char *name; int type; } fwd_all[] = {
    { "log", 0 }, { "sensor_read", 0 }, { "actuator_write", 1 }, { "publish", 2 },
    { "kv_get", 2 }, { "kv_put", 2 }, { "kv_delete", 3 }, { "timer_start", 0 }, { "timer_cancel", 4 },
};
static const int type_nparams[] = { 3, 3, 4, 2, 1 };

/* A module importing iot_v1.NAME for the given names (type from fwd_all,
 * or type 4 for unknown names) and exporting f_NAME forwarders and memory. */
static size_t build_forwarder(const char *const *names, size_t n, uint8_t *out)
{
    wbuf w = { .n = 0 }, sec;
    static const uint8_t hdr[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
    memcpy(w.b, hdr, 8);
    w.n = 8;
    sec.n = 0;
    leb(&sec, 5);
    for (int t = 0; t < 5; t++) {
        put(&sec, 0x60);
        leb(&sec, (uint32_t)type_nparams[t]);
        for (int p = 0; p < type_nparams[t]; p++) put(&sec, t == 1 && p == 2 ? 0x7C : 0x7F);
        put(&sec, 1); put(&sec, 0x7F);
    }
    section(&w, 1, &sec);
    int types[16];
    for (size_t i = 0; i < n; i++) {
        types[i] = 4;
        for (size_t k = 0; k < sizeof fwd_all / sizeof fwd_all[0]; k++)
            if (strcmp(fwd_all[k].name, names[i]) == 0) types[i] = fwd_all[k].type;
    }
    sec.n = 0; leb(&sec, (uint32_t)n);
    for (size_t i = 0; i < n; i++) { str(&sec, "iot_v1"); str(&sec, names[i]); put(&sec, 0); leb(&sec, (uint32_t)types[i]); }
    section(&w, 2, &sec);
    sec.n = 0; leb(&sec, (uint32_t)n);
    for (size_t i = 0; i < n; i++) leb(&sec, (uint32_t)types[i]);
    section(&w, 3, &sec);
    sec.n = 0; put(&sec, 1); put(&sec, 0); put(&sec, 1);
    section(&w, 5, &sec);
    sec.n = 0; leb(&sec, (uint32_t)n + 1);
    str(&sec, "memory"); put(&sec, 2); put(&sec, 0);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "f_%s", names[i]);
        str(&sec, name); put(&sec, 0); leb(&sec, (uint32_t)(n + i));
    }
    section(&w, 7, &sec);
    sec.n = 0; leb(&sec, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wbuf body = { .n = 0 };
        put(&body, 0);
        for (int p = 0; p < type_nparams[types[i]]; p++) { put(&body, 0x20); leb(&body, (uint32_t)p); }
        put(&body, 0x10); leb(&body, (uint32_t)i); put(&body, 0x0B);
        leb(&sec, (uint32_t)body.n);
        memcpy(sec.b + sec.n, body.b, body.n);
        sec.n += body.n;
    }
    section(&w, 10, &sec);
    memcpy(out, w.b, w.n);
    return w.n;
}

typedef struct guest {
    graft_env *env;
    graft_module *mod;
    graft_store *store;
    graft_instance *inst;
    uint8_t *mem;
} guest;

static graft_result wasi_stub(graft_caller *c, graft_slot *s, void *u)
{
    (void)c; (void)u;
    s[0].i32 = 52; /* ENOSYS */
    return GRAFT_OK;
}

/* Instantiate bytes with iot_v1 over ctx, plus ENOSYS stubs for any WASI import. */
static bool guest_start(guest *g, const uint8_t *bytes, size_t len, const iot_module_ctx *ctx)
{
    memset(g, 0, sizeof *g);
    if (graft_env_new(NULL, &g->env) != GRAFT_OK) return false;
    if (graft_module_load(g->env, bytes, len, &g->mod) != GRAFT_OK) {
        fprintf(stderr, "load: %s\n", graft_env_error(g->env)->message);
        return false;
    }
    if (graft_store_new(g->env, NULL, &g->store) != GRAFT_OK || iot_v1_define(g->store, ctx) != GRAFT_OK) return false;
    for (uint32_t i = 0; i < graft_module_import_count(g->mod); i++) {
        graft_extern_desc d;
        graft_module_import(g->mod, i, &d);
        if (d.module_len != 6 || memcmp(d.module, "iot_v1", 6) != 0) {
            graft_func *f;
            graft_func_new_host(g->store, &d.func, wasi_stub, NULL, &f);
            graft_store_define(g->store, d.module, d.module_len, d.name, d.name_len,
                               (graft_extern){ .kind = GRAFT_EXTERN_FUNC, .of.func = f });
        }
    }
    if (graft_instance_new(g->store, g->mod, &g->inst) != GRAFT_OK) {
        fprintf(stderr, "instantiate: %s\n", graft_store_error(g->store)->message);
        return false;
    }
    g->mem = graft_memory_data(graft_instance_memory(g->inst));
    return true;
}

static void guest_free(guest *g)
{
    if (g->store) graft_store_free(g->store);
    if (g->mod) graft_module_free(g->mod);
    if (g->env) graft_env_free(g->env);
}

static int32_t call(guest *g, const char *name, const graft_val *args, size_t nargs)
{
    graft_func *f = graft_instance_func(g->inst, name);
    graft_val res = { 0 };
    if (!f) { fprintf(stderr, "no export %s\n", name); return -1000; }
    graft_result r = graft_call(f, args, nargs, &res, 1);
    if (r != GRAFT_OK) { fprintf(stderr, "%s: %s\n", name, graft_store_error(g->store)->message); return -1000; }
    return res.of.i32;
}

#define I32(v) ((graft_val){ .type = GRAFT_I32, .of.i32 = (int32_t)(v) })

static void test_forwarder_calls(void)
{
    const char *names[] = { "log", "sensor_read", "actuator_write", "publish", "kv_get", "kv_put",
                            "kv_delete", "timer_start", "timer_cancel" };
    uint8_t bytes[4096];
    size_t len = build_forwarder(names, 9, bytes);
    static rec r;
    memset(&r, 0, sizeof r);
    iot_services svc = services_for(&r);
    iot_caps caps = { 0 };
    iot_strlist_add(&caps.sensors, "temp1");
    iot_strlist_add(&caps.publish, "alarms/+");
    caps.kv_quota_bytes = 100;
    iot_limits lim = { .max_message_bytes = 100 };
    iot_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    iot_module_ctx ctx = { "fwd", &caps, &lim, &svc, &cnt };
    char err[256] = "";
    guest g;
    CHECK(guest_start(&g, bytes, len, &ctx));
    if (!g.inst) { guest_free(&g); iot_caps_free(&caps); return; }
    /* actuators and timers are not granted: link-time refusal names the first. */
    CHECK_EQ_INT(iot_v1_check_imports(g.mod, &caps, err, sizeof err), GRAFT_ERR_SECURITY);
    CHECK_EQ_STR(err, "import iot_v1.actuator_write: capability actuators (a granted actuator name) is not granted to this module");

    uint8_t *m = g.mem;
    memcpy(m + 100, "alarms/t1", 9);
    memcpy(m + 200, "hello", 5);
    memcpy(m + 300, "temp1", 5);
    memcpy(m + 310, "forbidden/x", 11);
    memcpy(m + 330, "alarms/+", 8);
    memcpy(m + 340, "alarms/\xC0\x80", 9);
    /* granted publish */
    graft_val a[4] = { I32(100), I32(9), I32(200), I32(5) };
    CHECK_EQ_INT(call(&g, "f_publish", a, 4), IOT_OK);
    CHECK_EQ_STR(r.last_topic, "alarms/t1");
    CHECK_EQ_STR(r.last_payload, "hello");
    /* ungranted publish: refused, counted, logged, the module keeps running */
    a[0] = I32(310); a[1] = I32(11);
    CHECK_EQ_INT(call(&g, "f_publish", a, 4), IOT_EPERM);
    CHECK_EQ_INT(atomic_load(&cnt.refused), 1);
    CHECK(strstr(r.last_host_log, "forbidden/x") != NULL);
    CHECK_EQ_INT(r.publishes, 1);
    /* wildcard and bad UTF-8 in the topic */
    a[0] = I32(330); a[1] = I32(8);
    CHECK_EQ_INT(call(&g, "f_publish", a, 4), IOT_EINVAL);
    a[0] = I32(340); a[1] = I32(9);
    CHECK_EQ_INT(call(&g, "f_publish", a, 4), IOT_EINVAL);
    /* too big */
    a[0] = I32(100); a[1] = I32(9); a[3] = I32(101);
    CHECK_EQ_INT(call(&g, "f_publish", a, 4), IOT_E2BIG);
    /* bad pointers: past the end, negative length, wrapping */
    graft_val bad[][4] = {
        { I32(65530), I32(9), I32(200), I32(5) },
        { I32(100), I32(9), I32(65535), I32(2) },
        { I32(100), I32(-1), I32(200), I32(5) },
        { I32(-1), I32(2), I32(200), I32(5) },
        { I32(100), I32(9), I32(0x7FFFFFFF), I32(0x7FFFFFFF) },
    };
    for (size_t i = 0; i < 5; i++) CHECK_EQ_INT(call(&g, "f_publish", bad[i], 4), IOT_EFAULT);
    CHECK_EQ_INT(atomic_load(&cnt.faults), 5);
    /* sensor_read: granted, ungranted, bad output pointer */
    graft_val sr[3] = { I32(300), I32(5), I32(400) };
    CHECK_EQ_INT(call(&g, "f_sensor_read", sr, 3), IOT_OK);
    iot_sensor_reading rd;
    CHECK_EQ_INT(iot_reading_parse(m + 400, 24, &rd), IOT_OK);
    CHECK_EQ_INT(rd.timestamp_ns, 1700000000000000001LL);
    CHECK(rd.value == 21.5);
    CHECK_EQ_INT(rd.unit, 1);
    sr[2] = I32(65536 - 23);
    CHECK_EQ_INT(call(&g, "f_sensor_read", sr, 3), IOT_EFAULT);
    sr[0] = I32(310); sr[1] = I32(9); sr[2] = I32(400);
    CHECK_EQ_INT(call(&g, "f_sensor_read", sr, 3), IOT_EPERM);
    /* actuator not granted at call time either */
    graft_val aw[3] = { I32(300), I32(5), { .type = GRAFT_F64, .of.f64_bits = 0x3FF0000000000000ull } };
    CHECK_EQ_INT(call(&g, "f_actuator_write", aw, 3), IOT_EPERM);
    CHECK_EQ_INT(r.actuator_writes, 0);
    /* kv: put, get (length, truncation), delete, key checks */
    graft_val kv[4] = { I32(300), I32(5), I32(200), I32(5) };
    CHECK_EQ_INT(call(&g, "f_kv_put", kv, 4), IOT_OK);
    kv[2] = I32(500); kv[3] = I32(3);
    CHECK_EQ_INT(call(&g, "f_kv_get", kv, 4), 5);
    CHECK(memcmp(m + 500, "hel", 3) == 0 && m[503] == 0);
    kv[1] = I32(0);
    CHECK_EQ_INT(call(&g, "f_kv_get", kv, 4), IOT_EINVAL);
    kv[1] = I32(300);
    CHECK_EQ_INT(call(&g, "f_kv_get", kv, 4), IOT_E2BIG);
    kv[1] = I32(5); kv[2] = I32(65535); kv[3] = I32(10);
    CHECK_EQ_INT(call(&g, "f_kv_get", kv, 4), IOT_EFAULT);
    graft_val kd[2] = { I32(300), I32(5) };
    CHECK_EQ_INT(call(&g, "f_kv_delete", kd, 2), IOT_OK);
    /* timers not granted; log levels */
    graft_val ts[3] = { I32(1), I32(1000), I32(1) };
    CHECK_EQ_INT(call(&g, "f_timer_start", ts, 3), IOT_EPERM);
    graft_val lg[3] = { I32(1), I32(200), I32(5) };
    CHECK_EQ_INT(call(&g, "f_log", lg, 3), IOT_OK);
    CHECK_EQ_INT(r.logs, 1);
    lg[0] = I32(9);
    CHECK_EQ_INT(call(&g, "f_log", lg, 3), IOT_EINVAL);
    lg[0] = I32(1); lg[1] = I32(65535); lg[2] = I32(2);
    CHECK_EQ_INT(call(&g, "f_log", lg, 3), IOT_EFAULT);
    CHECK(atomic_load(&cnt.calls) >= 20);
    guest_free(&g);

    /* With timers granted: period checks. */
    caps.timers = 2;
    caps.timer_min_period_ms = 500;
    CHECK(guest_start(&g, bytes, len, &ctx));
    if (g.inst) {
        CHECK_EQ_INT(call(&g, "f_timer_start", ts, 3), IOT_OK);
        ts[1] = I32(100);
        CHECK_EQ_INT(call(&g, "f_timer_start", ts, 3), IOT_EPERM);
        ts[1] = I32(5);
        CHECK_EQ_INT(call(&g, "f_timer_start", ts, 3), IOT_EINVAL);
        CHECK_EQ_INT(r.timers_started, 1);
    }
    guest_free(&g);
    iot_caps_free(&caps);
}

/* Fuel consumed by one forwarder call, in trap mode with plenty of fuel. */
static uint64_t fuel_of(guest *g, const char *name, const graft_val *args, size_t nargs)
{
    graft_store_set_fuel(g->store, GRAFT_FUEL_TRAP, 1u << 20);
    CHECK(call(g, name, args, nargs) == IOT_OK);
    return graft_store_fuel_consumed(g->store);
}

/* The len/64 parts of the costs are taken from the tank (graft_caller_charge,
 * docs/host-api.md "Fuel"): exact counts, host_fuel, the log line cut at
 * 1 KiB, and an "out of fuel" trap before the work when the tank is short. */
static void test_len_fuel(void)
{
    const char *names[] = { "log", "publish" };
    uint8_t bytes[4096];
    size_t len = build_forwarder(names, 2, bytes);
    static rec r;
    memset(&r, 0, sizeof r);
    iot_services svc = services_for(&r);
    iot_caps caps = { 0 };
    iot_strlist_add(&caps.publish, "alarms/+");
    iot_limits lim = { .max_message_bytes = 1000 };
    iot_counters cnt;
    memset(&cnt, 0, sizeof cnt);
    iot_module_ctx ctx = { "fwd", &caps, &lim, &svc, &cnt };
    guest g;
    CHECK(guest_start(&g, bytes, len, &ctx));
    if (g.inst) {
        memset(g.mem + 1000, 'x', 8192);
        memcpy(g.mem + 100, "alarms/t1", 9);
        graft_val lg[3] = { I32(1), I32(1000), I32(63) };
        uint64_t base = fuel_of(&g, "f_log", lg, 3);   /* no len part below 64 */
        lg[2] = I32(640);
        CHECK_EQ_U64(fuel_of(&g, "f_log", lg, 3), base + 10);
        lg[2] = I32(8192);                               /* cut at 1 KiB */
        CHECK_EQ_U64(fuel_of(&g, "f_log", lg, 3), base + 16);
        CHECK_EQ_U64(atomic_load(&cnt.host_fuel), 26);
        graft_val pb[4] = { I32(100), I32(9), I32(1000), I32(0) };
        uint64_t pbase = fuel_of(&g, "f_publish", pb, 4);
        pb[3] = I32(1000);
        CHECK_EQ_U64(fuel_of(&g, "f_publish", pb, 4), pbase + 15);
        /* Short: nothing logged, the event traps out of fuel; then usable. */
        int logs = r.logs;
        lg[2] = I32(640);
        graft_store_set_fuel(g.store, GRAFT_FUEL_TRAP, base + 9);
        graft_val res;
        CHECK_EQ_INT(graft_call(graft_instance_func(g.inst, "f_log"), lg, 3, &res, 1), GRAFT_ERR_TRAP);
        CHECK_EQ_INT(graft_store_error(g.store)->code, GRAFT_E_TRAP_OUT_OF_FUEL);
        CHECK_EQ_INT(r.logs, logs);
        CHECK_EQ_U64(graft_store_fuel(g.store), 9);
        graft_store_add_fuel(g.store, base + 1);
        CHECK_EQ_INT(call(&g, "f_log", lg, 3), IOT_OK);
        CHECK_EQ_INT(r.logs, logs + 1);
        CHECK_EQ_U64(graft_store_fuel(g.store), 0);
    }
    guest_free(&g);
    iot_caps_free(&caps);
}

static void test_link_refusal(void)
{
    uint8_t bytes[4096];
    iot_caps caps = { 0 };
    graft_env *env;
    graft_module *mod;
    char err[256] = "";
    CHECK(graft_env_new(NULL, &env) == GRAFT_OK);
    const char *only_sensor[] = { "sensor_read" };
    size_t len = build_forwarder(only_sensor, 1, bytes);
    CHECK(graft_module_load(env, bytes, len, &mod) == GRAFT_OK);
    CHECK_EQ_INT(iot_v1_check_imports(mod, &caps, err, sizeof err), GRAFT_ERR_SECURITY);
    CHECK_EQ_STR(err, "import iot_v1.sensor_read: capability sensors (a granted sensor name) is not granted to this module");
    iot_strlist_add(&caps.sensors, "temp1");
    CHECK_EQ_INT(iot_v1_check_imports(mod, &caps, err, sizeof err), GRAFT_OK);
    graft_module_free(mod);
    const char *unknown[] = { "log", "reboot" };
    len = build_forwarder(unknown, 2, bytes);
    CHECK(graft_module_load(env, bytes, len, &mod) == GRAFT_OK);
    CHECK_EQ_INT(iot_v1_check_imports(mod, &caps, err, sizeof err), GRAFT_ERR_LINK);
    CHECK_EQ_STR(err, "import iot_v1.reboot: no such function in host API iot_v1");
    graft_module_free(mod);
    const char *kvd[] = { "kv_delete" };
    len = build_forwarder(kvd, 1, bytes);
    CHECK(graft_module_load(env, bytes, len, &mod) == GRAFT_OK);
    CHECK_EQ_INT(iot_v1_check_imports(mod, &caps, err, sizeof err), GRAFT_ERR_SECURITY);
    CHECK(strstr(err, "iot_v1.kv_delete") && strstr(err, "kv"));
    CHECK_EQ_INT(iot_v1_check_exports(mod, &caps, err, sizeof err), GRAFT_OK);
    iot_strlist_add(&caps.subscribe, "sensors/#");
    CHECK_EQ_INT(iot_v1_check_exports(mod, &caps, err, sizeof err), GRAFT_ERR_LINK);
    CHECK(strstr(err, "on_message") != NULL);
    graft_module_free(mod);
    graft_env_free(env);
    iot_caps_free(&caps);
}

static void test_reading_roundtrip(void)
{
    iot_sensor_reading in = { .timestamp_ns = -5, .value = -0.125, .unit = 9, .quality = 2 }, out;
    uint8_t sdk[24], host[24];
    iot_reading_build(&in, sdk);
    iot_reading h = { -5, -0.125, 9, 2 }, back;
    iot_reading_encode(&h, host);
    CHECK(memcmp(sdk, host, 24) == 0);
    CHECK_EQ_INT(sdk[0], 0xFB);           /* little-endian, explicit */
    CHECK_EQ_INT(sdk[16], 9);
    CHECK_EQ_INT(iot_reading_parse(host, 24, &out), IOT_OK);
    CHECK(out.timestamp_ns == -5 && out.value == -0.125 && out.unit == 9 && out.quality == 2);
    iot_reading_decode(sdk, &back);
    CHECK(back.timestamp_ns == -5 && back.value == -0.125 && back.unit == 9 && back.quality == 2);
    CHECK_EQ_INT(iot_reading_parse(host, 23, &out), IOT_EINVAL);
}

/* ---- the example modules -------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    return b;
}

typedef struct example {
    manifest man;
    iot_caps caps;
    iot_limits lim;
    iot_services svc;
    iot_counters cnt;
    iot_module_ctx ctx;
    uint8_t *bytes;
    size_t len;
} example;

/* Load NAME.wasm and NAME.json built by the examples target, granting all
 * the manifest asks for. Fails the test loudly when they are missing. */
static bool example_open(example *e, const char *name, rec *r)
{
    char path[512], err[512];
    memset(e, 0, sizeof *e);
    snprintf(path, sizeof path, "%s/examples/modules/%s.wasm", GRAFT_BINARY_DIR, name);
    e->bytes = read_file(path, &e->len);
    if (!e->bytes) {
        fprintf(stderr, "FAIL: %s is missing: build it with `cmake --build %s --target examples`\n", path,
                GRAFT_BINARY_DIR);
        CHECK(!"example module built");
        return false;
    }
    snprintf(path, sizeof path, "%s/examples/modules/%s.json", GRAFT_BINARY_DIR, name);
    if (!manifest_parse_file(path, &e->man, err, sizeof err)) {
        fprintf(stderr, "FAIL: %s\n", err);
        CHECK(!"example manifest parses");
        return false;
    }
    CHECK(manifest_caps_intersect(&e->man.caps, &e->man.caps, &e->caps));
    iot_limits none = { 0 };
    manifest_limits_cap(&e->man.limits, &none, &e->lim);
    e->svc = services_for(r);
    e->ctx = (iot_module_ctx){ name, &e->caps, &e->lim, &e->svc, &e->cnt };
    return true;
}

static void example_close(example *e)
{
    free(e->bytes);
    manifest_free(&e->man);
    iot_caps_free(&e->caps);
}

static int32_t deliver(guest *g, const char *topic, const void *payload, size_t plen)
{
    size_t tlen = strlen(topic);
    graft_val size = I32(tlen + plen);
    int32_t p = call(g, "graft_alloc", &size, 1);
    if (p <= 0) return -1000;
    g->mem = graft_memory_data(graft_instance_memory(g->inst));
    memcpy(g->mem + p, topic, tlen);
    memcpy(g->mem + p + tlen, payload, plen);
    graft_val a[4] = { I32(p), I32(tlen), I32(p + (int32_t)tlen), I32(plen) };
    return call(g, "on_message", a, 4);
}

static int32_t deliver_reading(guest *g, const char *topic, double v)
{
    iot_sensor_reading r = { .timestamp_ns = 1, .value = v, .unit = 1, .quality = 0 };
    uint8_t b[24];
    iot_reading_build(&r, b);
    return deliver(g, topic, b, 24);
}

static bool example_boot(guest *g, example *e)
{
    char err[256];
    CHECK_EQ_INT(iot_v1_check_imports(g->mod, &e->caps, err, sizeof err), GRAFT_OK);
    CHECK_EQ_INT(iot_v1_check_exports(g->mod, &e->caps, err, sizeof err), GRAFT_OK);
    graft_func *init = graft_instance_func(g->inst, "_initialize");
    if (init) CHECK(graft_call(init, NULL, 0, NULL, 0) == GRAFT_OK);
    return call(g, "on_start", NULL, 0) == 0;
}

static void test_threshold_alarm(void)
{
    static rec r;
    memset(&r, 0, sizeof r);
    example e;
    guest g = { 0 };
    if (!example_open(&e, "threshold_alarm", &r)) { example_close(&e); return; }
    /* Its imports need publish and kv: without kv it is refused at link time. */
    graft_env *env;
    graft_module *mod;
    char err[256];
    CHECK(graft_env_new(NULL, &env) == GRAFT_OK && graft_module_load(env, e.bytes, e.len, &mod) == GRAFT_OK);
    iot_caps nokv = { 0 };
    iot_strlist_add(&nokv.publish, "alarms/+");
    CHECK_EQ_INT(iot_v1_check_imports(mod, &nokv, err, sizeof err), GRAFT_ERR_SECURITY);
    CHECK(strstr(err, "iot_v1.kv_get") != NULL);
    iot_caps_free(&nokv);
    graft_module_free(mod);
    graft_env_free(env);

    CHECK(guest_start(&g, e.bytes, e.len, &e.ctx));
    if (g.inst && example_boot(&g, &e)) {
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 25.0), 0);
        CHECK_EQ_INT(r.publishes, 0);
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 31.0), 0);
        CHECK_EQ_INT(r.publishes, 1);
        CHECK_EQ_STR(r.last_topic, "alarms/temp1");
        CHECK_EQ_STR(r.last_payload, "{\"sensor\":\"temp1\",\"state\":\"alarm\",\"value\":31.00}");
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 32.0), 0);   /* still alarmed */
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 29.0), 0);   /* inside the band */
        CHECK_EQ_INT(r.publishes, 1);
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 27.5), 0);
        CHECK_EQ_INT(r.publishes, 2);
        CHECK(strstr(r.last_payload, "\"clear\"") != NULL);
        int k = kv_find(&r, "state/temp1", 11);
        CHECK(k >= 0 && r.kv_len[k] == 1 && r.kv_val[k][0] == '0');
        CHECK(deliver(&g, "sensors/temp1", "short", 5) != 0);          /* not a reading: rejected */
        CHECK_EQ_INT(atomic_load(&e.cnt.refused), 0);
    }
    guest_free(&g);
    example_close(&e);
}

static void test_rule_engine(void)
{
    static rec r;
    memset(&r, 0, sizeof r);
    example e;
    guest g = { 0 };
    if (!example_open(&e, "rule_engine", &r)) { example_close(&e); return; }
    CHECK(guest_start(&g, e.bytes, e.len, &e.ctx));
    if (g.inst && example_boot(&g, &e)) {
        const char *rules = "# hot\ntemp1 > 30 alerts/hot\n";
        CHECK_EQ_INT(deliver(&g, "control/rule_engine", rules, strlen(rules)), 0);
        CHECK_EQ_STR(r.last_topic, "status/rule_engine");
        CHECK_EQ_STR(r.last_payload, "ok 1 rules");
        int before = r.publishes;
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 29.0), 0);
        CHECK_EQ_INT(r.publishes, before);
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 31.0), 0);
        CHECK_EQ_INT(r.publishes, before + 1);
        CHECK_EQ_STR(r.last_topic, "alerts/hot");
        CHECK_EQ_STR(r.last_payload, "{\"rule\":1,\"sensor\":\"temp1\",\"value\":31.00}");
        /* A bad rule set is refused and the old rules stay. */
        const char *bad = "temp1 >> 3 alerts/x\n";
        CHECK(deliver(&g, "control/rule_engine", bad, strlen(bad)) != 0);
        CHECK_EQ_STR(r.last_payload, "error line 1: expected an operator > >= < <= == !=");
        /* Change at run time: now below 30, and one rule outside the grants. */
        const char *next = "temp1 < 30 alerts/cold\ntemp1 < 30 forbidden/x\n";
        CHECK_EQ_INT(deliver(&g, "control/rule_engine", next, strlen(next)), 0);
        CHECK_EQ_STR(r.last_payload, "ok 2 rules");
        before = r.publishes;
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 31.0), 0);
        CHECK_EQ_INT(r.publishes, before);
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 29.0), 0);
        CHECK_EQ_INT(r.publishes, before + 1);
        CHECK_EQ_STR(r.last_topic, "alerts/cold");
        CHECK_EQ_INT(atomic_load(&e.cnt.refused), 1);                 /* forbidden/x, counted */
    }
    guest_free(&g);
    /* A fresh instance reads the stored rules back from kv. */
    CHECK(guest_start(&g, e.bytes, e.len, &e.ctx));
    if (g.inst && example_boot(&g, &e)) {
        int before = r.publishes;
        CHECK_EQ_INT(deliver_reading(&g, "sensors/temp1", 10.0), 0);
        CHECK_EQ_INT(r.publishes, before + 1);
        CHECK_EQ_STR(r.last_topic, "alerts/cold");
    }
    guest_free(&g);
    example_close(&e);
}

int main(void)
{
    test_reading_roundtrip();
    test_forwarder_calls();
    test_link_refusal();
    test_len_fuel();
    test_threshold_alarm();
    test_rule_engine();
    TEST_MAIN_END();
}
