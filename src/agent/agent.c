/* agent.c - the daemon core's lifecycle: start the bus, drivers, kv store
 * and one agent_mod per configured module; reload a new config (add,
 * replace, remove modules while the rest keep running); stop (drain and
 * flush). The observer (summary and --dump-topic) and the injector
 * (--inject) live in agent_observe.c.
 *
 * Loading a module (mod_prepare, main thread): resolve its manifest against
 * its grants, check the memory budget, load the wasm into its own graft_env
 * (metered: fuel per event needs the charges), check imports and exports
 * and that its declared initial memory fits its memory limit.
 * Starting it (mod_launch): subscribe its filters, open its kv namespace,
 * start its worker. A module that fails to load is logged and not run; the
 * others run.
 *
 * Reload (docs/agent.md, "Reload"): drivers first (drivers_apply), then
 * modules, then the agent, broker and http sections, each logging one line
 * when it changed; state_dir and the kv commit window stay as started.
 * Modules are matched by name. Same fingerprint: kept untouched.
 * New name: added. Missing or disabled: removed (its worker drains its
 * inbox, kv is committed). Changed: the new version is prepared (loaded
 * and checked) and instantiated beside the running one (stage); only then
 * is the old instance stopped, its kv namespace handed to the new one in
 * memory, and the new one launched on a new subscriber; messages published
 * in the few microseconds between closing the old subscriber and opening
 * the new one are not delivered to it (QoS 0). A replacement that fails
 * any step before the old one stops keeps the old one as it was
 * (keep_running: logged, counted). A new config with a pipeline cycle is
 * refused whole. */
#include "agent_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *agent_mod_state_name(int state)
{
    static const char *const names[] = { "starting", "running", "backoff", "quarantined", "stopped" };
    return state >= 0 && state <= AGENT_MOD_STOPPED ? names[state] : "unknown";
}

static bool read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    bool ok = buf && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (!ok) { free(buf); return false; }
    *out = buf;
    *len = (size_t)n;
    return true;
}

static void list_fp(jbuf *b, const char *what, const iot_strlist *l)
{
    jb_raw(b, "%s:", what);
    for (size_t i = 0; i < l->count; i++) jb_raw(b, "%s,", l->items[i]);
    jb_raw(b, ";");
}

/* What reload compares: file identities, effective caps and limits. */
static void fingerprint(agent_mod *mod, const config_module *cm)
{
    jbuf b;
    jb_init(&b, mod->fingerprint, sizeof mod->fingerprint);
    struct stat sw = { 0 }, sm = { 0 };
    stat(cm->wasm, &sw);
    stat(cm->manifest, &sm);
    jb_raw(&b, "%s|%lld.%ld|%lld|%s|%lld.%ld|", cm->wasm, (long long)sw.st_mtim.tv_sec, sw.st_mtim.tv_nsec,
           (long long)sw.st_size, cm->manifest, (long long)sm.st_mtim.tv_sec, sm.st_mtim.tv_nsec);
    list_fp(&b, "s", &mod->caps.sensors);
    list_fp(&b, "a", &mod->caps.actuators);
    list_fp(&b, "p", &mod->caps.publish);
    list_fp(&b, "u", &mod->caps.subscribe);
    jb_raw(&b, "kv%llu t%u/%u m%llu f%llu w%u x%u", (unsigned long long)mod->caps.kv_quota_bytes,
           mod->caps.timers, mod->caps.timer_min_period_ms, (unsigned long long)mod->limits.memory_bytes,
           (unsigned long long)mod->limits.fuel_per_event, mod->limits.wall_ms_per_event,
           mod->limits.max_message_bytes);
}

static void mod_free(agent_mod *mod)
{
    if (!mod) return;
    if (mod->mm) metrics_module_free(mod->mm);   /* removes every module="name" series */
    if (mod->sub) bus_sub_free(mod->sub);
    if (mod->ns) kvs_ns_close(mod->ns);
    if (mod->store) graft_store_free(mod->store);   /* a staged replacement's */
    if (mod->module) graft_module_free(mod->module);
    if (mod->env) graft_env_free(mod->env);
    manifest_free(&mod->man);
    iot_caps_free(&mod->caps);
    pthread_mutex_destroy(&mod->call_mu);
    pthread_mutex_destroy(&mod->mu);
    pthread_cond_destroy(&mod->cv);
    free(mod);
}

static bool has_export(const graft_module *m, const char *name)
{
    uint32_t n = graft_module_export_count(m);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        if (d.kind == GRAFT_EXTERN_FUNC && d.name_len == strlen(name) && memcmp(d.name, name, d.name_len) == 0)
            return true;
    }
    return false;
}

/* The largest initial size, in pages, among the memories the module
 * declares that graft_module_import/export describe (imported or exported;
 * a memory that is neither is found at instantiation). */
static uint32_t declared_memory_pages(const graft_module *m)
{
    uint32_t most = 0;
    graft_extern_desc d;
    for (uint32_t i = 0; i < graft_module_import_count(m); i++) {
        graft_module_import(m, i, &d);
        if (d.kind == GRAFT_EXTERN_MEMORY && d.limits.min > most) most = d.limits.min;
    }
    for (uint32_t i = 0; i < graft_module_export_count(m); i++) {
        graft_module_export(m, i, &d);
        if (d.kind == GRAFT_EXTERN_MEMORY && d.limits.min > most) most = d.limits.min;
    }
    return most;
}

/* A module whose declared initial memory exceeds its memory limit could
 * never instantiate: refuse it at load rather than crash-loop it. */
static bool memory_fits(const agent_mod *mod, char *err, size_t cap)
{
    uint32_t pages = declared_memory_pages(mod->module), limit = worker_memory_pages(mod);
    if (pages <= limit) return true;
    snprintf(err, cap, "module %s refused: its declared initial memory of %u pages (%llu bytes) exceeds its memory limit of %u pages (%llu bytes)",
             mod->name, pages, (unsigned long long)pages * 65536, limit, (unsigned long long)limit * 65536);
    return false;
}

/* Whether every import of m comes from a module graftd provides: iot_v1
 * or the WASI subset. Anything else (env.memory, another module's
 * functions) would fail every instantiation and crash-loop the module
 * into quarantine; it is refused at load, naming the import. */
static bool imports_provided(const graft_module *m, char *err, size_t cap)
{
    for (uint32_t i = 0; i < graft_module_import_count(m); i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        bool iot = d.module_len == strlen(MANIFEST_HOST_API) && memcmp(d.module, MANIFEST_HOST_API, d.module_len) == 0;
        bool wasi = d.module_len == strlen(WASI_SUBSET_MODULE) &&
                    memcmp(d.module, WASI_SUBSET_MODULE, d.module_len) == 0;
        if (iot || wasi) continue;
        char what[200];
        iot_escape(what, sizeof what, d.module, d.module_len);
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, ".");
        iot_escape(what + n + 1, sizeof what - n - 1, d.name, d.name_len);
        snprintf(err, cap, "import %s: graftd provides only iot_v1 and wasi_snapshot_preview1 imports "
                 "(docs/host-api.md)", what);
        return false;
    }
    return true;
}

