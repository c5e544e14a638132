/* values.c - the text syntax of WebAssembly values on graft's command
 * line: parsing `run --invoke` arguments and printing results.
 *
 * Integers are decimal (a leading '-' allowed) or 0x-hex, accepted over
 * the signed and unsigned ranges of their width together (so i32 takes
 * -2147483648..4294967295). Floats go through strtof/strtod, so decimal
 * and C99 hex-float both work and each rounds once, correctly, to its own
 * width; NaNs are written "nan", "-nan" (canonical quiet NaN) or
 * "nan:0xPAYLOAD" (exact significand bits) so payloads survive a round
 * trip. Printing uses the shortest %.Ng that reads back to the same bits.
 * Floats are carried as raw bits everywhere (graft_val), never as C
 * floats, so signalling NaNs are not quietened on the way. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* An integer of `bits` width: decimal with optional sign, or 0x-hex.
 * Out-of-range and trailing junk are errors. */
static bool parse_int(const char *s, unsigned bits, uint64_t *out, char *err, size_t err_len)
{
    bool neg = s[0] == '-';
    const char *digits = neg || s[0] == '+' ? s + 1 : s;
    int base = 10;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits += 2;
    }
    if (!(base == 16 ? strchr("0123456789abcdefABCDEF", digits[0]) : strchr("0123456789", digits[0]))
        || digits[0] == '\0') {
        snprintf(err, err_len, "'%s' is not an integer", s);
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long mag = strtoull(digits, &end, base);
    if (*end != '\0') {
        snprintf(err, err_len, "'%s' is not an integer", s);
        return false;
    }
    uint64_t umax = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    uint64_t nmax = UINT64_C(1) << (bits - 1); /* magnitude of the most negative */
    if (errno == ERANGE || (!neg && mag > umax) || (neg && mag > nmax)) {
        snprintf(err, err_len, "'%s' is out of range for i%u", s, bits);
        return false;
    }
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)mag : (uint64_t)mag;
    *out = bits == 64 ? v : (v & umax);
    return true;
}

/* "nan", "nan:0xPAYLOAD" after an optional sign, for a float whose
 * significand has mant_bits bits. Returns false when s is not NaN syntax
 * at all (*is_nan false) or when its payload is wrong (*is_nan true). */
static bool parse_nan(const char *s, unsigned mant_bits, uint64_t *out_bits, bool *is_nan,
                      char *err, size_t err_len)
{
    bool neg = s[0] == '-';
    const char *p = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
    *is_nan = false;
    if (strncmp(p, "nan", 3) != 0)
        return false;
    *is_nan = true;
    uint64_t total = mant_bits == 23 ? 32 : 64;
    uint64_t exp_all = mant_bits == 23 ? UINT64_C(0x7f800000) : UINT64_C(0x7ff0000000000000);
    uint64_t payload = UINT64_C(1) << (mant_bits - 1); /* the canonical NaN */
    if (p[3] == ':') {
        const char *hex = p + 4;
        char *end;
        errno = 0;
        if (strncmp(hex, "0x", 2) != 0 || !hex[2] || !strchr("0123456789abcdefABCDEF", hex[2]))
            goto bad;
        payload = strtoull(hex + 2, &end, 16);
        if (*end != '\0' || errno == ERANGE || payload == 0 || payload >> mant_bits)
            goto bad;
    } else if (p[3] != '\0') {
        goto bad;
    }
    *out_bits = exp_all | payload | (neg ? UINT64_C(1) << (total - 1) : 0);
    return true;
bad:
    snprintf(err, err_len, "'%s': a NaN is nan, -nan or nan:0xPAYLOAD with 1 <= PAYLOAD < 2^%u",
             s, mant_bits);
    return false;
}

static bool parse_float(const char *s, bool is64, uint64_t *out_bits, char *err, size_t err_len)
{
    bool is_nan;
    if (parse_nan(s, is64 ? 52 : 23, out_bits, &is_nan, err, err_len))
        return true;
    if (is_nan)
        return false;
    char *end;
    errno = 0;
    double d = 0;
    float f = 0;
    if (is64)
        d = strtod(s, &end);
    else
        f = strtof(s, &end);
    double v = is64 ? d : (double)f;
    const char *p = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
    bool literal_inf = !strncmp(p, "inf", 3);
    if (end == s || *end != '\0' || isnan(v) || (isinf(v) && !literal_inf)) {
        snprintf(err, err_len, "'%s' is not an f%d (decimal, hex-float, inf, nan or nan:0x...)%s",
                 s, is64 ? 64 : 32, isinf(v) && !literal_inf ? ": out of range" : "");
        return false;
    }
    if (is64) {
        memcpy(out_bits, &d, sizeof d);
    } else {
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        *out_bits = b;
    }
    return true;
}

