/* iot_v1.c - the iot_v1 host functions (iot_v1.h, docs/host-api.md).
 *
 * One table, `funcs`, is the single list of the API: name, WebAssembly
 * type, fuel cost, the capability it needs and the host function. Both
 * iot_v1_define and the link-time check iot_v1_check_imports walk it.
 *
 * Every host function follows one order: count the call, check every
 * pointer and length against the caller's memory (IOT_EFAULT; offsets and
 * lengths are unsigned 32-bit and added in 64 bits, so nothing wraps),
 * check the arguments (IOT_EINVAL, IOT_E2BIG), check the grant (IOT_EPERM),
 * charge the length-dependent fuel (charge_len), then call the service. A
 * guest error never traps: it is an answer; only fuel that cannot be paid
 * traps ("out of fuel"). */
#include "iot_v1.h"
#include "topic.h"

#include <stdio.h>
#include <string.h>

/* ---- readings --------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void iot_reading_encode(const iot_reading *r, uint8_t out[IOT_READING_SIZE])
{
    uint64_t bits;
    memcpy(&bits, &r->value, sizeof bits);
    put_u64(out, (uint64_t)r->timestamp_ns);
    put_u64(out + 8, bits);
    put_u32(out + 16, r->unit);
    put_u32(out + 20, r->quality);
}

void iot_reading_decode(const uint8_t in[IOT_READING_SIZE], iot_reading *out)
{
    uint64_t bits = get_u64(in + 8);
    out->timestamp_ns = (int64_t)get_u64(in);
    memcpy(&out->value, &bits, sizeof bits);
    out->unit = get_u32(in + 16);
    out->quality = get_u32(in + 20);
}

/* ---- log text ----------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (of n bytes), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
    if (s[0] >= 0xf5 || k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    uint32_t c = k == 2 ? (s[0] & 0x1fu) : k == 3 ? (s[0] & 0x0fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < k; i++) c = (c << 6) | (s[i] & 0x3fu);
    if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return k;
}

char *iot_escape(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t o = 0;
    if (cap == 0) return out;
    for (size_t i = 0; i < len;) {
        size_t k = p[i] >= 0x80 ? utf8_seq(p + i, len - i) : 1;
        bool plain = k > 1 || (k == 1 && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\');
        size_t need = plain ? k : 4;
        if (o + need + 1 > cap) break;
        if (plain) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = '\\', out[o++] = 'x', out[o++] = hex[p[i] >> 4], out[o++] = hex[p[i] & 15];
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- shared checks ---------------------------------------------------- */

/* The guest span [ptr, ptr+len) of the caller's memory, or false. */
static bool span(graft_caller *c, int32_t ptr, int32_t len, uint8_t **out)
{
    graft_memory *mem = graft_caller_memory(c);
    uint64_t p = (uint32_t)ptr, l = (uint32_t)len;
    if (!mem) {
        *out = NULL;
        return l == 0 && p == 0;
    }
    if (p + l > graft_memory_size(mem)) return false;
    *out = graft_memory_data(mem) + p;
    return true;
}

static void count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Log a host-side line about the module, through the services. */
static void host_log(const iot_module_ctx *x, int level, const char *fn, const char *fmt, const char *arg,
                     size_t arg_len)
{
    if (!x->services->log) return;
    char text[4 * 120 + 1], what[640], line[768];
    iot_escape(text, sizeof text, arg ? arg : "", arg_len > 120 ? 120 : arg_len);
    snprintf(what, sizeof what, fmt, text);
    int n = snprintf(line, sizeof line, "iot_v1.%s from module %s: %s", fn,
                     x->module_name ? x->module_name : "?", what);
    x->services->log(x->services->user, IOT_LOG_HOST, level, line, n < 0 ? 0 : (size_t)n);
}

/* Answer with code, counting and logging the guest's errors. arg names
 * what was refused (a topic, a sensor) for the log line. */