/* Loads and checks one module (no threads, no subscriber yet). */
static agent_mod *mod_prepare(agent *ag, const config *cfg, const config_module *cm, char *err, size_t cap)
{
    agent_mod *mod = calloc(1, sizeof *mod);
    if (!mod) { snprintf(err, cap, "%s: out of memory", cm->name); return NULL; }
    mod->ag = ag;
    pthread_mutex_init(&mod->call_mu, NULL);
    pthread_mutex_init(&mod->mu, NULL);
    pthread_cond_init(&mod->cv, NULL);
    snprintf(mod->name, sizeof mod->name, "%s", cm->name);
    mod->acfg = cfg->agent;
    snprintf(mod->state_dir, sizeof mod->state_dir, "%s", cfg->state_dir);
    char why[1024];
    if (!config_module_resolve(cm, &mod->man, &mod->caps, &mod->limits, why, sizeof why)) {
        snprintf(err, cap, "module %s: %s", cm->name, why);
        goto fail;
    }
    fingerprint(mod, cm);
    graft_env_config ec = { .budget = (size_t)mod->limits.memory_bytes + 65536 * 8 + (16u << 20) };
    if (graft_env_new(&ec, &mod->env) != GRAFT_OK) {
        snprintf(err, cap, "module %s: cannot create its engine environment", cm->name);
        goto fail;
    }
    uint8_t *bytes;
    size_t len;
    if (!read_file(cm->wasm, &bytes, &len)) {
        snprintf(err, cap, "module %s: cannot read %s: %s", cm->name, cm->wasm, strerror(errno));
        goto fail;
    }
    graft_result r = graft_module_load(mod->env, bytes, len, &mod->module);
    free(bytes);
    if (r != GRAFT_OK) {
        snprintf(err, cap, "module %s: %s: %s", cm->name, cm->wasm, graft_env_error(mod->env)->message);
        goto fail;
    }
    graft_result ir = GRAFT_OK;
    if (!imports_provided(mod->module, why, sizeof why) ||
        (ir = iot_v1_check_imports(mod->module, &mod->caps, why, sizeof why)) != GRAFT_OK ||
        wasi_subset_check(mod->module, why, sizeof why) != GRAFT_OK ||
        iot_v1_check_exports(mod->module, &mod->caps, why, sizeof why) != GRAFT_OK) {
        /* an ungranted capability: say what each side named (the name is
         * the word after "capability " in iot_v1_check_imports' text) */
        char cap_name[16], both[600] = "";
        const char *c = ir == GRAFT_ERR_SECURITY ? strstr(why, ": capability ") : NULL;
        if (c && sscanf(c, ": capability %15[a-z]", cap_name) == 1)
            manifest_caps_explain(&mod->man.caps, &cm->grants, cap_name, both, sizeof both);
        snprintf(err, cap, "module %s refused: %s%s%s", cm->name, why, both[0] ? "; " : "", both);
        goto fail;
    }
    if (!memory_fits(mod, err, cap)) goto fail;
    mod->has_initialize = has_export(mod->module, "_initialize");
    mod->has_on_message = has_export(mod->module, "on_message") && has_export(mod->module, "graft_alloc");
    mod->has_on_timer = has_export(mod->module, "on_timer");
    mod->has_health = has_export(mod->module, "health");
    services_init(mod);
    return mod;
fail:
    mod_free(mod);
    return NULL;
}

/* What a module's inbox may hold at worst: agent.inbox_bytes of waiting
 * messages (or one message when a single one is larger) and the one its
 * worker is delivering (docs/agent.md, "Memory budget"). */
static uint64_t inbox_reserve(const agent_mod *m)
{
    uint64_t msg = m->limits.max_message_bytes, queued = m->acfg.inbox_bytes;
    return (queued > msg ? queued : msg) + msg;
}

/* What a module takes of budget.memory_bytes: its linear memory and its inbox. */
static uint64_t budget_bytes(const agent_mod *m)
{
    return m->limits.memory_bytes + inbox_reserve(m);
}

/* Subscribes, opens kv, starts the worker, links the mod into the list. */
static bool mod_launch(agent *ag, agent_mod *mod, char *err, size_t cap)
{
    mod->sub = bus_sub_new(ag->bus, mod->name, mod->acfg.inbox_messages, mod->limits.max_message_bytes);
    if (!mod->sub) { snprintf(err, cap, "module %s: cannot subscribe", mod->name); return false; }
    bus_sub_set_max_bytes(mod->sub, mod->acfg.inbox_bytes);
    for (size_t i = 0; i < mod->caps.subscribe.count; i++) {
        bus_result r = bus_sub_add_filter(mod->sub, mod->caps.subscribe.items[i]);
        if (r != BUS_OK) {
            snprintf(err, cap, "module %s: filter '%s': %s", mod->name, mod->caps.subscribe.items[i], bus_strerror(r));
            return false;
        }
    }
    if (mod->caps.kv_quota_bytes && !mod->ns) {   /* a replacement has it already */
        kvs_result r = kvs_ns_open(ag->kv, mod->name, mod->caps.kv_quota_bytes, &mod->ns);
        if (r != KVS_OK && r != KVS_EQUOTA) {
            snprintf(err, cap, "module %s: kv: %s", mod->name, kvs_errmsg(ag->kv));
            return false;
        }
    }
    if (ag->met) {
        mod->mm = metrics_module_new(ag->met, mod->name);
        mod->quarantined = metrics_gauge_get(ag->met, "graft_module_quarantined",
                                             "1 when the module is quarantined after a crash loop",
                                             "module", mod->name);
        if (mod->quarantined) metrics_gauge_set(mod->quarantined, 0);
        mod->health_failures = metrics_counter_get(ag->met, "graft_module_health_failures_total",
                                                   "Health probes the module answered non-zero.",
                                                   "module", mod->name);
        mod->log_suppressed_total = metrics_counter_get(ag->met, "graft_module_log_suppressed_total",
                                                        "Log lines of or about the module dropped by its log rate limit.",
                                                        "module", mod->name);
        /* a staged replacement's start function may have logged already */
        if (mod->log_suppressed_total) metrics_counter_add(mod->log_suppressed_total, atomic_load(&mod->log_suppressed));
    }
    pthread_mutex_lock(&ag->mods_mu);
    mod->next = ag->mods;
    ag->mods = mod;
    pthread_mutex_unlock(&ag->mods_mu);
    if (!worker_start(mod)) { snprintf(err, cap, "module %s: cannot start its thread", mod->name); return false; }
    alog(ag->log, ALOG_INFO, mod->name, "started %s %s (fuel/event %llu, %u ms/event, memory %llu)",
         mod->man.name, mod->man.version, (unsigned long long)mod->limits.fuel_per_event,
         mod->limits.wall_ms_per_event, (unsigned long long)mod->limits.memory_bytes);
    return true;
}

/* Instantiates mod, a replacement for the running `old`, beside it (the
 * start function runs, under mod's fuel and deadline: ag->staged is
 * watched like the running mods), and opens its kv namespace when old
 * has none to hand over. false: refused, err says why; old untouched. */
