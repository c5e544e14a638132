/* config.c - the device config (config.h, docs/manifest.md).
 *
 * One function per section; each checks its object's keys, copies values
 * into the caller's `config`, and resolves relative paths against the
 * config file's directory. Defaults are set before parsing, so an absent
 * key keeps its documented default. Shares the manifest's JSON checking
 * helpers (mjson_*) for identical error quality. */
#include "config.h"
#include "topic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A path member, resolved against base (when relative). */
static bool opt_path(mjson_ctx *c, json_t *obj, const char *key, const char *base, char *out)
{
    char raw[CONFIG_PATH_MAX];
    raw[0] = '\0';
    if (!mjson_opt_string(c, obj, key, raw, sizeof raw)) return false;
    if (!raw[0]) return true;
    int n = raw[0] == '/' ? snprintf(out, CONFIG_PATH_MAX, "%s", raw)
                          : snprintf(out, CONFIG_PATH_MAX, "%s/%s", base, raw);
    if (n < 0 || n >= CONFIG_PATH_MAX) {
        size_t old = mjson_push_key(c, key);
        mjson_fail(c, "expected a shorter path");
        mjson_pop(c, old);
        return false;
    }
    return true;
}

static bool u32(mjson_ctx *c, json_t *o, const char *key, uint32_t lo, uint32_t hi, uint32_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        size_t old = mjson_push_key(c, key);
        mjson_fail(c, "expected an integer from %u to %u", lo, hi);
        mjson_pop(c, old);
        return false;
    }
    *out = (uint32_t)json_integer_value(v);
    return true;
}

static bool opt_double(mjson_ctx *c, json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return true;
    if (!json_is_number(v)) {
        size_t old = mjson_push_key(c, key);
        mjson_fail(c, "expected a number");
        mjson_pop(c, old);
        return false;
    }
    *out = json_number_value(v);
    return true;
}

/* Runs fn on member `key` (if present) with the path extended. */
#define SECTION(c, root, key, call)                                        \
    do {                                                                   \
        json_t *sec_ = json_object_get(root, key);                         \
        if (sec_) {                                                        \
            size_t old_ = mjson_push_key(c, key);                          \
            if (!(call)) return false;                                     \
            mjson_pop(c, old_);                                            \
        }                                                                  \
    } while (0)

/* The index of s in names[0 .. n), or n when it is not there. */
static size_t name_index(const char *s, const char *const *names, size_t n)
{
    size_t i = 0;
    while (i < n && strcmp(s, names[i]) != 0) i++;
    return i;
}

