/* decode.c (test) - the decoder and module-level validator.
 *
 * Part 1 builds small modules byte by byte (a section builder computes the
 * sizes) and checks what graft__decode fills in, and which error class,
 * code and offset each broken module gets. Part 2 replays every binary
 * module of the spec suite's `module`, `assert_malformed` and
 * `assert_invalid` commands through decode and module validation, with a
 * tiny line-based scan of the JSON command files (wabt writes one command
 * per line). Body-level errors belong to compile.c, so malformed modules
 * that decode here and invalid modules that validate here are counted and
 * reported, not failed, as long as they stay within the expected numbers. */
#include "harness.h"
#include "module.h"
#include "code.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* ---- A module builder ---------------------------------------------------- */

typedef struct wb {
    uint8_t b[4096];
    size_t n;
} wb;

static void put_bytes(wb *w, const uint8_t *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_leb(wb *w, uint32_t v)
{
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        w->b[w->n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
}

static void header(wb *w)
{
    static const uint8_t h[] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
    w->n = 0;
    put_bytes(w, h, sizeof h);
}

static void section(wb *w, uint8_t id, const uint8_t *p, size_t n)
{
    w->b[w->n++] = id;
    put_leb(w, (uint32_t)n);
    put_bytes(w, p, n);
}

#define SEC(w, id, ...)                                    \
    do {                                                   \
        static const uint8_t s_[] = {__VA_ARGS__};         \
        section((w), (id), s_, sizeof s_);                 \
    } while (0)
#define RAW(w, ...)                                        \
    do {                                                   \
        static const uint8_t r_[] = {__VA_ARGS__};         \
        put_bytes((w), r_, sizeof r_);                     \
    } while (0)

/* ---- Running the phases ------------------------------------------------- */

static graft_env *env;

static graft_module *new_module(void)
{
    graft_module *m = graft__calloc(env, 1, sizeof *m);
    m->env = env;
    graft__arena_init(&m->arena, env);
    return m;
}

static void free_module(graft_module *m)
{
    graft__arena_free_all(&m->arena);
    graft__free(env, m, sizeof *m);
}

/* Decode (and validate when asked); returns the first failing result. */
static graft_result run(const uint8_t *bytes, size_t len, int validate, graft_module **keep)
{
    graft_module *m = new_module();
    graft_result rc = graft__decode(m, bytes, len, &env->err);
    if (rc == GRAFT_OK && validate) rc = graft__validate_module(m, &env->err);
    if (keep && rc == GRAFT_OK) *keep = m;
    else free_module(m);
    return rc;
}

static const graft_error *last(void)
{
    return graft_env_error(env);
}

#define CHECK_ERR(rc_, cls, code_)                                                 \
    do {                                                                           \
        CHECK_EQ_INT((rc_), (cls));                                                \
        CHECK_EQ_INT(last()->code, (code_));                                       \
        if (last()->code != (code_)) fprintf(stderr, "   message: %s\n", last()->message); \
    } while (0)

/* ---- Part 1: hand-written modules ---------------------------------------- */

static void build_good(wb *w)
{
    header(w);
    SEC(w, 1, 0x02, 0x60, 0x00, 0x00, 0x60, 0x02, 0x7F, 0x7E, 0x01, 0x7F);
    SEC(w, 2, 0x02, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x01,
        0x03, 'e', 'n', 'v', 0x01, 'g', 0x03, 0x7F, 0x00);
    SEC(w, 3, 0x02, 0x00, 0x01);
    SEC(w, 4, 0x01, 0x70, 0x01, 0x01, 0x0A);
    SEC(w, 5, 0x01, 0x01, 0x01, 0x02);
    SEC(w, 6, 0x02, 0x7F, 0x01, 0x23, 0x00, 0x0B, 0x70, 0x00, 0xD2, 0x01, 0x0B);
    SEC(w, 7, 0x02, 0x04, 'm', 'a', 'i', 'n', 0x00, 0x01, 0x03, 'm', 'e', 'm', 0x02, 0x00);
    SEC(w, 8, 0x01);
    SEC(w, 9, 0x02, 0x00, 0x41, 0x00, 0x0B, 0x01, 0x02, 0x05, 0x70, 0x01, 0xD0, 0x70, 0x0B);
    SEC(w, 12, 0x02);
    SEC(w, 10, 0x02, 0x02, 0x00, 0x0B, 0x04, 0x00, 0x41, 0x00, 0x0B);
    SEC(w, 11, 0x02, 0x00, 0x41, 0x08, 0x0B, 0x03, 'a', 'b', 'c', 0x01, 0x02, 'x', 'y');
    SEC(w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x0B,
        0x02, 0x01, 0x03, 'o', 'n', 'e', 0x02, 0x03, 't', 'w', 'o');
    SEC(w, 0, 0x05, 'h', 'e', 'l', 'l', 'o', 0x01, 0x02, 0x03);
}

static void test_good_module(void)
{
    wb w;
    graft_module *m = NULL;
    build_good(&w);
    graft_result rc = run(w.b, w.n, 1, &m);
    CHECK_EQ_INT(rc, GRAFT_OK);
    if (rc != GRAFT_OK) {
        fprintf(stderr, "   %s\n", last()->message);
        return;
    }
    CHECK_EQ_INT(m->ntypes, 2);
    CHECK_EQ_INT(m->types[1].nparams, 2);
    CHECK_EQ_INT(m->types[1].params[1], GRAFT_I64);
    CHECK_EQ_INT(m->types[1].result_slots, 1);
    CHECK_EQ_INT(m->types[0].hash, graft__functype_hash(&m->types[0]));
    CHECK(!graft__functype_eq(&m->types[0], &m->types[1]));
    CHECK_EQ_INT(m->nimports, 2);
    CHECK_EQ_STR(m->imports[1].name.ptr, "g");
    CHECK_EQ_INT(m->imports[1].kind, GRAFT_EXTERN_GLOBAL);
    CHECK_EQ_INT(m->nfuncs, 3);
    CHECK_EQ_INT(m->nimported_funcs, 1);
    CHECK_EQ_INT(m->func_types[0], 1);
    CHECK_EQ_INT(m->func_types[2], 1);
    CHECK_EQ_INT(m->ntables, 1);
    CHECK_EQ_INT(m->tables[0].limits.max, 10);
    CHECK_EQ_INT(m->nmemories, 1);
    CHECK_EQ_INT(m->memories[0].max, 2);
    CHECK_EQ_INT(m->nglobals, 3);
    CHECK_EQ_INT(m->nimported_globals, 1);
    CHECK_EQ_INT(m->global_defs[0].init.kind, GR_CONST_GLOBAL_GET);
    CHECK_EQ_INT(m->global_defs[1].init.kind, GR_CONST_REF_FUNC);
    CHECK_EQ_INT(m->global_defs[1].init.index, 1);
    CHECK_EQ_INT(m->nexports, 2);
    CHECK_EQ_STR(m->exports[1].name.ptr, "mem");
    CHECK(m->has_start && m->start == 1);
    CHECK_EQ_INT(m->nelems, 2);
    CHECK_EQ_INT(m->elems[0].mode, GR_SEG_ACTIVE);
    CHECK_EQ_INT(m->elems[0].items[0].index, 2);
    CHECK_EQ_INT(m->elems[1].mode, GR_SEG_PASSIVE);
    CHECK_EQ_INT(m->elems[1].items[0].kind, GR_CONST_REF_NULL);
    CHECK(m->has_data_count && m->data_count == 2);
    CHECK_EQ_INT(m->ndatas, 2);
    CHECK_EQ_INT(m->datas[0].offset.bits, 8);
    CHECK(m->datas[0].size == 3 && memcmp(m->datas[0].bytes, "abc", 3) == 0);
    CHECK_EQ_INT(m->datas[1].mode, GR_SEG_PASSIVE);
    CHECK_EQ_INT(m->func_defs[1].body_size, 4);
    CHECK_EQ_INT(w.b[m->func_defs[1].body_offset + 1], 0x41);
    CHECK_EQ_INT(m->ncustoms, 2);
    CHECK_EQ_STR(m->customs[1].name.ptr, "hello");
    CHECK_EQ_INT(m->customs[1].size, 3);
    CHECK_EQ_INT(w.b[m->customs[1].offset], 0x01);
    CHECK_EQ_INT(m->nfunc_names, 2);
    size_t len = 0;
    CHECK_EQ_STR(graft_module_func_name(m, 2, &len), "two");
    CHECK_EQ_INT(len, 3);
    CHECK(graft_module_func_name(m, 0, NULL) == NULL);
    CHECK_EQ_INT(m->declared_refs[0], 0x06); /* functions 1 and 2 */
    free_module(m);
}

/* The caller's bytes are not retained: names and data survive a wipe. */
static void test_copies(void)
{
    wb w;
    graft_module *m = NULL;
    build_good(&w);
    CHECK_EQ_INT(run(w.b, w.n, 0, &m), GRAFT_OK);
    if (!m) return;
    memset(w.b, 0xEE, sizeof w.b);
    CHECK_EQ_STR(m->exports[0].name.ptr, "main");
    CHECK(memcmp(m->datas[1].bytes, "xy", 2) == 0);
    CHECK_EQ_STR(m->customs[0].name.ptr, "name");
    free_module(m);
}

static void test_header_errors(void)
{
    static const uint8_t bad_magic[] = {0x00, 0x61, 0x73, 0x6E, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t bad_version[] = {0x00, 0x61, 0x73, 0x6D, 0x02, 0x00, 0x00, 0x00};
    static const uint8_t short_version[] = {0x00, 0x61, 0x73, 0x6D, 0x01};
    CHECK_ERR(run(bad_magic, sizeof bad_magic, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_MAGIC);
    CHECK_ERR(run(bad_version, sizeof bad_version, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_VERSION);
    CHECK_EQ_U64(last()->offset, 4);
    CHECK_ERR(run(short_version, sizeof short_version, 0, NULL), GRAFT_ERR_MALFORMED,
              GRAFT_E_UNEXPECTED_END);
    CHECK_ERR(run(NULL, 0, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_UNEXPECTED_END);
    CHECK_ERR(run(bad_magic, 2, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_UNEXPECTED_END);
}

static void test_leb_errors(void)
{
    wb w;
    /* A LEB128 cut short by the section's end: offset of the next byte. */
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x82);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_END);
    CHECK_EQ_U64(last()->offset, 13);
    /* ... and by the file's end, in a section header. */
    header(&w);
    RAW(&w, 0x05, 0x80);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_UNEXPECTED_END);
    CHECK_EQ_U64(last()->offset, 10);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_INT_TOO_LONG);
    CHECK_EQ_U64(last()->offset, 12);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x82, 0x80, 0x80, 0x80, 0x10);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_INT_TOO_LARGE);
    /* s32 in i32.const: 0x7F in the fifth byte is the sign extension of -1. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x0B);
    CHECK_EQ_INT(run(w.b, w.n, 1, NULL), GRAFT_OK);
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x4F, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_INT_TOO_LARGE);
    /* s64: the tenth byte may only be 0x00 or 0x7F. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7E, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x7F, 0x0B);
    CHECK_EQ_INT(run(w.b, w.n, 1, NULL), GRAFT_OK);
    header(&w);
    SEC(&w, 6, 0x01, 0x7E, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x01, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_INT_TOO_LARGE);
}

static void test_section_errors(void)
{
    wb w;
    header(&w);
    SEC(&w, 3, 0x00);
    SEC(&w, 1, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_ORDER);
    CHECK_EQ_U64(last()->offset, 11);
    header(&w);
    SEC(&w, 1, 0x00);
    SEC(&w, 1, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_ORDER);
    /* Data count (12) goes before code (10). */
    header(&w);
    SEC(&w, 10, 0x00);
    SEC(&w, 12, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_ORDER);
    header(&w);
    SEC(&w, 13, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_ID);
    header(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00, 0x60);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_SIZE);
    CHECK_EQ_U64(last()->offset, 14);
    header(&w);
    RAW(&w, 0x01, 0x05, 0x01, 0x60);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_LENGTH_BOUNDS);
    /* Function and code counts. */
    header(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_FUNC_CODE_MISMATCH);
    header(&w);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_FUNC_CODE_MISMATCH);
    /* Data count. */
    header(&w);
    SEC(&w, 12, 0x01);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_DATA_COUNT_MISMATCH);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 12, 0x02);
    SEC(&w, 11, 0x01, 0x01, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_DATA_COUNT_MISMATCH);
    /* Kinds and flags. */
    header(&w);
    SEC(&w, 2, 0x01, 0x00, 0x00, 0x04, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_BAD_IMPORT_KIND);
    header(&w);
    SEC(&w, 5, 0x01, 0x02, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_INT_TOO_LARGE);
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x02, 0x41, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_BAD_MUTABILITY);
    header(&w);
    SEC(&w, 4, 0x01, 0x7F, 0x00, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_BAD_REFTYPE);
    header(&w);
    SEC(&w, 9, 0x01, 0x08);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_BAD_SEGMENT_FLAGS);
    header(&w);
    SEC(&w, 9, 0x01, 0x01, 0x01, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_BAD_ELEM_KIND);
}