static bool stage(agent *ag, agent_mod *mod, agent_mod *old, char *err, size_t cap)
{
    if (mod->caps.kv_quota_bytes && !old->ns) {
        kvs_result r = kvs_ns_open(ag->kv, mod->name, mod->caps.kv_quota_bytes, &mod->ns);
        if (r != KVS_OK && r != KVS_EQUOTA) {
            snprintf(err, cap, "its kv namespace cannot be opened: %s", kvs_errmsg(ag->kv));
            return false;
        }
    }
    pthread_mutex_lock(&ag->mods_mu);
    ag->staged = mod;
    pthread_mutex_unlock(&ag->mods_mu);
    bool ok = worker_instantiate(mod);
    pthread_mutex_lock(&ag->mods_mu);
    ag->staged = NULL;
    pthread_mutex_unlock(&ag->mods_mu);
    if (!ok) {
        pthread_mutex_lock(&mod->mu);
        snprintf(err, cap, "%s", mod->last_error);
        pthread_mutex_unlock(&mod->mu);
    }
    return ok;
}

/* Stops a linked mod: drain, join, unlink, free. heir (or NULL): the
 * replacement that inherits its open kv namespace, so the state passes on
 * in memory with nothing to read back from (or wait for on) the disk. */
static void mod_retire(agent *ag, agent_mod *mod, agent_mod *heir)
{
    worker_join(mod);
    pthread_mutex_lock(&ag->mods_mu);
    for (agent_mod **pp = &ag->mods; *pp; pp = &(*pp)->next)
        if (*pp == mod) { *pp = mod->next; break; }
    pthread_mutex_unlock(&ag->mods_mu);
    if (heir && heir->caps.kv_quota_bytes && !heir->ns && mod->ns) {
        heir->ns = mod->ns;
        mod->ns = NULL;
        if (kvs_ns_set_quota(heir->ns, heir->caps.kv_quota_bytes) == KVS_EQUOTA)
            alog(ag->log, ALOG_WARN, mod->name, "kv: the new version's quota of %llu bytes is below the %zu bytes "
                 "held: reads work, writes are refused until keys are deleted",
                 (unsigned long long)heir->caps.kv_quota_bytes, kvs_ns_usage(heir->ns));
    }
    alog(ag->log, ALOG_INFO, mod->name, "stopped (%llu messages in, %llu events)",
         (unsigned long long)atomic_load(&mod->msgs_in), (unsigned long long)atomic_load(&mod->events));
    mod_free(mod);
}

/* ---- drivers ----------------------------------------------------------------
 * The registry (ag->drivers) lives as long as the agent; reload changes its
 * entries in place. ag->drvs records what each running driver was built
 * from, so a reload can tell unchanged drivers (kept, state and all) from
 * changed ones (rebuilt in a staging registry, then swapped in with
 * drv_move) and removed ones (drv_remove). */

/* Builds driver d into reg (the agent's or a staging registry). */
static bool driver_build(drv_registry *reg, const config_driver *d, int64_t t0, char *err, size_t cap)
{
    drv_result r;
    if (d->kind == CONFIG_DRIVER_LOG_ACTUATOR) {
        r = drv_add_log_actuator(reg, d->name, d->unit, d->file);
    } else if (d->kind == CONFIG_DRIVER_CSV) {
        r = drv_add_csv(reg, d->name, d->unit, d->file, d->loop, 0, d->interval_ms);
    } else {
        drv_sim_config sc = { .seed = d->seed, .t0_ns = t0, .sample_period_ms = d->interval_ms };
        switch (d->kind) {
        case CONFIG_DRIVER_SINE:
            sc.kind = DRV_SIM_SINE;
            sc.offset = d->offset, sc.amplitude = d->amplitude, sc.period_s = d->period_s, sc.noise = d->stddev;
            break;
        case CONFIG_DRIVER_RANDOM_WALK:
            sc.kind = DRV_SIM_WALK;
            sc.start = d->start, sc.step = d->step, sc.min = d->min, sc.max = d->max;
            break;
        case CONFIG_DRIVER_STEP:
            sc.kind = DRV_SIM_STEP;
            sc.low = d->low, sc.high = d->high;
            sc.hold = d->interval_ms ? (unsigned)(d->period_s * 1000.0 / d->interval_ms) : 1;
            break;
        default:
            sc.kind = DRV_SIM_NOISE;
            sc.offset = d->mean, sc.amplitude = d->stddev;
            break;
        }
        r = drv_add_sim(reg, d->name, d->unit, &sc, d->interval_ms);
    }
    if (r == DRV_OK && !d->actuator) r = drv_set_topic(reg, d->name, d->topic);
    if (r != DRV_OK) {
        snprintf(err, cap, "driver %s: %s", d->name, drv_errmsg(reg));
        return false;
    }
    return true;
}

/* A CSV input's identity (mtime, size): editing the file changes the driver. */
static void driver_stamp(const config_driver *d, char *out, size_t cap)
{
    struct stat st;
    out[0] = '\0';
    if (d->kind == CONFIG_DRIVER_CSV && stat(d->file, &st) == 0)
        snprintf(out, cap, "%lld.%09ld/%lld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                 (long long)st.st_size);
}

/* Appends key to a ", "-separated list when differs; counts it in *n. */
static void note_key(jbuf *b, size_t *n, bool differs, const char *key)
{
    if (!differs) return;
    jb_raw(b, "%s%s", *n ? ", " : "", key);
    (*n)++;
}

/* What a reload did to one section's drivers or modules: three lists of
 * names (added, changed or replaced, removed), for its one log line. */
typedef struct changes {
    char text[3][1024];
    jbuf list[3];
    size_t count[3];
} changes;

enum { CH_ADDED, CH_CHANGED, CH_REMOVED };

static void changes_init(changes *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 3; i++) jb_init(&c->list[i], c->text[i], sizeof c->text[i]);
}

/* Appends one item (printf-formatted) to list `which`. */
__attribute__((format(printf, 3, 4))) static void changes_add(changes *c, int which, const char *fmt, ...)
{
    char item[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    jb_raw(&c->list[which], "%s%s", c->count[which]++ ? ", " : "", item);
}

/* "reload: SECTION: added [..], CHANGED [..], removed [..]" when anything changed. */
static void changes_log(agent *ag, const changes *c, const char *section, const char *changed)
{
    if (c->count[CH_ADDED] + c->count[CH_CHANGED] + c->count[CH_REMOVED])
        alog(ag->log, ALOG_INFO, NULL, "reload: %s: added [%s], %s [%s], removed [%s]", section,
             c->text[CH_ADDED], changed, c->text[CH_CHANGED], c->text[CH_REMOVED]);
}

static const struct { const char *key; size_t off; } driver_numbers[] = {
    { "amplitude", offsetof(config_driver, amplitude) }, { "offset", offsetof(config_driver, offset) },
    { "period_s", offsetof(config_driver, period_s) },   { "start", offsetof(config_driver, start) },
    { "step", offsetof(config_driver, step) },           { "min", offsetof(config_driver, min) },
    { "max", offsetof(config_driver, max) },             { "low", offsetof(config_driver, low) },
    { "high", offsetof(config_driver, high) },           { "mean", offsetof(config_driver, mean) },
    { "stddev", offsetof(config_driver, stddev) },
};

/* Lists in b the config keys in which two drivers differ; 0: the same. */
static size_t driver_diff(const agent_driver *a, const agent_driver *b, jbuf *out)
{
    const config_driver *x = &a->cfg, *y = &b->cfg;
    size_t n = 0;
    note_key(out, &n, x->kind != y->kind, "kind");
    note_key(out, &n, strcmp(x->topic, y->topic) != 0, "topic");
    note_key(out, &n, x->interval_ms != y->interval_ms, "interval_ms");
    note_key(out, &n, x->unit != y->unit, "unit");
    note_key(out, &n, x->seed != y->seed, "seed");
    for (size_t i = 0; i < sizeof driver_numbers / sizeof driver_numbers[0]; i++) {
        double u, v;
        memcpy(&u, (const char *)x + driver_numbers[i].off, sizeof u);
        memcpy(&v, (const char *)y + driver_numbers[i].off, sizeof v);
        note_key(out, &n, u != v, driver_numbers[i].key);
    }
    note_key(out, &n, strcmp(x->file, y->file) != 0, "file");
    note_key(out, &n, strcmp(x->file, y->file) == 0 && strcmp(a->stamp, b->stamp) != 0, "file contents");
    note_key(out, &n, x->loop != y->loop, "loop");
    return n;
}

static const agent_driver *find_driver(const agent_driver *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].cfg.name, name) == 0) return &list[i];
    return NULL;
}

