/* values.c - spec-test values (see values.h).
 *
 * Numbers arrive as unsigned decimal strings of their bit patterns and are
 * parsed here with an overflow-checked loop (stricter than strtoull: no
 * sign, no spaces, no base prefixes). Externref N maps to the pointer
 * N + 1, so that ref.extern 0 is not null and the mapping needs no table. */
#include "values.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    graft_valtype type;
} type_names[] = {
    { "i32", GRAFT_I32 },         { "i64", GRAFT_I64 },   { "f32", GRAFT_F32 },
    { "f64", GRAFT_F64 },         { "v128", GRAFT_V128 }, { "funcref", GRAFT_FUNCREF },
    { "externref", GRAFT_EXTERNREF },
};

const char *spec_valtype_name(graft_valtype t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return "?";
}

bool spec_type_parse(const json_node *node, graft_valtype *out)
{
    const json_node *t = json_get_string(node, "type");
    for (size_t i = 0; t && i < sizeof type_names / sizeof type_names[0]; i++) {
        if (json_is(t, type_names[i].name)) {
            *out = type_names[i].type;
            return true;
        }
    }
    return false;
}

/* Unsigned decimal string of at most max; false on anything else. */
static bool parse_u64(const json_node *s, uint64_t max, uint64_t *out)
{
    if (!s || s->kind != JSON_STRING || s->str_len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s->str_len; i++) {
        char c = s->str[i];
        if (c < '0' || c > '9')
            return false;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static spec_nan parse_nan(const json_node *s)
{
    if (json_is(s, "nan:canonical"))
        return SPEC_NAN_CANONICAL;
    if (json_is(s, "nan:arithmetic"))
        return SPEC_NAN_ARITHMETIC;
    return SPEC_NAN_NONE;
}

/* The lanes of {"type":"v128","lane_type":L,"value":[...]}. */
static bool parse_v128(const json_node *node, bool allow_patterns, spec_val *out, char *err,
                       size_t errlen)
{
    static const struct {
        const char *name;
        unsigned bits;
        bool is_float;
    } lanes[] = { { "i8", 8, false },   { "i16", 16, false }, { "i32", 32, false },
                  { "i64", 64, false }, { "f32", 32, true },  { "f64", 64, true } };
    const json_node *lt = json_get_string(node, "lane_type");
    const json_node *vals = json_get(node, "value");
    size_t k = 0;
    while (k < sizeof lanes / sizeof lanes[0] && !json_is(lt, lanes[k].name))
        k++;
    if (k == sizeof lanes / sizeof lanes[0]) {
        snprintf(err, errlen, "v128 without a known lane_type");
        return false;
    }
    unsigned w = lanes[k].bits / 8, n = 16 / w;
    if (!vals || vals->kind != JSON_ARRAY || vals->count != n) {
        snprintf(err, errlen, "v128 needs %u lanes", n);
        return false;
    }
    out->lane_bits = lanes[k].bits;
    out->lane_float = lanes[k].is_float;
    uint64_t max = w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * w)) - 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = 0;
        spec_nan nan = parse_nan(vals->items[i]);
        if (nan != SPEC_NAN_NONE && (!allow_patterns || !out->lane_float)) {
            snprintf(err, errlen, "NaN pattern not allowed in lane %u", i);
            return false;
        }
        if (nan == SPEC_NAN_NONE && !parse_u64(vals->items[i], max, &v)) {
            snprintf(err, errlen, "bad v128 lane %u", i);
            return false;
        }
        out->lane_nan[i] = nan;
        for (unsigned b = 0; b < w; b++)
            out->v128[i * w + b] = (uint8_t)(v >> (8 * b));
    }
    return true;
}

bool spec_val_parse(const json_node *node, bool allow_patterns, spec_val *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!spec_type_parse(node, &out->type)) {
        snprintf(err, errlen, "value without a known type");
        return false;
    }
    if (out->type == GRAFT_V128)
        return parse_v128(node, allow_patterns, out, err, errlen);
    const json_node *s = json_get_string(node, "value");
    if (!s) {
        snprintf(err, errlen, "%s value without a string \"value\"", spec_valtype_name(out->type));
        return false;
    }
    switch (out->type) {
    case GRAFT_FUNCREF:
    case GRAFT_EXTERNREF:
        if (json_is(s, "null")) {
            out->is_null = true;
            return true;
        }
        if (out->type == GRAFT_EXTERNREF && parse_u64(s, UINT64_MAX - 1, &out->extern_n))
            return true;
        snprintf(err, errlen, "unsupported %s value", spec_valtype_name(out->type));
        return false;
    case GRAFT_F32:
    case GRAFT_F64:
        out->nan = parse_nan(s);
        if (out->nan != SPEC_NAN_NONE) {
            if (allow_patterns)
                return true;
            snprintf(err, errlen, "NaN pattern in an argument");
            return false;
        }
        break;
    default:
        break;
    }
    bool wide = out->type == GRAFT_I64 || out->type == GRAFT_F64;
    if (!parse_u64(s, wide ? UINT64_MAX : UINT32_MAX, &out->bits)) {
        snprintf(err, errlen, "bad %s value", spec_valtype_name(out->type));
        return false;
    }
    return true;
}

void *spec_extern_ref(uint64_t n)
{
    return (void *)(uintptr_t)(n + 1);
}

