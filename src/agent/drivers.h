/* drivers.h - native sensor and actuator drivers, the stable C base of graftd.
 *
 * A driver is a vtable (drv_ops) and a context pointer registered by the
 * embedder under a unique name in a drv_registry. Modules reach drivers by
 * name through the host API (sensor_read, actuator_write); a sensor may also
 * be published periodically through the bus as the 24-byte reading of
 * docs/host-api.md, on `sensors/<name>` or the topic drv_set_topic gives. docs/drivers.md shows how to write a
 * driver for real hardware.
 *
 * Shipped drivers: simulated sources (sine, random walk, step, noise; all
 * seeded and a pure function of seed and sample index), CSV replay, and an
 * actuator that appends lines to a log file.
 *
 * Time: the registry's clock (injectable) gives now_ns, which is passed to
 * every read and write; simulated and CSV sources derive their sample from
 * it, so tests with a fake clock get exact values.
 *
 * Ownership: the registry owns registered contexts and calls ops->destroy
 * on them when freed (also when registration fails). Errors: functions
 * return DRV_* codes (aligned with IOT_* codes); the latest failure's text is
 * kept on the registry (drv_errmsg).
 *
 * Thread-safety: reads and writes may come from any thread; each driver's
 * calls are serialised by its own mutex, so drivers need no locking of
 * their own. Drivers may be registered, replaced (drv_move) and removed
 * (drv_remove) at any time, also while module workers read and the
 * publication thread runs: a call in flight holds a reference on its
 * driver, and removal or replacement waits for those calls to end before
 * it destroys the context (docs/drivers.md, "Changing drivers at run
 * time"). A driver's own functions must not call back into its registry. */
#ifndef GRAFT_AGENT_DRIVERS_H
#define GRAFT_AGENT_DRIVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

typedef enum drv_result {
    DRV_OK = 0,
    DRV_ENOENT = -2,        /* no driver by that name (or of that kind) */
    DRV_EINVAL = -4,        /* bad argument or malformed file */
    DRV_EIO = -8,           /* the device (or file) failed */
    DRV_ENOMEM = -9,
    DRV_EEND = -10,         /* a replay that does not loop has ended */
    DRV_EEXIST = -11,       /* a driver by that name is already registered */
} drv_result;

/* The reading ABI: 24 bytes little-endian on the wire (docs/host-api.md). */
typedef struct drv_reading {
    int64_t timestamp_ns;
    double value;
    uint32_t unit;          /* 0 none, 1 degC, 2 percent, 3 Pa, 4 V, 5 A, 6 lux, 7 ppm, 8 m/s, 9 W */
    uint32_t quality;       /* 0 good, 1 uncertain, 2 bad */
} drv_reading;

#define DRV_READING_SIZE 24
void drv_reading_encode(const drv_reading *r, uint8_t out[DRV_READING_SIZE]);
void drv_reading_decode(const uint8_t in[DRV_READING_SIZE], drv_reading *out);

typedef enum drv_kind { DRV_SENSOR = 1, DRV_ACTUATOR = 2 } drv_kind;

typedef struct drv_ops {
    /* Sensors: fill value and quality (timestamp_ns and unit are preset to
     * now_ns and the registered unit; a driver may override them). */
    int (*read)(void *ctx, int64_t now_ns, drv_reading *out);
    /* Actuators: apply value. */
    int (*write)(void *ctx, int64_t now_ns, double value);
    /* Optional: free ctx. */
    void (*destroy)(void *ctx);
} drv_ops;

typedef int64_t (*drv_clock_fn)(void *ctx);

typedef struct drv_registry drv_registry;

/* clock NULL: CLOCK_REALTIME. */
drv_registry *drv_registry_new(drv_clock_fn clock, void *clock_ctx);
void drv_registry_free(drv_registry *reg);     /* stops publication first */
const char *drv_errmsg(const drv_registry *reg);

/* Registers name (copied). publish_period_ms > 0 (sensors only) publishes
 * readings on sensors/<name> (drv_set_topic changes it). ops must outlive
 * the registry. DRV_EEXIST when name is taken. */
drv_result drv_register(drv_registry *reg, const char *name, drv_kind kind, uint32_t unit,
                        const drv_ops *ops, void *ctx, unsigned publish_period_ms);
/* Sets the topic sensor `name` is published on: an MQTT topic name (no
 * wildcards; src/hostapi/topic.c). DRV_EINVAL for a bad topic, DRV_ENOENT
 * when there is no such sensor. Takes effect at its next publication. */
drv_result drv_set_topic(drv_registry *reg, const char *name, const char *topic);
/* Copies sensor name's topic into out; false when there is no such sensor
 * or cap is too small. */
