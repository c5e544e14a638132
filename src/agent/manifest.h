/* manifest.h - a module's manifest (docs/manifest.md): who the module is,
 * what it asks for, and how that meets what the device grants.
 *
 * manifest_parse_* read the JSON with jansson into a caller-owned
 * `manifest` (free with manifest_free). Errors go into the caller's buffer
 * as "FILE:LINE:COLUMN: what was expected" for syntax errors and
 * "FILE: JSON.PATH: what was expected" for schema errors; unknown keys are
 * errors so that a typo never silently drops a capability.
 *
 * manifest_caps_intersect and manifest_limits_cap compute what a module
 * actually receives: requested ∩ granted, and min(author, config).
 *
 * The mjson_* helpers check JSON values with a path for error messages;
 * config.c uses them too. */
#ifndef GRAFT_AGENT_MANIFEST_H
#define GRAFT_AGENT_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iot_caps.h"
#include "semver.h"

#define MANIFEST_VERSION 1
#define MANIFEST_HOST_API "iot_v1"


typedef struct manifest {
    uint32_t manifest_version;     /* always MANIFEST_VERSION today */
    char name[IOT_NAME_MAX + 1];   /* [a-z][a-z0-9_-]* */
    char version[96];              /* as written, e.g. "1.2.0-rc.1" */
    semver semver;                 /* version, parsed (semver.h) */
    char host_api[16];             /* "iot_v1" */
    char description[256];         /* optional free text, or "" */
    char wasm_sha256[65];          /* optional lowercase hex digest of the wasm, or "" */
    iot_caps caps;                 /* requested capabilities (owned) */
    iot_limits limits;             /* requested limits; 0 = not given */
} manifest;

bool manifest_parse_file(const char *path, manifest *out, char *err, size_t err_cap);
/* origin names the text in error messages (a file name, "<string>"). */
bool manifest_parse_string(const char *json, size_t len, const char *origin, manifest *out,
                           char *err, size_t err_cap);
void manifest_free(manifest *m);


/* Effective capabilities: names present in both lists; a requested filter
 * kept when some granted filter covers it; kv quota and timer count the
 * smaller; timer minimum period the larger (and at least IOT_TIMER_MIN_MS
 * when timers remain). out is overwritten; false when out of memory. */
bool manifest_caps_intersect(const iot_caps *requested, const iot_caps *granted, iot_caps *out);
/* Why the capability cap_name ("sensors", "actuators", "publish",
 * "subscribe", "kv", "timers") came out empty, for a refusal: both sides'
 * values, e.g. "the manifest asks for publish ['alarms/+'], the config
 * grants ['alerts/#']: neither side's filters cover any of the other's".
 * An unknown name gives "". */
void manifest_caps_explain(const iot_caps *requested, const iot_caps *granted, const char *cap_name, char *out,
                           size_t cap);
/* Effective limits: each field min(author, config) over those given, the
 * IOT_DEFAULT_* when the author gave none, and never above the config's
 * cap: config caps always win. */
void manifest_limits_cap(const iot_limits *author, const iot_limits *config, iot_limits *out);

/* ---- JSON checking, shared with config.c ------------------------------ */

/* Where we are in a document, for error messages. */
typedef struct mjson_ctx {
    const char *origin;   /* file name or "<string>" */
    char *err;            /* the caller's error buffer */
    size_t err_cap;
    char path[256];       /* JSON path of the value being checked, e.g. modules[2].grants */
    size_t path_len;
} mjson_ctx;

/* Load a document; on a syntax error fills the error with line and column. */
json_t *mjson_load(mjson_ctx *c, const char *text, size_t len);
json_t *mjson_load_file(mjson_ctx *c, const char *path);
/* Record "origin: path: expected ..." and return false. */
bool mjson_fail(mjson_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Push ".key" or "[i]" onto the path; returns the old length for mjson_pop. */
size_t mjson_push_key(mjson_ctx *c, const char *key);
size_t mjson_push_index(mjson_ctx *c, size_t i);
void mjson_pop(mjson_ctx *c, size_t old_len);
/* v must be an object whose keys are all in the NULL-terminated list. */
bool mjson_object(mjson_ctx *c, json_t *v, const char *const *allowed);
/* Optional member checks: absent leaves *out unchanged and succeeds. */
bool mjson_opt_string(mjson_ctx *c, json_t *obj, const char *key, char *out, size_t cap);
bool mjson_opt_uint(mjson_ctx *c, json_t *obj, const char *key, uint64_t max, uint64_t *out);
bool mjson_opt_bool(mjson_ctx *c, json_t *obj, const char *key, bool *out);
bool mjson_req_string(mjson_ctx *c, json_t *obj, const char *key, char *out, size_t cap);
/* An optional array member of names (filters false) or valid MQTT topic
 * filters, appended to out; duplicates are errors. */
bool mjson_string_list(mjson_ctx *c, json_t *obj, const char *key, bool filters, iot_strlist *out);
/* A capabilities object (manifest "capabilities", config "grants") and a
 * limits object (manifest and config "limits"). */
bool mjson_caps(mjson_ctx *c, json_t *v, iot_caps *out);
bool mjson_limits(mjson_ctx *c, json_t *v, iot_limits *out);
/* A name: 1..IOT_NAME_MAX of [A-Za-z0-9_.-] (lowercase first letter when module). */
bool mjson_name_valid(const char *s, bool module_name);

#endif
