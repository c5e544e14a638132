/* agent.h - the graftd daemon core: runs the modules of a device config on
 * the in-process bus with their drivers and kv state (docs/agent.md).
 *
 * agent_start builds everything from a parsed config and starts one worker
 * thread per module; agent_reload applies a new config (drivers and
 * modules added, replaced, removed; the broker bridge and /metrics
 * restarted when their sections change) without stopping what did not
 * change; agent_stop stops taking
 * input, drains in-flight events, flushes kv and frees the agent.
 *
 * Ownership: agent_start takes ownership of *cfg (the caller's struct is
 * zeroed); agent_reload likewise. The caller owns the options' strings,
 * which must outlive the agent.
 *
 * Threads: start, reload, stop and summary from one thread (the daemon's
 * main thread). agent_stats may be called from any thread. */
#ifndef GRAFT_AGENT_AGENT_H
#define GRAFT_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

typedef struct agent agent;

typedef struct agent_options {
    int log_level;              /* config_log_level, or -1: the config's */
    const char *dump_filter;    /* --dump-topic: messages matching it ... */
    const char *dump_path;      /* ... are written as JSON lines here */
    const char *inject_path;    /* --inject: a file tailed for "TOPIC PAYLOAD" lines */
    bool observe;               /* keep the latest value per topic for agent_summary */
    size_t kv_queue_bytes;      /* --kv-queue-bytes: bound on kv events not yet on disk; 0: the default */
} agent_options;

typedef enum agent_mod_state {
    AGENT_MOD_STARTING = 0, AGENT_MOD_RUNNING, AGENT_MOD_BACKOFF, AGENT_MOD_QUARANTINED,
    AGENT_MOD_STOPPED
} agent_mod_state;

const char *agent_mod_state_name(int state);

typedef struct agent_mod_stats {
    char name[65];
    int state;                  /* agent_mod_state */
    uint64_t msgs_in, msgs_out, events, rejected, traps, restarts, refused, rate_limited,
        dropped_full, dropped_oversize, fuel_used, timer_events;
    uint64_t faults, invalid, too_big;   /* host-API answers IOT_EFAULT, IOT_EINVAL, IOT_E2BIG */
    uint64_t alloc_dropped;             /* messages dropped: graft_alloc gave no room */
} agent_mod_stats;

bool agent_start(config *cfg, const agent_options *opt, agent **out, char *err, size_t err_cap);
/* Applies a new config and takes *cfg (docs/agent.md, "Reload"): drivers,
 * modules, agent settings, broker and http; state_dir and
 * agent.commit_window_ms are kept as they are (a warning says a restart is
 * needed). One info line per changed section. false: refused as a whole (a
 * pipeline cycle; err says why), nothing changed and the caller still owns
 * *cfg. A module or driver that fails to load is logged and skipped (its
 * running version, if any, stays). */
bool agent_reload(agent *a, config *cfg, char *err, size_t err_cap);
/* false when kv events committed by modules could not be written (the
 * log says how many and why): graftd then exits non-zero. */
bool agent_stop(agent *a);
/* Logs one "summary" line: per-module counters and the latest values seen. */
void agent_summary(agent *a);
size_t agent_stats(agent *a, agent_mod_stats *out, size_t cap);
/* The same for people: latest readings, aggregates, alarms and counters. */
void agent_summary_print(agent *a, FILE *out, double uptime_s);

#endif