static graft_result answer(const iot_module_ctx *x, graft_slot *slots, int code, const char *fn,
                           const char *arg, size_t arg_len)
{
    slots[0].i32 = code;
    iot_counters *k = x->counters;
    switch (code) {
    case IOT_EPERM:
        if (k) count(&k->refused, 1);
        host_log(x, 2, fn, "refused, not granted: \"%s\"", arg, arg_len);
        break;
    case IOT_EFAULT:
        if (k) count(&k->faults, 1);
        host_log(x, 2, fn, "bad pointer or length%s", "", 0);
        break;
    case IOT_EINVAL:
        if (k) count(&k->invalid, 1);
        host_log(x, 1, fn, "invalid argument \"%s\"", arg, arg_len);
        break;
    case IOT_E2BIG:
        if (k) count(&k->too_big, 1);
        host_log(x, 1, fn, "too big%s", "", 0);
        break;
    default:
        break;
    }
    return GRAFT_OK;
}

static const iot_module_ctx *begin(void *user)
{
    const iot_module_ctx *x = user;
    if (x->counters) count(&x->counters->calls, 1);
    return x;
}

/* The length-dependent part of a call's cost, len/64 units
 * (docs/host-api.md, "Fuel"), taken from the tank with graft_caller_charge
 * once the checks passed and before the service does the work. Short, the
 * call traps "out of fuel" (the result is returned as is). Paid units are
 * counted in host_fuel. */
static graft_result charge_len(graft_caller *c, const iot_module_ctx *x, uint64_t len)
{
    uint64_t units = len / 64;
    if (units == 0) return GRAFT_OK;
    graft_result r = graft_caller_charge(c, units);
    if (r == GRAFT_OK && x->counters) count(&x->counters->host_fuel, units);
    return r;
}

/* ---- the functions ------------------------------------------------------ */

static graft_result h_log(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *msg;
    if (!span(c, s[1].i32, s[2].i32, &msg)) return answer(x, s, IOT_EFAULT, "log", NULL, 0);
    if (s[0].i32 < 0 || s[0].i32 > 3) return answer(x, s, IOT_EINVAL, "log", "level", 5);
    size_t len = (uint32_t)s[2].i32;
    if (len > IOT_LOG_MAX) len = IOT_LOG_MAX;
    graft_result r = charge_len(c, x, len);
    if (r != GRAFT_OK) return r;
    if (x->services->log) x->services->log(x->services->user, IOT_LOG_MODULE, s[0].i32, (const char *)msg, len);
    return answer(x, s, IOT_OK, "log", NULL, 0);
}

static graft_result h_monotonic(graft_caller *c, graft_slot *s, void *user)
{
    (void)c;
    const iot_module_ctx *x = begin(user);
    s[0].i64 = x->services->clock_monotonic_ns ? x->services->clock_monotonic_ns(x->services->user) : 0;
    return GRAFT_OK;
}

static graft_result h_wall(graft_caller *c, graft_slot *s, void *user)
{
    (void)c;
    const iot_module_ctx *x = begin(user);
    s[0].i64 = x->services->clock_wall_ns ? x->services->clock_wall_ns(x->services->user) : 0;
    return GRAFT_OK;
}

static graft_result h_sensor_read(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *name, *out;
    if (!span(c, s[0].i32, s[1].i32, &name) || !span(c, s[2].i32, (int32_t)IOT_READING_SIZE, &out))
        return answer(x, s, IOT_EFAULT, "sensor_read", NULL, 0);
    size_t len = (uint32_t)s[1].i32;
    if (!iot_strlist_has(&x->caps->sensors, (const char *)name, len))
        return answer(x, s, IOT_EPERM, "sensor_read", (const char *)name, len);
    if (!x->services->sensor_read) return answer(x, s, IOT_EIO, "sensor_read", NULL, 0);
    iot_reading r = { 0 };
    int rc = x->services->sensor_read(x->services->user, (const char *)name, len, &r);
    if (rc == IOT_OK) iot_reading_encode(&r, out);
    return answer(x, s, rc, "sensor_read", (const char *)name, len);
}

