/* drivers.c - the driver registry, periodic publication, and the shipped
 * drivers (simulated sources, CSV replay, log-file actuator).
 *
 * Data structures: the registry holds an array of entries (name, topic,
 * kind, unit, ops, ctx, publication period and next due time, a count of
 * calls in flight, and a per-entry mutex serialising the driver's calls).
 * The registry mutex guards the array, every entry's refs, next_due and
 * topic, and the error text; the publication thread sleeps on a condition
 * variable that drv_publish_stop and new registrations signal. Shipped
 * drivers keep their own small context (a config, a walk cache, parsed CSV
 * rows, a file descriptor).
 *
 * Lifetime of an entry: a caller (module worker, publication thread) finds
 * it under the registry mutex and takes a reference (refs++), calls the
 * driver under the entry's own mutex, then drops the reference. Removal
 * and replacement unlink the entry under the registry mutex, so no new
 * caller can find it, then wait on `idle` until its refs reach zero, and
 * only then destroy the context and free the entry, outside the lock. A
 * caller therefore never touches freed memory, and after drv_remove
 * returns the driver is never called again.
 *
 * Ownership and thread-safety: see drivers.h. */
#include "drivers.h"
#include "topic.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct entry {
    char *name;
    char *topic;                /* sensors: where readings go (under reg->mu); actuators NULL */
    drv_kind kind;
    uint32_t unit;
    const drv_ops *ops;
    void *ctx;
    unsigned period_ms;
    int64_t next_due;           /* under reg->mu; 0: publish at the first step */
    unsigned refs;              /* under reg->mu: calls in flight holding the entry */
    pthread_mutex_t mu;         /* serialises the driver's calls */
} entry;

struct drv_registry {
    drv_clock_fn clock;
    void *clock_ctx;
    pthread_mutex_t mu;         /* guards entries, count, refs, next_due, topics, err, stopping */
    entry **entries;
    size_t count;
    char err[512];
    pthread_t thread;
    pthread_cond_t cv;          /* wakes the publication thread (CLOCK_MONOTONIC) */
    pthread_cond_t idle;        /* an unlinked entry's last call in flight ended */
    bool running, stopping;
    bus *bus;
};

static void set_err(drv_registry *reg, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&reg->mu);
    va_start(ap, fmt);
    vsnprintf(reg->err, sizeof reg->err, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&reg->mu);
}

const char *drv_errmsg(const drv_registry *reg) { return reg->err; }

/* ---- the reading ABI ------------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void drv_reading_encode(const drv_reading *r, uint8_t out[DRV_READING_SIZE])
{
    uint64_t bits;
    memcpy(&bits, &r->value, 8);
    put_le(out, (uint64_t)r->timestamp_ns, 8);
    put_le(out + 8, bits, 8);
    put_le(out + 16, r->unit, 4);
    put_le(out + 20, r->quality, 4);
}

void drv_reading_decode(const uint8_t in[DRV_READING_SIZE], drv_reading *out)
{
    uint64_t bits = get_le(in + 8, 8);
    out->timestamp_ns = (int64_t)get_le(in, 8);
    memcpy(&out->value, &bits, 8);
    out->unit = (uint32_t)get_le(in + 16, 4);
    out->quality = (uint32_t)get_le(in + 20, 4);
}

/* ---- the registry --------------------------------------------------------- */

