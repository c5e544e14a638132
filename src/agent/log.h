/* log.h - graftd's structured logs: one JSON object per line.
 *
 *   {"ts":"2026-11-26T15:04:05.123Z","level":"info","module":"agent","msg":"started","port":9100}
 *
 * ts is UTC with milliseconds; level is "debug", "info", "warn" or "error";
 * module is the module's name, or "agent" for the daemon itself; msg is the
 * message; then any extra fields in the order given. Lines below the
 * logger's minimum level are skipped before any formatting.
 *
 * Strings are escaped for JSON whatever their bytes: '"', '\\' and the
 * control characters are escaped (\n, \t, ... or \u00XX, DEL as \u007f);
 * well-formed UTF-8 passes through; every byte that does not start a
 * well-formed UTF-8 sequence becomes \uFFFD, so a line is always valid JSON
 * and valid UTF-8.
 *
 * Ownership and threads: jlog_new returns a logger the caller frees with
 * jlog_free; it does not own or close its FILE*. Any number of threads may
 * log at once: a mutex keeps each line whole (it is built in memory, then
 * written and flushed under the lock). No global state. */
#ifndef GRAFT_AGENT_LOG_H
#define GRAFT_AGENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum jlog_level { JLOG_DEBUG, JLOG_INFO, JLOG_WARN, JLOG_ERROR } jlog_level;

/* One extra key/value; build them with the JLOG_* macros below. */
typedef enum jlog_type { JLOG_T_STR, JLOG_T_INT, JLOG_T_UINT, JLOG_T_F64, JLOG_T_BOOL } jlog_type;
typedef struct jlog_field {
    const char *key;     /* the member name (escaped like any string) */
    jlog_type type;      /* which of the values below */
    const char *s;       /* JLOG_T_STR; NULL writes null */
    int64_t i;           /* JLOG_T_INT, and JLOG_T_BOOL (0 or 1) */
    uint64_t u;          /* JLOG_T_UINT */
    double d;            /* JLOG_T_F64; NaN and infinities write null */
} jlog_field;

#define JLOG_STR(k, v) ((jlog_field){ .key = (k), .type = JLOG_T_STR, .s = (v) })
#define JLOG_INT(k, v) ((jlog_field){ .key = (k), .type = JLOG_T_INT, .i = (int64_t)(v) })
#define JLOG_UINT(k, v) ((jlog_field){ .key = (k), .type = JLOG_T_UINT, .u = (uint64_t)(v) })
#define JLOG_F64(k, v) ((jlog_field){ .key = (k), .type = JLOG_T_F64, .d = (double)(v) })
#define JLOG_BOOL(k, v) ((jlog_field){ .key = (k), .type = JLOG_T_BOOL, .i = (v) ? 1 : 0 })

typedef struct jlog jlog;

/* A clock for the ts field: nanoseconds since the Unix epoch (tests pin it). */
typedef int64_t (*jlog_clock_fn)(void *user);

/* A logger writing to out (NULL: stderr) lines at min_level and above.
 * NULL when out of memory. */
jlog *jlog_new(FILE *out, jlog_level min_level);
void jlog_free(jlog *lg);
void jlog_set_level(jlog *lg, jlog_level min_level);
/* Whether a line at level would be written (to skip costly arguments). */
bool jlog_enabled(const jlog *lg, jlog_level level);
/* Replaces the wall clock (CLOCK_REALTIME) with fn(user); NULL restores it. */
void jlog_set_clock(jlog *lg, jlog_clock_fn fn, void *user);

/* Writes one line. module NULL means "agent"; msg NULL writes "";
 * fields may be NULL when count is 0. A write error is ignored (logging
 * must never stop the daemon). */
void jlog_write(jlog *lg, jlog_level level, const char *module, const char *msg,
                const jlog_field *fields, size_t count);
/* As jlog_write without fields, msg formatted like printf. */
void jlog_printf(jlog *lg, jlog_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The name of a level ("info"), and back: false when name is none. */
const char *jlog_level_name(jlog_level level);
bool jlog_level_parse(const char *name, jlog_level *out);

#endif