/* Brings ag->drivers to cfg's drivers: unchanged ones are kept untouched
 * (a CSV replay goes on, a simulated source keeps its t0); a change of
 * topic alone is applied in place (drv_set_topic); any other change
 * rebuilds the driver in a staging registry and swaps it in (drv_move); a
 * new one is built and moved in; a missing one is removed (drv_remove).
 * strict (at start): a driver that cannot be built fails the whole start.
 * Otherwise it is logged and skipped, and its running version, if any,
 * stays. Logs one line saying what changed (not at start). Main thread. */
static bool drivers_apply(agent *ag, const config *cfg, bool strict, char *err, size_t cap)
{
    size_t n = cfg->ndrivers, count = 0;
    agent_driver *next = calloc(n ? n : 1, sizeof *next);
    bool *fresh = calloc(n ? n : 1, sizeof *fresh), ok = true;
    drv_registry *staging = drv_registry_new(NULL, NULL);
    if (!next || !fresh || !staging) {
        free(next);
        free(fresh);
        drv_registry_free(staging);
        snprintf(err, cap, "drivers: out of memory");
        return false;
    }
    changes ch;
    changes_init(&ch);
    int64_t t0 = agent_wall_ns();
    for (size_t i = 0; i < n && ok; i++) {
        const config_driver *d = &cfg->drivers[i];
        agent_driver want = { .cfg = *d };
        driver_stamp(d, want.stamp, sizeof want.stamp);
        const agent_driver *old = find_driver(ag->drvs, ag->ndrvs, d->name);
        char keys[512];
        jbuf jk;
        jb_init(&jk, keys, sizeof keys);
        size_t diffs = old ? driver_diff(old, &want, &jk) : 0;
        if (old && diffs == 0) { next[i] = *old; continue; }
        if (old && diffs == 1 && strcmp(old->cfg.topic, d->topic) != 0 && !d->actuator &&
            drv_set_topic(ag->drivers, d->name, d->topic) == DRV_OK) {
            next[i] = want;
            changes_add(&ch, CH_CHANGED, "%s (topic %s -> %s)", d->name, old->cfg.topic, d->topic);
            continue;
        }
        char why[1024];
        if (!driver_build(staging, d, t0, why, sizeof why)) {
            if (strict) { snprintf(err, cap, "%s", why); ok = false; break; }
            alog(ag->log, ALOG_ERROR, d->name, "reload: %s; %s", why,
                 old ? "the running version stays" : "not added");
            if (old) next[i] = *old;
            continue;
        }
        next[i] = want;
        fresh[i] = true;
        if (old) changes_add(&ch, CH_CHANGED, "%s (%s)", d->name, keys);
        else changes_add(&ch, CH_ADDED, "%s", d->name);
    }
    for (size_t i = 0; i < ag->ndrvs && ok; i++) {
        const char *name = ag->drvs[i].cfg.name;
        if (find_driver(next, n, name)) continue;
        drv_remove(ag->drivers, name);
        changes_add(&ch, CH_REMOVED, "%s", name);
    }
    for (size_t i = 0; i < n && ok; i++) {
        if (!fresh[i]) continue;
        if (drv_move(ag->drivers, staging, next[i].cfg.name) != DRV_OK) {
            alog(ag->log, ALOG_ERROR, next[i].cfg.name, "reload: driver %s: %s", next[i].cfg.name,
                 drv_errmsg(ag->drivers));
            next[i].cfg.name[0] = '\0';
        }
    }
    drv_registry_free(staging);
    free(fresh);
    if (!ok) { free(next); return false; }
    for (size_t i = 0; i < n; i++)
        if (next[i].cfg.name[0]) next[count++] = next[i];
    free(ag->drvs);
    ag->drvs = next;
    ag->ndrvs = count;
    if (!strict) changes_log(ag, &ch, "drivers", "changed");
    return true;
}

/* Refuses a set of modules whose pipeline has a cycle. The sensors are in
 * the graph too, as sources on their real topics (they subscribe to
 * nothing, so they never close a cycle themselves). */
static bool check_cycles(agent_mod *const *mods, size_t n, const config *cfg, char *err, size_t cap)
{
    size_t total = n + cfg->ndrivers, k = 0;
    bus_node *nodes = calloc(total ? total : 1, sizeof *nodes);
    if (!nodes) { snprintf(err, cap, "out of memory"); return false; }
    for (size_t i = 0; i < n; i++, k++) {
        nodes[k].name = mods[i]->name;
        nodes[k].subscribe = (const char *const *)mods[i]->caps.subscribe.items;
        nodes[k].subscribe_count = mods[i]->caps.subscribe.count;
        nodes[k].publish = (const char *const *)mods[i]->caps.publish.items;
        nodes[k].publish_count = mods[i]->caps.publish.count;
    }
    const char **topics = calloc(cfg->ndrivers ? cfg->ndrivers : 1, sizeof *topics);
    if (!topics) { free(nodes); snprintf(err, cap, "out of memory"); return false; }
    for (size_t i = 0; i < cfg->ndrivers; i++) {
        if (cfg->drivers[i].actuator) continue;
        topics[i] = cfg->drivers[i].topic;
        nodes[k].name = cfg->drivers[i].name;
        nodes[k].publish = &topics[i];
        nodes[k++].publish_count = 1;
    }
    bus_cycle cyc;
    bus_result r = bus_check_cycles(nodes, k, &cyc);
    free(nodes);
    free(topics);
    if (r == BUS_E_CYCLE) { snprintf(err, cap, "%s", cyc.message); return false; }
    return true;
}

