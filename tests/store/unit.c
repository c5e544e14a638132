/* store_unit.c - the module store's operations one by one: SHA-256 and
 * semver ordering, stage / commit / rollback / quarantine / remove, the
 * anti-rollback state, recovery of a staged version at open, the sweep,
 * and a corrupt blob reported by name. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sha256.h"
#include "store.h"

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f) { return remove(p); }

static void put(mstore *s, const char *inst, const char *ver, const char *floor, const char *text)
{
    char sha[65];
    mstore_sha256_hex(text, strlen(text), sha);
    CHECK_EQ_INT(mstore_stage(s, inst, "{}", ver, sha, floor, text, strlen(text), "test"), MSTORE_OK);
}

static bool count_fn(void *user, const mstore_version *v) { (*(int *)user)++; return true; }

typedef struct states { char text[512]; } states;
static bool states_fn(void *user, const mstore_version *v)
{
    states *st = user;
    size_t n = strlen(st->text);
    snprintf(st->text + n, sizeof st->text - n, "%s%s=%s", n ? " " : "", v->version, mstore_state_name(v->state));
    return true;
}

static const char *states_of(mstore *s, const char *inst)
{
    static states st;
    st.text[0] = '\0';
    mstore_list(s, inst, states_fn, &st);
    return st.text;
}

static void test_hash_and_semver(void)
{
    char hex[65];
    mstore_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mstore_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mstore_sha256_hex(m, strlen(m), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    CHECK(mstore_semver_cmp("1.2.3", "1.2.3") == 0);
    CHECK(mstore_semver_cmp("1.2.3", "1.10.0") < 0);
    CHECK(mstore_semver_cmp("2.0.0", "1.99.99") > 0);
    CHECK(mstore_semver_cmp("1.0.0-alpha", "1.0.0") < 0);
    CHECK(mstore_semver_cmp("1.0.0-alpha.1", "1.0.0-alpha.beta") < 0);
    CHECK(mstore_semver_cmp("1.0.0-beta.2", "1.0.0-beta.11") < 0);
    CHECK(mstore_semver_cmp("1.0.0+build.7", "1.0.0+other") == 0);
    CHECK(mstore_semver_cmp("", "0.0.0") < 0);
}

static void test_lifecycle(const char *dir)
{
    mstore *s;
    CHECK_EQ_INT(mstore_open(dir, NULL, &s), MSTORE_OK);
    CHECK_EQ_INT(mstore_commit(s, "a", "x"), MSTORE_ESTATE);
    CHECK_PREFIX(mstore_errmsg(s), "instance a has no staged version");

    put(s, "a", "1.0.0", "", "one");
    CHECK_EQ_INT(mstore_commit(s, "a", "installed"), MSTORE_OK);
    put(s, "a", "1.1.0", "1.0.0", "two");
    CHECK_EQ_STR(states_of(s, "a"), "1.0.0=active 1.1.0=staged");
    CHECK_EQ_INT(mstore_commit(s, "a", "installed"), MSTORE_OK);
    CHECK_EQ_STR(states_of(s, "a"), "1.0.0=previous 1.1.0=active");
    mstore_guard g;
    CHECK_EQ_INT(mstore_guard_get(s, "a", &g), MSTORE_OK);
    CHECK_EQ_STR(g.highest_floor, "1.0.0");
    CHECK_EQ_STR(g.running_version, "1.1.0");

    uint8_t *buf;
    size_t len;
    CHECK_EQ_INT(mstore_read_active(s, "a", &buf, &len, NULL), MSTORE_OK);
    CHECK(len == 3 && memcmp(buf, "two", 3) == 0);
    free(buf);

    CHECK_EQ_INT(mstore_rollback(s, "a", "operator"), MSTORE_OK);
    CHECK_EQ_STR(states_of(s, "a"), "1.0.0=active 1.1.0=rolled_back");
    CHECK_EQ_INT(mstore_guard_get(s, "a", &g), MSTORE_OK);
    CHECK_EQ_STR(g.running_version, "1.0.0");
    CHECK_EQ_INT(mstore_rollback(s, "a", "again"), MSTORE_ESTATE);

    /* A floor above the previous version forbids going back to it. */
    put(s, "a", "2.0.0", "2.0.0", "three");
    CHECK_EQ_INT(mstore_commit(s, "a", "security fix"), MSTORE_OK);
    CHECK_EQ_INT(mstore_rollback(s, "a", "operator"), MSTORE_ESTATE);
    CHECK_PREFIX(mstore_errmsg(s), "instance a: previous version 1.0.0 is below the security floor 2.0.0");

    /* Quarantining the active version hands over to the previous one. */
    put(s, "b", "0.1.0", "", "bee");
    CHECK_EQ_INT(mstore_commit(s, "b", "x"), MSTORE_OK);
    put(s, "b", "0.2.0", "", "bee2");
    CHECK_EQ_INT(mstore_commit(s, "b", "x"), MSTORE_OK);
    CHECK_EQ_INT(mstore_quarantine(s, "b", "0.2.0", "crashes"), MSTORE_OK);
    CHECK_EQ_STR(states_of(s, "b"), "0.1.0=active 0.2.0=quarantined");
    CHECK_EQ_INT(mstore_remove(s, "b", "gone"), MSTORE_OK);
    CHECK_EQ_STR(states_of(s, "b"), "0.1.0=removed 0.2.0=quarantined");
    CHECK_EQ_INT(mstore_read_active(s, "b", &buf, &len, NULL), MSTORE_ENOTFOUND);

    /* Bad input is refused with a reason. */
    CHECK_EQ_INT(mstore_stage(s, "a", "{}", "1.0", "00", "", "x", 1, "t"), MSTORE_EINVAL);
    char sha[65];
    mstore_sha256_hex("y", 1, sha);
    CHECK_EQ_INT(mstore_stage(s, "a", "{}", "3.0.0", sha, "", "x", 1, "t"), MSTORE_EINVAL);
    CHECK(strstr(mstore_errmsg(s), "the payload hashes to") != NULL);

    int64_t t = 0;
    CHECK_EQ_INT(mstore_note_time(s, 4000000000LL, &t), MSTORE_OK);
    CHECK_EQ_INT(mstore_note_time(s, 0, &t), MSTORE_OK);
    CHECK_EQ_INT(t, 4000000000LL);

    /* A staged version left at close is failed at the next open. */
    put(s, "a", "2.1.0", "", "four");
    mstore_close(s);
    CHECK_EQ_INT(mstore_open(dir, NULL, &s), MSTORE_OK);
    CHECK_EQ_STR(states_of(s, "a"), "1.0.0=previous 1.1.0=rolled_back 2.0.0=active 2.1.0=failed");
    int n = 0;
    CHECK_EQ_INT(mstore_history(s, "a", (mstore_event_fn)count_fn, &n), MSTORE_OK);
    CHECK_EQ_INT(n, 12);

    /* The sweep: garbage in blobs/ and tmp/ goes, live blobs stay. */
    char path[4096];
    snprintf(path, sizeof path, "%s/store/tmp/junk", dir);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    mstore_sha256_hex("four", 4, sha);
    mstore_blob_path(s, sha, path, sizeof path);
    CHECK(access(path, F_OK) != 0);
    mstore_close(s);
    snprintf(path, sizeof path, "%s/store/tmp/junk", dir);
    CHECK_EQ_INT(mstore_open(dir, NULL, &s), MSTORE_OK);
    CHECK(access(path, F_OK) != 0);

    /* A corrupt blob is a named error, never a silent run. */
    mstore_sha256_hex("three", 5, sha);
    mstore_blob_path(s, sha, path, sizeof path);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "thr3e", 5) == 5);
    close(fd);
    CHECK_EQ_INT(mstore_read_active(s, "a", &buf, &len, NULL), MSTORE_ECORRUPT);
    CHECK(strstr(mstore_errmsg(s), path) != NULL && strstr(mstore_errmsg(s), "corrupt blob") != NULL);
    mstore_close(s);
}

int main(void)
{
    char dir[] = GRAFT_BINARY_DIR "/store-unit-XXXXXX";
    if (!mkdtemp(dir)) { perror(dir); return 2; }
    test_hash_and_semver();
    test_lifecycle(dir);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