static graft_result h_actuator_write(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *name;
    if (!span(c, s[0].i32, s[1].i32, &name)) return answer(x, s, IOT_EFAULT, "actuator_write", NULL, 0);
    size_t len = (uint32_t)s[1].i32;
    if (!iot_strlist_has(&x->caps->actuators, (const char *)name, len))
        return answer(x, s, IOT_EPERM, "actuator_write", (const char *)name, len);
    if (!x->services->actuator_write) return answer(x, s, IOT_EIO, "actuator_write", NULL, 0);
    double v;
    memcpy(&v, &s[2].f64_bits, sizeof v);
    int rc = x->services->actuator_write(x->services->user, (const char *)name, len, v);
    return answer(x, s, rc, "actuator_write", (const char *)name, len);
}

static graft_result h_publish(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *topic, *payload;
    if (!span(c, s[0].i32, s[1].i32, &topic) || !span(c, s[2].i32, s[3].i32, &payload))
        return answer(x, s, IOT_EFAULT, "publish", NULL, 0);
    size_t tlen = (uint32_t)s[1].i32, plen = (uint32_t)s[3].i32;
    if (topic_name_check((const char *)topic, tlen) != TOPIC_OK)
        return answer(x, s, IOT_EINVAL, "publish", (const char *)topic, tlen);
    if (!iot_filters_match(&x->caps->publish, (const char *)topic, tlen))
        return answer(x, s, IOT_EPERM, "publish", (const char *)topic, tlen);
    if (x->limits && x->limits->max_message_bytes && plen > x->limits->max_message_bytes)
        return answer(x, s, IOT_E2BIG, "publish", NULL, 0);
    if (!x->services->publish) return answer(x, s, IOT_EIO, "publish", NULL, 0);
    graft_result r = charge_len(c, x, plen);
    if (r != GRAFT_OK) return r;
    int rc = x->services->publish(x->services->user, (const char *)topic, tlen, payload, plen);
    if (rc == IOT_OK && x->counters) count(&x->counters->published, 1);
    return answer(x, s, rc, "publish", (const char *)topic, tlen);
}

/* What the kv service's IOT_EINVAL means once the key passed its checks:
 * the write came from outside an event handler (the start function, or
 * graft_alloc before a delivery). Writes commit or roll back with their
 * event (docs/host-api.md, "kv"), and those calls are not events. */
#define KV_NO_EVENT "no event is open: kv writes are accepted in on_start, on_message, on_timer and health only"

/* The key checks kv_* share; returns IOT_OK or the answer code. */
static int kv_key(graft_caller *c, const iot_module_ctx *x, int32_t ptr, int32_t len, uint8_t **key)
{
    if (!span(c, ptr, len, key)) return IOT_EFAULT;
    if (len == 0) return IOT_EINVAL;
    if ((uint32_t)len > IOT_KV_KEY_MAX) return IOT_E2BIG;
    if (x->caps->kv_quota_bytes == 0) return IOT_EPERM;
    return IOT_OK;
}

static graft_result h_kv_get(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *key, *buf;
    int rc = kv_key(c, x, s[0].i32, s[1].i32, &key);
    if (rc == IOT_OK && !span(c, s[2].i32, s[3].i32, &buf)) rc = IOT_EFAULT;
    if (rc != IOT_OK) return answer(x, s, rc, "kv_get", "kv", 2);
    if (!x->services->kv_get) return answer(x, s, IOT_EIO, "kv_get", NULL, 0);
    graft_result r = charge_len(c, x, (uint32_t)s[3].i32);
    if (r != GRAFT_OK) return r;
    rc = x->services->kv_get(x->services->user, (const char *)key, (uint32_t)s[1].i32, buf, (uint32_t)s[3].i32);
    return answer(x, s, rc, "kv_get", "kv", 2);
}