static agent_mod *find_mod(agent *ag, const char *name)
{
    for (agent_mod *m = ag->mods; m; m = m->next)
        if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

/* A replacement for the running mod `old` was refused (why): old keeps
 * running as it is (serving, in backoff or quarantined), and the refusal
 * is logged and counted (graft_module_replacement_refused_total). Returns
 * old, to be kept. */
static agent_mod *keep_running(agent *ag, agent_mod *old, const char *why)
{
    alog(ag->log, ALOG_ERROR, old->name, "reload: the new version is refused, the running version (%s) keeps %s: %s",
         old->man.version, atomic_load(&old->state) == AGENT_MOD_QUARANTINED ? "its quarantine" : "serving", why);
    if (ag->met) {
        metrics_counter *c = metrics_counter_get(ag->met, "graft_module_replacement_refused_total",
                                                 "Replacements of a running module refused at a reload "
                                                 "(the running version kept).",
                                                 "module", old->name);
        if (c) metrics_counter_inc(c);
    }
    return old;
}

/* Records why module cm is not running, for /healthz and graft_module_state. */
static void note_failed(agent_failed *f, const config_module *cm, const char *why)
{
    snprintf(f->name, sizeof f->name, "%s", cm->name);
    f->state = strstr(why, "refused") ? "refused" : "failed";
    snprintf(f->reason, sizeof f->reason, "%.*s", (int)sizeof f->reason - 1, why);   /* cut, on purpose */
    f->required = cm->required;
}

/* Prepares every enabled module of cfg. kept[i]: the running mod to keep
 * (same fingerprint) or NULL; fresh[i]: a newly prepared one or NULL
 * (failed or kept); failed[i]: why module i will not run, when it will
 * not. Checks the memory budget and the cycles over the resulting set.
 * false: refused as a whole (err says why). */
static bool plan(agent *ag, const config *cfg, agent_mod **kept, agent_mod **fresh, agent_failed *failed,
                 char *err, size_t cap)
{
    size_t n = cfg->nmodules, count = 0;
    uint64_t memory = 0;
    agent_mod **all = calloc(n ? n : 1, sizeof *all);
    if (!all) return false;
    for (size_t i = 0; i < n; i++) {
        kept[i] = fresh[i] = NULL;
        const config_module *cm = &cfg->modules[i];
        if (!cm->enabled) continue;
        char why[1536];
        agent_mod *m = mod_prepare(ag, cfg, cm, why, sizeof why);
        agent_mod *old = find_mod(ag, cm->name);
        if (!m) {
            if (!old) {
                alog(ag->log, ALOG_ERROR, cm->name, "%s", why);
                note_failed(&failed[i], cm, why);
                continue;
            }
            m = kept[i] = keep_running(ag, old, why);
        } else if (old && strcmp(old->fingerprint, m->fingerprint) == 0 &&
                   atomic_load(&old->state) != AGENT_MOD_QUARANTINED) {
            mod_free(m);
            m = kept[i] = old;
        } else {
            fresh[i] = m;
        }
        if (memory + budget_bytes(m) > cfg->budget_memory_bytes) {
            snprintf(why, sizeof why, "refused: its %llu bytes (memory %llu, inbox %llu) exceed the budget (%llu left of %llu)",
                     (unsigned long long)budget_bytes(m), (unsigned long long)m->limits.memory_bytes,
                     (unsigned long long)inbox_reserve(m), (unsigned long long)(cfg->budget_memory_bytes - memory),
                     (unsigned long long)cfg->budget_memory_bytes);
            bool replacing = fresh[i] && old;   /* a kept module over the budget is not kept */
            if (fresh[i]) mod_free(fresh[i]);
            kept[i] = fresh[i] = NULL;
            if (!replacing || memory + budget_bytes(old) > cfg->budget_memory_bytes) {
                alog(ag->log, ALOG_ERROR, cm->name, "%s", why);
                note_failed(&failed[i], cm, why);
                continue;
            }
            m = kept[i] = keep_running(ag, old, why);
        }
        memory += budget_bytes(m);
        all[count++] = m;
        atomic_store(&m->required, cm->required);
    }
    bool ok = check_cycles(all, count, cfg, err, cap);
    free(all);
    if (!ok) {
        for (size_t i = 0; i < n; i++) mod_free(fresh[i]);
    }
    return ok;
}

/* ---- the other sections on reload ---------------------------------------------
 * Each compares the running section (in `old`) with the new one (already in
 * ag->cfg) and logs one info line when something changed. A part that
 * cannot be applied swaps the running values back into ag->cfg, so
 * ag->cfg always says what runs. Main thread. */

/* state_dir and agent.commit_window_ms belong to the kv store, opened once
 * at start: a reload keeps the running ones (in cfg too, before the
 * modules are prepared with them) and, once it is accepted, says so.
 * want_* hold what the new config asked for. */
typedef struct start_only {
    char state_dir[CONFIG_PATH_MAX];
    uint32_t commit_window_ms;
    bool state_dir_changed, window_changed;
} start_only;

static void keep_start_only(agent *ag, config *cfg, start_only *want)
{
    want->state_dir_changed = strcmp(cfg->state_dir, ag->cfg.state_dir) != 0;
    want->window_changed = cfg->agent.commit_window_ms != ag->cfg.agent.commit_window_ms;
    memcpy(want->state_dir, cfg->state_dir, sizeof want->state_dir);
    want->commit_window_ms = cfg->agent.commit_window_ms;
    memcpy(cfg->state_dir, ag->cfg.state_dir, sizeof cfg->state_dir);
    cfg->agent.commit_window_ms = ag->cfg.agent.commit_window_ms;
}

static void warn_start_only(agent *ag, const start_only *want)
{
    if (want->state_dir_changed)
        alog(ag->log, ALOG_WARN, NULL,
             "reload: state_dir changed to %s but not applied: the kv store and quarantine notes stay in %s; "
             "restart graftd to move them (the rest of the config is applied)",
             want->state_dir, ag->cfg.state_dir);
    if (want->window_changed)
        alog(ag->log, ALOG_WARN, NULL,
             "reload: agent.commit_window_ms changed to %u but not applied: the kv store keeps %u ms; "
             "restart graftd to change it (the rest of the config is applied)",
             want->commit_window_ms, ag->cfg.agent.commit_window_ms);
}

static void agent_section_apply(agent *ag, const config *old)
{
    const config_agent *x = &old->agent, *y = &ag->cfg.agent;
    char keys[512];
    jbuf b;
    jb_init(&b, keys, sizeof keys);
    size_t n = 0, per_module = 0;
    note_key(&b, &n, strcmp(x->name, y->name) != 0, "name");
    note_key(&b, &n, x->log_level != y->log_level, "log_level");
    size_t shared = n;
    note_key(&b, &n, x->inbox_messages != y->inbox_messages, "inbox_messages");
    note_key(&b, &n, x->backoff_initial_ms != y->backoff_initial_ms, "backoff_initial_ms");
    note_key(&b, &n, x->backoff_max_ms != y->backoff_max_ms, "backoff_max_ms");
    note_key(&b, &n, x->crash_loop_traps != y->crash_loop_traps, "crash_loop_traps");
    note_key(&b, &n, x->crash_loop_window_s != y->crash_loop_window_s, "crash_loop_window_s");
    note_key(&b, &n, x->publish_rate_per_s != y->publish_rate_per_s, "publish_rate_per_s");
    note_key(&b, &n, x->publish_burst != y->publish_burst, "publish_burst");
    note_key(&b, &n, x->health_period_ms != y->health_period_ms, "health_period_ms");
    note_key(&b, &n, x->inbox_bytes != y->inbox_bytes, "inbox_bytes");
    note_key(&b, &n, x->log_rate_per_s != y->log_rate_per_s, "log_rate_per_s");
    note_key(&b, &n, x->log_burst != y->log_burst, "log_burst");
    note_key(&b, &n, x->event_wall_factor != y->event_wall_factor, "event_wall_factor");
    per_module = n - shared;
    if (x->log_level != y->log_level && ag->opt.log_level < 0) jlog_set_level(ag->log, (jlog_level)y->log_level);
    if (n)
        alog(ag->log, ALOG_INFO, NULL, "reload: agent: %s changed%s%s", keys,
             x->log_level != y->log_level && ag->opt.log_level >= 0 ? " (log_level: --log-level wins)" : "",
             per_module ? "; the module settings apply to modules started by this reload or later, "
                          "running ones keep those they started under" : "");
    if (old->budget_memory_bytes != ag->cfg.budget_memory_bytes)
        alog(ag->log, ALOG_INFO, NULL, "reload: budget: memory_bytes %llu -> %llu",
             (unsigned long long)old->budget_memory_bytes, (unsigned long long)ag->cfg.budget_memory_bytes);
}

static bool same_list(const iot_strlist *a, const iot_strlist *b)
{
    if (a->count != b->count) return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i], b->items[i]) != 0) return false;
    return true;
}

