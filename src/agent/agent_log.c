/* agent_log.c - JSON log lines on stderr (see agent_log.h). */
#include "agent_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct agent_logger {
    int level;
    pthread_mutex_t mu;
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

agent_logger *alog_new(int level)
{
    agent_logger *lg = calloc(1, sizeof *lg);
    if (!lg) return NULL;
    lg->level = level;
    pthread_mutex_init(&lg->mu, NULL);
    return lg;
}

void alog_free(agent_logger *lg)
{
    if (!lg) return;
    pthread_mutex_destroy(&lg->mu);
    free(lg);
}

void alog_set_level(agent_logger *lg, int level)
{
    pthread_mutex_lock(&lg->mu);
    lg->level = level;
    pthread_mutex_unlock(&lg->mu);
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

void alog(agent_logger *lg, int level, const char *module, const char *fields, const char *fmt, ...)
{
    if (lg && level < lg->level) return;
    char msg[2048], line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    jbuf b;
    jb_init(&b, line, sizeof line);
    jb_raw(&b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
           level_names[level < 0 ? 0 : level > 3 ? 3 : level]);
    jb_raw(&b, "\"module\":");
    jb_str(&b, module ? module : "graftd", strlen(module ? module : "graftd"));
    jb_raw(&b, ",\"msg\":");
    jb_str(&b, msg, strlen(msg));
    jb_raw(&b, ",\"fields\":{%s}}\n", fields ? fields : "");
    if (line[b.len - 1] != '\n') {   /* truncated: keep it one line and valid-ish */
        line[b.len - 1] = '\n';
    }
    if (lg) pthread_mutex_lock(&lg->mu);
    fputs(line, stderr);
    fflush(stderr);
    if (lg) pthread_mutex_unlock(&lg->mu);
}
