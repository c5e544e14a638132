/* agent_log.h - graftd's structured logs: one JSON object per line on
 * stderr, {"ts":..., "level":..., "module":..., "msg":..., "fields":{...}}.
 * Kept in one place so the observability component's log.h can replace it.
 *
 * The logger is a small object owned by its creator (no global state); a
 * mutex keeps lines whole when many threads log. jb_* is a tiny JSON text
 * builder on a caller buffer (truncating, always NUL-terminated). */
#ifndef GRAFT_AGENT_LOG_H_
#define GRAFT_AGENT_LOG_H_

#include <stdarg.h>
#include <stddef.h>

typedef struct agent_logger agent_logger;

enum { ALOG_DEBUG = 0, ALOG_INFO = 1, ALOG_WARN = 2, ALOG_ERROR = 3 };

agent_logger *alog_new(int level);
void alog_free(agent_logger *lg);
void alog_set_level(agent_logger *lg, int level);
/* fields: the text of a JSON object's members ("\"a\":1,\"b\":\"x\""), or NULL. */
void alog(agent_logger *lg, int level, const char *module, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

typedef struct jbuf {
    char *p;
    size_t cap, len;
} jbuf;

void jb_init(jbuf *b, char *buf, size_t cap);
void jb_raw(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s (len bytes), escaped. */
void jb_str(jbuf *b, const char *s, size_t len);

#endif