static size_t broker_diff(const config_broker *x, const config_broker *y, jbuf *b)
{
    size_t n = 0;
    note_key(b, &n, strcmp(x->host, y->host) != 0, "host");
    note_key(b, &n, x->port != y->port, "port");
    note_key(b, &n, x->protocol != y->protocol, "protocol");
    note_key(b, &n, strcmp(x->client_id, y->client_id) != 0, "client_id");
    note_key(b, &n, strcmp(x->username, y->username) != 0, "username");
    note_key(b, &n, strcmp(x->password, y->password) != 0, "password");
    note_key(b, &n, x->qos != y->qos, "qos");
    note_key(b, &n, x->keepalive_s != y->keepalive_s, "keepalive_s");
    note_key(b, &n, x->reconnect_min_ms != y->reconnect_min_ms, "reconnect_min_ms");
    note_key(b, &n, x->reconnect_max_ms != y->reconnect_max_ms, "reconnect_max_ms");
    note_key(b, &n, x->buffer_messages != y->buffer_messages, "buffer_messages");
    note_key(b, &n, !same_list(&x->import, &y->import), "import");
    note_key(b, &n, !same_list(&x->export_, &y->export_), "export");
    note_key(b, &n, x->tls != y->tls || strcmp(x->ca_file, y->ca_file) != 0 || strcmp(x->cert_file, y->cert_file) != 0 ||
                    strcmp(x->key_file, y->key_file) != 0, "tls");
    return n;
}

/* Makes m the running bridge and returns the one before (to be freed
 * outside mqtt_mu: /metrics and /healthz wait on it, not on the free). */
static mqtt_bridge *set_bridge(agent *ag, mqtt_bridge *m)
{
    pthread_mutex_lock(&ag->mqtt_mu);
    mqtt_bridge *prev = ag->mqtt;
    ag->mqtt = m;
    pthread_mutex_unlock(&ag->mqtt_mu);
    return prev;
}

/* A changed broker section: the new bridge is created first (a failure
 * keeps the running one), then the old one is freed; mqtt_bridge_free
 * closes its bus subscriber at once and sends what it had queued. */
static void broker_apply(agent *ag, config *old)
{
    config_broker *x = &old->broker, *y = &ag->cfg.broker;
    if (!x->enabled && !y->enabled) return;
    char keys[512];
    jbuf b;
    jb_init(&b, keys, sizeof keys);
    if (x->enabled && y->enabled && broker_diff(x, y, &b) == 0) return;
    if (!y->enabled) {
        mqtt_bridge_free(set_bridge(ag, NULL));
        alog(ag->log, ALOG_INFO, NULL, "reload: broker: section removed; the bridge to mqtt://%s:%u is stopped",
             x->host, x->port);
        return;
    }
    char err[1024];
    mqtt_bridge_hooks hooks = { agent_bridge_log, ag };
    mqtt_bridge *m = mqtt_bridge_new(ag->bus, y, &hooks, err, sizeof err);
    if (!m) {
        alog(ag->log, ALOG_ERROR, NULL, "reload: broker: the new bridge to mqtt://%s:%u cannot start (%s); %s",
             y->host, y->port, err, ag->mqtt ? "the running bridge stays" : "running without a broker");
        config_broker tmp = *x;             /* ag->cfg keeps saying what runs */
        *x = *y;
        *y = tmp;
        return;
    }
    mqtt_bridge *prev = set_bridge(ag, m);
    mqtt_bridge_free(prev);
    if (prev)
        alog(ag->log, ALOG_INFO, NULL, "reload: broker: %s changed; bridge replaced, now bridging the bus to mqtt://%s:%u",
             keys, y->host, y->port);
    else
        alog(ag->log, ALOG_INFO, NULL, "reload: broker: section added; bridging the bus to mqtt://%s:%u", y->host,
             y->port);
}

/* Starts /metrics on the config's port; false when it cannot be bound. */
static bool http_start(agent *ag)
{
    if (!metrics_http_start(ag->met, ag->cfg.http.listen, (uint16_t)ag->cfg.http.port, agent_health, ag,
                            &ag->http)) {
        ag->http = NULL;
        return false;
    }
    return true;
}

/* A changed http section restarts the server (stopped first: the new one
 * may want the same port). An enabled server that could not be bound
 * earlier is retried on every reload. */
static void http_apply(agent *ag, const config *old)
{
    const config_http *x = &old->http, *y = &ag->cfg.http;
    char keys[256];
    jbuf b;
    jb_init(&b, keys, sizeof keys);
    size_t n = 0;
    note_key(&b, &n, x->enabled != y->enabled, "enabled");
    note_key(&b, &n, strcmp(x->listen, y->listen) != 0, "listen");
    note_key(&b, &n, x->port != y->port, "port");
    if (n == 0 && !(y->enabled && !ag->http)) return;
    if (n == 0) snprintf(keys, sizeof keys, "nothing (retrying the port)");
    metrics_http_stop(ag->http);
    ag->http = NULL;
    if (!y->enabled)
        alog(ag->log, ALOG_INFO, NULL, "reload: http: %s changed; /metrics is stopped", keys);
    else if (http_start(ag))
        alog(ag->log, ALOG_INFO, NULL, "reload: http: %s changed; metrics on http://%s:%u/metrics", keys,
             ag->cfg.http.listen, metrics_http_port(ag->http));
    else
        alog(ag->log, ALOG_ERROR, NULL, "reload: http: %s changed; cannot serve /metrics on %s:%u; running without it",
             keys, y->listen, y->port);
}

