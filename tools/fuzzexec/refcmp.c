/* refcmp.c - compare Graft's events with binaryen's --fuzz-exec output.
 *
 * Binaryen (version 108) prints, on stdout:
 *   [fuzz-exec] calling NAME
 *   [fuzz-exec] note result: NAME => V         one value, or "(V, V, ...)"
 *   [LoggingExternalInterface logging V]       log-i64 prints "LOW HIGH" i32s
 *   [trap MESSAGE]                             the call (or instantiation) trapped
 *   [host limit MESSAGE]                       binaryen gave up: skip
 * Values: integers in decimal (tuple members may print unsigned), floats as
 * the shortest decimal that reads back exactly, "inf", "-0", "nan:0xPAYLOAD";
 * references as "funcref(NAME)", "funcref(null)", "null", and a single
 * reference result as its bare type name ("funcref", "anyref").
 *
 * Each relevant line is read with the type Graft's matching event has. A
 * bare reference type name carries no value and is not compared (filter
 * F1 in tests/fuzz/diff-filters.md); function references are compared as
 * null or non-null, since binaryen prints internal function names (F2). */
#include "fuzzexec.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_reader {
    const char *p;       /* next unread character */
    char line[65536];    /* the current relevant line */
    unsigned lineno;     /* of the current line in the reference */
} ref_reader;

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Advance to the next line that is one of binaryen's observations. */
static bool next_line(ref_reader *r)
{
    while (*r->p) {
        const char *end = strchr(r->p, '\n');
        size_t n = end ? (size_t)(end - r->p) : strlen(r->p);
        if (n >= sizeof r->line) n = sizeof r->line - 1;
        memcpy(r->line, r->p, n);
        r->line[n] = 0;
        r->p = end ? end + 1 : r->p + strlen(r->p);
        r->lineno++;
        if (starts(r->line, "[fuzz-exec] calling ") || starts(r->line, "[fuzz-exec] note result: ") ||
            starts(r->line, "[LoggingExternalInterface logging") || starts(r->line, "[trap ") ||
            starts(r->line, "[host limit"))
            return true;
    }
    r->line[0] = 0;
    return false;
}

/* An integer as printed, signed or unsigned, reduced modulo 2^64. */
static bool parse_int(const char *t, uint64_t *out)
{
    bool neg = *t == '-';
    if (neg) t++;
    if (*t < '0' || *t > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(t, &end, 10);
    if (errno || *end) return false;
    *out = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    return true;
}

/* A float as binaryen prints it, to f64 bits (is32: payload is 23 bits). */
static bool parse_float(const char *t, bool is32, uint64_t *bits)
{
    bool neg = *t == '-';
    const char *u = neg ? t + 1 : t;
    if (starts(u, "nan")) {
        uint64_t payload = is32 ? 0x400000u : 0x8000000000000ull;
        if (u[3] == ':') {
            char *end;
            payload = strtoull(u + 4, &end, 16);
            if (*end) return false;
        } else if (u[3]) {
            return false;
        }
        *bits = is32 ? ((neg ? 0x80000000u : 0) | 0x7f800000u | payload)
                     : ((neg ? 0x8000000000000000ull : 0) | 0x7ff0000000000000ull | payload);
        return true;
    }
    char *end;
    double d = strcmp(u, "inf") == 0 ? INFINITY : strtod(u, &end);
    if (strcmp(u, "inf") != 0 && *end) return false;
    if (neg) d = -d;
    if (is32) {
        float f = (float)d;
        uint32_t b;
        memcpy(&b, &f, 4);
        *bits = b;
    } else {
        memcpy(bits, &d, 8);
    }
    return true;
}

static bool is_nan_bits(uint64_t b, bool is32)
{
    return is32 ? ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu))
                : ((b & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
                   (b & 0xfffffffffffffull));
}

/* Does printed token t match Graft's value v? */
static bool match_val(const graft_val *v, const char *t, fx_counts *c)
{
    uint64_t x;
    switch (v->type) {
    case GRAFT_I32: return parse_int(t, &x) && (uint32_t)x == (uint32_t)v->of.i32;
    case GRAFT_I64: return parse_int(t, &x) && x == (uint64_t)v->of.i64;
    case GRAFT_F32:
    case GRAFT_F64: {
        bool is32 = v->type == GRAFT_F32;
        uint64_t g = is32 ? v->of.f32_bits : v->of.f64_bits;
        if (!parse_float(t, is32, &x)) return false;
        if (x == g) return true;
        if (is_nan_bits(x, is32) && is_nan_bits(g, is32)) {
            c->nan_norm++;   /* the one normalisation: NaN sign and payload */
            return true;
        }
        return false;
    }
    default: {
        bool null = v->of.funcref == NULL;
        if (strcmp(t, "null") == 0 || strcmp(t, "funcref(null)") == 0 ||
            strcmp(t, "externref(null)") == 0 || strcmp(t, "anyref(null)") == 0)
            return null;
        if (starts(t, "funcref(")) return !null;   /* filter F2 */
        return false;
    }
    }
}