/* Counts far beyond the bytes present are refused before any allocation. */
static void test_hostile_counts(void)
{
    static const uint8_t ids[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11};
    for (size_t i = 0; i < sizeof ids; i++) {
        wb w;
        graft_alloc_stats before, after;
        header(&w);
        uint8_t body[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
        section(&w, ids[i], body, sizeof body);
        graft_env_stats(env, &before);
        CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_LENGTH_BOUNDS);
        graft_env_stats(env, &after);
        CHECK(after.peak - before.in_use < 64 * 1024);
    }
    /* A name longer than what is left. */
    wb w;
    header(&w);
    SEC(&w, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 'a');
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_LENGTH_BOUNDS);
    /* A data segment claiming 4 GiB. */
    header(&w);
    SEC(&w, 11, 0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_END);
}

static void test_utf8(void)
{
    wb w;
    header(&w);
    SEC(&w, 7, 0x01, 0x03, 'a', 0xC0, 0x80, 0x00, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_UTF8);
    CHECK_EQ_U64(last()->offset, 13);
    /* Surrogates, overlong forms and values past U+10FFFF are refused;
     * a 4-byte maximum (U+10FFFF) is accepted. */
    static const uint8_t bad[][4] = {{0xED, 0xA0, 0x80, 0}, {0xE0, 0x9F, 0xBF, 0},
                                     {0xF4, 0x90, 0x80, 0x80}, {0xF8, 0x88, 0x80, 0x80},
                                     {0xC1, 0xBF, 0, 0}, {0xE1, 0x80, 0x41, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t body[] = {0x04, bad[i][0], bad[i][1], bad[i][2], bad[i][3]};
        header(&w);
        section(&w, 0, body, sizeof body);
        CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_UTF8);
    }
    header(&w);
    SEC(&w, 0, 0x04, 0xF4, 0x8F, 0xBF, 0xBF);
    CHECK_EQ_INT(run(w.b, w.n, 0, NULL), GRAFT_OK);
}