static int64_t realtime_ns(void *ctx)
{
    (void)ctx;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

drv_registry *drv_registry_new(drv_clock_fn clock, void *clock_ctx)
{
    drv_registry *reg = calloc(1, sizeof *reg);
    if (!reg) return NULL;
    reg->clock = clock ? clock : realtime_ns;
    reg->clock_ctx = clock_ctx;
    pthread_mutex_init(&reg->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&reg->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&reg->idle, NULL);
    return reg;
}

/* Destroys an entry nobody can reach any more (unlinked, refs 0). */
static void entry_free(entry *e)
{
    if (e->ops->destroy) e->ops->destroy(e->ctx);
    pthread_mutex_destroy(&e->mu);
    free(e->topic);
    free(e->name);
    free(e);
}

void drv_registry_free(drv_registry *reg)
{
    if (!reg) return;
    drv_publish_stop(reg);
    for (size_t i = 0; i < reg->count; i++) entry_free(reg->entries[i]);
    free(reg->entries);
    pthread_cond_destroy(&reg->idle);
    pthread_cond_destroy(&reg->cv);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* The index of name in reg->entries, or reg->count. Under reg->mu. */
static size_t index_of(const drv_registry *reg, const char *name)
{
    size_t i = 0;
    while (i < reg->count && strcmp(reg->entries[i]->name, name) != 0) i++;
    return i;
}

/* Finds name and takes a reference on it (NULL: none). release() ends it. */
static entry *acquire(drv_registry *reg, const char *name)
{
    pthread_mutex_lock(&reg->mu);
    size_t i = index_of(reg, name);
    entry *e = i < reg->count ? reg->entries[i] : NULL;
    if (e) e->refs++;
    pthread_mutex_unlock(&reg->mu);
    return e;
}

static void release(drv_registry *reg, entry *e)
{
    pthread_mutex_lock(&reg->mu);
    if (--e->refs == 0) pthread_cond_broadcast(&reg->idle);
    pthread_mutex_unlock(&reg->mu);
}

/* Called with reg->mu held, for an entry already unlinked: waits until the
 * calls in flight on it have ended (they hold references), so the caller
 * may free it once it has dropped the lock. */
static void drain_refs(drv_registry *reg, entry *e)
{
    while (e->refs) pthread_cond_wait(&reg->idle, &reg->mu);
}

/* Unlinks entry i (order is not kept). Under reg->mu. */
static void unlink_at(drv_registry *reg, size_t i)
{
    reg->entries[i] = reg->entries[--reg->count];
}

static drv_result check_topic(drv_registry *reg, const char *name, const char *topic)
{
    topic_result tr = topic_name_check(topic, strlen(topic));
    if (tr == TOPIC_OK) return DRV_OK;
    set_err(reg, "sensor '%s': topic '%.200s' is not a topic name: %s", name, topic, topic_strerror(tr));
    return DRV_EINVAL;
}

drv_result drv_register(drv_registry *reg, const char *name, drv_kind kind, uint32_t unit,
                        const drv_ops *ops, void *ctx, unsigned publish_period_ms)
{
    drv_result r = DRV_OK;
    char *topic = NULL;
    if (!name || !*name || !ops || (kind == DRV_SENSOR ? !ops->read : !ops->write) ||
        (kind != DRV_SENSOR && kind != DRV_ACTUATOR)) {
        set_err(reg, "driver '%s': needs a name and a %s function", name ? name : "",
                kind == DRV_SENSOR ? "read" : "write");
        r = DRV_EINVAL;
    } else if (kind == DRV_SENSOR && bus_topic_check(name, strlen(name)) != BUS_OK) {
        set_err(reg, "driver '%s': the name must be a valid topic level (no wildcards)", name);
        r = DRV_EINVAL;
    }
    if (r == DRV_OK && kind == DRV_SENSOR && (topic = malloc(strlen(name) + sizeof "sensors/")) != NULL)
        sprintf(topic, "sensors/%s", name);     /* the default; drv_set_topic changes it */
    entry *e = r == DRV_OK ? calloc(1, sizeof *e) : NULL;
    if (r == DRV_OK && (!e || !(e->name = strdup(name)) || (kind == DRV_SENSOR && !topic))) {
        if (e) free(e->name);
        free(e);
        free(topic);
        e = NULL;
        r = DRV_ENOMEM;
    }
    if (r != DRV_OK) {
        if (ops && ops->destroy) ops->destroy(ctx);
        return r;
    }
    e->topic = topic;
    e->kind = kind;
    e->unit = unit;
    e->ops = ops;
    e->ctx = ctx;
    e->period_ms = kind == DRV_SENSOR ? publish_period_ms : 0;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_lock(&reg->mu);
    bool taken = index_of(reg, name) < reg->count;
    entry **grown = taken ? NULL : realloc(reg->entries, (reg->count + 1) * sizeof *grown);
    if (grown) {
        reg->entries = grown;
        reg->entries[reg->count++] = e;
        pthread_cond_broadcast(&reg->cv);       /* the publisher: a new sensor is due now */
    }
    pthread_mutex_unlock(&reg->mu);
    if (!grown) {
        if (taken) set_err(reg, "driver '%s': already registered", name);
        entry_free(e);                          /* destroys ctx, as promised */
        return taken ? DRV_EEXIST : DRV_ENOMEM;
    }
    return DRV_OK;
}

drv_result drv_set_topic(drv_registry *reg, const char *name, const char *topic)
{
    drv_result r = check_topic(reg, name, topic);
    if (r != DRV_OK) return r;
    char *copy = strdup(topic);
    if (!copy) return DRV_ENOMEM;
    pthread_mutex_lock(&reg->mu);
    size_t i = index_of(reg, name);
    entry *e = i < reg->count ? reg->entries[i] : NULL;
    if (e && e->kind == DRV_SENSOR) {
        char *old = e->topic;
        e->topic = copy;                        /* the publisher copies it under this lock */
        copy = old;
    }
    pthread_mutex_unlock(&reg->mu);
    free(copy);
    if (!e || e->kind != DRV_SENSOR) {
        set_err(reg, "no sensor named '%s'", name);
        return DRV_ENOENT;
    }
    return DRV_OK;
}

bool drv_topic(drv_registry *reg, const char *name, char *out, size_t cap)
{
    pthread_mutex_lock(&reg->mu);
    size_t i = index_of(reg, name);
    entry *e = i < reg->count ? reg->entries[i] : NULL;
    bool ok = e && e->topic && strlen(e->topic) < cap;
    if (ok) memcpy(out, e->topic, strlen(e->topic) + 1);
    pthread_mutex_unlock(&reg->mu);
    return ok;
}

/* Unlinks name from reg and waits until no call holds it: the caller then
 * owns the entry alone. NULL (and the error text) when there is none. */
static entry *take(drv_registry *reg, const char *name)
{
    pthread_mutex_lock(&reg->mu);
    size_t i = index_of(reg, name);
    entry *e = i < reg->count ? reg->entries[i] : NULL;
    if (e) {
        unlink_at(reg, i);
        drain_refs(reg, e);
    }
    pthread_mutex_unlock(&reg->mu);
    if (!e) set_err(reg, "no driver named '%s'", name);
    return e;
}

drv_result drv_remove(drv_registry *reg, const char *name)
{
    entry *e = take(reg, name);
    if (!e) return DRV_ENOENT;
    entry_free(e);
    return DRV_OK;
}

drv_result drv_move(drv_registry *dst, drv_registry *src, const char *name)
{
    entry *e = take(src, name);
    if (!e) return DRV_ENOENT;
    e->next_due = 0;
    pthread_mutex_lock(&dst->mu);
    size_t j = index_of(dst, name);
    entry *old = NULL;
    entry **grown = NULL;
    if (j < dst->count) {
        old = dst->entries[j];
        dst->entries[j] = e;                    /* one step: a caller finds the old or the new one */
        drain_refs(dst, old);
    } else if ((grown = realloc(dst->entries, (dst->count + 1) * sizeof *grown)) != NULL) {
        dst->entries = grown;
        dst->entries[dst->count++] = e;
    }
    if (old || grown) pthread_cond_broadcast(&dst->cv);
    pthread_mutex_unlock(&dst->mu);
    if (old) entry_free(old);
    if (!old && !grown) {
        set_err(dst, "driver '%s': out of memory", name);
        entry_free(e);
        return DRV_ENOMEM;
    }
    return DRV_OK;
}

size_t drv_count(drv_registry *reg)
{
    pthread_mutex_lock(&reg->mu);
    size_t n = reg->count;
    pthread_mutex_unlock(&reg->mu);
    return n;
}

bool drv_has(drv_registry *reg, const char *name, drv_kind kind)
{
    pthread_mutex_lock(&reg->mu);
    size_t i = index_of(reg, name);
    bool found = i < reg->count && reg->entries[i]->kind == kind;
    pthread_mutex_unlock(&reg->mu);
    return found;
}

/* Reads a sensor the caller holds a reference on. */
static drv_result entry_read(drv_registry *reg, entry *e, int64_t now, drv_reading *out)
{
    *out = (drv_reading){ now, 0.0, e->unit, 0 };
    pthread_mutex_lock(&e->mu);
    int rc = e->ops->read(e->ctx, now, out);
    pthread_mutex_unlock(&e->mu);
    if (rc != DRV_OK && rc != DRV_EEND)
        set_err(reg, "sensor '%s': read failed (%d)", e->name, rc);
    return (drv_result)rc;
}

drv_result drv_read(drv_registry *reg, const char *name, drv_reading *out)
{
    entry *e = acquire(reg, name);
    if (!e || e->kind != DRV_SENSOR) {
        if (e) release(reg, e);
        set_err(reg, "no sensor named '%s'", name);
        return DRV_ENOENT;
    }
    drv_result r = entry_read(reg, e, reg->clock(reg->clock_ctx), out);
    release(reg, e);
    return r;
}

drv_result drv_write(drv_registry *reg, const char *name, double value)
{
    entry *e = acquire(reg, name);
    if (!e || e->kind != DRV_ACTUATOR) {
        if (e) release(reg, e);
        set_err(reg, "no actuator named '%s'", name);
        return DRV_ENOENT;
    }
    pthread_mutex_lock(&e->mu);
    int rc = e->ops->write(e->ctx, reg->clock(reg->clock_ctx), value);
    pthread_mutex_unlock(&e->mu);
    if (rc != DRV_OK) set_err(reg, "actuator '%s': write failed (%d)", e->name, rc);
    release(reg, e);
    return (drv_result)rc;
}

/* ---- periodic publication ------------------------------------------------- */

/* One sensor due now: the entry (referenced) and its topic at that time. */
typedef struct due_item { entry *e; char *topic; } due_item;

size_t drv_publish_due(drv_registry *reg, bus *b)
{
    int64_t now = reg->clock(reg->clock_ctx);
    size_t published = 0, n = 0;
    /* Under the lock: pick the due sensors, advance their schedule, take a
     * reference and copy the topic; then read and publish without it. */
    pthread_mutex_lock(&reg->mu);
    due_item *list = reg->count ? malloc(reg->count * sizeof *list) : NULL;
    for (size_t i = 0; list && i < reg->count; i++) {
        entry *e = reg->entries[i];
        if (!e->period_ms || (e->next_due && now < e->next_due)) continue;
        char *topic = strdup(e->topic);
        if (!topic) break;
        int64_t period = (int64_t)e->period_ms * 1000000;
        e->next_due = e->next_due && now - e->next_due < period ? e->next_due + period : now + period;
        e->refs++;
        list[n++] = (due_item){ e, topic };
    }
    pthread_mutex_unlock(&reg->mu);
    for (size_t i = 0; i < n; i++) {
        entry *e = list[i].e;
        drv_reading r;
        if (entry_read(reg, e, now, &r) == DRV_OK) {
            uint8_t wire[DRV_READING_SIZE];
            drv_reading_encode(&r, wire);
            if (bus_publish(b, NULL, e->name, list[i].topic, wire, sizeof wire, r.timestamp_ns, NULL) == BUS_OK)
                published++;
        }
        free(list[i].topic);
        release(reg, e);
    }
    free(list);
    return published;
}

static void *publish_main(void *arg)
{
    drv_registry *reg = arg;
    pthread_mutex_lock(&reg->mu);
    while (!reg->stopping) {
        pthread_mutex_unlock(&reg->mu);
        drv_publish_due(reg, reg->bus);
        pthread_mutex_lock(&reg->mu);
        /* Sleep until the earliest due time (in the registry's clock), at
         * most 100 ms so that a clock step is noticed. A registration or a
         * replacement wakes it early: the new sensor is due at once. */
        int64_t now = reg->clock(reg->clock_ctx), wait = 100000000;
        for (size_t i = 0; i < reg->count; i++) {
            entry *e = reg->entries[i];
            if (e->period_ms && e->next_due - now < wait) wait = e->next_due - now;
        }
        if (wait < 1000000) wait = 1000000;
        struct timespec due;
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_nsec += (long)wait;
        while (due.tv_nsec >= 1000000000L) { due.tv_sec++; due.tv_nsec -= 1000000000L; }
        if (!reg->stopping) pthread_cond_timedwait(&reg->cv, &reg->mu, &due);
    }
    pthread_mutex_unlock(&reg->mu);
    return NULL;
}

drv_result drv_publish_start(drv_registry *reg, bus *b)
{
    if (reg->running) return DRV_EINVAL;
    reg->bus = b;
    reg->stopping = false;
    if (pthread_create(&reg->thread, NULL, publish_main, reg) != 0) {
        set_err(reg, "drivers: cannot start the publication thread");
        return DRV_ENOMEM;
    }
    reg->running = true;
    return DRV_OK;
}

void drv_publish_stop(drv_registry *reg)
{
    if (!reg->running) return;
    pthread_mutex_lock(&reg->mu);
    reg->stopping = true;
    pthread_cond_broadcast(&reg->cv);
    pthread_mutex_unlock(&reg->mu);
    pthread_join(reg->thread, NULL);
    reg->running = false;
}

/* ---- simulated sources ------------------------------------------------------ */

double drv_uniform(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double sim_period_s(const drv_sim_config *c)
{
    return (c->sample_period_ms ? c->sample_period_ms : 1000) / 1000.0;
}

static double walk_step(const drv_sim_config *c, double x, uint64_t k)
{
    x += c->step * (2.0 * drv_uniform(c->seed, k) - 1.0);
    if (x < c->min) x = c->min;
    if (x > c->max) x = c->max;
    return x;
}

double drv_sim_value(const drv_sim_config *c, uint64_t k)
{
    switch (c->kind) {
    case DRV_SIM_SINE: {
        double t = (double)k * sim_period_s(c);
        return c->offset + c->amplitude * sin(2.0 * M_PI * t / c->period_s + c->phase) +
               c->noise * (2.0 * drv_uniform(c->seed, k) - 1.0);
    }
    case DRV_SIM_NOISE:
        return c->offset + c->amplitude * (2.0 * drv_uniform(c->seed, k) - 1.0);
    case DRV_SIM_WALK: {
        double x = c->start;
        for (uint64_t i = 1; i <= k; i++) x = walk_step(c, x, i);
        return x;
    }
    case DRV_SIM_STEP: {
        uint64_t j = k / (c->hold ? c->hold : 1);
        if (c->seed == 0) return j % 2 ? c->high : c->low;
        return c->low + (c->high - c->low) * drv_uniform(c->seed, j);
    }
    }
    return 0.0;
}

typedef struct sim { drv_sim_config cfg; uint64_t walk_k; double walk_x; } sim;

static int sim_read(void *ctx, int64_t now, drv_reading *out)
{
    sim *s = ctx;
    int64_t period = (int64_t)(s->cfg.sample_period_ms ? s->cfg.sample_period_ms : 1000) * 1000000;
    uint64_t k = now > s->cfg.t0_ns ? (uint64_t)((now - s->cfg.t0_ns) / period) : 0;
    out->timestamp_ns = s->cfg.t0_ns + (int64_t)k * period;
    if (s->cfg.kind == DRV_SIM_WALK) {          /* advance the cached walk */
        if (k < s->walk_k) { s->walk_k = 0; s->walk_x = s->cfg.start; }
        while (s->walk_k < k) { s->walk_k++; s->walk_x = walk_step(&s->cfg, s->walk_x, s->walk_k); }
        out->value = s->walk_x;
    } else {
        out->value = drv_sim_value(&s->cfg, k);
    }
    return DRV_OK;
}

static const drv_ops sim_ops = { sim_read, NULL, free };

drv_result drv_add_sim(drv_registry *reg, const char *name, uint32_t unit, const drv_sim_config *cfg,
                       unsigned publish_period_ms)
{
    if (cfg->kind == DRV_SIM_SINE && cfg->period_s <= 0) {
        set_err(reg, "sensor '%s': a sine needs period_s > 0", name);
        return DRV_EINVAL;
    }
    if (cfg->kind == DRV_SIM_WALK && cfg->min > cfg->max) {
        set_err(reg, "sensor '%s': a random walk needs min <= max", name);
        return DRV_EINVAL;
    }
    sim *s = calloc(1, sizeof *s);
    if (!s) return DRV_ENOMEM;
    s->cfg = *cfg;
    s->walk_x = cfg->start;
    return drv_register(reg, name, DRV_SENSOR, unit, &sim_ops, s, publish_period_ms);
}

/* ---- CSV replay --------------------------------------------------------------- */

typedef struct csv { double *ts, *val; size_t count; bool loop; int64_t t0; } csv;

static void csv_free(void *ctx)
{
    csv *c = ctx;
    free(c->ts);
    free(c->val);
    free(c);
}

static int csv_read(void *ctx, int64_t now, drv_reading *out)
{
    csv *c = ctx;
    if (c->t0 == 0) c->t0 = now;
    double gap = c->count > 1 ? c->ts[c->count - 1] - c->ts[c->count - 2] : 1.0;
    double cycle = c->ts[c->count - 1] - c->ts[0] + gap;
    double e = (double)(now - c->t0) / 1e9, base = 0.0;
    if (e < 0) e = 0;
    if (e >= cycle) {
        if (!c->loop) return DRV_EEND;
        base = floor(e / cycle) * cycle;
        e -= base;
    }
    size_t lo = 0, hi = c->count;                /* last row with offset <= e */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (c->ts[mid] - c->ts[0] <= e) lo = mid; else hi = mid;
    }
    out->value = c->val[lo];
    out->timestamp_ns = c->t0 + (int64_t)llround((base + c->ts[lo] - c->ts[0]) * 1e9);
    return DRV_OK;
}

static const drv_ops csv_ops = { csv_read, NULL, csv_free };

/* Parses one data line into two numbers; false when malformed. */
static bool csv_line(char *line, double *ts, double *val)
{
    char *end;
    *ts = strtod(line, &end);
    if (end == line) return false;
    while (*end == ' ' || *end == '\t') end++;
    if (*end != ',') return false;
    char *v = end + 1;
    *val = strtod(v, &end);
    if (end == v) return false;
    while (*end == ' ' || *end == '\t') end++;
    return *end == 0 && isfinite(*ts) && isfinite(*val);
}

static drv_result csv_load(drv_registry *reg, const char *name, const char *path, csv *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(reg, "sensor '%s': cannot open %s: %s", name, path, strerror(errno));
        return DRV_EIO;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0, room = 0;
    drv_result r = DRV_OK;
    while (r == DRV_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0 || line[0] == '#') continue;
        if (lineno == 1 && strcmp(line, "timestamp,value") == 0) continue;
        double ts, val;
        if (!csv_line(line, &ts, &val)) {
            set_err(reg, "%s:%zu: expected 'timestamp,value' (two numbers), got '%.60s'", path, lineno, line);
            r = DRV_EINVAL;
        } else if (c->count && ts < c->ts[c->count - 1]) {
            set_err(reg, "%s:%zu: timestamp %g goes backwards (previous %g)", path, lineno, ts,
                    c->ts[c->count - 1]);
            r = DRV_EINVAL;
        } else {
            if (c->count == room) {
                room = room ? room * 2 : 64;
                double *t2 = realloc(c->ts, room * sizeof *t2);
                if (t2) c->ts = t2;
                double *v2 = t2 ? realloc(c->val, room * sizeof *v2) : NULL;
                if (v2) c->val = v2;
                if (!t2 || !v2) { r = DRV_ENOMEM; break; }
            }
            c->ts[c->count] = ts;
            c->val[c->count++] = val;
        }
    }
    free(line);
    fclose(f);
    if (r == DRV_OK && c->count == 0) {
        set_err(reg, "%s: no rows (expected lines 'timestamp,value')", path);
        r = DRV_EINVAL;
    }
    return r;
}

drv_result drv_add_csv(drv_registry *reg, const char *name, uint32_t unit, const char *path, bool loop,
                       int64_t t0_ns, unsigned publish_period_ms)
{
    csv *c = calloc(1, sizeof *c);
    if (!c) return DRV_ENOMEM;
    c->loop = loop;
    c->t0 = t0_ns;
    drv_result r = csv_load(reg, name, path, c);
    if (r != DRV_OK) { csv_free(c); return r; }
    return drv_register(reg, name, DRV_SENSOR, unit, &csv_ops, c, publish_period_ms);
}

/* ---- log-file actuator ---------------------------------------------------------- */

typedef struct logact { int fd; char name[128]; } logact;

static int log_write(void *ctx, int64_t now, double value)
{
    logact *l = ctx;
    char line[256];
    int n = snprintf(line, sizeof line, "%lld %s %.17g\n", (long long)now, l->name, value);
    if (n < 0 || (size_t)n >= sizeof line) return DRV_EINVAL;
    return write(l->fd, line, (size_t)n) == n ? DRV_OK : DRV_EIO;
}

static void log_free(void *ctx)
{
    logact *l = ctx;
    close(l->fd);
    free(l);
}

static const drv_ops log_ops = { NULL, log_write, log_free };

drv_result drv_add_log_actuator(drv_registry *reg, const char *name, uint32_t unit, const char *path)
{
    if (strlen(name) >= sizeof ((logact *)0)->name) {
        set_err(reg, "actuator '%s': name longer than 127 bytes", name);
        return DRV_EINVAL;
    }
    logact *l = calloc(1, sizeof *l);
    if (!l) return DRV_ENOMEM;
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        set_err(reg, "actuator '%s': cannot open %s: %s", name, path, strerror(errno));
        free(l);
        return DRV_EIO;
    }
    snprintf(l->name, sizeof l->name, "%s", name);
    return drv_register(reg, name, DRV_ACTUATOR, unit, &log_ops, l, 0);
}
