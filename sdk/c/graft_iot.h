/* graft_iot.h - the C SDK for Graft gateway modules (host API iot_v1,
 * docs/host-api.md). Header-only; build modules as wasi-libc reactors,
 * the reactor flag on the link line only (on the compile line clang 14
 * warns that it is unused):
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c -c m.c
 *   clang --target=wasm32-wasi -mexec-model=reactor -o m.wasm m.o
 *
 * (Link without -O: with binaryen installed clang would run wasm-opt.)
 * docs/writing-modules.md walks through a module from nothing to graftd.
 *
 * What it gives:
 *   - the iot_v1 imports (iot_log, iot_publish, iot_kv_get, ...) and the
 *     IOT_* return codes;
 *   - the 24-byte sensor reading: iot_reading_parse / iot_reading_build,
 *     explicit little-endian, independent of the compiler's struct layout;
 *   - the exported allocator `graft_alloc` (malloc-backed) the agent uses
 *     to place each message in the module's memory;
 *   - IOT_ON_MESSAGE(handler): defines the `on_message` export. The agent
 *     calls graft_alloc(topic_len + payload_len) and writes the topic, then
 *     the payload right after it; the buffer then belongs to the module.
 *     The trampoline calls your handler
 *         int handler(const char *topic, size_t tlen, const uint8_t *payload, size_t plen)
 *     and frees the buffer when it returns, so the handler must not keep
 *     the pointers (copy what you need). Return 0 when processed.
 *   - IOT_EXPORT("on_start") etc. for the other exports;
 *   - iot_logf(level, fmt, ...): printf-style into a bounded stack buffer
 *     (IOT_LOGF_MAX bytes, longer lines are cut);
 *   - iot_strerror(rc): a short text for an IOT_* code ("rate-limited"),
 *     for log lines.
 *
 * Compiled natively (not for wasm), only the types and reading helpers are
 * defined, so host-side tools and tests can share them. */
#ifndef GRAFT_IOT_SDK_H
#define GRAFT_IOT_SDK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IOT_OK 0
#define IOT_EPERM (-1)
#define IOT_ENOENT (-2)
#define IOT_EFAULT (-3)
#define IOT_EINVAL (-4)
#define IOT_EQUOTA (-5)
#define IOT_E2BIG (-6)
#define IOT_EAGAIN (-7)
#define IOT_EIO (-8)

/* A short text for an IOT_* return code, for log lines (docs/host-api.md,
 * "Return codes"); "unknown error" for anything else. */
static inline const char *iot_strerror(int32_t rc)
{
    switch (rc) {
    case IOT_OK: return "ok";
    case IOT_EPERM: return "not granted";
    case IOT_ENOENT: return "no such sensor, actuator or key";
    case IOT_EFAULT: return "pointer or length outside the module's memory";
    case IOT_EINVAL: return "invalid argument";
    case IOT_EQUOTA: return "quota exceeded";
    case IOT_E2BIG: return "too big";
    case IOT_EAGAIN: return "rate-limited";
    case IOT_EIO: return "I/O error (not made durable)";
    default: return "unknown error";
    }
}

enum iot_level { IOT_DEBUG = 0, IOT_INFO = 1, IOT_WARN = 2, IOT_ERROR = 3 };
enum iot_unit { IOT_UNIT_NONE, IOT_UNIT_DEGC, IOT_UNIT_PERCENT, IOT_UNIT_PA, IOT_UNIT_V, IOT_UNIT_A,
                IOT_UNIT_LUX, IOT_UNIT_PPM, IOT_UNIT_MPS, IOT_UNIT_W };
enum iot_quality { IOT_QUALITY_GOOD, IOT_QUALITY_UNCERTAIN, IOT_QUALITY_BAD };

#define IOT_READING_BYTES 24

/* A sensor reading, decoded. */
typedef struct iot_sensor_reading {
    int64_t timestamp_ns;  /* wall clock at sampling */
    double value;
    uint32_t unit;         /* enum iot_unit */
    uint32_t quality;      /* enum iot_quality */
} iot_sensor_reading;