static graft_result h_kv_put(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *key, *val;
    int rc = kv_key(c, x, s[0].i32, s[1].i32, &key);
    if (rc == IOT_OK && !span(c, s[2].i32, s[3].i32, &val)) rc = IOT_EFAULT;
    if (rc == IOT_OK && (uint32_t)s[3].i32 > IOT_KV_VALUE_MAX) rc = IOT_E2BIG;
    if (rc != IOT_OK) return answer(x, s, rc, "kv_put", "kv", 2);
    if (!x->services->kv_put) return answer(x, s, IOT_EIO, "kv_put", NULL, 0);
    graft_result r = charge_len(c, x, (uint32_t)s[3].i32);
    if (r != GRAFT_OK) return r;
    rc = x->services->kv_put(x->services->user, (const char *)key, (uint32_t)s[1].i32, val, (uint32_t)s[3].i32);
    if (rc == IOT_EINVAL) return answer(x, s, rc, "kv_put", KV_NO_EVENT, sizeof KV_NO_EVENT - 1);
    return answer(x, s, rc, "kv_put", "kv", 2);
}

static graft_result h_kv_delete(graft_caller *c, graft_slot *s, void *user)
{
    const iot_module_ctx *x = begin(user);
    uint8_t *key;
    int rc = kv_key(c, x, s[0].i32, s[1].i32, &key);
    if (rc != IOT_OK) return answer(x, s, rc, "kv_delete", "kv", 2);
    if (!x->services->kv_delete) return answer(x, s, IOT_EIO, "kv_delete", NULL, 0);
    rc = x->services->kv_delete(x->services->user, (const char *)key, (uint32_t)s[1].i32);
    if (rc == IOT_EINVAL) return answer(x, s, rc, "kv_delete", KV_NO_EVENT, sizeof KV_NO_EVENT - 1);
    return answer(x, s, rc, "kv_delete", "kv", 2);
}

static graft_result h_timer_start(graft_caller *c, graft_slot *s, void *user)
{
    (void)c;
    const iot_module_ctx *x = begin(user);
    int32_t period = s[1].i32;
    if (x->caps->timers == 0) return answer(x, s, IOT_EPERM, "timer_start", "timers", 6);
    if (period < (int32_t)IOT_TIMER_MIN_MS) return answer(x, s, IOT_EINVAL, "timer_start", "period_ms", 9);
    if ((uint32_t)period < x->caps->timer_min_period_ms)
        return answer(x, s, IOT_EPERM, "timer_start", "period below the granted minimum", 32);
    if (!x->services->timer_start) return answer(x, s, IOT_EIO, "timer_start", NULL, 0);
    int rc = x->services->timer_start(x->services->user, s[0].i32, (uint32_t)period, s[2].i32 != 0);
    return answer(x, s, rc, "timer_start", "timers", 6);
}

static graft_result h_timer_cancel(graft_caller *c, graft_slot *s, void *user)
{
    (void)c;
    const iot_module_ctx *x = begin(user);
    if (x->caps->timers == 0) return answer(x, s, IOT_EPERM, "timer_cancel", "timers", 6);
    if (!x->services->timer_cancel) return answer(x, s, IOT_EIO, "timer_cancel", NULL, 0);
    return answer(x, s, x->services->timer_cancel(x->services->user, s[0].i32), "timer_cancel", "timers", 6);
}

/* ---- the table ------------------------------------------------------------ */

enum cap { CAP_NONE, CAP_SENSORS, CAP_ACTUATORS, CAP_PUBLISH, CAP_KV, CAP_TIMERS };

static const char *const cap_text[] = {
    [CAP_NONE] = "",
    [CAP_SENSORS] = "sensors (a granted sensor name)",
    [CAP_ACTUATORS] = "actuators (a granted actuator name)",
    [CAP_PUBLISH] = "publish (a granted publish topic filter)",
    [CAP_KV] = "kv (a granted kv quota)",
    [CAP_TIMERS] = "timers (a granted timer count)",
};