bool spec_val_to_graft(const spec_val *v, graft_val *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->type = v->type;
    switch (v->type) {
    case GRAFT_I32: out->of.i32 = (int32_t)(uint32_t)v->bits; return true;
    case GRAFT_I64: out->of.i64 = (int64_t)v->bits; return true;
    case GRAFT_F32: out->of.f32_bits = (uint32_t)v->bits; return true;
    case GRAFT_F64: out->of.f64_bits = v->bits; return true;
    case GRAFT_EXTERNREF:
        out->of.externref = v->is_null ? NULL : spec_extern_ref(v->extern_n);
        return true;
    case GRAFT_FUNCREF:
        if (v->is_null) {
            out->of.funcref = NULL;
            return true;
        }
        break;
    default:
        break;
    }
    snprintf(err, errlen, "%s arguments cannot be passed through the public API",
             spec_valtype_name(v->type));
    return false;
}

static bool float_matches(spec_nan nan, uint64_t expected, uint64_t got, bool is64)
{
    uint64_t abs_mask = is64 ? UINT64_C(0x7fffffffffffffff) : UINT64_C(0x7fffffff);
    uint64_t quiet = is64 ? UINT64_C(0x7ff8000000000000) : UINT64_C(0x7fc00000);
    switch (nan) {
    case SPEC_NAN_CANONICAL: return (got & abs_mask) == quiet;
    case SPEC_NAN_ARITHMETIC: return (got & quiet) == quiet;
    default: return got == expected;
    }
}

bool spec_val_matches(const spec_val *e, const graft_val *got)
{
    if (got->type != e->type)
        return false;
    switch (e->type) {
    case GRAFT_I32: return (uint32_t)got->of.i32 == (uint32_t)e->bits;
    case GRAFT_I64: return (uint64_t)got->of.i64 == e->bits;
    case GRAFT_F32: return float_matches(e->nan, e->bits, got->of.f32_bits, false);
    case GRAFT_F64: return float_matches(e->nan, e->bits, got->of.f64_bits, true);
    case GRAFT_FUNCREF: return e->is_null && got->of.funcref == NULL;
    case GRAFT_EXTERNREF:
        return got->of.externref == (e->is_null ? NULL : spec_extern_ref(e->extern_n));
    default: return false; /* v128 cannot come back through graft_val */
    }
}

static void format_bits(graft_valtype t, uint64_t bits, char *buf, size_t len)
{
    switch (t) {
    case GRAFT_I32:
        snprintf(buf, len, "i32:%" PRIu32 " (0x%08" PRIx32 ")", (uint32_t)bits, (uint32_t)bits);
        break;
    case GRAFT_I64:
        snprintf(buf, len, "i64:%" PRIu64 " (0x%016" PRIx64 ")", bits, bits);
        break;
    case GRAFT_F32: snprintf(buf, len, "f32:0x%08" PRIx32, (uint32_t)bits); break;
    default: snprintf(buf, len, "f64:0x%016" PRIx64, bits); break;
    }
}

void spec_val_format(const spec_val *v, char *buf, size_t len)
{
    switch (v->type) {
    case GRAFT_FUNCREF:
    case GRAFT_EXTERNREF:
        if (v->is_null)
            snprintf(buf, len, "%s:null", spec_valtype_name(v->type));
        else
            snprintf(buf, len, "externref:%" PRIu64, v->extern_n);
        return;
    case GRAFT_V128: {
        size_t n = (size_t)snprintf(buf, len, "v128:0x");
        for (int i = 15; i >= 0 && n + 3 <= len; i--)
            n += (size_t)snprintf(buf + n, len - n, "%02x", v->v128[i]);
        return;
    }
    default:
        break;
    }
    if (v->nan == SPEC_NAN_CANONICAL)
        snprintf(buf, len, "%s:nan:canonical", spec_valtype_name(v->type));
    else if (v->nan == SPEC_NAN_ARITHMETIC)
        snprintf(buf, len, "%s:nan:arithmetic", spec_valtype_name(v->type));
    else
        format_bits(v->type, v->bits, buf, len);
}

void spec_graft_val_format(const graft_val *v, char *buf, size_t len)
{
    switch (v->type) {
    case GRAFT_I32: format_bits(v->type, (uint32_t)v->of.i32, buf, len); break;
    case GRAFT_I64: format_bits(v->type, (uint64_t)v->of.i64, buf, len); break;
    case GRAFT_F32: format_bits(v->type, v->of.f32_bits, buf, len); break;
    case GRAFT_F64: format_bits(v->type, v->of.f64_bits, buf, len); break;
    case GRAFT_FUNCREF:
        if (v->of.funcref)
            snprintf(buf, len, "funcref:%p", (void *)v->of.funcref);
        else
            snprintf(buf, len, "funcref:null");
        break;
    case GRAFT_EXTERNREF:
        if (!v->of.externref)
            snprintf(buf, len, "externref:null");
        else if ((uintptr_t)v->of.externref <= UINT32_MAX)
            snprintf(buf, len, "externref:%" PRIu64, (uint64_t)(uintptr_t)v->of.externref - 1);
        else
            snprintf(buf, len, "externref:%p", v->of.externref);
        break;
    default: snprintf(buf, len, "type 0x%02x", (unsigned)v->type); break;
    }
}
