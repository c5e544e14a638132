/* tests/agent/log.c - structured JSON logs (src/agent/log.c): the exact line
 * format with a pinned clock, the minimum level, typed fields, JSON escaping
 * of any bytes (invalid UTF-8 as \uFFFD), long lines, and whole lines from
 * many threads at once. */
#include "harness.h"

#include "log.h"

#include <pthread.h>
#include <stdlib.h>

/* 2026-11-26T15:04:05.123Z */
static int64_t fixed_clock(void *user)
{
    (void)user;
    return 1795705445LL * 1000000000 + 123456789;
}

/* Everything written to f so far, as a string the caller frees. */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    fseek(f, 0, SEEK_END);
    return s;
}

static jlog *pinned(FILE *f, jlog_level level)
{
    jlog *lg = jlog_new(f, level);
    jlog_set_clock(lg, fixed_clock, NULL);
    return lg;
}

static void test_format(void)
{
    FILE *f = tmpfile();
    jlog *lg = pinned(f, JLOG_INFO);
    jlog_write(lg, JLOG_INFO, NULL, "started", NULL, 0);
    jlog_field fields[] = { JLOG_STR("path", "/etc/graft"), JLOG_INT("n", -3), JLOG_UINT("big", UINT64_MAX),
                            JLOG_F64("x", 0.5), JLOG_BOOL("ok", 1), JLOG_STR("none", NULL),
                            JLOG_F64("nan", 0.0 / 0.0) };
    jlog_write(lg, JLOG_ERROR, "thermo", "trap", fields, sizeof fields / sizeof fields[0]);
    jlog_write(lg, JLOG_DEBUG, "thermo", "skipped", NULL, 0);
    jlog_printf(lg, JLOG_WARN, "bus", "dropped %d of %s", 3, "x/y");
    char *s = slurp(f);
    CHECK_EQ_STR(s,
        "{\"ts\":\"2026-11-26T15:04:05.123Z\",\"level\":\"info\",\"module\":\"agent\",\"msg\":\"started\"}\n"
        "{\"ts\":\"2026-11-26T15:04:05.123Z\",\"level\":\"error\",\"module\":\"thermo\",\"msg\":\"trap\","
        "\"path\":\"/etc/graft\",\"n\":-3,\"big\":18446744073709551615,\"x\":0.5,\"ok\":true,"
        "\"none\":null,\"nan\":null}\n"
        "{\"ts\":\"2026-11-26T15:04:05.123Z\",\"level\":\"warn\",\"module\":\"bus\",\"msg\":\"dropped 3 of x/y\"}\n");
    free(s);
    CHECK(!jlog_enabled(lg, JLOG_DEBUG));
    jlog_set_level(lg, JLOG_DEBUG);
    CHECK(jlog_enabled(lg, JLOG_DEBUG));
    jlog_level lv;
    CHECK(jlog_level_parse("warn", &lv) && lv == JLOG_WARN);
    CHECK(!jlog_level_parse("loud", &lv));
    CHECK_EQ_STR(jlog_level_name(JLOG_ERROR), "error");
    jlog_free(lg);
    fclose(f);
}

static void test_escaping(void)
{
    FILE *f = tmpfile();
    jlog *lg = pinned(f, JLOG_INFO);
    /* quote, backslash, controls, DEL, valid 2-, 3- and 4-byte UTF-8, then
     * a lone continuation byte, an overlong '/', a truncated sequence, a
     * surrogate and 0xFF: each invalid byte becomes one U+FFFD. */
    const char msg[] = "q\"b\\n\nt\tc\x01\x1f\x7f|\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80|"
                       "\x80|\xC0\xAF|\xE2\x82|\xED\xA0\x80|\xFF";
    jlog_field key = JLOG_STR("k\"ey", "v");
    jlog_write(lg, JLOG_INFO, "m\n", msg, &key, 1);
    char *s = slurp(f);
    CHECK_EQ_STR(s,
        "{\"ts\":\"2026-11-26T15:04:05.123Z\",\"level\":\"info\",\"module\":\"m\\n\",\"msg\":"
        "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u001f\\u007f|\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80|"
        "\\uFFFD|\\uFFFD\\uFFFD|\\uFFFD\\uFFFD|\\uFFFD\\uFFFD\\uFFFD|\\uFFFD\","
        "\"k\\\"ey\":\"v\"}\n");
    free(s);
    jlog_free(lg);
    fclose(f);
}

static void test_long_line(void)
{
    FILE *f = tmpfile();
    jlog *lg = pinned(f, JLOG_INFO);
    size_t n = 100000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    jlog_printf(lg, JLOG_INFO, NULL, "%s", big);
    char *s = slurp(f);
    CHECK_EQ_INT(strlen(s), n + strlen("{\"ts\":\"2026-11-26T15:04:05.123Z\",\"level\":\"info\","
                                       "\"module\":\"agent\",\"msg\":\"\"}\n"));
    CHECK(strstr(s, big) != NULL);
    free(s);
    free(big);
    jlog_free(lg);
    fclose(f);
}

#define THREADS 4
#define LINES 500

static void *writer(void *arg)
{
    jlog *lg = arg;
    for (int i = 0; i < LINES; i++) {
        jlog_field fl[] = { JLOG_INT("i", i), JLOG_STR("pad", "............................................") };
        jlog_write(lg, JLOG_INFO, "w", "line", fl, 2);
    }
    return NULL;
}

static void test_threads(void)
{
    FILE *f = tmpfile();
    jlog *lg = jlog_new(f, JLOG_INFO);   /* the real clock */
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, writer, lg);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    char *s = slurp(f);
    int lines = 0, whole = 0;
    for (char *p = s, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        lines++;
        *nl = 0;
        whole += strncmp(p, "{\"ts\":\"20", 9) == 0 && p[31] == '"' && strstr(p, "\"msg\":\"line\"") &&
                 nl[-1] == '}' && strchr(p + 1, '{') == NULL;
    }
    CHECK_EQ_INT(lines, THREADS * LINES);
    CHECK_EQ_INT(whole, THREADS * LINES);
    free(s);
    jlog_free(lg);
    fclose(f);
}

int main(void)
{
    test_format();
    test_escaping();
    test_long_line();
    test_threads();
    TEST_MAIN_END();
}