static const graft_valtype T_I32[] = { GRAFT_I32, GRAFT_I32, GRAFT_I32, GRAFT_I32 };
static const graft_valtype T_I64[] = { GRAFT_I64 };
static const graft_valtype T_ACT[] = { GRAFT_I32, GRAFT_I32, GRAFT_F64 };

static const struct iot_func {
    const char *name;
    const graft_valtype *params;
    uint32_t nparams;
    const graft_valtype *results;
    uint32_t nresults;
    uint64_t cost;          /* fixed fuel per call; len/64 parts: charge_len */
    enum cap cap;
    graft_host_fn fn;
} funcs[] = {
    { "log", T_I32, 3, T_I32, 1, 10, CAP_NONE, h_log },
    { "time_monotonic_ns", NULL, 0, T_I64, 1, 5, CAP_NONE, h_monotonic },
    { "time_wall_ns", NULL, 0, T_I64, 1, 5, CAP_NONE, h_wall },
    { "sensor_read", T_I32, 3, T_I32, 1, 50, CAP_SENSORS, h_sensor_read },
    { "actuator_write", T_ACT, 3, T_I32, 1, 50, CAP_ACTUATORS, h_actuator_write },
    { "publish", T_I32, 4, T_I32, 1, 50, CAP_PUBLISH, h_publish },
    { "kv_get", T_I32, 4, T_I32, 1, 50, CAP_KV, h_kv_get },
    { "kv_put", T_I32, 4, T_I32, 1, 100, CAP_KV, h_kv_put },
    { "kv_delete", T_I32, 2, T_I32, 1, 50, CAP_KV, h_kv_delete },
    { "timer_start", T_I32, 3, T_I32, 1, 20, CAP_TIMERS, h_timer_start },
    { "timer_cancel", T_I32, 1, T_I32, 1, 10, CAP_TIMERS, h_timer_cancel },
};
#define NFUNCS (sizeof funcs / sizeof funcs[0])

graft_result iot_v1_define(graft_store *s, const iot_module_ctx *ctx)
{
    for (size_t i = 0; i < NFUNCS; i++) {
        const struct iot_func *f = &funcs[i];
        graft_functype type = { f->params, f->nparams, f->results, f->nresults };
        graft_func *fn;
        graft_result r = graft_func_new_host(s, &type, f->fn, (void *)ctx, &fn);
        if (r != GRAFT_OK) return r;
        graft_func_set_cost(fn, f->cost);
        graft_extern ext = { .kind = GRAFT_EXTERN_FUNC, .of.func = fn };
        r = graft_store_define(s, "iot_v1", 6, f->name, strlen(f->name), ext);
        if (r != GRAFT_OK) return r;
    }
    return GRAFT_OK;
}

static bool cap_granted(const iot_caps *caps, enum cap cap)
{
    switch (cap) {
    case CAP_SENSORS: return caps->sensors.count > 0;
    case CAP_ACTUATORS: return caps->actuators.count > 0;
    case CAP_PUBLISH: return caps->publish.count > 0;
    case CAP_KV: return caps->kv_quota_bytes > 0;
    case CAP_TIMERS: return caps->timers > 0;
    default: return true;
    }
}

static bool same_type(const graft_functype *t, const graft_valtype *p, uint32_t np, const graft_valtype *r,
                      uint32_t nr)
{
    if (t->nparams != np || t->nresults != nr) return false;
    for (uint32_t i = 0; i < np; i++) if (t->params[i] != p[i]) return false;
    for (uint32_t i = 0; i < nr; i++) if (t->results[i] != r[i]) return false;
    return true;
}