/* A broken name section is ignored, never an error. */
static void test_bad_name_section(void)
{
    wb w;
    graft_module *m = NULL;
    header(&w);
    SEC(&w, 1, 0x01, 0x60, 0x00, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x09, 0x05, 0x00, 0x01, 'a', 0xFF);
    CHECK_EQ_INT(run(w.b, w.n, 1, &m), GRAFT_OK);
    if (m) {
        CHECK_EQ_INT(m->nfunc_names, 0);
        CHECK_EQ_INT(m->ncustoms, 1);
        free_module(m);
    }
    /* Unsorted indices are a malformed name map, too. */
    header(&w);
    SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x07, 0x02, 0x01, 0x01, 'a', 0x00, 0x01, 'b');
    m = NULL;
    CHECK_EQ_INT(run(w.b, w.n, 0, &m), GRAFT_OK);
    if (m) {
        CHECK_EQ_INT(m->nfunc_names, 0);
        free_module(m);
    }
}

static void test_const_exprs(void)
{
    wb w;
    /* Not constant: decodes, fails validation. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6A, 0x0B);
    CHECK_EQ_INT(run(w.b, w.n, 0, NULL), GRAFT_OK);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_CONST_EXPR);
    CHECK_EQ_U64(last()->offset, 17);
    /* Two values. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x01, 0x41, 0x02, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
    /* Empty. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
    /* Wrong type. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x42, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
    /* A nested block decodes (then is not constant). */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x02, 0x40, 0x0B, 0x41, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_CONST_EXPR);
    /* global.get: only immutable imported globals. */
    header(&w);
    SEC(&w, 2, 0x01, 0x00, 0x01, 'g', 0x03, 0x7F, 0x01);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_CONST_EXPR);
    header(&w);
    SEC(&w, 6, 0x02, 0x7F, 0x00, 0x41, 0x00, 0x0B, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_GLOBAL);
    /* ref.func of a function that does not exist. */
    header(&w);
    SEC(&w, 6, 0x01, 0x70, 0x00, 0xD2, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_FUNC);
    /* Malformed: an illegal opcode, a missing end, a bad zero byte. */
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x06, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_ILLEGAL_OPCODE);
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x41, 0x00);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_SECTION_END);
    header(&w);
    SEC(&w, 6, 0x01, 0x7F, 0x00, 0x3F, 0x01, 0x0B);
    CHECK_ERR(run(w.b, w.n, 0, NULL), GRAFT_ERR_MALFORMED, GRAFT_E_ZERO_BYTE);
}

