/* agent_internal.h - what the files of the daemon core share: the agent,
 * its module instances (agent_mod), the worker, the services table, the
 * restricted WASI subset, the supervisor's bookkeeping.
 *
 * Data structures:
 *   agent      one per process: the running config, bus, drivers (the
 *              registry and what each was built from), kv store, the
 *              list of running modules (mods, under mods_mu), the watchdog
 *              thread, the observer (summary, --dump-topic, --inject), the
 *              MQTT bridge and the /metrics server. The config, the driver
 *              records, the bridge and the server change only on the main
 *              thread (start, reload, stop).
 *   agent_mod  one module instance slot: the resolved manifest, caps and
 *              limits, its own graft_env and loaded module, its bus
 *              subscriber, kv namespace, worker thread, timers, counters
 *              and supervision state. The graft_store inside it is created,
 *              used and freed by the worker thread only; the watchdog reads
 *              it under call_mu while an event is armed.
 *
 * Ownership: the agent owns every agent_mod; an agent_mod owns its env,
 * module, store, manifest, caps, kv namespace and subscriber.
 *
 * Threads: main thread (start, reload, stop), one worker per module, the
 * watchdog, the observer and injector, the drivers' publisher and the kv
 * flusher. Counters are atomics so any thread may read them. */
#ifndef GRAFT_AGENT_INTERNAL_H
#define GRAFT_AGENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent.h"
#include "agent_log.h"
#include "bus.h"
#include "config.h"
#include "drivers.h"
#include "graft.h"
#include "iot_v1.h"
#include "kv.h"
#include "manifest.h"
#include "metrics.h"
#include "mqtt.h"
#include "supervisor.h"

#define AGENT_MAX_TIMERS 32u
#define AGENT_WATCHDOG_TICK_MS 5u      /* deadline resolution */
#define AGENT_LOG_NOTICE_MS 1000u      /* at most one "lines suppressed" notice per module per second */

typedef struct agent_timer {
    bool active;
    bool periodic;
    int32_t id;
    uint32_t period_ms;
    int64_t due_ns;                    /* monotonic */
} agent_timer;

typedef struct agent_mod agent_mod;

/* A token bucket (services.c): refilled at a rate per second up to a
 * burst; publish and each kind of log line have one per module. Worker
 * thread only. */
typedef struct agent_bucket {
    double tokens;                     /* what may be taken now */
    int64_t at_ns;                     /* monotonic time of the last refill; 0: never used (full) */
} agent_bucket;

/* A configured, enabled module that is not running: it was refused (its
 * checks, the memory budget) or failed to load or start. /healthz and
 * graft_module_state show it. */
typedef struct agent_failed {
    char name[IOT_NAME_MAX + 1];
    const char *state;                 /* "refused" or "failed" (static text) */
    char reason[512];                  /* what the error log said */
    bool required;                     /* the config marks it required */
} agent_failed;

/* A driver as it runs: what reload compares a new config's driver with. */
typedef struct agent_driver {
    config_driver cfg;                 /* the parameters it was built from (topic: its current one) */
    char stamp[64];                    /* csv: the input file's mtime and size when loaded; else "" */
} agent_driver;

struct agent_mod {
    agent *ag;
    agent_mod *next;                   /* in ag->mods */
    char name[IOT_NAME_MAX + 1];
    char fingerprint[2048];            /* what reload compares (wasm, manifest, grants, limits) */
    manifest man;
    iot_caps caps;                     /* effective capabilities (owned) */
    iot_limits limits;                 /* effective limits */
    config_agent acfg;                 /* the agent settings it started under (rate, backoff);
                                          a copy, so a reload never races the worker */
    _Atomic bool required;             /* the config marks it required (/healthz); reload updates it */
    char state_dir[CONFIG_PATH_MAX];
    graft_env *env;                    /* one env per module: its own budget */
    graft_module *module;
    bool has_initialize, has_on_message, has_on_timer, has_health;

    /* The instance: worker thread only (and the watchdog under call_mu). */
    graft_store *store;
    graft_instance *inst;
    iot_services services;
    iot_module_ctx ctx;
    iot_counters iotc;

    bus_sub *sub;
    kvs_ns *ns;
    pthread_t thread;
    bool thread_started;

    /* Per-event deadlines: armed by the worker, fired by the watchdog. */
    pthread_mutex_t call_mu;
    int64_t deadline_ns;               /* monotonic wall bound; 0: no event running */
    int64_t cpu_deadline_ns;           /* on cpu_clock: the CPU-time limit */
    clockid_t cpu_clock;               /* CPU clock of the thread running the event */
    int64_t armed_ns, armed_cpu_ns;    /* when the event began, on both clocks */
    int64_t ran_ns, ran_cpu_ns;        /* worker: how long the last call ran, wall and CPU */
    bool deadline_fired;
    bool cpu_fired;                    /* it was the CPU-time limit that fired */
    bool overran;                      /* worker: the last call ended past its deadline */
    bool deadline_hit;                 /* worker: the watchdog fired during the last call */
    const char *refusal;               /* worker: why the last call was refused unmade, or NULL */

    /* Worker-thread state. */
    bool started;                      /* _initialize and on_start have run on this instance */
    agent_timer timers[AGENT_MAX_TIMERS];
    agent_bucket publish_bucket;       /* agent.publish_rate_per_s, publish_burst */
    agent_bucket log_bucket;           /* the module's own lines (log, fd_write): agent.log_rate_per_s, log_burst */
    agent_bucket host_log_bucket;      /* the host's lines about it (IOT_LOG_HOST), same rate */
    uint64_t log_pending;              /* lines suppressed since the last notice */
    int64_t log_notice_ns;             /* when that notice was written */
    int64_t next_health_ns;
    sup_state sup;