static bool parse_agent(mjson_ctx *c, json_t *v, config_agent *a)
{
    static const char *const keys[] = { "name", "log_level", "inbox_messages", "commit_window_ms",
        "require_at_start",
        "backoff_initial_ms", "backoff_max_ms", "crash_loop_traps", "crash_loop_window_s",
        "publish_rate_per_s", "publish_burst", "health_period_ms", "inbox_bytes", "log_rate_per_s",
        "log_burst", "event_wall_factor", NULL };
    static const char *const levels[] = { "debug", "info", "warn", "error" };
    char level[16] = "";
    if (!mjson_object(c, v, keys) || !mjson_opt_string(c, v, "name", a->name, sizeof a->name) ||
        !mjson_opt_string(c, v, "log_level", level, sizeof level) ||
        !mjson_opt_bool(c, v, "require_at_start", &a->require_at_start) ||
        !u32(c, v, "inbox_messages", 1, 1u << 20, &a->inbox_messages) ||
        !u32(c, v, "commit_window_ms", 0, 60000, &a->commit_window_ms) ||
        !u32(c, v, "backoff_initial_ms", 1, 3600000, &a->backoff_initial_ms) ||
        !u32(c, v, "backoff_max_ms", 1, 86400000, &a->backoff_max_ms) ||
        !u32(c, v, "crash_loop_traps", 1, 1000, &a->crash_loop_traps) ||
        !u32(c, v, "crash_loop_window_s", 1, 86400, &a->crash_loop_window_s) ||
        !u32(c, v, "publish_rate_per_s", 1, 10000000, &a->publish_rate_per_s) ||
        !u32(c, v, "publish_burst", 1, 10000000, &a->publish_burst) ||
        !u32(c, v, "health_period_ms", 10, 86400000, &a->health_period_ms) ||
        !u32(c, v, "inbox_bytes", 1024, 1u << 31, &a->inbox_bytes) ||
        !u32(c, v, "log_rate_per_s", 1, 10000000, &a->log_rate_per_s) ||
        !u32(c, v, "log_burst", 1, 10000000, &a->log_burst) ||
        !u32(c, v, "event_wall_factor", 1, 1000, &a->event_wall_factor))
        return false;
    if (!mjson_name_valid(a->name, false)) {
        mjson_push_key(c, "name");
        return mjson_fail(c, "expected a name of [A-Za-z0-9_.-], 1 to 64 bytes");
    }
    if (level[0]) {
        size_t i = name_index(level, levels, sizeof levels / sizeof levels[0]);
        if (i == sizeof levels / sizeof levels[0]) {
            mjson_push_key(c, "log_level");
            return mjson_fail(c, "expected \"debug\", \"info\", \"warn\" or \"error\"");
        }
        a->log_level = (config_log_level)i;
    }
    if (a->backoff_max_ms < a->backoff_initial_ms) {
        mjson_push_key(c, "backoff_max_ms");
        return mjson_fail(c, "expected at least backoff_initial_ms (%u)", a->backoff_initial_ms);
    }
    return true;
}

static bool filter_list(mjson_ctx *c, json_t *o, const char *key, iot_strlist *out)
{
    return mjson_string_list(c, o, key, true, out);
}

static bool parse_tls(mjson_ctx *c, json_t *v, config_broker *b, const char *base)
{
    static const char *const keys[] = { "ca_file", "cert_file", "key_file", NULL };
    b->tls = true;
    if (!mjson_object(c, v, keys) || !opt_path(c, v, "ca_file", base, b->ca_file) ||
        !opt_path(c, v, "cert_file", base, b->cert_file) || !opt_path(c, v, "key_file", base, b->key_file))
        return false;
    if (!b->cert_file[0] != !b->key_file[0])
        return mjson_fail(c, "expected both cert_file and key_file, or neither");
    return true;
}

static bool parse_broker(mjson_ctx *c, json_t *v, config_broker *b, const char *base)
{
    static const char *const keys[] = { "host", "port", "protocol", "client_id", "username", "password",
        "qos", "keepalive_s", "reconnect_min_ms", "reconnect_max_ms", "buffer_messages", "import",
        "export", "tls", NULL };
    b->enabled = true;
    if (!mjson_object(c, v, keys)) return false;
    SECTION(c, v, "tls", parse_tls(c, sec_, b, base));
    if (b->tls) b->port = 8883;
    uint32_t proto = 0;
    if (!mjson_opt_string(c, v, "host", b->host, sizeof b->host) ||
        !u32(c, v, "port", 1, 65535, &b->port) || !u32(c, v, "protocol", 0, 5, &proto) ||
        !mjson_opt_string(c, v, "client_id", b->client_id, sizeof b->client_id) ||
        !mjson_opt_string(c, v, "username", b->username, sizeof b->username) ||
        !mjson_opt_string(c, v, "password", b->password, sizeof b->password) ||
        !u32(c, v, "qos", 0, 1, &b->qos) || !u32(c, v, "keepalive_s", 5, 3600, &b->keepalive_s) ||
        !u32(c, v, "reconnect_min_ms", 10, 600000, &b->reconnect_min_ms) ||
        !u32(c, v, "reconnect_max_ms", 10, 3600000, &b->reconnect_max_ms) ||
        !u32(c, v, "buffer_messages", 0, 1u << 24, &b->buffer_messages) ||
        !filter_list(c, v, "import", &b->import) || !filter_list(c, v, "export", &b->export_))
        return false;
    if (json_object_get(v, "protocol")) {
        if (proto != 4 && proto != 5) {
            mjson_push_key(c, "protocol");
            return mjson_fail(c, "expected 4 (MQTT 3.1.1) or 5 (MQTT 5)");
        }
        b->protocol = proto;
    }
    if (b->password[0] && !b->username[0]) return mjson_fail(c, "expected a username with the password");
    if (!b->host[0]) {
        mjson_push_key(c, "host");
        return mjson_fail(c, "expected a non-empty host name");
    }
    return true;
}