static void test_module_validation(void)
{
    wb w;
    header(&w);
    SEC(&w, 5, 0x02, 0x00, 0x01, 0x00, 0x01);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_MULTIPLE_MEMORIES);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x81, 0x80, 0x04);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_MEMORY_SIZE);
    header(&w);
    SEC(&w, 5, 0x01, 0x01, 0x02, 0x01);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_LIMITS_MIN_MAX);
    header(&w);
    SEC(&w, 4, 0x01, 0x70, 0x01, 0x02, 0x01);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_LIMITS_MIN_MAX);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 7, 0x02, 0x01, 'a', 0x02, 0x00, 0x01, 'a', 0x02, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_DUPLICATE_EXPORT);
    header(&w);
    SEC(&w, 7, 0x01, 0x01, 'a', 0x00, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_FUNC);
    header(&w);
    SEC(&w, 1, 0x01, 0x60, 0x01, 0x7F, 0x00);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 8, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_START_FUNC);
    header(&w);
    SEC(&w, 3, 0x01, 0x00);
    SEC(&w, 10, 0x01, 0x02, 0x00, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_TYPE);
    /* Element segments: table must exist and hold the segment's type. */
    header(&w);
    SEC(&w, 9, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_TABLE);
    header(&w);
    SEC(&w, 4, 0x01, 0x6F, 0x00, 0x00);
    SEC(&w, 9, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
    header(&w);
    SEC(&w, 9, 0x01, 0x05, 0x70, 0x01, 0xD0, 0x6F, 0x0B);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
    /* Data segments need a memory and an i32 offset. */
    header(&w);
    SEC(&w, 11, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_UNKNOWN_MEMORY);
    header(&w);
    SEC(&w, 5, 0x01, 0x00, 0x01);
    SEC(&w, 11, 0x01, 0x00, 0x42, 0x00, 0x0B, 0x00);
    CHECK_ERR(run(w.b, w.n, 1, NULL), GRAFT_ERR_INVALID, GRAFT_E_TYPE_MISMATCH);
}

