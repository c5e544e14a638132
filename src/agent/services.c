/* services.c - the iot_services table graftd gives the host API: logging
 * (rate-limited per module), clocks, drivers, publish (rate-limited),
 * kv and timers, each bound to one agent_mod (user = the mod).
 *
 * Every callback runs on the module's worker thread, inside an event (or
 * on the main thread for a staged replacement's start function, before
 * its worker exists), so the timers and the token buckets need no lock. */
#include "agent_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t agent_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t agent_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Takes one token from b (rate per second, burst deep); false: none left.
 * The one rate limiter of the services: publish and log lines. */
static bool bucket_take(agent_bucket *b, uint32_t rate_per_s, uint32_t burst_n, int64_t now)
{
    double burst = burst_n ? burst_n : 1;
    if (b->at_ns == 0) b->tokens = burst;
    else b->tokens += (double)(now - b->at_ns) * 1e-9 * rate_per_s;
    if (b->tokens > burst) b->tokens = burst;
    b->at_ns = now;
    if (b->tokens < 1.0) return false;
    b->tokens -= 1.0;
    return true;
}

void services_log_notice(agent_mod *mod, bool force)
{
    if (mod->log_pending == 0) return;
    int64_t now = agent_now_ns();
    if (!force && now - mod->log_notice_ns < (int64_t)AGENT_LOG_NOTICE_MS * 1000000) return;
    jlog_field f[2] = { JLOG_STR("origin", "host"), JLOG_UINT("suppressed", mod->log_pending) };
    alogf(mod->ag->log, ALOG_WARN, mod->name, f, 2,
          "%llu log lines suppressed (agent.log_rate_per_s %u, log_burst %u); %llu so far",
          (unsigned long long)mod->log_pending, mod->acfg.log_rate_per_s, mod->acfg.log_burst,
          (unsigned long long)atomic_load(&mod->log_suppressed));
    mod->log_pending = 0;
    mod->log_notice_ns = now;
}

/* Module lines (the log call, fd_write on fds 1 and 2) and the host's
 * lines about the module (IOT_LOG_HOST: refusals) each pass a token
 * bucket of their own; what finds none is counted and summed up in the
 * next notice. Lines below the log level cost nothing. */
static void svc_log(void *user, iot_log_origin origin, int level, const char *msg, size_t len)
{
    agent_mod *mod = user;
    if (!jlog_enabled(mod->ag->log, (jlog_level)level)) return;
    services_log_notice(mod, false);
    agent_bucket *b = origin == IOT_LOG_HOST ? &mod->host_log_bucket : &mod->log_bucket;
    if (!bucket_take(b, mod->acfg.log_rate_per_s, mod->acfg.log_burst, agent_now_ns())) {
        mod->log_pending++;
        atomic_fetch_add(&mod->log_suppressed, 1);
        if (mod->log_suppressed_total) metrics_counter_inc(mod->log_suppressed_total);
        return;
    }
    jlog_field f = JLOG_STR("origin", origin == IOT_LOG_HOST ? "host" : "module");
    if (origin == IOT_LOG_HOST) {   /* the host API's own text, guest bytes in it escaped already */
        alogf(mod->ag->log, level, mod->name, &f, 1, "%.*s", (int)(len > IOT_LOG_MAX ? IOT_LOG_MAX : len), msg);
        return;
    }
    char text[4 * IOT_LOG_MAX + 1];   /* guest bytes: an embedded NUL must not cut the line */
    iot_escape(text, sizeof text, msg, len > IOT_LOG_MAX ? IOT_LOG_MAX : len);
    alogf(mod->ag->log, level, mod->name, &f, 1, "%s", text);
}

static int64_t svc_mono(void *user)
{
    (void)user;
    return agent_now_ns();
}

static int64_t svc_wall(void *user)
{
    (void)user;
    return agent_wall_ns();
}