static bool parse_http(mjson_ctx *c, json_t *v, config_http *h)
{
    static const char *const keys[] = { "enabled", "listen", "port", NULL };
    struct in_addr a;
    if (!mjson_object(c, v, keys) || !mjson_opt_bool(c, v, "enabled", &h->enabled) ||
        !mjson_opt_string(c, v, "listen", h->listen, sizeof h->listen) ||
        !u32(c, v, "port", 0, 65535, &h->port))
        return false;
    if (inet_pton(AF_INET, h->listen, &a) != 1) {
        mjson_push_key(c, "listen");
        return mjson_fail(c, "expected an IPv4 address such as 127.0.0.1");
    }
    return true;
}

static bool parse_budget(mjson_ctx *c, json_t *v, config *cfg)
{
    static const char *const keys[] = { "memory_bytes", NULL };
    return mjson_object(c, v, keys) &&
           mjson_opt_uint(c, v, "memory_bytes", (uint64_t)1 << 40, &cfg->budget_memory_bytes);
}

/* Kind names and the parameters each kind takes (beyond the common keys). */
static const struct driver_kind {
    const char *name;
    bool actuator;
    const char *const params[6];
} driver_kinds[] = {
    [CONFIG_DRIVER_SINE] = { "sine", false, { "amplitude", "offset", "period_s", "stddev", NULL } },
    [CONFIG_DRIVER_RANDOM_WALK] = { "random_walk", false, { "start", "step", "min", "max", NULL } },
    [CONFIG_DRIVER_STEP] = { "step", false, { "low", "high", "period_s", NULL } },
    [CONFIG_DRIVER_NOISE] = { "noise", false, { "mean", "stddev", NULL } },
    [CONFIG_DRIVER_CSV] = { "csv", false, { "file", "loop", NULL } },
    [CONFIG_DRIVER_LOG_ACTUATOR] = { "log_actuator", true, { "file", NULL } },
};

static const char *const unit_names[] = { "none", "degC", "percent", "Pa", "V", "A", "lux", "ppm", "m/s", "W" };

static bool driver_params(mjson_ctx *c, json_t *v, config_driver *d, const struct driver_kind *k,
                          const char *base)
{
    const char *keys[16] = { "name", "kind", "topic", "interval_ms", "unit", "seed" };
    size_t n = 6;
    for (size_t i = 0; k->params[i]; i++) keys[n++] = k->params[i];
    keys[n] = NULL;
    if (!mjson_object(c, v, keys)) return false;
    return opt_double(c, v, "amplitude", &d->amplitude) && opt_double(c, v, "offset", &d->offset) &&
           opt_double(c, v, "period_s", &d->period_s) && opt_double(c, v, "start", &d->start) &&
           opt_double(c, v, "step", &d->step) && opt_double(c, v, "min", &d->min) &&
           opt_double(c, v, "max", &d->max) && opt_double(c, v, "low", &d->low) &&
           opt_double(c, v, "high", &d->high) && opt_double(c, v, "mean", &d->mean) &&
           opt_double(c, v, "stddev", &d->stddev) && opt_path(c, v, "file", base, d->file) &&
           mjson_opt_bool(c, v, "loop", &d->loop);
}

