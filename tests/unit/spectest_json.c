/* spectest_json.c - tests of the spec runner's JSON parser (tools/spectest/
 * json.c) and value handling (values.c), which cmake/tests.cmake compiles
 * into this program.
 *
 * The parser must be strict and bounded: wast2json's \u00XX escapes are one
 * byte each (names contain NUL), every prefix of a valid document is an
 * error, and no input makes it crash or leak (ASan/LSan run on this test).
 * The value tests pin down the bitwise float rules and NaN patterns. */
#include "harness.h"

#include <stdlib.h>

#include "json.h"
#include "values.h"

static json_node *parse(const char *s)
{
    return json_parse(s, strlen(s), NULL);
}

static bool rejects(const char *s)
{
    json_error err;
    json_node *n = json_parse(s, strlen(s), &err);
    json_free(n);
    return n == NULL && err.message[0] != '\0';
}

static void test_basic(void)
{
    json_node *n = parse(" {\"a\": [1, -2, 3.5e1, true, false, null], \"b\": {}, \"c\": []} ");
    CHECK(n != NULL);
    if (!n)
        return;
    const json_node *a = json_get(n, "a");
    CHECK(a && a->kind == JSON_ARRAY && a->count == 6);
    if (a && a->count == 6) {
        CHECK(a->items[0]->is_integer && a->items[0]->integer == 1);
        CHECK(a->items[1]->is_integer && a->items[1]->integer == -2);
        CHECK(!a->items[2]->is_integer && a->items[2]->number == 35.0);
        CHECK_EQ_INT(a->items[3]->kind, JSON_TRUE);
        CHECK_EQ_INT(a->items[4]->kind, JSON_FALSE);
        CHECK_EQ_INT(a->items[5]->kind, JSON_NULL);
    }
    CHECK(json_get(n, "b") && json_get(n, "b")->kind == JSON_OBJECT && json_get(n, "b")->count == 0);
    CHECK(json_get(n, "c") && json_get(n, "c")->count == 0);
    CHECK(json_get(n, "d") == NULL);
    CHECK(json_get_string(n, "a") == NULL);
    json_free(n);
}

static void test_escapes(void)
{
    /* \u00XX is one byte, NUL included; raw UTF-8 passes through. */
    json_node *n = parse("\"a\\u0000b\\u00ff\\u001f\\\"\\\\\\/\\n\\t\\r\\b\\f\xc3\xa5\"");
    CHECK(n && n->kind == JSON_STRING);
    if (n) {
        static const char want[] = "a\0b\xff\x1f\"\\/\n\t\r\b\f\xc3\xa5";
        CHECK_EQ_INT(n->str_len, sizeof want - 1);
        CHECK(n->str_len == sizeof want - 1 && memcmp(n->str, want, sizeof want - 1) == 0);
        CHECK_EQ_INT(n->str[n->str_len], 0);
    }
    json_free(n);
    /* Keys with NUL bytes are kept whole and compared by length. */
    n = parse("{\"k\\u0000x\": 1, \"k\": 2}");
    CHECK(n && n->count == 2 && n->members[0].key_len == 3);
    CHECK(json_get(n, "k") && json_get(n, "k")->integer == 2);
    json_free(n);
    /* Uppercase hex digits. */
    n = parse("\"\\u00AB\"");
    CHECK(n && n->str_len == 1 && (unsigned char)n->str[0] == 0xAB);
    json_free(n);
    CHECK(rejects("\"\\u0100\""));   /* more than one byte: never written by wabt */
    CHECK(rejects("\"\\ud800\""));
    CHECK(rejects("\"\\x41\""));
    CHECK(rejects("\"\\u00g1\""));
    CHECK(rejects("\"\\u00\""));
    CHECK(rejects("\"\\"));
    CHECK(rejects("\"a\nb\""));      /* raw control characters */
    CHECK(rejects("\"a\tb\""));
}