bool drv_topic(drv_registry *reg, const char *name, char *out, size_t cap);
/* Unregisters name: new calls get DRV_ENOENT at once; the calls in flight
 * on it finish first, then its context is destroyed, so after this returns
 * the driver is never called again. DRV_ENOENT when absent. */
drv_result drv_remove(drv_registry *reg, const char *name);
/* Moves driver name from src into dst (a staging registry with no
 * publication, built with drv_add_* / drv_set_topic), replacing dst's
 * driver of that name if any in one step: a concurrent caller finds the
 * old driver or the new one, never none. The replaced driver is destroyed
 * once its calls in flight have ended. The moved sensor is published at
 * dst's next publication step, then every period. DRV_ENOENT when src has
 * no such driver; DRV_ENOMEM (the driver is destroyed). */
drv_result drv_move(drv_registry *dst, drv_registry *src, const char *name);
size_t drv_count(drv_registry *reg);
bool drv_has(drv_registry *reg, const char *name, drv_kind kind);
drv_result drv_read(drv_registry *reg, const char *name, drv_reading *out);
drv_result drv_write(drv_registry *reg, const char *name, double value);

/* One publication step at the registry clock's now: every sensor whose
 * next due time has come is read and published (first due: its first
 * step). Returns the number published. The thread below calls it. */
size_t drv_publish_due(drv_registry *reg, bus *b);
/* Starts / stops a thread running drv_publish_due at the needed times. */
drv_result drv_publish_start(drv_registry *reg, bus *b);
void drv_publish_stop(drv_registry *reg);

/* ---- simulated sources ------------------------------------------------------
 * Sample index: k = floor((now_ns - t0_ns) / (sample_period_ms * 1e6)), 0
 * before t0; the reading's timestamp is t0_ns + k * sample_period. The
 * uniform variate is u(seed, k) = splitmix64 finaliser of
 * z = seed + (k + 1) * 0x9E3779B97F4A7C15 (mod 2^64), then (z >> 11) * 2^-53:
 *   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *   z ^= z >> 31.
 * Values (t = k * sample_period in seconds):
 *   sine:  offset + amplitude * sin(2*pi*t/period_s + phase) + noise * (2u(seed,k) - 1)
 *   noise: offset + amplitude * (2u(seed,k) - 1)
 *   walk:  x0 = start; xk = clamp(x(k-1) + step * (2u(seed,k) - 1), min, max)
 *   step:  level j = k / hold; seed 0: low for even j, high for odd j;
 *          otherwise low + (high - low) * u(seed, j)
 */
typedef enum drv_sim_kind { DRV_SIM_SINE, DRV_SIM_NOISE, DRV_SIM_WALK, DRV_SIM_STEP } drv_sim_kind;

typedef struct drv_sim_config {
    drv_sim_kind kind;
    uint64_t seed;
    int64_t t0_ns;
    unsigned sample_period_ms;          /* 0: 1000 */
    double offset, amplitude, period_s, phase, noise;   /* sine, noise */
    double start, step, min, max;                       /* walk */
    double low, high;                                   /* step */
    unsigned hold;                                      /* step: samples per level (0: 1) */
} drv_sim_config;

double drv_uniform(uint64_t seed, uint64_t k);
/* The value of sample k (the walk from 0 to k). Pure. */
double drv_sim_value(const drv_sim_config *cfg, uint64_t k);
drv_result drv_add_sim(drv_registry *reg, const char *name, uint32_t unit, const drv_sim_config *cfg,
                       unsigned publish_period_ms);

/* ---- CSV replay ------------------------------------------------------------
 * Rows `timestamp,value` (seconds, non-decreasing; numbers as strtod reads
 * them); blank lines and lines starting with '#' are skipped; the first line
 * may be the header `timestamp,value`. Row i is due at t0_ns + (ts_i - ts_0).
 * A read returns the latest due row (the first row before it). After the
 * last row comes one more gap (the last interval; 1 s for a single row);
 * then a looping replay starts over, one that stops returns DRV_EEND.
 * t0_ns 0: the first read's time. */
drv_result drv_add_csv(drv_registry *reg, const char *name, uint32_t unit, const char *path, bool loop,
                       int64_t t0_ns, unsigned publish_period_ms);

/* ---- log-file actuator -------------------------------------------------------
 * Each write appends "<now_ns> <name> <value as %.17g>\n" to path in one
 * write(2) with O_APPEND. */
drv_result drv_add_log_actuator(drv_registry *reg, const char *name, uint32_t unit, const char *path);

#endif