/* graft_module_load runs all three phases; until compile.c can compile, a
 * successful load is not guaranteed, so only check what it returns. */
static void test_load_and_inspect(void)
{
    wb w;
    graft_module *m = NULL;
    build_good(&w);
    graft_result rc = graft_module_load(env, w.b, w.n, &m);
    if (rc != GRAFT_OK) {
        CHECK(m == NULL);
        printf("graft_module_load: %s (inspection checks skipped)\n", last()->message);
        return;
    }
    graft_extern_desc d;
    CHECK_EQ_INT(graft_module_import_count(m), 2);
    graft_module_import(m, 0, &d);
    CHECK_EQ_INT(d.kind, GRAFT_EXTERN_FUNC);
    CHECK_EQ_INT(d.func.nparams, 2);
    CHECK_EQ_INT(d.func.params[1], GRAFT_I64);
    CHECK(d.module_len == 3 && memcmp(d.module, "env", 3) == 0);
    graft_module_export(m, 1, &d);
    CHECK_EQ_INT(d.kind, GRAFT_EXTERN_MEMORY);
    CHECK(d.limits.has_max && d.limits.max == 2);
    graft_custom_section c;
    graft_module_custom(m, 1, &c);
    CHECK(c.name_len == 5 && c.size == 3);
    graft_module_free(m);
}