static void test_strictness(void)
{
    CHECK(rejects(""));
    CHECK(rejects("   "));
    CHECK(rejects("[1,]"));
    CHECK(rejects("{\"a\":1,}"));
    CHECK(rejects("[1 2]"));
    CHECK(rejects("{\"a\" 1}"));
    CHECK(rejects("{a: 1}"));
    CHECK(rejects("{1: 1}"));
    CHECK(rejects("01"));
    CHECK(rejects("-"));
    CHECK(rejects("1."));
    CHECK(rejects("1e"));
    CHECK(rejects("+1"));
    CHECK(rejects(".5"));
    CHECK(rejects("tru"));
    CHECK(rejects("nulll"));
    CHECK(rejects("[] []"));
    CHECK(rejects("[1] x"));
    CHECK(rejects("/* c */ 1"));
    CHECK(rejects("'a'"));
    CHECK(rejects("[\"a\"\"b\"]"));
    /* A NUL byte outside a string is just an unexpected character. */
    CHECK(json_parse("[1]\0", 4, NULL) == NULL);
    /* The length is honoured: text after len is never read. */
    json_node *n = json_parse("[1]garbage", 3, NULL);
    CHECK(n && n->kind == JSON_ARRAY && n->count == 1);
    json_free(n);
    /* Numbers: -0 and large integers. */
    n = parse("[-0, 123456789012345678, 1234567890123456789012]");
    CHECK(n && n->count == 3);
    if (n && n->count == 3) {
        CHECK(n->items[0]->is_integer && n->items[0]->integer == 0);
        CHECK(n->items[1]->is_integer && n->items[1]->integer == 123456789012345678LL);
        CHECK(!n->items[2]->is_integer);
    }
    json_free(n);
}

static void test_errors(void)
{
    json_error err;
    const char *doc = "{\n \"a\": [1,\n  2,,]}";
    json_node *n = json_parse(doc, strlen(doc), &err);
    CHECK(n == NULL);
    CHECK_EQ_INT(err.line, 3);
    CHECK_EQ_INT(err.offset, 16);
    CHECK(err.message[0] != '\0');
}

static void test_nesting(void)
{
    char deep[2 * (JSON_MAX_DEPTH + 1) + 1];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        int i = 0;
        for (int k = 0; k < depth; k++)
            deep[i++] = '[';
        for (int k = 0; k < depth; k++)
            deep[i++] = ']';
        deep[i] = '\0';
        json_node *n = parse(deep);
        if (depth == JSON_MAX_DEPTH)
            CHECK(n != NULL);
        else
            CHECK(n == NULL);
        json_free(n);
    }
    /* Unbalanced deep input fails without recursing without bound. */
    char *huge = malloc(100001);
    if (huge) {
        memset(huge, '[', 100000);
        huge[100000] = '\0';
        CHECK(rejects(huge));
        memset(huge, '{', 100000);
        CHECK(rejects(huge));
        free(huge);
    }
}

/* Every prefix of a valid document that stops before its closing '}' is
 * an error, and none leaks. */
static void test_truncation(void)
{
    const char *doc = "{\"source_filename\": \"x.wast\",\n \"commands\": [\n"
                      "  {\"type\": \"assert_return\", \"line\": 12, \"action\": {\"type\": \"invoke\", "
                      "\"field\": \"f\\u0000\", \"args\": [{\"type\": \"f32\", \"value\": "
                      "\"2143289344\"}]}, \"expected\": [{\"type\": \"f32\", \"value\": "
                      "\"nan:canonical\"}]}, \n  {\"type\": \"register\", \"as\": \"M\"}]}\n";
    size_t len = strlen(doc);
    int accepted = 0;
    for (size_t i = 0; i + 1 < len; i++) { /* the last byte is a newline */
        json_node *n = json_parse(doc, i, NULL);
        accepted += n != NULL;
        json_free(n);
    }
    CHECK_EQ_INT(accepted, 0);
    json_node *n = json_parse(doc, len, NULL);
    const json_node *cmds = json_get(n, "commands");
    CHECK(cmds && cmds->kind == JSON_ARRAY && cmds->count == 2);
    if (cmds && cmds->count == 2) {
        const json_node *field = json_get_string(json_get(cmds->items[0], "action"), "field");
        CHECK(field && field->str_len == 2 && field->str[1] == '\0');
        CHECK(json_is(json_get(cmds->items[1], "type"), "register"));
    }
    json_free(n);
}

