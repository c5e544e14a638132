/* agent_log.h - the daemon core's logging over log.h (jlog): one JSON
 * object per line on stderr, {"ts","level","module","msg", fields...};
 * module NULL is "agent". alog formats msg like printf; alogf adds typed
 * fields (JLOG_STR, JLOG_UINT, ...).
 *
 * jb_* is a tiny JSON text builder on a caller buffer (truncating, always
 * NUL-terminated) for the daemon's other JSON texts (--dump-file lines). */
#ifndef GRAFT_AGENT_ALOG_H
#define GRAFT_AGENT_ALOG_H

#include <stdarg.h>
#include <stddef.h>

#include "log.h"

typedef jlog agent_logger;

enum { ALOG_DEBUG = JLOG_DEBUG, ALOG_INFO = JLOG_INFO, ALOG_WARN = JLOG_WARN, ALOG_ERROR = JLOG_ERROR };

/* A logger on stderr at level (ALOG_*); NULL when out of memory. */
agent_logger *alog_new(int level);
void alog_free(agent_logger *lg);
void alog(agent_logger *lg, int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void alogf(agent_logger *lg, int level, const char *module, const jlog_field *fields, size_t count,
           const char *fmt, ...) __attribute__((format(printf, 6, 7)));

typedef struct jbuf {
    char *p;
    size_t cap, len;
} jbuf;

void jb_init(jbuf *b, char *buf, size_t cap);
void jb_raw(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s (len bytes), escaped. */
void jb_str(jbuf *b, const char *s, size_t len);

#endif