/* Fail every allocation of a load in turn: each must end in a clean
 * GRAFT_ERR_RESOURCE with nothing left allocated. */
static void test_alloc_failures(void)
{
    wb w;
    graft_alloc_stats base, mid, end;
    build_good(&w);
    graft_env_stats(env, &base);
    uint64_t k;
    for (k = 1; k < 10000; k++) {
        graft_module *m = NULL;
        graft_env_fail_alloc_after(env, k);
        graft_result rc = graft_module_load(env, w.b, w.n, &m);
        graft_env_stats(env, &mid);
        graft_env_fail_alloc_after(env, 0);
        graft_module_free(m);
        graft_env_stats(env, &end);
        CHECK_EQ_INT(end.in_use, base.in_use);
        if (mid.failures == base.failures) break; /* the load needed fewer than k */
        base.failures = mid.failures;
        CHECK_EQ_INT(rc, GRAFT_ERR_RESOURCE);
        CHECK(m == NULL);
    }
    CHECK(k > 3 && k < 10000);
}

/* ---- Part 2: the spec suite ------------------------------------------------ */

typedef struct tally {
    int modules, modules_failed;
    int malformed, malformed_caught, malformed_body, malformed_same_text;
    int invalid, invalid_decode_failed, invalid_caught, invalid_wrong_class, invalid_same_text;
} tally;

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The string value after `"key": "` on one line, into out. */
static int json_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++;
    out[n] = '\0';
    return 1;
}

/* Messages that only the body compiler can produce. */
static int body_level_text(const char *text)
{
    static const char *const texts[] = {"too many locals", "data count section required",
                                        "END opcode expected", "illegal opcode",
                                        "unexpected end of section or function",
                                        "section size mismatch", "unexpected end",
                                        "integer representation too long",
                                        "integer too large", "zero byte expected"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(text, texts[i]) == 0) return 1;
    return 0;
}

