/* config.h - the device config graftd runs from (docs/manifest.md, "The
 * device config"): agent settings, broker, HTTP endpoint, state directory,
 * memory budget, drivers and modules with their grants and limit caps.
 *
 * config_load parses the whole file with jansson into a caller-owned
 * `config` (free with config_free). Errors use the manifest's format:
 * "FILE:LINE:COLUMN: ..." for syntax, "FILE: JSON.PATH: expected ..." for
 * schema; unknown keys are errors. Relative paths in the file (state_dir,
 * module wasm and manifest, driver files, TLS files) are resolved against
 * the config file's directory, so the struct holds usable paths. */
#ifndef GRAFT_AGENT_CONFIG_H
#define GRAFT_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iot_caps.h"
#include "manifest.h"

#define CONFIG_VERSION 1
#define CONFIG_PATH_MAX 1024

typedef enum config_log_level { CONFIG_LOG_DEBUG, CONFIG_LOG_INFO, CONFIG_LOG_WARN, CONFIG_LOG_ERROR } config_log_level;

typedef struct config_agent {
    char name[IOT_NAME_MAX + 1];        /* the gateway's name in logs and metrics; default "graftd" */
    bool require_at_start;              /* agent_start fails when a required module cannot start; default false */
    config_log_level log_level;         /* default info */
    uint32_t inbox_messages;            /* per-module inbox bound; default 256 */
    uint32_t inbox_bytes;               /* per-module inbox bound in message bytes; default 1 MiB */
    uint32_t commit_window_ms;          /* kv group-commit window; default 50 */
    uint32_t backoff_initial_ms;        /* first restart delay after a trap; default 100 */
    uint32_t backoff_max_ms;            /* restart delay ceiling; default 30000 */
    uint32_t crash_loop_traps;          /* K traps ... default 5 */
    uint32_t crash_loop_window_s;       /* ... in T seconds quarantine; default 60 */
    uint32_t publish_rate_per_s;        /* per-module publish rate limit; default 1000 */
    uint32_t publish_burst;             /* token-bucket burst; default 100 */
    uint32_t health_period_ms;          /* period of the `health` probes; default 10000 */
    uint32_t log_rate_per_s;            /* per-module log line rate limit; default 100 */
    uint32_t log_burst;                 /* its token-bucket burst; default 200 */
    uint32_t event_wall_factor;         /* an event's wall bound: this times its CPU-time limit; default 5 */
} config_agent;

typedef struct config_broker {
    bool enabled;                       /* false: the in-process bus only (no "broker" key) */
    char host[256];                     /* default "127.0.0.1" */
    uint32_t port;                      /* default 1883, 8883 with TLS */
    uint32_t protocol;                  /* MQTT protocol: 4 (3.1.1, default) or 5 */
    char client_id[128];                /* default "graftd-<agent name>" */
    char username[128];                 /* "" = none */
    char password[256];                 /* "" = none */
    uint32_t qos;                       /* 0 (default) or 1 */
    uint32_t keepalive_s;               /* default 30 */
    uint32_t reconnect_min_ms;          /* backoff start; default 500 */
    uint32_t reconnect_max_ms;          /* backoff ceiling; default 30000 */
    uint32_t buffer_messages;           /* kept while disconnected; default 1000 */
    iot_strlist import;                 /* broker -> bus filters; default none */
    iot_strlist export_;                /* bus -> broker filters; default "#" */
    bool tls;                           /* a "tls" object was given */
    char ca_file[CONFIG_PATH_MAX];      /* TLS: CA bundle ("" = system default) */
    char cert_file[CONFIG_PATH_MAX];    /* TLS client certificate, or "" */
    char key_file[CONFIG_PATH_MAX];     /* TLS client key, or "" */
} config_broker;

typedef struct config_http {
    bool enabled;                       /* default true */
    char listen[64];                    /* loopback address; default "127.0.0.1" */
    uint32_t port;                      /* default 9100; 0 = any free port */
} config_http;

typedef enum config_driver_kind {
    CONFIG_DRIVER_SINE, CONFIG_DRIVER_RANDOM_WALK, CONFIG_DRIVER_STEP, CONFIG_DRIVER_NOISE,
    CONFIG_DRIVER_CSV, CONFIG_DRIVER_LOG_ACTUATOR
} config_driver_kind;

typedef struct config_driver {
    char name[IOT_NAME_MAX + 1];        /* sensor or actuator name modules use */
    config_driver_kind kind;
    bool actuator;                      /* log_actuator; the others are sensors */
    char topic[256];                    /* sensors: where readings go (a topic name, no wildcards);
                                           default "sensors/<name>" */
    uint32_t interval_ms;               /* sensors: sampling period; default 1000 */
    uint32_t unit;                      /* reading unit code (docs/host-api.md); default 0 */
    uint64_t seed;                      /* simulated sources; default 1 */
    /* Kind-specific parameters; docs/manifest.md lists which kind takes which. */
    double amplitude, offset, period_s; /* sine (period_s also step) */
    double start, step, min, max;       /* random_walk */
    double low, high;                   /* step */
    double mean, stddev;                /* noise; stddev also sine and random_walk extra noise */
    char file[CONFIG_PATH_MAX];         /* csv: input; log_actuator: output */
    bool loop;                          /* csv: start over at the end */
} config_driver;

typedef struct config_module {
    char name[IOT_NAME_MAX + 1];        /* instance name: kv namespace, metrics label */
    char wasm[CONFIG_PATH_MAX];         /* module binary */
    char manifest[CONFIG_PATH_MAX];     /* default: wasm with ".wasm" replaced by ".json" */
    bool enabled;                       /* default true */
    bool required;                      /* /healthz is 503 while it is not running; default false */
    iot_caps grants;                    /* what the device allows (owned) */
    iot_limits limits;                  /* caps on the author's limits; 0 = no cap */
} config_module;

typedef struct config {
    char path[CONFIG_PATH_MAX];         /* the file this came from */
    config_agent agent;
    config_broker broker;
    config_http http;
    char state_dir[CONFIG_PATH_MAX];    /* kv databases and quarantine notes; default "state" */
    uint64_t budget_memory_bytes;       /* across all modules; default 256 MiB */
    config_driver *drivers;             /* ndrivers, owned */
    size_t ndrivers;
    config_module *modules;             /* nmodules, owned */
    size_t nmodules;
} config;

bool config_load(const char *path, config *out, char *err, size_t err_cap);
/* The same from text; relative paths resolve against base_dir ("." if NULL). */
bool config_parse_string(const char *json, size_t len, const char *origin, const char *base_dir,
                         config *out, char *err, size_t err_cap);
void config_free(config *c);

/* Load a module entry's manifest and compute what the module receives:
 * caps = requested ∩ granted, limits = capped. out_manifest is owned by the
 * caller (manifest_free) and so is out_caps (iot_caps_free). */
bool config_module_resolve(const config_module *mod, manifest *out_manifest, iot_caps *out_caps,
                           iot_limits *out_limits, char *err, size_t err_cap);

#endif