bool cli_value_parse(graft_valtype t, const char *text, graft_val *out, char *err,
                     size_t err_len)
{
    const char *name = graft_valtype_name(t);
    size_t n = strlen(name);
    if (!strncmp(text, name, n) && text[n] == ':')
        text += n + 1; /* the optional type prefix, as results are printed */
    memset(out, 0, sizeof *out);
    out->type = t;
    uint64_t bits = 0;
    switch (t) {
    case GRAFT_I32:
        if (!parse_int(text, 32, &bits, err, err_len)) return false;
        out->of.i32 = (int32_t)(uint32_t)bits;
        return true;
    case GRAFT_I64:
        if (!parse_int(text, 64, &bits, err, err_len)) return false;
        out->of.i64 = (int64_t)bits;
        return true;
    case GRAFT_F32:
        if (!parse_float(text, false, &bits, err, err_len)) return false;
        out->of.f32_bits = (uint32_t)bits;
        return true;
    case GRAFT_F64:
        if (!parse_float(text, true, &bits, err, err_len)) return false;
        out->of.f64_bits = bits;
        return true;
    case GRAFT_FUNCREF:
    case GRAFT_EXTERNREF:
        if (!strcmp(text, "null"))
            return true;
        snprintf(err, err_len, "'%s': only null can be passed as a %s", text, name);
        return false;
    case GRAFT_V128:
        break;
    }
    snprintf(err, err_len, "values of type %s cannot be passed on the command line", name);
    return false;
}

/* Shortest "%.Ng" that reads back (strtof/strtod) to the same bits. */
static void format_float(uint64_t bits, bool is64, char *buf, size_t len)
{
    unsigned mant_bits = is64 ? 52 : 23;
    uint64_t sign = bits >> (is64 ? 63 : 31);
    uint64_t payload = bits & ((UINT64_C(1) << mant_bits) - 1);
    uint64_t exp_field = (bits >> mant_bits) & (is64 ? 0x7ff : 0xff);
    bool all_ones = exp_field == (is64 ? 0x7ffu : 0xffu);
    if (all_ones && payload) {
        snprintf(buf, len, "%snan:0x%" PRIx64, sign ? "-" : "", payload);
        return;
    }
    if (all_ones) {
        snprintf(buf, len, "%sinf", sign ? "-" : "");
        return;
    }
    double d;
    float f;
    if (is64) {
        memcpy(&d, &bits, sizeof d);
    } else {
        uint32_t b = (uint32_t)bits;
        memcpy(&f, &b, sizeof f);
        d = f;
    }
    for (int prec = 1; prec <= (is64 ? 17 : 9); prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (is64 ? strtod(buf, NULL) == d : strtof(buf, NULL) == f)
            return; /* zero's sign survives: %g prints "-0" */
    }
}

void cli_value_format(const graft_val *v, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s:", graft_valtype_name(v->type));
    if (n < 0 || (size_t)n >= len)
        return;
    char *p = buf + n;
    size_t rest = len - (size_t)n;
    switch (v->type) {
    case GRAFT_I32: snprintf(p, rest, "%" PRId32, v->of.i32); break;
    case GRAFT_I64: snprintf(p, rest, "%" PRId64, v->of.i64); break;
    case GRAFT_F32: format_float(v->of.f32_bits, false, p, rest); break;
    case GRAFT_F64: format_float(v->of.f64_bits, true, p, rest); break;
    case GRAFT_FUNCREF: snprintf(p, rest, "%s", v->of.funcref ? "func" : "null"); break;
    case GRAFT_EXTERNREF:
        if (v->of.externref)
            snprintf(p, rest, "%p", v->of.externref);
        else
            snprintf(p, rest, "null");
        break;
    case GRAFT_V128: snprintf(p, rest, "(not printable)"); break;
    }
}

/* snprintf at buf + *used, advancing *used; output past len is dropped. */
static void append(char *buf, size_t len, size_t *used, const char *text1, const char *text2)
{
    if (*used >= len)
        return;
    int k = snprintf(buf + *used, len - *used, "%s%s", text1, text2);
    if (k > 0)
        *used += (size_t)k;
}

void cli_functype_format(const graft_functype *ft, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    append(buf, len, &used, "(", "");
    for (uint32_t i = 0; i < ft->nparams; i++)
        append(buf, len, &used, i ? ", " : "", graft_valtype_name(ft->params[i]));
    append(buf, len, &used, ") -> (", "");
    for (uint32_t i = 0; i < ft->nresults; i++)
        append(buf, len, &used, i ? ", " : "", graft_valtype_name(ft->results[i]));
    append(buf, len, &used, ")", "");
}
