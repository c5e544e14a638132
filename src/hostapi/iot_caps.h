/* iot_caps.h - what a module may do: its capabilities and its limits.
 *
 * One iot_caps value is a manifest's request, a device config's grant, or
 * their intersection (src/agent/manifest.c computes it); the host API reads
 * the effective one at link time (iot_v1_check_imports) and at call time.
 * String lists own their strings (heap, freed by iot_caps_free); an empty
 * list grants nothing. Agent-wide type: the bus, supervisor and metrics use
 * it too, so it lives here, below both src/hostapi and src/agent.
 *
 * Topic filters follow MQTT 3.1.1 section 4.7; topic.h holds their rules. */
#ifndef GRAFT_IOT_CAPS_H
#define GRAFT_IOT_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A list of owned, NUL-terminated strings. */
typedef struct iot_strlist {
    char **items;    /* count strings, each malloc'd */
    size_t count;    /* number of items */
} iot_strlist;

typedef struct iot_caps {
    iot_strlist sensors;          /* sensor channel names */
    iot_strlist actuators;        /* actuator names */
    iot_strlist publish;          /* topic filters the module may publish under */
    iot_strlist subscribe;        /* topic filters the module receives */
    uint64_t kv_quota_bytes;      /* 0: no kv state at all */
    uint32_t timers;              /* timers alive at once; 0: no timers */
    uint32_t timer_min_period_ms; /* shortest period; never below IOT_TIMER_MIN_MS */
} iot_caps;

/* Per-module limits; 0 in a manifest or config means "not given". */
typedef struct iot_limits {
    uint64_t memory_bytes;        /* linear memory */
    uint64_t fuel_per_event;      /* fuel units per handler call */
    uint32_t wall_ms_per_event;   /* wall-clock deadline per handler call */
    uint32_t max_message_bytes;   /* largest payload in or out */
} iot_limits;

#define IOT_TIMER_MIN_MS 10u            /* the host API's floor for any timer */
#define IOT_NAME_MAX 64u                /* sensor, actuator and module names */

/* Defaults for limits neither the author nor the config gives. */
#define IOT_DEFAULT_MEMORY_BYTES (16u * 1024 * 1024)
#define IOT_DEFAULT_FUEL_PER_EVENT 10000000u
#define IOT_DEFAULT_WALL_MS 100u
#define IOT_DEFAULT_MAX_MESSAGE 65536u

void iot_caps_free(iot_caps *c);
/* Append a copy of s; false when out of memory. */
bool iot_strlist_add(iot_strlist *l, const char *s);
bool iot_strlist_has(const iot_strlist *l, const char *s, size_t len);

/* Whether topic (a valid name, len bytes) matches some filter in the list. */
bool iot_filters_match(const iot_strlist *filters, const char *topic, size_t len);

#endif