/* Split "(a, b, c)" or "a" into tokens in place. Returns the count. */
static uint32_t split_vals(char *s, char **tok, uint32_t max)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
        s[n - 1] = 0;
        s++;
    } else {
        tok[0] = s;
        return 1;
    }
    uint32_t k = 0;
    while (k < max) {
        tok[k++] = s;
        char *comma = strstr(s, ", ");
        if (!comma) break;
        *comma = 0;
        s = comma + 2;
    }
    return k;
}

static bool is_bare_ref_type(const char *t)
{
    return strcmp(t, "funcref") == 0 || strcmp(t, "anyref") == 0 || strcmp(t, "externref") == 0;
}

static int diverge(const ref_reader *r, const fx_event *e, const char *what)
{
    printf("DIVERGE at reference line %u: %s\n  reference: %s\n  graft:     ", r->lineno, what,
           r->line[0] ? r->line : "(end of output)");
    switch (e->kind) {
    case FX_CALL: printf("calling %s", e->name); break;
    case FX_LOG: printf("log "); fx_print_val(stdout, &e->vals[0]); break;
    case FX_TRAP: printf("trap (%s)", e->message); break;
    case FX_INST_TRAP: printf("instantiation trap (%s)", e->message); break;
    case FX_RESULT:
        printf("result");
        for (uint32_t i = 0; i < e->nvals; i++) {
            printf(" ");
            fx_print_val(stdout, &e->vals[i]);
        }
        break;
    }
    printf("\n");
    return 1;
}

static int match_result(ref_reader *r, const fx_event *e, const char *name, fx_counts *c)
{
    char head[4096];
    snprintf(head, sizeof head, "[fuzz-exec] note result: %s => ", name);
    if (!starts(r->line, head)) return diverge(r, e, "expected a result");
    char *tok[FX_MAX_VALS];
    char *vals = r->line + strlen(head);
    if (e->nvals == 1 && is_bare_ref_type(vals)) return 0;   /* filter F1 */
    uint32_t n = split_vals(vals, tok, FX_MAX_VALS);
    if (n != e->nvals) return diverge(r, e, "result count");
    for (uint32_t i = 0; i < n; i++) {
        if (!match_val(&e->vals[i], tok[i], c)) return diverge(r, e, "result value");
        c->values++;
    }
    return 0;
}

static int match_log(ref_reader *r, const fx_event *e, fx_counts *c)
{
    const char *head = "[LoggingExternalInterface logging ";
    if (!starts(r->line, head)) return diverge(r, e, "expected a log line");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", r->line + strlen(head));
    size_t n = strlen(buf);
    if (n && buf[n - 1] == ']') buf[n - 1] = 0;
    char *sp = strchr(buf, ' ');
    bool ok;
    if (e->vals[0].type == GRAFT_I64 && sp) {   /* log-i64: "LOW HIGH" */
        *sp = 0;
        uint64_t lo, hi;
        ok = parse_int(buf, &lo) && parse_int(sp + 1, &hi) &&
             (((hi << 32) | (uint32_t)lo) == (uint64_t)e->vals[0].of.i64);
    } else {
        ok = match_val(&e->vals[0], buf, c);
    }
    if (!ok) return diverge(r, e, "logged value");
    c->values++;
    return 0;
}

/* One Graft event against the reference's next line(s). */
static int match_event(ref_reader *r, const fx_event *e, const char **cur, fx_counts *c)
{
    next_line(r);
    if (starts(r->line, "[host limit")) return 2;
    switch (e->kind) {
    case FX_CALL:
        if (!starts(r->line, "[fuzz-exec] calling ") ||
            strcmp(r->line + strlen("[fuzz-exec] calling "), e->name) != 0)
            return diverge(r, e, "expected a call");
        *cur = e->name;
        c->calls++;
        return 0;
    case FX_TRAP:
    case FX_INST_TRAP:
        if (!starts(r->line, "[trap ")) return diverge(r, e, "expected a trap");
        c->traps++;
        return 0;
    case FX_LOG: return match_log(r, e, c);
    case FX_RESULT: return match_result(r, e, *cur ? *cur : "", c);
    }
    return 1;
}

int fx_compare(const fx_events *ev, const char *ref, fx_counts *c)
{
    ref_reader *r = calloc(1, sizeof *r);
    if (!r) return 1;
    r->p = ref;
    const char *cur = NULL;
    int rc = 0;
    for (size_t i = 0; i < ev->count && rc == 0; i++)
        rc = match_event(r, &ev->items[i], &cur, c);
    if (rc == 0 && next_line(r)) {
        if (starts(r->line, "[host limit")) {
            rc = 2;
        } else {
            printf("DIVERGE at reference line %u: reference has more\n  reference: %s\n  graft:     (end)\n",
                   r->lineno, r->line);
            rc = 1;
        }
    }
    free(r);
    return rc;
}