    /* Backoff sleep and stop requests. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;

    /* Counters, read by any thread. */
    _Atomic int state;                 /* agent_mod_state */
    _Atomic uint64_t msgs_in, events, rejected, traps, restarts, rate_limited, alloc_failed,
        fuel_used, health_failed, timer_events, latency_ns_total, log_suppressed;
    char last_error[512];              /* under mu */

    /* Prometheus series (metrics.h): written by the worker only. */
    metrics_module *mm;
    metrics_gauge *quarantined;        /* graft_module_quarantined{module} */
    metrics_counter *health_failures;  /* graft_module_health_failures_total{module} */
    metrics_counter *log_suppressed_total; /* graft_module_log_suppressed_total{module} */
    uint64_t refusals_synced, out_synced, faults_synced, invalid_synced, too_big_synced;
};

struct agent {
    config cfg;                        /* the running config (owned) */
    agent_options opt;
    agent_logger *log;
    bus *bus;
    drv_registry *drivers;
    agent_driver *drvs;                /* ndrvs drivers in `drivers`, as built (main thread only) */
    size_t ndrvs;
    bool running;                      /* agent_start has finished: reloads apply every section */
    kvs *kv;
    pthread_mutex_t mods_mu;           /* the list; the watchdog scans it */
    agent_mod *mods;
    agent_mod *staged;                 /* a replacement instantiating beside the running
                                          version (reload, main thread); under mods_mu,
                                          watched for its deadline like the mods */
    pthread_t watchdog;
    metrics *met;                      /* the registry /metrics serves */
    metrics_http *http;                /* NULL when disabled or not bound */
    mqtt_bridge *mqtt;                 /* NULL without a "broker" section; changed under mqtt_mu */
    pthread_mutex_t mqtt_mu;           /* /metrics and /healthz read the bridge under it */
    agent_failed *failed;              /* nfailed modules not running (under mods_mu) */
    size_t nfailed;
    char shown_name[IOT_NAME_MAX + 1]; /* agent.name as graft_agent_info shows it (under mods_mu) */
    bool bridge_shown;                 /* the collector has shown graft_bridge_* series */
    _Atomic bool quit;
    /* The observer: one subscriber on '#' for the summary and the dump. */
    bus_sub *observer;
    pthread_t observer_thread;
    pthread_t inject_thread;
    bool observer_started, inject_started;
    _Atomic bool inject_quit;
    FILE *dump;
    iot_strlist dump_filters;          /* the --dump-topic filter */
    pthread_mutex_t seen_mu;
    struct agent_seen {
        char topic[96];
        char text[160];
        uint64_t count;
    } seen[64];
    size_t nseen;
};

/* Monotonic and wall clocks, ns. */
int64_t agent_now_ns(void);
int64_t agent_wall_ns(void);

/* services.c: fill mod->services (user = mod). */
void services_init(agent_mod *mod);
/* Writes the "N log lines suppressed" notice when lines were suppressed
 * and AGENT_LOG_NOTICE_MS has passed since the last one (or now, with
 * force: the module is ending). The module's thread. */
void services_log_notice(agent_mod *mod, bool force);
/* wasi_subset.c: define the wasi_snapshot_preview1 imports m uses into s. */
graft_result wasi_subset_define(agent_mod *mod, graft_store *s, const graft_module *m, char *err,
                                size_t cap);
/* The module name the WASI subset's imports come from. */
#define WASI_SUBSET_MODULE "wasi_snapshot_preview1"
/* The load-time half of it: every wasi_snapshot_preview1 import of m is a
 * function, and one of the subset's names has the subset's type. GRAFT_OK
 * or GRAFT_ERR_LINK with err naming the import. */
graft_result wasi_subset_check(const graft_module *m, char *err, size_t cap);

/* agent_observe.c: the observer subscriber (summary, --dump-topic) and
 * the injector (--inject). stop_input ends the injector only. */
bool agent_observe_start(agent *ag, char *err, size_t cap);
/* Starts the injector; after the modules, so none misses a control message. */
bool agent_inject_start(agent *ag, char *err, size_t cap);
void agent_observe_stop_input(agent *ag);
void agent_observe_stop(agent *ag);
/* kvs_options.log for the agent's store (user = the agent). */
void agent_kv_log(void *user, int level, const char *msg);
/* The /healthz callback (user = the agent): a JSON body with kv, broker
 * and module states; false while kv is failing or a required module is not
 * running. */
bool agent_health(void *user, char **out_body);
/* The registry's collector (user = the agent): copies the bus's, the
 * bridge's and the modules' counters and states into /metrics. */
void agent_collect(void *user, metrics *m);
/* After a start or reload: failed (n entries, malloc'd, taken) becomes the
 * list of modules not running, and graft_agent_info shows agent.name;
 * series of modules no longer failed and not running go. Main thread. */
void agent_status_set(agent *ag, agent_failed *failed, size_t n);
/* The mqtt_bridge_hooks.log callback (user = the agent). */
void agent_bridge_log(void *user, int level, const char *msg);

/* worker.c */
/* The module's memory limit in 64 KiB pages (its store's max_memory_pages):
 * limits.memory_bytes rounded down, at least 1. */
uint32_t worker_memory_pages(const agent_mod *mod);
/* Creates mod's store and instance (the start function runs, under the
 * module's fuel and deadline) without running _initialize or on_start,
 * which the worker runs. false: failed, logged, mod->last_error set. */
bool worker_instantiate(agent_mod *mod);
bool worker_start(agent_mod *mod);
/* Ask the worker to end (after draining its inbox) and join it. */
void worker_join(agent_mod *mod);
void *watchdog_main(void *arg);

#endif
