/* tests/agent/topic.c - the one MQTT topic module (src/hostapi/topic.c):
 * validation codes, the spec's matching examples, the '$' rule, empty
 * levels, and topic_match, topic_covers and topic_overlap checked against
 * brute force over every small filter and topic built from a few levels. */
#include "harness.h"

#include "topic.h"

#include <stdbool.h>
#include <stdlib.h>

#define S(x) x, strlen(x)

static topic_result name(const char *t) { return topic_name_check(S(t)); }
static topic_result filter(const char *f) { return topic_filter_check(S(f)); }
static bool match(const char *f, const char *t) { return topic_match(S(f), S(t)); }
static bool covers(const char *b, const char *a) { return topic_covers(S(b), S(a)); }
static bool overlap(const char *a, const char *b) { return topic_overlap(S(a), S(b)); }

static void test_validation(void)
{
    CHECK_EQ_INT(name("a/b"), TOPIC_OK);
    CHECK_EQ_INT(name("/"), TOPIC_OK);
    CHECK_EQ_INT(name("$SYS/x"), TOPIC_OK);
    CHECK_EQ_INT(name(""), TOPIC_E_EMPTY);
    CHECK_EQ_INT(name("a/#"), TOPIC_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(name("a#/"), TOPIC_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(name("x+"), TOPIC_E_WILDCARD_IN_TOPIC);
    CHECK_EQ_INT(topic_name_check("a\0b", 3), TOPIC_E_NUL);
    CHECK_EQ_INT(name("\xC0\x80"), TOPIC_E_UTF8);              /* overlong NUL */
    CHECK_EQ_INT(name("\xED\xA0\x80"), TOPIC_E_UTF8);          /* surrogate */
    CHECK_EQ_INT(name("\xF4\x90\x80\x80"), TOPIC_E_UTF8);      /* above U+10FFFF */
    CHECK_EQ_INT(name("ab\xE2\x82"), TOPIC_E_UTF8);            /* truncated */
    CHECK_EQ_INT(name("\xF0\x9F\x98\x80/\xE2\x82\xAC"), TOPIC_OK);
    CHECK_EQ_INT(topic_name_check(NULL, 0), TOPIC_E_EMPTY);
    char *big = malloc(TOPIC_MAX + 1);
    memset(big, 'a', TOPIC_MAX + 1);
    CHECK_EQ_INT(topic_name_check(big, TOPIC_MAX), TOPIC_OK);
    CHECK_EQ_INT(topic_name_check(big, TOPIC_MAX + 1), TOPIC_E_TOOLONG);
    CHECK_EQ_INT(topic_filter_check(big, TOPIC_MAX + 1), TOPIC_E_TOOLONG);
    free(big);

    CHECK_EQ_INT(filter("#"), TOPIC_OK);
    CHECK_EQ_INT(filter("+"), TOPIC_OK);
    CHECK_EQ_INT(filter("+/+/#"), TOPIC_OK);
    CHECK_EQ_INT(filter("a//+/"), TOPIC_OK);
    CHECK_EQ_INT(filter("a/#/b"), TOPIC_E_HASH_NOT_LAST);
    CHECK_EQ_INT(filter("#/"), TOPIC_E_HASH_NOT_LAST);
    CHECK_EQ_INT(filter("a#"), TOPIC_E_HASH_LEVEL);
    CHECK_EQ_INT(filter("a/##"), TOPIC_E_HASH_LEVEL);
    CHECK_EQ_INT(filter("a+/b"), TOPIC_E_PLUS_LEVEL);
    CHECK_EQ_INT(filter("++"), TOPIC_E_PLUS_LEVEL);
    CHECK_EQ_INT(filter("a+/#/b"), TOPIC_E_PLUS_LEVEL);         /* the first problem */
    CHECK_EQ_INT(filter(""), TOPIC_E_EMPTY);
    CHECK_EQ_STR(topic_strerror(TOPIC_E_PLUS_LEVEL), "'+' must be a whole level");
    CHECK_EQ_STR(topic_strerror((topic_result)99), "unknown topic result");
    CHECK(topic_utf8_valid("", 0));
    CHECK_EQ_INT(topic_utf8_seq("\xE2\x82\xAC", 3), 3);
    CHECK_EQ_INT(topic_utf8_seq("\xE2\x82\xAC", 2), 0);
    CHECK_EQ_INT(topic_utf8_seq("\x80", 1), 0);
    CHECK(!topic_utf8_valid("a\0", 2));
    CHECK(topic_is_exact(S("a/b")));
    CHECK(!topic_is_exact(S("a/+")));
    CHECK(!topic_is_exact(S("#")));
}

static void test_examples(void)
{
    CHECK(match("sport/#", "sport"));                 /* '#' includes the parent */
    CHECK(match("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    CHECK(match("#", "/"));
    CHECK(match("sport/+", "sport/"));                /* '+' matches an empty level */
    CHECK(match("+/+", "/"));
    CHECK(!match("sport/+", "sport"));
    CHECK(!match("+", "/finance"));
    CHECK(match("a/+/c", "a//c"));
    CHECK(!match("#", "$SYS/x"));
    CHECK(!match("+/x", "$SYS/x"));
    CHECK(!match("+", "$"));
    CHECK(match("$SYS/+", "$SYS/x"));
    CHECK(match("a/+", "a/$x"));                      /* '$' matters only first */
    CHECK(!match("a/b", "a/b/"));
    /* not NUL-terminated: lengths rule */
    CHECK(topic_match("a/bXX", 3, "a/bYY", 3));
    CHECK(!topic_match("a/b", 3, "a/bc", 4));

    CHECK(covers("#", "+/#"));
    CHECK(covers("+/#", "#"));       /* "#" reaches no topic "+/#" misses */
    CHECK(!covers("a/+", "a/#"));
    CHECK(!covers("#", "$SYS/#"));
    CHECK(covers("$SYS/#", "$SYS/+"));
    CHECK(overlap("sport", "sport/#"));
    CHECK(!overlap("sport", "sport/+"));
    CHECK(overlap("sport/", "sport/+"));
    CHECK(!overlap("#", "$SYS"));
    CHECK(overlap("+", "#"));
    CHECK(overlap("$SYS/#", "$SYS"));
}

/* ---- brute force ----------------------------------------------------- */

/* Filters: up to 3 levels over {a, $a, "", +, #}; topics: up to 4 levels
 * over {a, $a, "", z}, where z appears in no filter (what '+' alone sees). */
#define NF 200
#define NT 400
static char filters[NF][16], topics[NT][16];
static size_t nfilters, ntopics;

static void build(char (*out)[16], size_t *count, size_t cap, const char *const *lv, size_t nlv,
                  int depth, const char *prefix, bool is_filter)
{
    for (size_t i = 0; i < nlv; i++) {
        char s[64];
        if (strlen(prefix) + strlen(lv[i]) >= sizeof s) continue;
        memcpy(s, prefix, strlen(prefix));
        memcpy(s + strlen(prefix), lv[i], strlen(lv[i]) + 1);
        bool ok = is_filter ? topic_filter_check(S(s)) == TOPIC_OK
                            : topic_name_check(S(s)) == TOPIC_OK;
        if (ok && *count < cap && strlen(s) < 16) memcpy(out[(*count)++], s, strlen(s) + 1);
        if (depth > 1 && strcmp(lv[i], "#") != 0) {
            char next[72];
            snprintf(next, sizeof next, "%s/", s);
            build(out, count, cap, lv, nlv, depth - 1, next, is_filter);
        }
    }
}

/* Splits s into at most 8 levels (copies in buf). */
static size_t split(const char *s, char buf[64], char *lv[8])
{
    snprintf(buf, 64, "%s", s);
    size_t n = 0;
    for (char *p = buf;; p++) {
        lv[n++] = p;
        p = strchr(p, '/');
        if (!p || n == 8) break;
        *p = 0;
    }
    return n;
}

static bool ref_levels(char **f, size_t nf, char **t, size_t nt)
{
    if (nf == 0) return nt == 0;
    if (strcmp(f[0], "#") == 0) return true;
    if (nt == 0) return false;
    if (strcmp(f[0], "+") != 0 && strcmp(f[0], t[0]) != 0) return false;
    return ref_levels(f + 1, nf - 1, t + 1, nt - 1);
}

/* An independent matcher: split both, then walk the level arrays. */
static bool ref_match(const char *f, const char *t)
{
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#')) return false;
    char fb[64], tb[64], *fl[8], *tl[8];
    size_t nf = split(f, fb, fl), nt = split(t, tb, tl);
    return ref_levels(fl, nf, tl, nt);
}

static void test_brute_force(void)
{
    static const char *const flv[] = { "a", "$a", "", "+", "#" };
    static const char *const tlv[] = { "a", "$a", "", "z" };
    build(filters, &nfilters, NF, flv, 5, 3, "", true);
    build(topics, &ntopics, NT, tlv, 4, 4, "", false);
    CHECK(nfilters > 50 && nfilters < NF);
    CHECK(ntopics > 100 && ntopics < NT);
    int bad_match = 0, bad_covers = 0, bad_overlap = 0;
    for (size_t i = 0; i < nfilters; i++)
        for (size_t k = 0; k < ntopics; k++)
            bad_match += match(filters[i], topics[k]) != ref_match(filters[i], topics[k]);
    for (size_t i = 0; i < nfilters; i++)
        for (size_t j = 0; j < nfilters; j++) {
            bool all = true, some = false;
            for (size_t k = 0; k < ntopics; k++) {
                bool a = ref_match(filters[i], topics[k]), b = ref_match(filters[j], topics[k]);
                if (a && !b) all = false;
                if (a && b) some = true;
            }
            if (covers(filters[j], filters[i]) != all) {
                if (bad_covers++ < 5) fprintf(stderr, "covers(%s, %s) != %d\n", filters[j], filters[i], all);
            }
            if (overlap(filters[i], filters[j]) != some) {
                if (bad_overlap++ < 5) fprintf(stderr, "overlap(%s, %s) != %d\n", filters[i], filters[j], some);
            }
        }
    CHECK_EQ_INT(bad_match, 0);
    CHECK_EQ_INT(bad_covers, 0);
    CHECK_EQ_INT(bad_overlap, 0);
}

int main(void)
{
    test_validation();
    test_examples();
    test_brute_force();
    TEST_MAIN_END();
}