/* Copies a (ptr, len) name into a NUL-terminated buffer; false if too long. */
static bool cname(char out[IOT_NAME_MAX + 1], const char *s, size_t len)
{
    if (len > IOT_NAME_MAX) return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

static int svc_sensor_read(void *user, const char *name, size_t len, iot_reading *out)
{
    agent_mod *mod = user;
    char n[IOT_NAME_MAX + 1];
    if (!cname(n, name, len)) return IOT_ENOENT;
    drv_reading r;
    int rc = drv_read(mod->ag->drivers, n, &r);
    if (rc == DRV_ENOENT) return IOT_ENOENT;
    if (rc != DRV_OK) return IOT_EIO;
    out->timestamp_ns = r.timestamp_ns;
    out->value = r.value;
    out->unit = r.unit;
    out->quality = r.quality;
    return IOT_OK;
}

static int svc_actuator_write(void *user, const char *name, size_t len, double value)
{
    agent_mod *mod = user;
    char n[IOT_NAME_MAX + 1];
    if (!cname(n, name, len)) return IOT_ENOENT;
    int rc = drv_write(mod->ag->drivers, n, value);
    return rc == DRV_OK ? IOT_OK : rc == DRV_ENOENT ? IOT_ENOENT : IOT_EIO;
}

static int svc_publish(void *user, const char *topic, size_t tlen, const uint8_t *payload, size_t plen)
{
    agent_mod *mod = user;
    if (!bucket_take(&mod->publish_bucket, mod->acfg.publish_rate_per_s, mod->acfg.publish_burst,
                     agent_now_ns())) {
        uint64_t n = atomic_fetch_add(&mod->rate_limited, 1) + 1;
        if ((n & (n - 1)) == 0)   /* log the 1st, 2nd, 4th, 8th ... */
            alog(mod->ag->log, ALOG_WARN, mod->name,
                 "publish rate limited (%u/s, burst %u): %llu refused so far",
                 mod->acfg.publish_rate_per_s, mod->acfg.publish_burst,
                 (unsigned long long)n);
        return IOT_EAGAIN;
    }
    char stackbuf[256];
    char *t = tlen < sizeof stackbuf ? stackbuf : malloc(tlen + 1);
    if (!t) return IOT_EIO;
    memcpy(t, topic, tlen);
    t[tlen] = '\0';
    bus_result r = bus_publish(mod->ag->bus, mod->sub, mod->name, t, payload, plen, 0, NULL);
    if (t != stackbuf) free(t);
    if (r == BUS_E_OVERSIZE) return IOT_E2BIG;
    if (r != BUS_OK) return r == BUS_E_NOMEM ? IOT_EIO : IOT_EINVAL;
    return IOT_OK;
}

static int kv_code(kvs_result r)
{
    switch (r) {
    case KVS_OK: return IOT_OK;
    case KVS_ENOENT: return IOT_ENOENT;
    case KVS_EQUOTA: return IOT_EQUOTA;
    case KVS_E2BIG: return IOT_E2BIG;
    case KVS_EINVAL: return IOT_EINVAL;
    default: return IOT_EIO;
    }
}

static int svc_kv_get(void *user, const char *key, size_t klen, uint8_t *buf, size_t cap)
{
    agent_mod *mod = user;
    if (!mod->ns) return IOT_EIO;
    size_t len = 0;
    kvs_result r = kvs_get(mod->ns, key, klen, buf, cap, &len);
    if (r != KVS_OK) return kv_code(r);
    return len > INT32_MAX ? IOT_E2BIG : (int)len;
}

static int svc_kv_put(void *user, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    agent_mod *mod = user;
    return mod->ns ? kv_code(kvs_put(mod->ns, key, klen, val, vlen)) : IOT_EIO;
}

static int svc_kv_delete(void *user, const char *key, size_t klen)
{
    agent_mod *mod = user;
    return mod->ns ? kv_code(kvs_delete(mod->ns, key, klen)) : IOT_EIO;
}

static int svc_timer_start(void *user, int32_t id, uint32_t period_ms, bool periodic)
{
    agent_mod *mod = user;
    agent_timer *slot = NULL;
    uint32_t alive = 0;
    for (size_t i = 0; i < AGENT_MAX_TIMERS; i++) {
        agent_timer *t = &mod->timers[i];
        if (t->active && t->id == id) slot = t;
        else if (t->active) alive++;
    }
    if (!slot) {
        if (alive >= mod->caps.timers) return IOT_EQUOTA;
        for (size_t i = 0; i < AGENT_MAX_TIMERS && !slot; i++)
            if (!mod->timers[i].active) slot = &mod->timers[i];
        if (!slot) return IOT_EQUOTA;
    }
    slot->active = true;
    slot->id = id;
    slot->periodic = periodic;
    slot->period_ms = period_ms;
    slot->due_ns = agent_now_ns() + (int64_t)period_ms * 1000000;
    return IOT_OK;
}

static int svc_timer_cancel(void *user, int32_t id)
{
    agent_mod *mod = user;
    for (size_t i = 0; i < AGENT_MAX_TIMERS; i++)
        if (mod->timers[i].active && mod->timers[i].id == id) {
            mod->timers[i].active = false;
            return IOT_OK;
        }
    return IOT_ENOENT;
}

void services_init(agent_mod *mod)
{
    iot_services *s = &mod->services;
    memset(s, 0, sizeof *s);
    s->user = mod;
    s->log = svc_log;
    s->clock_monotonic_ns = svc_mono;
    s->clock_wall_ns = svc_wall;
    s->sensor_read = svc_sensor_read;
    s->actuator_write = svc_actuator_write;
    s->publish = svc_publish;
    s->kv_get = svc_kv_get;
    s->kv_put = svc_kv_put;
    s->kv_delete = svc_kv_delete;
    s->timer_start = svc_timer_start;
    s->timer_cancel = svc_timer_cancel;
    mod->ctx.module_name = mod->name;
    mod->ctx.caps = &mod->caps;
    mod->ctx.limits = &mod->limits;
    mod->ctx.services = &mod->services;
    mod->ctx.counters = &mod->iotc;
}