bool agent_reload(agent *ag, config *cfg, char *err, size_t cap)
{
    size_t n = cfg->nmodules;
    start_only want = { .state_dir_changed = false };
    if (ag->running) keep_start_only(ag, cfg, &want);
    agent_mod **kept = calloc(n ? n : 1, sizeof *kept), **fresh = calloc(n ? n : 1, sizeof *fresh);
    agent_failed *failed = calloc(n ? n : 1, sizeof *failed);
    if (!kept || !fresh || !failed) {
        free(kept); free(fresh); free(failed);
        snprintf(err, cap, "out of memory");
        return false;
    }
    if (!plan(ag, cfg, kept, fresh, failed, err, cap)) {
        free(kept);
        free(fresh);
        free(failed);
        if (ag->running) {              /* the caller gets its config back as it was */
            memcpy(cfg->state_dir, want.state_dir, sizeof cfg->state_dir);
            cfg->agent.commit_window_ms = want.commit_window_ms;
        }
        return false;
    }
    if (ag->running) warn_start_only(ag, &want);
    /* Drivers before modules: a new module may read a new sensor at once. */
    if (ag->running) drivers_apply(ag, cfg, false, err, cap);
    /* A replacement is instantiated beside the version it replaces, which
     * serves meanwhile: a failure there (kv, instantiation, its start
     * function) keeps the running version. */
    for (size_t i = 0; i < n; i++) {
        agent_mod *old = fresh[i] ? find_mod(ag, fresh[i]->name) : NULL;
        char why[1024];
        if (!old || stage(ag, fresh[i], old, why, sizeof why)) continue;
        mod_free(fresh[i]);
        fresh[i] = NULL;
        kept[i] = keep_running(ag, old, why);
    }
    bool *was = calloc(n ? n : 1, sizeof *was);     /* fresh[i] replaces a running mod */
    for (size_t i = 0; was && i < n; i++) was[i] = fresh[i] && find_mod(ag, fresh[i]->name);
    changes ch;
    changes_init(&ch);
    /* Retire every running mod that is not kept (removed or replaced). */
    for (agent_mod *m = ag->mods, *next; m; m = next) {
        next = m->next;
        bool keep = false;
        for (size_t i = 0; i < n; i++) keep = keep || kept[i] == m;
        if (!keep) {
            agent_mod *heir = NULL;
            for (size_t i = 0; i < n; i++)
                if (fresh[i] && strcmp(fresh[i]->name, m->name) == 0) heir = fresh[i];
            alog(ag->log, ALOG_INFO, m->name, heir ? "replacing (reload)" : "removing (reload)");
            changes_add(&ch, heir ? CH_CHANGED : CH_REMOVED, "%s", m->name);
            mod_retire(ag, m, heir);
        }
    }
    config old = ag->cfg;
    ag->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < n; i++) {
        if (!fresh[i]) continue;
        if (was && !was[i]) changes_add(&ch, CH_ADDED, "%s", fresh[i]->name);
        char why[1024];
        if (!mod_launch(ag, fresh[i], why, sizeof why)) {
            alog(ag->log, ALOG_ERROR, fresh[i]->name, "%s", why);
            note_failed(&failed[i], &ag->cfg.modules[i], why);
            if (find_mod(ag, fresh[i]->name) == fresh[i]) mod_retire(ag, fresh[i], NULL);
            else mod_free(fresh[i]);
        }
    }
    if (ag->running) {
        changes_log(ag, &ch, "modules", "replaced");
        agent_section_apply(ag, &old);
        broker_apply(ag, &old);
        http_apply(ag, &old);
    }
    config_free(&old);
    size_t nfailed = 0;
    for (size_t i = 0; i < n; i++)
        if (failed[i].name[0] && !find_mod(ag, failed[i].name)) failed[nfailed++] = failed[i];
    agent_status_set(ag, failed, nfailed);
    free(was);
    free(kept);
    free(fresh);
    return true;
}

/* The last of a start that failed and of agent_stop: the log, the config
 * and the agent itself, once everything that uses them is gone. */
static void agent_release(agent *ag)
{
    alog_free(ag->log);
    config_free(&ag->cfg);
    free(ag->drvs);
    pthread_mutex_destroy(&ag->mods_mu);
    pthread_mutex_destroy(&ag->seen_mu);
    pthread_mutex_destroy(&ag->mqtt_mu);
    free(ag->failed);
    free(ag);
}

/* Whether what path names (the state dir, the config file) is safe to run
 * from: it must exist when must_exist (a config parsed from a string has
 * no file), belong to graftd's user or root, and not be writable by every
 * user, who could otherwise plant modules' state or rewrite what the agent
 * runs. docs/agent.md, "Running under systemd". */
static bool owned_safely(const char *what, const char *path, bool must_exist, char *err, size_t cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!must_exist) return true;
        snprintf(err, cap, "%s %s: %s", what, path, strerror(errno));
        return false;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, cap, "%s %s belongs to uid %u, neither graftd's user (uid %u) nor root: refusing to run from it",
                 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
        return false;
    }
    if (st.st_mode & S_IWOTH) {
        snprintf(err, cap, "%s %s is writable by every user (mode %04o): refusing to run from it (chmod o-w %s)",
                 what, path, (unsigned)(st.st_mode & 07777), path);
        return false;
    }
    return true;
}

/* With agent.require_at_start: false (err names the module) when a module
 * marked required did not start: refused, failed to load or launch, or
 * not running once its start ended (trapped, refused in on_start), or
 * still starting after a bound generous for a loaded machine. */
static bool required_started(agent *ag, char *err, size_t cap)
{
    if (!ag->cfg.agent.require_at_start) return true;
    for (size_t i = 0; i < ag->nfailed; i++)
        if (ag->failed[i].required) {
            snprintf(err, cap, "module %s is required (agent.require_at_start) and %s: %s", ag->failed[i].name,
                     ag->failed[i].state, ag->failed[i].reason);
            return false;
        }
    for (agent_mod *m = ag->mods; m; m = m->next) {
        if (!atomic_load(&m->required)) continue;
        /* _initialize and on_start run on the worker, each within its deadline */
        int64_t until = agent_now_ns() + (int64_t)(2u * m->limits.wall_ms_per_event + 10000u) * 1000000;
        while (atomic_load(&m->state) == AGENT_MOD_STARTING && agent_now_ns() < until) {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
        }
        int state = atomic_load(&m->state);
        if (state != AGENT_MOD_RUNNING) {
            pthread_mutex_lock(&m->mu);
            snprintf(err, cap, "module %s is required (agent.require_at_start) and did not start: %s%s%s", m->name,
                     agent_mod_state_name(state), m->last_error[0] ? ": " : "", m->last_error);
            pthread_mutex_unlock(&m->mu);
            return false;
        }
    }
    return true;
}