static void spec_command(const char *dir, const char *line, tally *t)
{
    char type[64], file[256], text[256] = "", mtype[32] = "binary", path[1400];
    if (!json_field(line, "type", type, sizeof type)) return;
    int is_module = strcmp(type, "module") == 0;
    int is_malformed = strcmp(type, "assert_malformed") == 0;
    int is_invalid = strcmp(type, "assert_invalid") == 0;
    if (!is_module && !is_malformed && !is_invalid) return;
    if (!json_field(line, "filename", file, sizeof file)) return;
    json_field(line, "text", text, sizeof text);
    json_field(line, "module_type", mtype, sizeof mtype);
    if (strcmp(mtype, "binary") != 0) return;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    CHECK(bytes != NULL);
    if (!bytes) return;
    graft_result decoded = run(bytes, len, 0, NULL);
    graft_result validated = decoded == GRAFT_OK ? run(bytes, len, 1, NULL) : decoded;
    if (is_module) {
        t->modules++;
        if (validated != GRAFT_OK) {
            t->modules_failed++;
            fprintf(stderr, "module %s: %s\n", path, last()->message);
        }
    } else if (is_malformed) {
        t->malformed++;
        if (decoded == GRAFT_ERR_MALFORMED) {
            t->malformed_caught++;
            if (strncmp(last()->message, text, strlen(text)) == 0) t->malformed_same_text++;
            else if (getenv("DECODE_VERBOSE"))
                printf("other text: %s: \"%s\" vs %s\n", path, text, last()->message);
        } else if (body_level_text(text)) {
            t->malformed_body++; /* compile.c's to catch */
            if (getenv("DECODE_VERBOSE")) printf("left to compile.c: %s (\"%s\")\n", path, text);
        } else {
            fprintf(stderr, "malformed %s (\"%s\"): decode returned %d\n", path, text, decoded);
        }
    } else {
        t->invalid++;
        if (decoded != GRAFT_OK) {
            t->invalid_decode_failed++;
            fprintf(stderr, "invalid %s (\"%s\"): decode failed: %s\n", path, text,
                    last()->message);
        } else if (validated == GRAFT_ERR_INVALID) {
            t->invalid_caught++;
            if (strncmp(last()->message, text, strlen(text)) == 0) t->invalid_same_text++;
            else if (getenv("DECODE_VERBOSE"))
                printf("other text: %s: \"%s\" vs %s\n", path, text, last()->message);
        } else if (validated != GRAFT_OK) {
            t->invalid_wrong_class++;
            fprintf(stderr, "invalid %s: %s\n", path, last()->message);
        } else if (getenv("DECODE_VERBOSE")) {
            printf("invalid left to compile.c: %s (\"%s\")\n", path, text);
        }
    }
    free(bytes);
}

static void spec_file(const char *core, const char *name, tally *t)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/%s", core, name);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    size_t len;
    char *json = (char *)read_file(path, &len);
    if (!json) return;
    json[len] = '\0';
    for (char *line = json; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        spec_command(dir, line, t);
        line = nl ? nl + 1 : NULL;
    }
    free(json);
}

static void test_spec_suite(void)
{
    const char *core = GRAFT_SPECTEST_DIR "/core";
    DIR *d = opendir(core);
    CHECK(d != NULL);
    if (!d) return;
    tally t;
    memset(&t, 0, sizeof t);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        spec_file(core, e->d_name, &t);
        files++;
    }
    closedir(d);
    printf("spec suite: %d files\n", files);
    printf("  module:           %d decode+validate, %d failed\n", t.modules, t.modules_failed);
    printf("  assert_malformed: %d binary, %d rejected by decode (%d with the spec's text), "
           "%d left to the compiler\n",
           t.malformed, t.malformed_caught, t.malformed_same_text, t.malformed_body);
    printf("  assert_invalid:   %d binary, %d decode failures, %d rejected by module validation"
           " (%d with the spec's text, %d wrong class), %d left to the compiler\n",
           t.invalid, t.invalid_decode_failed, t.invalid_caught, t.invalid_same_text,
           t.invalid_wrong_class,
           t.invalid - t.invalid_decode_failed - t.invalid_caught - t.invalid_wrong_class);
    CHECK_EQ_INT(t.modules_failed, 0);
    CHECK_EQ_INT(t.malformed_caught + t.malformed_body, t.malformed);
    CHECK(t.malformed_body <= 45);
    CHECK_EQ_INT(t.malformed_same_text, t.malformed_caught);
    CHECK_EQ_INT(t.invalid_decode_failed, 0);
    CHECK_EQ_INT(t.invalid_wrong_class, 0);
}

int main(void)
{
    if (graft_env_new(NULL, &env) != GRAFT_OK) return 1;
    test_good_module();
    test_copies();
    test_header_errors();
    test_leb_errors();
    test_section_errors();
    test_hostile_counts();
    test_utf8();
    test_bad_name_section();
    test_const_exprs();
    test_module_validation();
    test_load_and_inspect();
    test_alloc_failures();
    test_spec_suite();
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    graft_env_free(env);
    CHECK_EQ_INT(st.in_use, sizeof(struct graft_env)); /* every module freed */
    TEST_MAIN_END();
}