static inline uint64_t iot_le64_(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t iot_le32_(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void iot_put64_(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void iot_put32_(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Parse 24 bytes; 0 on success, IOT_EINVAL when len is not 24. */
static inline int iot_reading_parse(const uint8_t *buf, size_t len, iot_sensor_reading *out)
{
    if (len != IOT_READING_BYTES) return IOT_EINVAL;
    uint64_t bits = iot_le64_(buf + 8);
    out->timestamp_ns = (int64_t)iot_le64_(buf);
    memcpy(&out->value, &bits, sizeof bits);
    out->unit = iot_le32_(buf + 16);
    out->quality = iot_le32_(buf + 20);
    return IOT_OK;
}

/* Write the 24-byte form of r into out. */
static inline void iot_reading_build(const iot_sensor_reading *r, uint8_t out[IOT_READING_BYTES])
{
    uint64_t bits;
    memcpy(&bits, &r->value, sizeof bits);
    iot_put64_(out, (uint64_t)r->timestamp_ns);
    iot_put64_(out + 8, bits);
    iot_put32_(out + 16, r->unit);
    iot_put32_(out + 20, r->quality);
}

#if defined(__wasm__)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define IOT_IMPORT(name) __attribute__((import_module("iot_v1"), import_name(name)))
#define IOT_EXPORT(name) __attribute__((export_name(name)))

IOT_IMPORT("log") int32_t iot_log(int32_t level, const char *msg, size_t len);
IOT_IMPORT("time_monotonic_ns") int64_t iot_time_monotonic_ns(void);
IOT_IMPORT("time_wall_ns") int64_t iot_time_wall_ns(void);
IOT_IMPORT("sensor_read") int32_t iot_sensor_read_raw(const char *name, size_t len, uint8_t out[IOT_READING_BYTES]);
IOT_IMPORT("actuator_write") int32_t iot_actuator_write(const char *name, size_t len, double value);
IOT_IMPORT("publish") int32_t iot_publish(const char *topic, size_t tlen, const void *payload, size_t plen);
IOT_IMPORT("kv_get") int32_t iot_kv_get(const char *key, size_t klen, void *buf, size_t cap);
IOT_IMPORT("kv_put") int32_t iot_kv_put(const char *key, size_t klen, const void *val, size_t vlen);
IOT_IMPORT("kv_delete") int32_t iot_kv_delete(const char *key, size_t klen);
IOT_IMPORT("timer_start") int32_t iot_timer_start(int32_t id, int32_t period_ms, int32_t periodic);
IOT_IMPORT("timer_cancel") int32_t iot_timer_cancel(int32_t id);

/* The allocator the agent calls before each delivery. Weak, so a module of
 * several files that all include this header links. */
__attribute__((weak)) IOT_EXPORT("graft_alloc") void *graft_alloc(int32_t size)
{
    return size < 0 ? NULL : malloc((size_t)size ? (size_t)size : 1);
}

/* Defines the on_message export around handler (see the top of this file). */
#define IOT_ON_MESSAGE(handler)                                                               \
    IOT_EXPORT("on_message") int32_t iot_on_message_trampoline_(char *topic, int32_t tlen,    \
                                                                uint8_t *payload, int32_t plen) \
    {                                                                                         \
        int32_t rc_ = (int32_t)handler(topic, (size_t)tlen, payload, (size_t)plen);           \
        free(topic);                                                                          \
        return rc_;                                                                           \
    }

/* Read a sensor and decode it. */
static inline int32_t iot_sensor_read(const char *name, iot_sensor_reading *out)
{
    uint8_t raw[IOT_READING_BYTES];
    int32_t rc = iot_sensor_read_raw(name, strlen(name), raw);
    if (rc == IOT_OK) iot_reading_parse(raw, sizeof raw, out);
    return rc;
}

/* C-string conveniences. */
static inline int32_t iot_publish_str(const char *topic, const char *text)
{
    return iot_publish(topic, strlen(topic), text, strlen(text));
}

static inline int32_t iot_kv_put_str(const char *key, const char *text)
{
    return iot_kv_put(key, strlen(key), text, strlen(text));
}

/* The value of key as a NUL-terminated string in buf (cut to cap-1 bytes);
 * returns the value's full length or an IOT_* error (buf is then ""). */
static inline int32_t iot_kv_get_str(const char *key, char *buf, size_t cap)
{
    int32_t n = iot_kv_get(key, strlen(key), buf, cap ? cap - 1 : 0);
    if (cap) buf[n < 0 ? 0 : ((size_t)n < cap - 1 ? (size_t)n : cap - 1)] = '\0';
    return n;
}

#ifndef IOT_LOGF_MAX
#define IOT_LOGF_MAX 256
#endif

__attribute__((format(printf, 2, 3))) static inline int32_t iot_logf(int32_t level, const char *fmt, ...)
{
    char line[IOT_LOGF_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return IOT_EINVAL;
    return iot_log(level, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
#endif /* __wasm__ */

#endif