static bool parse_driver(mjson_ctx *c, json_t *v, config_driver *d, const char *base)
{
    if (!json_is_object(v)) return mjson_fail(c, "expected a driver object");
    char kind[32] = "", unit[16] = "";
    if (!mjson_req_string(c, v, "name", d->name, sizeof d->name) ||
        !mjson_req_string(c, v, "kind", kind, sizeof kind))
        return false;
    if (!mjson_name_valid(d->name, false)) {
        mjson_push_key(c, "name");
        return mjson_fail(c, "expected a name of [A-Za-z0-9_.-], 1 to 64 bytes");
    }
    size_t nk = sizeof driver_kinds / sizeof driver_kinds[0], k = 0;
    while (k < nk && strcmp(kind, driver_kinds[k].name) != 0) k++;
    if (k == nk) {
        mjson_push_key(c, "kind");
        return mjson_fail(c, "expected \"sine\", \"random_walk\", \"step\", \"noise\", \"csv\" or \"log_actuator\"");
    }
    d->kind = (config_driver_kind)k;
    d->actuator = driver_kinds[k].actuator;
    d->interval_ms = 1000;
    d->seed = 1;
    d->period_s = 60;
    d->step = 1;
    d->high = 1;
    d->max = 1e300;
    d->min = -1e300;
    snprintf(d->topic, sizeof d->topic, "sensors/%s", d->name);
    if (!driver_params(c, v, d, &driver_kinds[k], base) ||
        !mjson_opt_string(c, v, "topic", d->topic, sizeof d->topic) ||
        !u32(c, v, "interval_ms", 1, 86400000, &d->interval_ms) ||
        !mjson_opt_uint(c, v, "seed", UINT64_MAX >> 1, &d->seed) ||
        !mjson_opt_string(c, v, "unit", unit, sizeof unit))
        return false;
    topic_result tr = topic_name_check(d->topic, strlen(d->topic));
    if (tr != TOPIC_OK) {
        mjson_push_key(c, "topic");
        return mjson_fail(c, "expected a topic name: %s", topic_strerror(tr));
    }
    if (unit[0]) {
        size_t u = name_index(unit, unit_names, sizeof unit_names / sizeof unit_names[0]);
        if (u == sizeof unit_names / sizeof unit_names[0]) {
            mjson_push_key(c, "unit");
            return mjson_fail(c, "expected one of none, degC, percent, Pa, V, A, lux, ppm, m/s, W");
        }
        d->unit = (uint32_t)u;
    }
    if ((d->kind == CONFIG_DRIVER_CSV || d->kind == CONFIG_DRIVER_LOG_ACTUATOR) && !d->file[0])
        return mjson_fail(c, "missing key \"file\" (expected a path)");
    return true;
}

static bool parse_module(mjson_ctx *c, json_t *v, config_module *m, const char *base)
{
    static const char *const keys[] = { "name", "wasm", "manifest", "enabled", "required", "grants", "limits",
                                        NULL };
    m->enabled = true;
    if (!mjson_object(c, v, keys) || !mjson_req_string(c, v, "name", m->name, sizeof m->name)) return false;
    if (!mjson_name_valid(m->name, true)) {
        mjson_push_key(c, "name");
        return mjson_fail(c, "expected a module name: a lowercase letter, then [a-z0-9_-], at most 64 bytes");
    }
    if (!json_object_get(v, "wasm")) return mjson_fail(c, "missing key \"wasm\" (expected a path)");
    if (!opt_path(c, v, "wasm", base, m->wasm) || !opt_path(c, v, "manifest", base, m->manifest) ||
        !mjson_opt_bool(c, v, "enabled", &m->enabled) || !mjson_opt_bool(c, v, "required", &m->required))
        return false;
    if (!m->manifest[0]) {
        size_t n = strlen(m->wasm);
        size_t stem = n > 5 && strcmp(m->wasm + n - 5, ".wasm") == 0 ? n - 5 : n;
        if (stem + 6 > sizeof m->manifest) return mjson_fail(c, "expected a shorter wasm path");
        memcpy(m->manifest, m->wasm, stem);
        memcpy(m->manifest + stem, ".json", 6);
    }
    SECTION(c, v, "grants", mjson_caps(c, sec_, &m->grants));
    SECTION(c, v, "limits", mjson_limits(c, sec_, &m->limits));
    return true;
}

