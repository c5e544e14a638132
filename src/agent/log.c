/* log.c - structured JSON log lines (log.h).
 *
 * Each line is built in a growable byte buffer owned by the call (a stack
 * buffer first, the heap only for long lines), then written and flushed
 * under the logger's mutex so that lines from many threads never interleave.
 * The minimum level is an atomic so that the hot path's level check takes
 * no lock. UTF-8 decoding is topic.h's, the one decoder in the tree. */
#include "log.h"

#include "topic.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jlog {
    FILE *out;               /* not owned */
    _Atomic int min_level;   /* a jlog_level */
    jlog_clock_fn clock;     /* NULL: CLOCK_REALTIME */
    void *clock_user;        /* passed to clock */
    pthread_mutex_t lock;    /* one line at a time on out */
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *jlog_level_name(jlog_level level)
{
    return (unsigned)level <= JLOG_ERROR ? level_names[level] : "?";
}

bool jlog_level_parse(const char *name, jlog_level *out)
{
    for (int i = JLOG_DEBUG; i <= JLOG_ERROR; i++)
        if (name && strcmp(name, level_names[i]) == 0) { *out = (jlog_level)i; return true; }
    return false;
}

jlog *jlog_new(FILE *out, jlog_level min_level)
{
    jlog *lg = calloc(1, sizeof *lg);
    if (!lg) return NULL;
    lg->out = out ? out : stderr;
    atomic_init(&lg->min_level, (int)min_level);
    pthread_mutex_init(&lg->lock, NULL);
    return lg;
}

void jlog_free(jlog *lg)
{
    if (!lg) return;
    pthread_mutex_destroy(&lg->lock);
    free(lg);
}

void jlog_set_level(jlog *lg, jlog_level min_level) { atomic_store(&lg->min_level, (int)min_level); }

bool jlog_enabled(const jlog *lg, jlog_level level)
{
    return lg && (int)level >= atomic_load(&((jlog *)lg)->min_level);
}

void jlog_set_clock(jlog *lg, jlog_clock_fn fn, void *user)
{
    lg->clock = fn;
    lg->clock_user = user;
}

/* ---- the line buffer ---------------------------------------------------- */

typedef struct line {
    char *p;          /* stack or heap bytes */
    size_t len, cap;  /* used, available */
    bool heap;        /* p was malloc'd */
    bool failed;      /* out of memory: the line is truncated */
} line;

static bool reserve(line *l, size_t more)
{
    if (l->len + more <= l->cap) return true;
    if (l->failed) return false;
    size_t cap = l->cap * 2 > l->len + more ? l->cap * 2 : l->len + more;
    char *p = l->heap ? realloc(l->p, cap) : malloc(cap);
    if (!p) { l->failed = true; return false; }
    if (!l->heap) memcpy(p, l->p, l->len);
    l->p = p;
    l->cap = cap;
    l->heap = true;
    return true;
}

static void put(line *l, const char *s, size_t n)
{
    if (!reserve(l, n)) return;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void puts_(line *l, const char *s) { put(l, s, strlen(s)); }

/* A JSON string literal of s (len bytes), escaped as log.h says. */
static void put_json_string(line *l, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    put(l, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : NULL;
        if (esc) { puts_(l, esc); i++; continue; }
        if (c < 0x20 || c == 0x7F) {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            put(l, u, 6);
            i++;
            continue;
        }
        size_t n = c < 0x80 ? 1 : topic_utf8_seq(s + i, len - i);
        if (n == 0) { puts_(l, "\\uFFFD"); i++; continue; }
        put(l, s + i, n);
        i += n;
    }
    put(l, "\"", 1);
}

static void put_cstr(line *l, const char *s) { put_json_string(l, s, strlen(s)); }

static void put_fmt(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(line *l, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) put(l, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void put_field(line *l, const jlog_field *f)
{
    put(l, ",", 1);
    put_cstr(l, f->key ? f->key : "");
    put(l, ":", 1);
    switch (f->type) {
    case JLOG_T_STR: if (f->s) put_cstr(l, f->s); else puts_(l, "null"); break;
    case JLOG_T_INT: put_fmt(l, "%lld", (long long)f->i); break;
    case JLOG_T_UINT: put_fmt(l, "%llu", (unsigned long long)f->u); break;
    case JLOG_T_F64: if (isfinite(f->d)) put_fmt(l, "%.17g", f->d); else puts_(l, "null"); break;
    case JLOG_T_BOOL: puts_(l, f->i ? "true" : "false"); break;
    default: puts_(l, "null"); break;
    }
}

/* "2026-11-26T15:04:05.123Z" */
static void put_time(line *l, int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    long ms = (long)(ns % 1000000000) / 1000000;
    if (ms < 0) { ms += 1000; secs -= 1; }
    struct tm tm;
    char buf[40];
    if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(buf, sizeof buf, "1970-01-01T00:00:00");
    put(l, "\"", 1);
    puts_(l, buf);
    put_fmt(l, ".%03ldZ\"", ms);
}

static int64_t now_ns(const jlog *lg)
{
    if (lg->clock) return lg->clock(lg->clock_user);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- writing ------------------------------------------------------------- */

static void emit(jlog *lg, line *l)
{
    pthread_mutex_lock(&lg->lock);
    fwrite(l->p, 1, l->len, lg->out);
    fflush(lg->out);
    pthread_mutex_unlock(&lg->lock);
}

void jlog_write(jlog *lg, jlog_level level, const char *module, const char *msg,
                const jlog_field *fields, size_t count)
{
    if (!jlog_enabled(lg, level)) return;
    char stack[512];
    line l = { stack, 0, sizeof stack, false, false };
    puts_(&l, "{\"ts\":");
    put_time(&l, now_ns(lg));
    puts_(&l, ",\"level\":\"");
    puts_(&l, jlog_level_name(level));
    puts_(&l, "\",\"module\":");
    put_cstr(&l, module ? module : "agent");
    puts_(&l, ",\"msg\":");
    put_cstr(&l, msg ? msg : "");
    for (size_t i = 0; i < count; i++) put_field(&l, &fields[i]);
    if (l.failed) {
        /* Out of memory mid-line: keep what fits, still valid JSON. */
        l.len = 0;
        l.failed = false;
        l.p = l.heap ? l.p : stack;
        puts_(&l, "{\"level\":\"error\",\"module\":\"agent\",\"msg\":\"log line lost: out of memory\"");
    }
    puts_(&l, "}\n");
    emit(lg, &l);
    if (l.heap) free(l.p);
}

void jlog_printf(jlog *lg, jlog_level level, const char *module, const char *fmt, ...)
{
    if (!jlog_enabled(lg, level)) return;
    char stack[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    char *msg = stack;
    if (n >= (int)sizeof stack && (msg = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    jlog_write(lg, level, module, msg ? msg : stack, NULL, 0);
    if (msg && msg != stack) free(msg);
}
