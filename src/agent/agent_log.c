/* agent_log.c - the daemon core's log calls over jlog (log.h), and the
 * jb_* JSON text builder (see agent_log.h). */
#include "agent_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

agent_logger *alog_new(int level)
{
    return jlog_new(NULL, (jlog_level)level);
}

void alog_free(agent_logger *lg)
{
    if (lg) jlog_free(lg);
}

static void vlog(agent_logger *lg, int level, const char *module, const jlog_field *fields, size_t count,
                 const char *fmt, va_list ap)
{
    if (!lg || !jlog_enabled(lg, (jlog_level)level)) return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    jlog_write(lg, (jlog_level)level, module, msg, fields, count);
}

void alog(agent_logger *lg, int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(lg, level, module, NULL, 0, fmt, ap);
    va_end(ap);
}

void alogf(agent_logger *lg, int level, const char *module, const jlog_field *fields, size_t count,
           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(lg, level, module, fields, count, fmt, ap);
    va_end(ap);
}

void jb_init(jbuf *b, char *buf, size_t cap)
{
    b->p = buf;
    b->cap = cap;
    b->len = 0;
    if (cap) buf[0] = '\0';
}

void jb_raw(jbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    b->len += (size_t)n;
    if (b->len >= b->cap) b->len = b->cap - 1;
}

void jb_str(jbuf *b, const char *s, size_t len)
{
    jb_raw(b, "\"");
    for (size_t i = 0; i < len && b->len + 8 < b->cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') jb_raw(b, "\\%c", c);
        else if (c == '\n') jb_raw(b, "\\n");
        else if (c == '\t') jb_raw(b, "\\t");
        else if (c < 0x20 || c == 0x7f) jb_raw(b, "\\u%04x", c);
        else {
            b->p[b->len++] = (char)c;
            b->p[b->len] = '\0';
        }
    }
    jb_raw(b, "\"");
}
