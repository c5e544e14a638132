/* metrics.h - graftd's metrics: a registry of counters, gauges and
 * histograms, rendered in the Prometheus text exposition format (0.0.4), and
 * a loopback HTTP endpoint serving /metrics and /healthz.
 *
 * A metric family has a name, a help text, a type and (histograms) fixed
 * bucket bounds; a series is one family with up to METRICS_MAX_LABELS label
 * pairs (for instance module="thermo",reason="inbox_full") or none.
 * metrics_*_get returns the series for a (name, labels) pair, creating it
 * on first use; asking again with the same pairs in the same order returns
 * the same series. The registry owns every family and series: pointers stay
 * valid until the series is removed (metrics_remove_label) or the registry
 * freed.
 *
 * A collector (metrics_set_collector) copies counters kept elsewhere (the
 * bus's, the bridge's, the module states) into the registry just before
 * each render, so their owners need not know about metrics.
 *
 * Threads: updates (inc, add, set, observe) are lock-free atomics and may run
 * on any thread; get, remove and render take the registry's mutex. A series
 * must not be updated after metrics_remove_label removed it: remove a
 * module's series only once its threads are stopped.
 *
 * Per-module series for the daemon (metrics_module_new, below):
 *
 *   graft_module_messages_in_total{module}      counter  messages delivered to the module
 *   graft_module_messages_out_total{module}     counter  messages the module published
 *   graft_module_refusals_total{module}         counter  host calls refused by capabilities
 *   graft_module_faults_total{module}           counter  host calls answered IOT_EFAULT
 *   graft_module_invalid_total{module}          counter  host calls answered IOT_EINVAL
 *   graft_module_too_big_total{module}          counter  host calls answered IOT_E2BIG
 *   graft_module_alloc_dropped_total{module}    counter  messages dropped: graft_alloc gave no room
 *   graft_module_traps_total{module}            counter  handler calls that trapped
 *   graft_module_restarts_total{module}         counter  instance restarts
 *   graft_module_fuel_used_total{module}        counter  fuel units consumed
 *   graft_module_event_latency_seconds{module}  histogram event handling time
 *   graft_module_memory_bytes{module}           gauge    linear memory size
 *
 * Example:
 *   metrics *reg = metrics_new();
 *   metrics_module *mm = metrics_module_new(reg, "thermo");
 *   metrics_counter_inc(mm->messages_in);
 *   metrics_histogram_observe(mm->event_latency, 0.000180);
 *   metrics_gauge_set(mm->memory_bytes, 65536);
 *   metrics_http *srv;
 *   metrics_http_start(reg, NULL, 0, health, agent, &srv);   // port 0: any free port
 *   ... metrics_http_port(srv) ...
 *   metrics_http_stop(srv); metrics_module_free(mm); metrics_free(reg);
 */
#ifndef GRAFT_AGENT_METRICS_H
#define GRAFT_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;
typedef struct metrics_series metrics_counter;     /* only ever goes up */
typedef struct metrics_series metrics_gauge;       /* goes up and down */
typedef struct metrics_series metrics_histogram;   /* observations in fixed buckets */

/* An empty registry; NULL when out of memory. */
metrics *metrics_new(void);
/* Frees the registry with every family and series. */
void metrics_free(metrics *m);

/* The series of family name (help: its HELP text) with the label pair
 * (label, value), or with no labels when label is NULL. Creates the family
 * and the series on first use (strings copied). NULL when out of memory, when
 * name or label is not a valid Prometheus name, or when name is already
 * registered with another type or other buckets. */
metrics_counter *metrics_counter_get(metrics *m, const char *name, const char *help,
                                     const char *label, const char *value);
metrics_gauge *metrics_gauge_get(metrics *m, const char *name, const char *help,
                                 const char *label, const char *value);
/* bounds: count upper bounds, strictly increasing and finite (copied; the
 * +Inf bucket is implicit). */
metrics_histogram *metrics_histogram_get(metrics *m, const char *name, const char *help,
                                         const double *bounds, size_t count,
                                         const char *label, const char *value);

/* Series with several labels: labels[0..n) pairs (name, value), n at most
 * METRICS_MAX_LABELS, rendered in this order; n 0 is no labels. NULL as
 * above, or when n is too large or a label name repeats. */
#define METRICS_MAX_LABELS 4
typedef struct metrics_label {
    const char *name;                /* a Prometheus label name */
    const char *value;               /* any text (escaped when rendered); NULL reads as "" */
} metrics_label;
metrics_counter *metrics_counter_getl(metrics *m, const char *name, const char *help,
                                      const metrics_label *labels, size_t n);
