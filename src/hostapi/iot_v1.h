/* iot_v1.h - the iot_v1 host API (docs/host-api.md) over a table of agent
 * services.
 *
 * iot_v1_define binds every iot_v1 function into a store. Each host
 * function checks its pointers and lengths against the caller's memory,
 * checks the module's effective capabilities, and only then calls the
 * agent through `iot_services`; the host API itself knows nothing of the
 * bus, the kv store or the drivers. Refusals are counted in the module's
 * iot_counters and logged through services->log.
 *
 * Ownership: the iot_module_ctx, and everything it points to, belongs to
 * the agent and must outlive the store it was defined into. The host
 * functions write only the counters. One store runs on one thread at a
 * time, so the counters are written by one thread; they are atomics so a
 * metrics thread may read them at any time. */
#ifndef GRAFT_IOT_V1_H
#define GRAFT_IOT_V1_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graft.h"
#include "iot_caps.h"

/* Return codes, as the guest sees them. */
#define IOT_OK 0
#define IOT_EPERM (-1)
#define IOT_ENOENT (-2)
#define IOT_EFAULT (-3)
#define IOT_EINVAL (-4)
#define IOT_EQUOTA (-5)
#define IOT_E2BIG (-6)
#define IOT_EAGAIN (-7)
#define IOT_EIO (-8)

#define IOT_READING_SIZE 24u      /* bytes of a sensor reading */
#define IOT_LOG_MAX 1024u         /* a log line is cut to this many bytes */
#define IOT_KV_KEY_MAX 256u       /* bytes of a kv key */
#define IOT_KV_VALUE_MAX 65536u   /* bytes of a kv value */

/* A decoded sensor reading (the 24-byte wire form: docs/host-api.md). */
typedef struct iot_reading {
    int64_t timestamp_ns;  /* wall clock at sampling */
    double value;
    uint32_t unit;         /* 0 none, 1 degC, ... */
    uint32_t quality;      /* 0 good, 1 uncertain, 2 bad */
} iot_reading;

void iot_reading_encode(const iot_reading *r, uint8_t out[IOT_READING_SIZE]);
void iot_reading_decode(const uint8_t in[IOT_READING_SIZE], iot_reading *out);

typedef enum iot_log_origin {
    IOT_LOG_MODULE = 0,    /* the module's own `log` call */
    IOT_LOG_HOST = 1       /* the host API about the module (refusals) */
} iot_log_origin;

/* What the agent provides. Every callback receives `user`. Strings are
 * (pointer, length), not NUL-terminated, and point into guest memory or a
 * host buffer valid only during the call; copy what must be kept. Return
 * an IOT_* code. Any callback may be NULL: the call then answers IOT_EIO
 * (log, clocks: nothing / 0). */
typedef struct iot_services {
    void *user;
    void (*log)(void *user, iot_log_origin origin, int level, const char *msg, size_t len);
    int64_t (*clock_monotonic_ns)(void *user);
    int64_t (*clock_wall_ns)(void *user);
    /* ENOENT when the granted sensor has no driver; EIO when it failed. */
    int (*sensor_read)(void *user, const char *name, size_t len, iot_reading *out);
    int (*actuator_write)(void *user, const char *name, size_t len, double value);
    /* EAGAIN when rate limited. */
    int (*publish)(void *user, const char *topic, size_t tlen, const uint8_t *payload, size_t plen);
    /* Copies min(value length, cap) bytes into buf; returns the value length or ENOENT. */
    int (*kv_get)(void *user, const char *key, size_t klen, uint8_t *buf, size_t cap);
    /* EQUOTA when the module's quota would be exceeded. */
    int (*kv_put)(void *user, const char *key, size_t klen, const uint8_t *val, size_t vlen);
    int (*kv_delete)(void *user, const char *key, size_t klen);
    /* EQUOTA when more than caps->timers would be alive. */
    int (*timer_start)(void *user, int32_t id, uint32_t period_ms, bool periodic);
    int (*timer_cancel)(void *user, int32_t id);
} iot_services;

/* Per-module counters, written by the host functions. */
typedef struct iot_counters {
    _Atomic uint64_t calls;        /* iot_v1 calls made */
    _Atomic uint64_t refused;      /* IOT_EPERM answers: not granted */
    _Atomic uint64_t faults;       /* IOT_EFAULT answers: bad pointer or length */
    _Atomic uint64_t invalid;      /* IOT_EINVAL answers */
    _Atomic uint64_t too_big;      /* IOT_E2BIG answers */
    _Atomic uint64_t published;    /* publishes the service accepted */
    _Atomic uint64_t host_fuel;    /* length-dependent fuel (len/64 parts)
                                      charged from the tank; docs/host-api.md */
} iot_counters;

typedef struct iot_module_ctx {
    const char *module_name;       /* for log lines */
    const iot_caps *caps;          /* effective capabilities */
    const iot_limits *limits;      /* effective limits (max_message_bytes) */
    const iot_services *services;
    iot_counters *counters;        /* may be NULL: nothing counted */
} iot_module_ctx;

/* Writes len bytes of guest text s into out (cap bytes, always
 * NUL-terminated) for a log line: valid UTF-8 and printable ASCII as they
 * are, every other byte (NUL and control characters, a backslash, bytes
 * of broken UTF-8) as \xNN, so an embedded NUL cannot cut what is logged
 * short. Cut at a whole character when out is full. Returns out. */
char *iot_escape(char *out, size_t cap, const char *s, size_t len);

/* Define every iot_v1 function in s, with its fuel cost. ctx must outlive s. */
graft_result iot_v1_define(graft_store *s, const iot_module_ctx *ctx);

/* Link-time check: refuse a module that imports an iot_v1 function whose
 * capability is not granted at all, that imports an unknown iot_v1 name,
 * or one with the wrong type. GRAFT_OK, or GRAFT_ERR_SECURITY (not
 * granted) / GRAFT_ERR_LINK (unknown or mistyped) with a message in err
 * naming the import and the capability. */
graft_result iot_v1_check_imports(const graft_module *m, const iot_caps *caps, char *err, size_t err_cap);

/* The exports the agent needs: `on_message` (and then `graft_alloc`) when
 * the module subscribes, `on_timer` when it has timers; each with the type
 * of docs/host-api.md. GRAFT_OK or GRAFT_ERR_LINK with a message. */
graft_result iot_v1_check_exports(const graft_module *m, const iot_caps *caps, char *err, size_t err_cap);

#endif