/* The drivers or modules array: each element parsed by one, names unique. */
static bool parse_array(mjson_ctx *c, json_t *arr, config *cfg, bool modules, const char *base)
{
    if (!json_is_array(arr)) return mjson_fail(c, "expected an array");
    size_t n = json_array_size(arr);
    if (n == 0) return true;
    void *items = calloc(n, modules ? sizeof(config_module) : sizeof(config_driver));
    if (!items) return mjson_fail(c, "out of memory");
    if (modules) { cfg->modules = items; } else { cfg->drivers = items; }
    for (size_t i = 0; i < n; i++) {
        size_t old = mjson_push_index(c, i);
        json_t *v = json_array_get(arr, i);
        const char *name;
        if (modules) {
            cfg->nmodules = i + 1;
            if (!parse_module(c, v, &cfg->modules[i], base)) return false;
            name = cfg->modules[i].name;
        } else {
            cfg->ndrivers = i + 1;
            if (!parse_driver(c, v, &cfg->drivers[i], base)) return false;
            name = cfg->drivers[i].name;
        }
        for (size_t j = 0; j < i; j++) {
            const char *other = modules ? cfg->modules[j].name : cfg->drivers[j].name;
            if (strcmp(name, other) == 0) {
                mjson_push_key(c, "name");
                return mjson_fail(c, "duplicate name \"%s\" (also at index %zu)", name, j);
            }
        }
        mjson_pop(c, old);
    }
    return true;
}

static void set_defaults(config *cfg)
{
    config_agent *a = &cfg->agent;
    snprintf(a->name, sizeof a->name, "graftd");
    a->log_level = CONFIG_LOG_INFO;
    a->inbox_messages = 256;
    a->commit_window_ms = 50;
    a->backoff_initial_ms = 100;
    a->backoff_max_ms = 30000;
    a->crash_loop_traps = 5;
    a->crash_loop_window_s = 60;
    a->publish_rate_per_s = 1000;
    a->publish_burst = 100;
    a->health_period_ms = 10000;
    a->inbox_bytes = 1u << 20;
    a->log_rate_per_s = 100;
    a->log_burst = 200;
    a->event_wall_factor = 5;
    config_broker *b = &cfg->broker;
    snprintf(b->host, sizeof b->host, "127.0.0.1");
    b->port = 1883;
    b->protocol = 4;
    b->keepalive_s = 30;
    b->reconnect_min_ms = 500;
    b->reconnect_max_ms = 30000;
    b->buffer_messages = 1000;
    cfg->http.enabled = true;
    snprintf(cfg->http.listen, sizeof cfg->http.listen, "127.0.0.1");
    cfg->http.port = 9100;
    cfg->budget_memory_bytes = 256u << 20;
}

