/* semver.c - semantic version parsing and ordering as bundles use them
 * (the floor and the downgrade checks of docs/ota.md): semver.org 2.0.0
 * precedence, +BUILD ignored, malformed versions refused. The module is
 * src/semver/: the manifest, bundles and the store share it rather than
 * keep orderings that could disagree. */
#include "harness.h"
#include "semver.h"

static int cmp(const char *a, const char *b)
{
    semver x, y;
    const char *why;
    if (!semver_parse(a, &x, &why) || !semver_parse(b, &y, &why)) return 99;
    return semver_compare(&x, &y);
}

int main(void)
{
    /* semver.org section 11's example chain, in increasing order. */
    static const char *const chain[] = { "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
                                         "1.1.0", "2.0.0", "10.0.0" };
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) CHECK_EQ_INT(cmp(chain[i], chain[j]), i < j ? -1 : i > j ? 1 : 0);
    /* Build metadata never orders. */
    CHECK_EQ_INT(cmp("1.0.0+a", "1.0.0+b"), 0);
    CHECK_EQ_INT(cmp("1.0.0+zzz", "1.0.0"), 0);
    CHECK_EQ_INT(cmp("1.0.0-rc.1+x", "1.0.0-rc.1"), 0);
    CHECK_EQ_INT(cmp("1.0.0-rc.1+x", "1.0.0"), -1);
    /* Numbers compare as numbers, not text. */
    CHECK_EQ_INT(cmp("1.9.0", "1.10.0"), -1);
    CHECK_EQ_INT(cmp("1.0.0-2", "1.0.0-10"), -1);
    CHECK_EQ_INT(cmp("1.0.0-a", "1.0.0-10"), 1);
    static const char *const bad[] = { "", "1", "1.0", "01.0.0", "1.00.0", "1.0.0-", "1.0.0+", "1.0.0-01",
                                       "1.0.0-a..b", "1.0.0 ", "v1.0.0", "1.0.0-a_b", "99999999999999999999.0.0" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        semver v;
        const char *why = NULL;
        CHECK(!semver_parse(bad[i], &v, &why));
        CHECK(why != NULL);
    }
    semver v;
    CHECK(!semver_parse("1.0.0x", &v, NULL));
    CHECK(semver_parse("1.0.0-alpha+build.5", &v, NULL));
    CHECK(semver_parse("1.0.0-01a", &v, NULL)); /* alphanumeric: leading zero allowed */
    CHECK(semver_parse("0.0.0", &v, NULL));
    TEST_MAIN_END();
}
