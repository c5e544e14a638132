/* manifest.c - module manifests: parsing with jansson, semantic versions,
 * and the meeting of requested and granted capabilities (manifest.h,
 * docs/manifest.md).
 *
 * Parsing checks every value against the schema as it copies it into the
 * caller's `manifest`; the first problem stops it with a message that gives
 * the JSON path. The mjson_ctx carries that path; each nested check pushes
 * its key or index and pops it on the way out. Nothing here is global. */
#include "manifest.h"
#include "topic.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON checking helpers ------------------------------------------- */

static void set_err(mjson_ctx *c, const char *fmt, va_list ap)
{
    if (!c->err || c->err_cap == 0) return;
    int n = snprintf(c->err, c->err_cap, "%s: %s%s", c->origin,
                     c->path_len ? c->path : "(top level)", ": ");
    if (n >= 0 && (size_t)n < c->err_cap) vsnprintf(c->err + n, c->err_cap - (size_t)n, fmt, ap);
}

bool mjson_fail(mjson_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_err(c, fmt, ap);
    va_end(ap);
    return false;
}

static json_t *loaded(mjson_ctx *c, json_t *root, const json_error_t *e)
{
    if (root) return root;
    if (c->err && c->err_cap)
        snprintf(c->err, c->err_cap, "%s:%d:%d: %s", c->origin, e->line, e->column, e->text);
    return NULL;
}

json_t *mjson_load(mjson_ctx *c, const char *text, size_t len)
{
    json_error_t e;
    return loaded(c, json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), &e);
}

json_t *mjson_load_file(mjson_ctx *c, const char *path)
{
    json_error_t e;
    return loaded(c, json_load_file(path, JSON_REJECT_DUPLICATES, &e), &e);
}

size_t mjson_push_key(mjson_ctx *c, const char *key)
{
    size_t old = c->path_len;
    int n = snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", key);
    if (n > 0) c->path_len = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
    return old;
}

size_t mjson_push_index(mjson_ctx *c, size_t i)
{
    size_t old = c->path_len;
    int n = snprintf(c->path + old, sizeof c->path - old, "[%zu]", i);
    if (n > 0) c->path_len = old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
    return old;
}

void mjson_pop(mjson_ctx *c, size_t old_len)
{
    c->path_len = old_len;
    c->path[old_len] = '\0';
}

bool mjson_object(mjson_ctx *c, json_t *v, const char *const *allowed)
{
    if (!json_is_object(v)) return mjson_fail(c, "expected an object");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++) known = known || strcmp(key, allowed[i]) == 0;
        if (!known) {
            size_t old = mjson_push_key(c, key);
            char list[256] = "";
            for (size_t i = 0; allowed[i]; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", allowed[i]);
            }
            mjson_fail(c, "unknown key (expected one of: %s)", list);
            mjson_pop(c, old);
            return false;
        }
    }
    return true;
}

bool mjson_opt_string(mjson_ctx *c, json_t *obj, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return true;
    size_t old = mjson_push_key(c, key);
    bool ok = false;
    if (!json_is_string(v)) mjson_fail(c, "expected a string");
    else if (json_string_length(v) >= cap) mjson_fail(c, "expected a string of at most %zu bytes", cap - 1);
    else if (strlen(json_string_value(v)) != json_string_length(v)) mjson_fail(c, "expected a string without NUL");
    else { memcpy(out, json_string_value(v), json_string_length(v) + 1); ok = true; }
    mjson_pop(c, old);
    return ok;
}

bool mjson_req_string(mjson_ctx *c, json_t *obj, const char *key, char *out, size_t cap)
{
    if (!json_object_get(obj, key)) return mjson_fail(c, "missing key \"%s\" (expected a string)", key);
    return mjson_opt_string(c, obj, key, out, cap);
}

bool mjson_opt_uint(mjson_ctx *c, json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return true;
    size_t old = mjson_push_key(c, key);
    bool ok = false;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        mjson_fail(c, "expected an integer from 0 to %llu", (unsigned long long)max);
    else { *out = (uint64_t)json_integer_value(v); ok = true; }
    mjson_pop(c, old);
    return ok;
}

