/* error.c - the error catalogue (graft_errors.def) and THE first-detection
 * function, graft__verror: every error the engine reports is set here.
 *
 * Also a small printf subset (graft__vfmt) so that building a message needs
 * no libc formatter: newlib's vsnprintf pulls in malloc on a
 * microcontroller, and the engine must link without one. */
#include "env.h"

#include <string.h>

static const struct {
    graft_result cls;
    const char *text;
} catalogue[GRAFT_E_COUNT_] = {
#define GRAFT_ERROR(name, cls, text) {cls, text},
#include <graft_errors.def>
#undef GRAFT_ERROR
};

const char *graft_error_code_text(graft_error_code c)
{
    return (unsigned)c < GRAFT_E_COUNT_ ? catalogue[c].text : "unknown error code";
}

graft_result graft__error_class(graft_error_code c)
{
    return (unsigned)c < GRAFT_E_COUNT_ ? catalogue[c].cls : GRAFT_ERR_API;
}

const char *graft_result_name(graft_result r)
{
    switch (r) {
    case GRAFT_OK: return "ok";
    case GRAFT_ERR_MALFORMED: return "malformed module";
    case GRAFT_ERR_INVALID: return "invalid module";
    case GRAFT_ERR_LINK: return "link error";
    case GRAFT_ERR_TRAP: return "trap";
    case GRAFT_ERR_RESOURCE: return "resource exhausted";
    case GRAFT_ERR_IO: return "I/O error";
    case GRAFT_ERR_SECURITY: return "security refusal";
    case GRAFT_ERR_API: return "API misuse";
    case GRAFT_EXIT: return "exit";
    case GRAFT_SUSPENDED: return "suspended";
    }
    return "unknown result";
}

const char *graft_valtype_name(graft_valtype t)
{
    switch (t) {
    case GRAFT_I32: return "i32";
    case GRAFT_I64: return "i64";
    case GRAFT_F32: return "f32";
    case GRAFT_F64: return "f64";
    case GRAFT_V128: return "v128";
    case GRAFT_FUNCREF: return "funcref";
    case GRAFT_EXTERNREF: return "externref";
    }
    return "unknown";
}

void graft__error_clear(gr_errbuf *e)
{
    e->msg[0] = 0;
    e->trace[0] = 0;
    e->pub.result = GRAFT_OK;
    e->pub.code = GRAFT_E_NONE;
    e->pub.message = e->msg;
    e->pub.offset = GRAFT_NO_OFFSET;
    e->pub.func_index = GRAFT_NO_INDEX;
    e->pub.backtrace = e->trace;
    e->pub.exit_code = 0;
}

graft_result graft__verror(gr_errbuf *e, graft_error_code code, uint64_t offset, uint32_t func,
                           const char *fmt, va_list ap)
{
    graft__error_clear(e);
    const char *text = graft_error_code_text(code);
    size_t n = graft__fmt(e->msg, sizeof e->msg, "%s", text);
    if (fmt && n + 2 < sizeof e->msg) {
        e->msg[n++] = ':';
        e->msg[n++] = ' ';
        graft__vfmt(e->msg + n, sizeof e->msg - n, fmt, ap);
    }
    e->pub.result = graft__error_class(code);
    e->pub.code = code;
    e->pub.offset = offset;
    e->pub.func_index = func;
    return e->pub.result;
}

graft_result graft__error(gr_errbuf *e, graft_error_code code, uint64_t offset, uint32_t func,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    graft_result r = graft__verror(e, code, offset, func, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- Formatting ------------------------------------------------------------ */

typedef struct out {
    char *buf;
    size_t cap, len;
} out;

static void put(out *o, char c)
{
    if (o->len + 1 < o->cap) o->buf[o->len++] = c;
}

static void put_uint(out *o, unsigned long long v, unsigned base, int negative)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (negative) put(o, '-');
    while (n) put(o, tmp[--n]);
}

size_t graft__vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    out o = {buf, cap, 0};
    if (cap == 0) return 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        int longs = 0, size_t_arg = 0;
        while (*p == 'l') { longs++; p++; }
        if (*p == 'z') { size_t_arg = 1; p++; }
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            while (*s) put(&o, *s++);
            break;
        }
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case 'd': {
            long long v = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_uint(&o, mag, 10, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = size_t_arg ? va_arg(ap, size_t)
                                   : longs >= 2 ? va_arg(ap, unsigned long long)
                                   : longs      ? va_arg(ap, unsigned long)
                                                : va_arg(ap, unsigned);
            put_uint(&o, v, *p == 'x' ? 16 : 10, 0);
            break;
        }
        case '%': put(&o, '%'); break;
        case 0: p--; break;
        default: put(&o, '%'); put(&o, *p); break;
        }
    }
    o.buf[o.len < cap ? o.len : cap - 1] = 0;
    return o.len;
}

size_t graft__fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = graft__vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}