/* The suite's own names.json: 486 counted commands and NUL in a name. */
static void test_suite_file(void)
{
    FILE *f = fopen(GRAFT_SPECTEST_DIR "/core/names/names.json", "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    char *buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    json_node *n = buf ? json_parse(buf, len, NULL) : NULL;
    const json_node *cmds = json_get(n, "commands");
    CHECK(cmds && cmds->count == 486);
    bool has_nul = false;
    for (size_t i = 0; cmds && i < cmds->count; i++) {
        const json_node *field = json_get_string(json_get(cmds->items[i], "action"), "field");
        if (field && memchr(field->str, '\0', field->str_len))
            has_nul = true;
    }
    CHECK(has_nul);
    json_free(n);
    free(buf);
}

static spec_val val(const char *json, bool patterns, bool *ok)
{
    spec_val v;
    char err[128];
    json_node *n = parse(json);
    *ok = n && spec_val_parse(n, patterns, &v, err, sizeof err);
    json_free(n);
    return v;
}

static void test_values(void)
{
    bool ok;
    spec_val v = val("{\"type\": \"i32\", \"value\": \"4294967295\"}", false, &ok);
    graft_val g;
    char err[128];
    CHECK(ok && v.bits == 0xffffffffu);
    CHECK(ok && spec_val_to_graft(&v, &g, err, sizeof err) && g.of.i32 == -1);
    val("{\"type\": \"i32\", \"value\": \"4294967296\"}", false, &ok);
    CHECK(!ok);
    val("{\"type\": \"i64\", \"value\": \"18446744073709551616\"}", false, &ok);
    CHECK(!ok);
    val("{\"type\": \"i32\", \"value\": \"-1\"}", false, &ok);
    CHECK(!ok);
    val("{\"type\": \"f32\", \"value\": \"nan:canonical\"}", false, &ok);
    CHECK(!ok); /* patterns only in expected lists */

    /* A signalling NaN argument keeps its payload. */
    v = val("{\"type\": \"f32\", \"value\": \"2139095041\"}", false, &ok);
    CHECK(ok && spec_val_to_graft(&v, &g, err, sizeof err) && g.of.f32_bits == 0x7f800001u);
    CHECK(spec_val_matches(&v, &g));
    g.of.f32_bits = 0x7fc00001u;
    CHECK(!spec_val_matches(&v, &g));

    spec_val canon = val("{\"type\": \"f32\", \"value\": \"nan:canonical\"}", true, &ok);
    spec_val arith = val("{\"type\": \"f64\", \"value\": \"nan:arithmetic\"}", true, &ok);
    graft_val f32 = { .type = GRAFT_F32 }, f64 = { .type = GRAFT_F64 };
    f32.of.f32_bits = 0xffc00000u;
    CHECK(spec_val_matches(&canon, &f32));
    f32.of.f32_bits = 0x7fc00001u;
    CHECK(!spec_val_matches(&canon, &f32));
    f64.of.f64_bits = 0xfff8000000000001ull;
    CHECK(spec_val_matches(&arith, &f64));
    f64.of.f64_bits = 0x7ff0000000000001ull;
    CHECK(!spec_val_matches(&arith, &f64));
    CHECK(!spec_val_matches(&arith, &f32)); /* type must match too */

    /* -0 and +0 differ. */
    spec_val zero = val("{\"type\": \"f64\", \"value\": \"0\"}", true, &ok);
    f64.of.f64_bits = 0x8000000000000000ull;
    CHECK(!spec_val_matches(&zero, &f64));

    /* externref N: non-null, equal for equal N, distinct for distinct N. */
    spec_val e0 = val("{\"type\": \"externref\", \"value\": \"0\"}", false, &ok);
    spec_val e1 = val("{\"type\": \"externref\", \"value\": \"1\"}", false, &ok);
    spec_val en = val("{\"type\": \"externref\", \"value\": \"null\"}", false, &ok);
    graft_val r0, r1, rn;
    CHECK(spec_val_to_graft(&e0, &r0, err, sizeof err) && r0.of.externref != NULL);
    CHECK(spec_val_to_graft(&e1, &r1, err, sizeof err) && r1.of.externref != r0.of.externref);
    CHECK(spec_val_to_graft(&en, &rn, err, sizeof err) && rn.of.externref == NULL);
    CHECK(spec_val_matches(&e0, &r0) && !spec_val_matches(&e0, &r1) && !spec_val_matches(&e0, &rn));
    CHECK(spec_val_matches(&en, &rn));
    val("{\"type\": \"funcref\", \"value\": \"3\"}", false, &ok);
    CHECK(!ok);

    /* v128 lanes are little-endian, lane 0 first. */
    v = val("{\"type\": \"v128\", \"lane_type\": \"i16\", \"value\": [\"258\", \"0\", \"0\", "
            "\"0\", \"0\", \"0\", \"0\", \"65535\"]}", false, &ok);
    CHECK(ok && v.v128[0] == 2 && v.v128[1] == 1 && v.v128[14] == 0xff && v.v128[15] == 0xff);
    val("{\"type\": \"v128\", \"lane_type\": \"i16\", \"value\": [\"65536\", \"0\", \"0\", "
        "\"0\", \"0\", \"0\", \"0\", \"0\"]}", false, &ok);
    CHECK(!ok);
}

int main(void)
{
    test_basic();
    test_escapes();
    test_strictness();
    test_errors();
    test_nesting();
    test_truncation();
    test_suite_file();
    test_values();
    TEST_MAIN_END();
}