bool mjson_opt_bool(mjson_ctx *c, json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return true;
    if (!json_is_boolean(v)) {
        size_t old = mjson_push_key(c, key);
        mjson_fail(c, "expected true or false");
        mjson_pop(c, old);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

bool mjson_name_valid(const char *s, bool module_name)
{
    size_t n = strlen(s);
    if (n == 0 || n > IOT_NAME_MAX) return false;
    if (module_name && !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = module_name ? ((ch >= 'a' && ch <= 'z') || isdigit(ch) || ch == '_' || ch == '-')
                              : (isalnum(ch) || ch == '_' || ch == '-' || ch == '.');
        if (!ok) return false;
    }
    return true;
}

enum list_kind { LIST_NAMES, LIST_FILTERS };

bool mjson_string_list(mjson_ctx *c, json_t *obj, const char *key, bool filters, iot_strlist *l)
{
    enum list_kind kind = filters ? LIST_FILTERS : LIST_NAMES;
    json_t *arr = json_object_get(obj, key);
    if (!arr) return true;
    size_t old = mjson_push_key(c, key);
    const char *what = kind == LIST_NAMES ? "a name ([A-Za-z0-9_.-], 1 to 64 bytes)" : "a string topic filter";
    if (!json_is_array(arr)) {
        mjson_fail(c, "expected an array of %s", kind == LIST_NAMES ? "names" : "topic filters");
        mjson_pop(c, old);
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        size_t o2 = mjson_push_index(c, i);
        const char *why = NULL;
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        bool ok = s && strlen(s) == json_string_length(v);
        if (ok && kind == LIST_NAMES) ok = mjson_name_valid(s, false);
        if (ok && kind == LIST_FILTERS) {
            topic_result tr = topic_filter_check(s, strlen(s));
            ok = tr == TOPIC_OK;
            if (!ok) why = topic_strerror(tr);
        }
        if (!ok) {
            if (why) mjson_fail(c, "expected %s: \"%s\" is invalid: %s", what, s, why);
            else mjson_fail(c, "expected %s", what);
        } else if (iot_strlist_has(l, s, strlen(s))) {
            ok = mjson_fail(c, "duplicate entry \"%s\"", s);
        } else if (!iot_strlist_add(l, s)) {
            ok = mjson_fail(c, "out of memory");
        }
        mjson_pop(c, o2);
        if (!ok) { mjson_pop(c, old); return false; }
    }
    mjson_pop(c, old);
    return true;
}

static bool caps_kv_timers(mjson_ctx *c, json_t *v, iot_caps *out)
{
    static const char *const kv_keys[] = { "quota_bytes", NULL };
    static const char *const timer_keys[] = { "count", "min_period_ms", NULL };
    json_t *kv = json_object_get(v, "kv");
    if (kv) {
        size_t old = mjson_push_key(c, "kv");
        bool ok = mjson_object(c, kv, kv_keys) &&
                  (json_object_get(kv, "quota_bytes") ? true : mjson_fail(c, "missing key \"quota_bytes\"")) &&
                  mjson_opt_uint(c, kv, "quota_bytes", (uint64_t)1 << 40, &out->kv_quota_bytes);
        mjson_pop(c, old);
        if (!ok) return false;
    }
    json_t *t = json_object_get(v, "timers");
    if (t) {
        size_t old = mjson_push_key(c, "timers");
        uint64_t count = 0, minp = IOT_TIMER_MIN_MS;
        bool ok = mjson_object(c, t, timer_keys) &&
                  (json_object_get(t, "count") ? true : mjson_fail(c, "missing key \"count\"")) &&
                  mjson_opt_uint(c, t, "count", 1024, &count) &&
                  mjson_opt_uint(c, t, "min_period_ms", 86400000, &minp);
        if (ok && minp < IOT_TIMER_MIN_MS) {
            size_t o2 = mjson_push_key(c, "min_period_ms");
            ok = mjson_fail(c, "expected at least %u (the host API's minimum period)", IOT_TIMER_MIN_MS);
            mjson_pop(c, o2);
        }
        mjson_pop(c, old);
        if (!ok) return false;
        out->timers = (uint32_t)count;
        out->timer_min_period_ms = (uint32_t)minp;
    }
    return true;
}

bool mjson_caps(mjson_ctx *c, json_t *v, iot_caps *out)
{
    static const char *const keys[] = { "sensors", "actuators", "publish", "subscribe", "kv", "timers", NULL };
    return mjson_object(c, v, keys) &&
           mjson_string_list(c, v, "sensors", false, &out->sensors) &&
           mjson_string_list(c, v, "actuators", false, &out->actuators) &&
           mjson_string_list(c, v, "publish", true, &out->publish) &&
           mjson_string_list(c, v, "subscribe", true, &out->subscribe) &&
           caps_kv_timers(c, v, out);
}

bool mjson_limits(mjson_ctx *c, json_t *v, iot_limits *out)
{
    static const char *const keys[] = { "memory_bytes", "fuel_per_event", "wall_ms_per_event",
                                        "max_message_bytes", NULL };
    uint64_t wall = out->wall_ms_per_event, msg = out->max_message_bytes;
    bool ok = mjson_object(c, v, keys) &&
              mjson_opt_uint(c, v, "memory_bytes", (uint64_t)4 << 30, &out->memory_bytes) &&
              mjson_opt_uint(c, v, "fuel_per_event", UINT64_MAX >> 12, &out->fuel_per_event) &&
              mjson_opt_uint(c, v, "wall_ms_per_event", 3600000, &wall) &&
              mjson_opt_uint(c, v, "max_message_bytes", 256u << 20, &msg);
    out->wall_ms_per_event = (uint32_t)wall;
    out->max_message_bytes = (uint32_t)msg;
    return ok;
}

/* ---- the manifest ------------------------------------------------------ */

static bool parse_root(mjson_ctx *c, json_t *root, manifest *m)
{
    static const char *const keys[] = { "manifest_version", "name", "version", "host_api", "description",
                                        "wasm_sha256", "capabilities", "limits", NULL };
    if (!mjson_object(c, root, keys)) return false;
    json_t *mv = json_object_get(root, "manifest_version");
    if (!mv) return mjson_fail(c, "missing key \"manifest_version\" (expected 1)");
    if (!json_is_integer(mv) || json_integer_value(mv) != MANIFEST_VERSION) {
        mjson_push_key(c, "manifest_version");
        return mjson_fail(c, "expected 1 (the only manifest version this agent reads)");
    }
    m->manifest_version = MANIFEST_VERSION;
    if (!mjson_req_string(c, root, "name", m->name, sizeof m->name)) return false;
    if (!mjson_name_valid(m->name, true)) {
        mjson_push_key(c, "name");
        return mjson_fail(c, "expected a module name: a lowercase letter, then [a-z0-9_-], at most 64 bytes");
    }
    if (!mjson_req_string(c, root, "version", m->version, sizeof m->version)) return false;
    const char *why;
    if (!semver_parse(m->version, &m->semver, &why)) {
        mjson_push_key(c, "version");
        return mjson_fail(c, "\"%s\" is not a semantic version: %s", m->version, why);
    }
    if (!mjson_req_string(c, root, "host_api", m->host_api, sizeof m->host_api)) return false;
    if (strcmp(m->host_api, MANIFEST_HOST_API) != 0) {
        mjson_push_key(c, "host_api");
        return mjson_fail(c, "expected \"iot_v1\" (the host API this agent offers), not \"%s\"", m->host_api);
    }
    if (!mjson_opt_string(c, root, "description", m->description, sizeof m->description)) return false;
    if (!mjson_opt_string(c, root, "wasm_sha256", m->wasm_sha256, sizeof m->wasm_sha256)) return false;
    if (m->wasm_sha256[0] && (strlen(m->wasm_sha256) != 64 ||
                              strspn(m->wasm_sha256, "0123456789abcdef") != 64)) {
        mjson_push_key(c, "wasm_sha256");
        return mjson_fail(c, "expected 64 lowercase hex digits");
    }
    json_t *caps = json_object_get(root, "capabilities");
    if (caps) {
        size_t old = mjson_push_key(c, "capabilities");
        if (!mjson_caps(c, caps, &m->caps)) return false;
        mjson_pop(c, old);
    }
    json_t *lim = json_object_get(root, "limits");
    if (lim) {
        size_t old = mjson_push_key(c, "limits");
        if (!mjson_limits(c, lim, &m->limits)) return false;
        mjson_pop(c, old);
    }
    return true;
}

static bool parse_doc(mjson_ctx *c, json_t *root, manifest *out)
{
    memset(out, 0, sizeof *out);
    if (!root) return false;
    bool ok = parse_root(c, root, out);
    json_decref(root);
    if (!ok) manifest_free(out);
    return ok;
}

bool manifest_parse_string(const char *json, size_t len, const char *origin, manifest *out,
                           char *err, size_t err_cap)
{
    mjson_ctx c = { .origin = origin ? origin : "<string>", .err = err, .err_cap = err_cap };
    return parse_doc(&c, mjson_load(&c, json, len), out);
}

bool manifest_parse_file(const char *path, manifest *out, char *err, size_t err_cap)
{
    mjson_ctx c = { .origin = path, .err = err, .err_cap = err_cap };
    return parse_doc(&c, mjson_load_file(&c, path), out);
}

void manifest_free(manifest *m)
{
    iot_caps_free(&m->caps);
}

/* ---- meeting the grants ----------------------------------------------- */

static bool names_both(const iot_strlist *req, const iot_strlist *grant, iot_strlist *out)
{
    for (size_t i = 0; i < req->count; i++)
        if (iot_strlist_has(grant, req->items[i], strlen(req->items[i])) && !iot_strlist_add(out, req->items[i]))
            return false;
    return true;
}

/* Publish and subscribe filters: each requested filter that some granted
 * filter covers, then each granted filter that some requested filter
 * covers and no kept filter does yet (a grant narrower than the request:
 * avg/temp1 of avg/+). Every kept filter is covered by both sides, so the
 * module gets no topic either one refuses; two filters that only partly
 * overlap (a/+/c and a/b/#) give nothing. */
static bool filters_intersect(const iot_strlist *req, const iot_strlist *grant, iot_strlist *out)
{
    for (size_t i = 0; i < req->count; i++)
        if (iot_filters_match(grant, req->items[i], strlen(req->items[i])) && !iot_strlist_add(out, req->items[i]))
            return false;
    for (size_t i = 0; i < grant->count; i++) {
        const char *g = grant->items[i];
        size_t n = strlen(g);
        if (iot_filters_match(req, g, n) && !iot_filters_match(out, g, n) && !iot_strlist_add(out, g))
            return false;
    }
    return true;
}

bool manifest_caps_intersect(const iot_caps *req, const iot_caps *grant, iot_caps *out)
{
    memset(out, 0, sizeof *out);
    if (!names_both(&req->sensors, &grant->sensors, &out->sensors) ||
        !names_both(&req->actuators, &grant->actuators, &out->actuators) ||
        !filters_intersect(&req->publish, &grant->publish, &out->publish) ||
        !filters_intersect(&req->subscribe, &grant->subscribe, &out->subscribe)) {
        iot_caps_free(out);
        return false;
    }
    out->kv_quota_bytes = req->kv_quota_bytes < grant->kv_quota_bytes ? req->kv_quota_bytes : grant->kv_quota_bytes;
    out->timers = req->timers < grant->timers ? req->timers : grant->timers;
    uint32_t p = req->timer_min_period_ms > grant->timer_min_period_ms ? req->timer_min_period_ms
                                                                       : grant->timer_min_period_ms;
    out->timer_min_period_ms = out->timers ? (p < IOT_TIMER_MIN_MS ? IOT_TIMER_MIN_MS : p) : 0;
    return true;
}

/* ["a", "b"] or none, cut to fit. */
static void list_text(char *out, size_t cap, const iot_strlist *l)
{
    if (!l->count) { snprintf(out, cap, "none"); return; }
    size_t n = 0;
    for (size_t i = 0; i < l->count && n < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s'%s'%s", i ? ", " : "[", l->items[i], i + 1 == l->count ? "]" : "");
        if (w < 0) break;
        n += (size_t)w;
    }
}

void manifest_caps_explain(const iot_caps *req, const iot_caps *grant, const char *cap_name, char *out,
                           size_t cap)
{
    const iot_strlist *r = NULL, *g = NULL;
    const char *none_in_both = "no name is in both";
    if (strcmp(cap_name, "sensors") == 0) r = &req->sensors, g = &grant->sensors;
    else if (strcmp(cap_name, "actuators") == 0) r = &req->actuators, g = &grant->actuators;
    else if (strcmp(cap_name, "publish") == 0 || strcmp(cap_name, "subscribe") == 0) {
        bool pub = cap_name[0] == 'p';
        r = pub ? &req->publish : &req->subscribe;
        g = pub ? &grant->publish : &grant->subscribe;
        none_in_both = "neither side's filters cover any of the other's";
    }
    if (r) {
        char rt[240], gt[240];
        list_text(rt, sizeof rt, r);
        list_text(gt, sizeof gt, g);
        snprintf(out, cap, "the manifest asks for %s %s, the config grants %s%s%s", cap_name, rt, gt,
                 r->count && g->count ? ": " : "", r->count && g->count ? none_in_both : "");
    } else if (strcmp(cap_name, "kv") == 0) {
        snprintf(out, cap, "the manifest asks for a kv quota of %llu bytes, the config grants %llu",
                 (unsigned long long)req->kv_quota_bytes, (unsigned long long)grant->kv_quota_bytes);
    } else if (strcmp(cap_name, "timers") == 0) {
        snprintf(out, cap, "the manifest asks for %u timers, the config grants %u", req->timers, grant->timers);
    } else if (cap) {
        out[0] = '\0';
    }
}

static uint64_t capped(uint64_t author, uint64_t config, uint64_t dflt)
{
    uint64_t v = author ? author : dflt;
    return config && config < v ? config : v;
}

void manifest_limits_cap(const iot_limits *author, const iot_limits *config, iot_limits *out)
{
    out->memory_bytes = capped(author->memory_bytes, config->memory_bytes, IOT_DEFAULT_MEMORY_BYTES);
    out->fuel_per_event = capped(author->fuel_per_event, config->fuel_per_event, IOT_DEFAULT_FUEL_PER_EVENT);
    out->wall_ms_per_event =
        (uint32_t)capped(author->wall_ms_per_event, config->wall_ms_per_event, IOT_DEFAULT_WALL_MS);
    out->max_message_bytes =
        (uint32_t)capped(author->max_message_bytes, config->max_message_bytes, IOT_DEFAULT_MAX_MESSAGE);
}