static bool parse_root(mjson_ctx *c, json_t *root, config *cfg, const char *base)
{
    static const char *const keys[] = { "config_version", "agent", "broker", "http", "state_dir", "budget",
                                        "drivers", "modules", NULL };
    if (!mjson_object(c, root, keys)) return false;
    json_t *ver = json_object_get(root, "config_version");
    if (!ver) return mjson_fail(c, "missing key \"config_version\" (expected 1)");
    if (!json_is_integer(ver) || json_integer_value(ver) != CONFIG_VERSION) {
        mjson_push_key(c, "config_version");
        return mjson_fail(c, "expected 1 (the only config version this agent reads)");
    }
    SECTION(c, root, "agent", parse_agent(c, sec_, &cfg->agent));
    SECTION(c, root, "broker", parse_broker(c, sec_, &cfg->broker, base));
    if (!cfg->broker.client_id[0])
        snprintf(cfg->broker.client_id, sizeof cfg->broker.client_id, "graftd-%s", cfg->agent.name);
    if (!cfg->broker.export_.count && !json_object_get(json_object_get(root, "broker"), "export") &&
        !iot_strlist_add(&cfg->broker.export_, "#"))
        return mjson_fail(c, "out of memory");
    SECTION(c, root, "http", parse_http(c, sec_, &cfg->http));
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%s/state", base);
    if (!opt_path(c, root, "state_dir", base, cfg->state_dir)) return false;
    SECTION(c, root, "budget", parse_budget(c, sec_, cfg));
    SECTION(c, root, "drivers", parse_array(c, sec_, cfg, false, base));
    SECTION(c, root, "modules", parse_array(c, sec_, cfg, true, base));
    return true;
}

bool config_parse_string(const char *json, size_t len, const char *origin, const char *base_dir,
                         config *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    mjson_ctx c = { .origin = origin ? origin : "<string>", .err = err, .err_cap = err_cap };
    snprintf(out->path, sizeof out->path, "%s", c.origin);
    set_defaults(out);
    json_t *root = mjson_load(&c, json, len);
    if (!root) return false;
    bool ok = parse_root(&c, root, out, base_dir ? base_dir : ".");
    json_decref(root);
    if (!ok) config_free(out);
    return ok;
}

bool config_load(const char *path, config *out, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        /* fopen opens a directory on Linux; reading it would then fail
         * with EISDIR and look like an empty, malformed file */
        int e = !f || !S_ISDIR(st.st_mode) ? errno : EISDIR;
        if (f) fclose(f);
        memset(out, 0, sizeof *out);
        snprintf(err, err_cap, "%s: cannot open the config file: %s", path, strerror(e));
        return false;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *grown = realloc(text, cap);
            if (!grown) { free(text); fclose(f); snprintf(err, err_cap, "%s: out of memory", path); return false; }
            text = grown;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    if (ferror(f)) {
        int e = errno;
        free(text);
        fclose(f);
        memset(out, 0, sizeof *out);
        snprintf(err, err_cap, "%s: cannot read the config file: %s", path, strerror(e));
        return false;
    }
    fclose(f);
    char base[CONFIG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    else snprintf(base, sizeof base, ".");
    if (!base[0]) snprintf(base, sizeof base, "/");
    bool ok = config_parse_string(text ? text : "", len, path, base, out, err, err_cap);
    free(text);
    return ok;
}

static void strlist_free(iot_strlist *l)
{
    for (size_t i = 0; i < l->count; i++) free(l->items[i]);
    free(l->items);
    *l = (iot_strlist){ 0 };
}

void config_free(config *c)
{
    for (size_t i = 0; i < c->nmodules; i++) iot_caps_free(&c->modules[i].grants);
    free(c->modules);
    free(c->drivers);
    strlist_free(&c->broker.import);
    strlist_free(&c->broker.export_);
    c->modules = NULL;
    c->drivers = NULL;
    c->nmodules = c->ndrivers = 0;
}

bool config_module_resolve(const config_module *mod, manifest *out_manifest, iot_caps *out_caps,
                           iot_limits *out_limits, char *err, size_t err_cap)
{
    memset(out_caps, 0, sizeof *out_caps);
    if (!manifest_parse_file(mod->manifest, out_manifest, err, err_cap)) return false;
    if (!manifest_caps_intersect(&out_manifest->caps, &mod->grants, out_caps)) {
        snprintf(err, err_cap, "%s: out of memory", mod->manifest);
        manifest_free(out_manifest);
        return false;
    }
    manifest_limits_cap(&out_manifest->limits, &mod->limits, out_limits);
    return true;
}