bool agent_start(config *cfg, const agent_options *opt, agent **out, char *err, size_t cap)
{
    *out = NULL;
    if (cap) err[0] = '\0';
    agent *ag = calloc(1, sizeof *ag);
    if (!ag) { snprintf(err, cap, "out of memory"); return false; }
    ag->opt = *opt;
    ag->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    pthread_mutex_init(&ag->mods_mu, NULL);
    pthread_mutex_init(&ag->seen_mu, NULL);
    pthread_mutex_init(&ag->mqtt_mu, NULL);
    ag->log = alog_new(opt->log_level >= 0 ? opt->log_level : (int)ag->cfg.agent.log_level);
    ag->bus = bus_new(0);
    ag->drivers = drv_registry_new(NULL, NULL);
    if (!ag->log || !ag->bus || !ag->drivers) { snprintf(err, cap, "out of memory"); goto fail; }
    if (mkdir(ag->cfg.state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "state_dir %s: %s", ag->cfg.state_dir, strerror(errno));
        goto fail;
    }
    if (!owned_safely("state_dir", ag->cfg.state_dir, true, err, cap) ||
        !owned_safely("config", ag->cfg.path, false, err, cap))
        goto fail;
    char path[CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/kv.sqlite", ag->cfg.state_dir);
    kvs_options kvo = { .window_ms = ag->cfg.agent.commit_window_ms, .queue_max_bytes = opt->kv_queue_bytes,
                        .log = agent_kv_log, .log_user = ag };
    if (kvs_open_opts(path, &kvo, &ag->kv) != KVS_OK) {
        snprintf(err, cap, "kv store %s: %s", path, ag->kv ? kvs_errmsg(ag->kv) : "out of memory");
        goto fail;
    }
    if (!drivers_apply(ag, &ag->cfg, true, err, cap)) goto fail;
    if (!agent_observe_start(ag, err, cap)) goto fail;
    ag->met = metrics_new();
    if (!ag->met) { snprintf(err, cap, "out of memory"); goto fail; }
    kvs_attach_metrics(ag->kv, ag->met);
    metrics_set_collector(ag->met, agent_collect, ag);
    if (ag->cfg.http.enabled) {
        if (http_start(ag))
            alog(ag->log, ALOG_INFO, NULL, "metrics on http://%s:%u/metrics", ag->cfg.http.listen,
                 metrics_http_port(ag->http));
        else
            alog(ag->log, ALOG_ERROR, NULL, "cannot serve /metrics on %s:%u; running without it",
                 ag->cfg.http.listen, ag->cfg.http.port);
    }
    if (pthread_create(&ag->watchdog, NULL, watchdog_main, ag) != 0) {
        snprintf(err, cap, "cannot start the watchdog thread");
        goto fail;
    }
    config first = ag->cfg;   /* agent_reload takes a config: hand it the same one */
    memset(&ag->cfg, 0, sizeof ag->cfg);
    if (!agent_reload(ag, &first, err, cap)) {
        ag->cfg = first;
        atomic_store(&ag->quit, true);
        pthread_join(ag->watchdog, NULL);
        goto fail;
    }
    if (!required_started(ag, err, cap)) {
        agent_stop(ag);
        return false;
    }
    if (ag->cfg.broker.enabled) {
        mqtt_bridge_hooks hooks = { agent_bridge_log, ag };
        set_bridge(ag, mqtt_bridge_new(ag->bus, &ag->cfg.broker, &hooks, err, cap));
        if (!ag->mqtt) {
            char why[1024];
            snprintf(why, sizeof why, "broker: %s", err);
            snprintf(err, cap, "%s", why);
            agent_stop(ag);
            return false;
        }
        alog(ag->log, ALOG_INFO, NULL, "bridging the bus to mqtt://%s:%u", ag->cfg.broker.host, ag->cfg.broker.port);
    }
    if (drv_publish_start(ag->drivers, ag->bus) != DRV_OK || !agent_inject_start(ag, err, cap)) {
        if (!err[0]) snprintf(err, cap, "drivers: %s", drv_errmsg(ag->drivers));
        agent_stop(ag);
        return false;
    }
    size_t nmods = 0;
    for (agent_mod *m = ag->mods; m; m = m->next) nmods++;
    alog(ag->log, ALOG_INFO, NULL, "graftd %s up: %zu modules, %zu drivers, state in %s",
         ag->cfg.agent.name, nmods, ag->ndrvs, ag->cfg.state_dir);
    ag->running = true;
    *out = ag;
    return true;
fail:
    agent_observe_stop(ag);
    metrics_http_stop(ag->http);
    if (ag->kv) kvs_close(ag->kv);                   /* before the registry its series live in */
    if (ag->met) metrics_free(ag->met);
    if (ag->drivers) drv_registry_free(ag->drivers);
    if (ag->bus) bus_free(ag->bus);
    agent_release(ag);
    return false;
}

bool agent_stop(agent *ag)
{
    if (!ag) return true;
    alog(ag->log, ALOG_INFO, NULL, "stopping: drivers and --inject stopped, draining the events the modules have queued");
    drv_publish_stop(ag->drivers);
    agent_observe_stop_input(ag);
    /* Close every inbox first so no module feeds another after this. */
    pthread_mutex_lock(&ag->mods_mu);
    for (agent_mod *m = ag->mods; m; m = m->next) bus_sub_close(m->sub);
    pthread_mutex_unlock(&ag->mods_mu);
    while (ag->mods) mod_retire(ag, ag->mods, NULL);
    mqtt_bridge_free(set_bridge(ag, NULL));     /* after the drain: what modules published goes out */
    atomic_store(&ag->quit, true);
    pthread_join(ag->watchdog, NULL);
    agent_observe_stop(ag);
    metrics_http_stop(ag->http);
    /* kvs_close retries a failing disk for a bounded time and logs the
     * events it could not write, with SQLite's reason. */
    kvs_result kr = kvs_close(ag->kv);
    if (kr != KVS_OK) alog(ag->log, ALOG_ERROR, NULL, "stopped: kv state NOT fully written (see above)");
    else alog(ag->log, ALOG_INFO, NULL, "stopped: kv flushed");
    drv_registry_free(ag->drivers);
    bus_free(ag->bus);
    metrics_free(ag->met);
    agent_release(ag);
    return kr == KVS_OK;
}

size_t agent_stats(agent *ag, agent_mod_stats *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&ag->mods_mu);
    for (agent_mod *m = ag->mods; m; m = m->next, n++) {
        if (n >= cap) continue;
        agent_mod_stats *s = &out[n];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", m->name);
        s->state = atomic_load(&m->state);
        s->msgs_in = atomic_load(&m->msgs_in);
        s->msgs_out = atomic_load(&m->iotc.published);
        s->events = atomic_load(&m->events);
        s->rejected = atomic_load(&m->rejected);
        s->traps = atomic_load(&m->traps);
        s->restarts = atomic_load(&m->restarts);
        s->refused = atomic_load(&m->iotc.refused);
        s->rate_limited = atomic_load(&m->rate_limited);
        s->fuel_used = atomic_load(&m->fuel_used);
        s->timer_events = atomic_load(&m->timer_events);
        s->faults = atomic_load(&m->iotc.faults);
        s->invalid = atomic_load(&m->iotc.invalid);
        s->too_big = atomic_load(&m->iotc.too_big);
        s->alloc_dropped = atomic_load(&m->alloc_failed);
        bus_sub_stats bs;
        bus_sub_get_stats(m->sub, &bs);
        s->dropped_full = bs.dropped_full;
        s->dropped_oversize = bs.dropped_oversize;
    }
    pthread_mutex_unlock(&ag->mods_mu);
    return n;
}