graft_result iot_v1_check_imports(const graft_module *m, const iot_caps *caps, char *err, size_t err_cap)
{
    uint32_t n = graft_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        if (d.module_len != 6 || memcmp(d.module, "iot_v1", 6) != 0) continue;
        int nl = d.name_len > 80 ? 80 : (int)d.name_len;
        const struct iot_func *f = NULL;
        for (size_t k = 0; k < NFUNCS && !f; k++)
            if (strlen(funcs[k].name) == d.name_len && memcmp(funcs[k].name, d.name, d.name_len) == 0) f = &funcs[k];
        if (!f) {
            snprintf(err, err_cap, "import iot_v1.%.*s: no such function in host API iot_v1", nl, d.name);
            return GRAFT_ERR_LINK;
        }
        if (d.kind != GRAFT_EXTERN_FUNC || !same_type(&d.func, f->params, f->nparams, f->results, f->nresults)) {
            snprintf(err, err_cap, "import iot_v1.%s: wrong type (docs/host-api.md gives its signature)", f->name);
            return GRAFT_ERR_LINK;
        }
        if (!cap_granted(caps, f->cap)) {
            snprintf(err, err_cap, "import iot_v1.%s: capability %s is not granted to this module", f->name,
                     cap_text[f->cap]);
            return GRAFT_ERR_SECURITY;
        }
    }
    return GRAFT_OK;
}

/* Whether m exports a function `name`, and if so whether it has the type. */
static bool export_func(const graft_module *m, const char *name, bool *typed, const graft_valtype *p, uint32_t np,
                        uint32_t nr)
{
    uint32_t n = graft_module_export_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        if (d.name_len != strlen(name) || memcmp(d.name, name, d.name_len) != 0) continue;
        *typed = d.kind == GRAFT_EXTERN_FUNC && same_type(&d.func, p, np, T_I32, nr);
        return true;
    }
    return false;
}

static bool imports_iot(const graft_module *m, const char *name)
{
    uint32_t n = graft_module_import_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        if (d.module_len == 6 && memcmp(d.module, "iot_v1", 6) == 0 && d.name_len == strlen(name) &&
            memcmp(d.name, name, d.name_len) == 0)
            return true;
    }
    return false;
}

graft_result iot_v1_check_exports(const graft_module *m, const iot_caps *caps, char *err, size_t err_cap)
{
    /* Every export the agent calls, with its one accepted type (all i32;
     * docs/host-api.md, "Exports"). The agent's call sites size their
     * result buffers from this table, so an export of any other type, or
     * of another kind under one of these names, is refused here. */
    static const struct { const char *name, *sig; uint32_t np, nr; } ex[] = {
        { "on_start", "() -> i32", 0, 1 }, { "health", "() -> i32", 0, 1 },
        { "on_timer", "(i32) -> i32", 1, 1 }, { "on_message", "(i32, i32, i32, i32) -> i32", 4, 1 },
        { "graft_alloc", "(i32) -> i32", 1, 1 }, { "_initialize", "() -> ()", 0, 0 },
    };
    enum { N_EX = sizeof ex / sizeof ex[0] };
    bool has[N_EX] = { false }, typed;
    for (size_t i = 0; i < N_EX; i++) {
        has[i] = export_func(m, ex[i].name, &typed, T_I32, ex[i].np, ex[i].nr);
        if (has[i] && !typed) {
            snprintf(err, err_cap, "export %s: wrong type, expected a function %s (docs/host-api.md, \"Exports\")",
                     ex[i].name, ex[i].sig);
            return GRAFT_ERR_LINK;
        }
    }
    if (caps->subscribe.count > 0 && !has[3]) {
        snprintf(err, err_cap, "missing export on_message: the module subscribes to \"%s\"", caps->subscribe.items[0]);
        return GRAFT_ERR_LINK;
    }
    if (has[3] && !has[4]) {
        snprintf(err, err_cap, "missing export graft_alloc: required with on_message, to receive payloads");
        return GRAFT_ERR_LINK;
    }
    if (imports_iot(m, "timer_start") && !has[2]) {
        snprintf(err, err_cap, "missing export on_timer: the module imports iot_v1.timer_start");
        return GRAFT_ERR_LINK;
    }
    return GRAFT_OK;
}