metrics_gauge *metrics_gauge_getl(metrics *m, const char *name, const char *help,
                                  const metrics_label *labels, size_t n);

void metrics_counter_inc(metrics_counter *c);
void metrics_counter_add(metrics_counter *c, uint64_t n);
/* For a counter kept elsewhere (a collector copies it in): its value
 * becomes v; a lower v than before reads, as in Prometheus, as a reset. */
void metrics_counter_set(metrics_counter *c, uint64_t v);
uint64_t metrics_counter_value(const metrics_counter *c);
void metrics_gauge_set(metrics_gauge *g, int64_t v);
void metrics_gauge_add(metrics_gauge *g, int64_t delta);
int64_t metrics_gauge_value(const metrics_gauge *g);
/* Counts v in the first bucket whose bound is >= v, adds it to the sum. */
void metrics_histogram_observe(metrics_histogram *h, double v);

/* Removes every series that has the label pair (label, value) among its
 * labels, and the families left empty stop being rendered. */
void metrics_remove_label(metrics *m, const char *label, const char *value);

/* Called by metrics_render before it renders, on the rendering thread and
 * without the registry's mutex (so it may get, set and remove series).
 * NULL removes it. The user data must outlive the registry or the next
 * metrics_set_collector. */
typedef void (*metrics_collect_fn)(void *user, metrics *m);
void metrics_set_collector(metrics *m, metrics_collect_fn fn, void *user);

/* The text exposition of every series (after the collector ran), families
 * in registration order, series in creation order (families without series
 * are left out). *out is malloc'd and NUL-terminated; the caller frees it.
 * false when out of memory. */
bool metrics_render(metrics *m, char **out, size_t *out_len);

/* ---- per-module series ------------------------------------------------- */

/* Bucket bounds of graft_module_event_latency_seconds, in seconds:
 * 50 us to 1 s. */
#define METRICS_LATENCY_BOUNDS \
    { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0 }

typedef struct metrics_module {
    metrics *reg;                        /* the registry the series live in */
    char *name;                          /* the module label's value (owned) */
    metrics_counter *messages_in;        /* graft_module_messages_in_total */
    metrics_counter *messages_out;       /* graft_module_messages_out_total */
    metrics_counter *refusals;           /* graft_module_refusals_total */
    metrics_counter *faults;             /* graft_module_faults_total */
    metrics_counter *invalid;            /* graft_module_invalid_total */
    metrics_counter *too_big;            /* graft_module_too_big_total */
    metrics_counter *alloc_dropped;      /* graft_module_alloc_dropped_total */
    metrics_counter *traps;              /* graft_module_traps_total */
    metrics_counter *restarts;           /* graft_module_restarts_total */
    metrics_counter *fuel_used;          /* graft_module_fuel_used_total */
    metrics_histogram *event_latency;    /* graft_module_event_latency_seconds */
    metrics_gauge *memory_bytes;         /* graft_module_memory_bytes */
} metrics_module;

/* Registers (or finds) the twelve series of module name, label module="name".
 * NULL when out of memory. */
metrics_module *metrics_module_new(metrics *reg, const char *name);
/* Removes the module's series from the registry and frees mm (after the
 * module's threads have stopped). */
void metrics_module_free(metrics_module *mm);

/* ---- the HTTP endpoint ------------------------------------------------- */

typedef struct metrics_http metrics_http;

/* Whether the agent is healthy: /healthz answers 200 when true, 503
 * otherwise. *out_body (set to NULL before the call) may receive a malloc'd
 * NUL-terminated JSON text, served as application/json and freed by the
 * server; left NULL, the body is "ok" or "unhealthy". Called on the
 * server's thread. */
typedef bool (*metrics_health_fn)(void *user, char **out_body);

/* Serves GET /metrics (200, text/plain; version=0.0.4) and GET /healthz on
 * listen:port (listen an IPv4 address, NULL for 127.0.0.1; port 0: a free
 * port, see metrics_http_port) from a thread of its own; anything else is
 * 404 (405 for other methods). health may be NULL (always healthy). On
 * success *out is the running server; false when the address is not an
 * IPv4 address or cannot be bound. */
bool metrics_http_start(metrics *m, const char *listen, uint16_t port, metrics_health_fn health,
                        void *user, metrics_http **out);
/* The port the server listens on. */
uint16_t metrics_http_port(const metrics_http *s);
/* Stops serving (in-flight requests finish) and frees s. NULL is fine. */
void metrics_http_stop(metrics_http *s);

#endif
