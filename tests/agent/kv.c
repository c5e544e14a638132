/* tests/agent/kv.c - the kv state store: get/put/delete, quota, event
 * atomicity (visible at once, discarded on trap), persistence across reopen,
 * group commit sequence numbers, and a crash test: a forked child commits
 * events in a stream and is SIGKILLed mid-stream; reopening must show every
 * event the child saw flushed, entirely, and no part of any other event. */
#include "harness.h"

#include "kv.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static kvs_result put_s(kvs_ns *ns, const char *k, const char *v)
{
    return kvs_put(ns, k, strlen(k), v, strlen(v));
}

/* Reads key as a NUL-terminated string into buf; "" when absent. */
static const char *get_s(kvs_ns *ns, const char *k, char *buf, size_t cap)
{
    size_t len = 0;
    if (kvs_get(ns, k, strlen(k), buf, cap - 1, &len) != KVS_OK) len = 0;
    buf[len < cap - 1 ? len : cap - 1] = 0;
    return buf;
}

static void test_basics(void)
{
    char path[300], buf[64];
    path_of(path, sizeof path, "basic.sqlite");
    kvs *s;
    CHECK_EQ_INT(kvs_open(path, 0, &s), KVS_OK);
    kvs_ns *a, *b, *dup;
    CHECK_EQ_INT(kvs_ns_open(s, "alpha", 100, &a), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "beta", 100, &b), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "alpha", 100, &dup), KVS_EINVAL);
    CHECK(strstr(kvs_errmsg(s), "'alpha'") != NULL);
    CHECK_EQ_INT(put_s(a, "k", "v"), KVS_EINVAL);         /* no event open */
    kvs_event_begin(a);
    CHECK_EQ_INT(put_s(a, "k", "v1"), KVS_OK);
    CHECK_EQ_STR(get_s(a, "k", buf, sizeof buf), "v1");   /* visible at once */
    CHECK_EQ_INT(put_s(a, "k", "value2"), KVS_OK);
    CHECK_EQ_INT(put_s(a, "gone", "x"), KVS_OK);
    CHECK_EQ_INT(kvs_delete(a, "gone", 4), KVS_OK);
    CHECK_EQ_INT(kvs_delete(a, "gone", 4), KVS_ENOENT);
    CHECK_EQ_INT(kvs_get(a, "gone", 4, buf, sizeof buf, NULL), KVS_ENOENT);
    CHECK_EQ_INT(kvs_get(a, "", 0, buf, sizeof buf, NULL), KVS_EINVAL);
    char longkey[KVS_KEY_MAX + 1];
    memset(longkey, 'k', sizeof longkey);
    CHECK_EQ_INT(kvs_put(a, longkey, sizeof longkey, "v", 1), KVS_E2BIG);
    uint64_t seq = 0;
    CHECK_EQ_INT(kvs_event_end(a, true, &seq), KVS_OK);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(kvs_durable_seq(s), 1);                  /* window 0: synchronous */
    CHECK_EQ_STR(get_s(a, "k", buf, sizeof buf), "value2");
    CHECK_EQ_INT(kvs_get(b, "k", 1, buf, sizeof buf, NULL), KVS_ENOENT);  /* namespaces */
    /* A partial read reports the full length. */
    size_t len = 0;
    CHECK_EQ_INT(kvs_get(a, "k", 1, buf, 3, &len), KVS_OK);
    CHECK_EQ_INT(len, 6);
    CHECK(memcmp(buf, "val", 3) == 0);
    /* Quota: keys + values. "k"+"value2" = 7 bytes used of 100. */
    CHECK_EQ_INT(kvs_ns_usage(a), 7);
    kvs_event_begin(a);
    char big[120];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(kvs_put(a, "q", 1, big, 92), KVS_OK);    /* 7 + 93 = 100 */
    CHECK_EQ_INT(kvs_put(a, "r", 1, big, 0), KVS_EQUOTA);
    CHECK_EQ_INT(kvs_put(a, "q", 1, big, 93), KVS_EQUOTA);
    CHECK_EQ_INT(kvs_put(a, "q", 1, big, 10), KVS_OK);    /* shrinking frees room */
    CHECK_EQ_INT(kvs_ns_usage(a), 18);
    CHECK_EQ_INT(kvs_event_end(a, true, NULL), KVS_OK);
    /* A trapped event's writes vanish, including deletes. */
    kvs_event_begin(a);
    CHECK_EQ_INT(put_s(a, "k", "trapped"), KVS_OK);
    CHECK_EQ_INT(kvs_delete(a, "q", 1), KVS_OK);
    CHECK_EQ_INT(put_s(a, "new", "n"), KVS_OK);
    CHECK_EQ_INT(kvs_event_end(a, false, &seq), KVS_OK);
    CHECK_EQ_INT(seq, 0);
    CHECK_EQ_STR(get_s(a, "k", buf, sizeof buf), "value2");
    CHECK_EQ_INT(kvs_get(a, "q", 1, NULL, 0, &len), KVS_OK);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_INT(kvs_get(a, "new", 3, NULL, 0, NULL), KVS_ENOENT);
    CHECK_EQ_INT(kvs_ns_usage(a), 18);
    kvs_event_begin(b);
    CHECK_EQ_INT(put_s(b, "k", "beta's"), KVS_OK);
    CHECK_EQ_INT(kvs_event_end(b, true, NULL), KVS_OK);
    CHECK_EQ_INT(kvs_close(s), KVS_OK);

    /* Persistence across reopen, with a group-commit window this time. */
    CHECK_EQ_INT(kvs_open(path, 20, &s), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "alpha", 100, &a), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "beta", 100, &b), KVS_OK);
    CHECK_EQ_STR(get_s(a, "k", buf, sizeof buf), "value2");
    CHECK_EQ_STR(get_s(b, "k", buf, sizeof buf), "beta's");
    CHECK_EQ_INT(kvs_ns_usage(a), 18);
    kvs_event_begin(a);
    CHECK_EQ_INT(kvs_delete(a, "k", 1), KVS_OK);
    CHECK_EQ_INT(kvs_event_end(a, true, &seq), KVS_OK);
    CHECK_EQ_INT(seq, 1);
    for (int i = 0; i < 200 && kvs_durable_seq(s) < 1; i++) usleep(5000);
    CHECK_EQ_INT(kvs_durable_seq(s), 1);                  /* the flusher wrote it */
    kvs_ns_close(a);
    /* A smaller quota than the stored data: reads work, growth refuses. */
    CHECK_EQ_INT(kvs_ns_open(s, "alpha", 5, &a), KVS_EQUOTA);
    CHECK(a != NULL);
    CHECK(strstr(kvs_errmsg(s), "over its quota") != NULL);
    CHECK_EQ_INT(kvs_get(a, "k", 1, NULL, 0, NULL), KVS_ENOENT);
    kvs_event_begin(a);
    CHECK_EQ_INT(kvs_put(a, "z", 1, "1", 1), KVS_EQUOTA);
    CHECK_EQ_INT(kvs_delete(a, "q", 1), KVS_OK);
    CHECK_EQ_INT(kvs_event_end(a, true, NULL), KVS_OK);
    CHECK_EQ_INT(kvs_close(s), KVS_OK);                   /* flushes on close */
    CHECK_EQ_INT(kvs_open(path, 20, &s), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "alpha", 5, &a), KVS_OK);
    CHECK_EQ_INT(kvs_ns_usage(a), 0);
    CHECK_EQ_INT(kvs_close(s), KVS_OK);

    CHECK_EQ_INT(kvs_open("/nonexistent-dir/x/kv.sqlite", 0, &s), KVS_EIO);
    CHECK(strstr(kvs_errmsg(s), "/nonexistent-dir/x/kv.sqlite") != NULL);
    kvs_close(s);
}

/* ---- crash test ------------------------------------------------------------ */

enum { KEYS_PER_EVENT = 4 };

/* Event i writes a/b/c/d = "i" and n<i> = "i", and deletes n<i-3>: a
 * partial event would show mismatched a..d or a wrong n-window. */
static void child_stream(const char *path, int report_fd)
{
    kvs *s;
    if (kvs_open(path, 5, &s) != KVS_OK) _exit(2);
    kvs_ns *ns;
    if (kvs_ns_open(s, "m", 1 << 20, &ns) != KVS_OK) _exit(3);
    uint64_t reported = 0;
    for (int i = 1;; i++) {
        char v[32], k[32];
        snprintf(v, sizeof v, "%d", i);
        kvs_event_begin(ns);
        for (int j = 0; j < KEYS_PER_EVENT; j++) {
            char key[2] = { (char)('a' + j), 0 };
            put_s(ns, key, v);
        }
        snprintf(k, sizeof k, "n%d", i);
        put_s(ns, k, v);
        if (i > 3) {
            snprintf(k, sizeof k, "n%d", i - 3);
            kvs_delete(ns, k, strlen(k));
        }
        kvs_event_end(ns, true, NULL);
        uint64_t durable = kvs_durable_seq(s);
        if (durable != reported) {
            reported = durable;
            if (write(report_fd, &durable, sizeof durable) != sizeof durable) _exit(4);
        }
        if (i % 64 == 0) usleep(500);
    }
}

static void test_crash(void)
{
    char path[300], buf[64];
    path_of(path, sizeof path, "crash.sqlite");
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_stream(path, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    /* Let it run until a good number of flushes happened, then kill it. */
    uint64_t durable = 0, v;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (read(fds[0], &v, sizeof v) != sizeof v) break;
        durable = v;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 1 || (durable > 300 && now.tv_sec > start.tv_sec)) break;
        if (durable > 2000) break;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    /* Reports already in the pipe are durable too. */
    while (read(fds[0], &v, sizeof v) == sizeof v) durable = v;
    close(fds[0]);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(durable > 0);

    kvs *s;
    kvs_ns *ns;
    CHECK_EQ_INT(kvs_open(path, 0, &s), KVS_OK);
    CHECK_EQ_INT(kvs_ns_open(s, "m", 1 << 20, &ns), KVS_OK);
    long last = atol(get_s(ns, "a", buf, sizeof buf));
    printf("crash test: child reported %llu events durable; %ld on disk\n",
           (unsigned long long)durable, last);
    CHECK((uint64_t)last >= durable);                    /* nothing flushed was lost */
    int bad = 0;
    for (int j = 1; j < KEYS_PER_EVENT; j++) {
        char key[2] = { (char)('a' + j), 0 };
        bad += atol(get_s(ns, key, buf, sizeof buf)) != last;
    }
    CHECK_EQ_INT(bad, 0);                                /* no partial event */
    /* Exactly n<last-2>..n<last> exist (the deletes of each event landed too). */
    size_t keys_expected = KEYS_PER_EVENT + (size_t)(last < 3 ? last : 3);
    size_t per_key = 0;
    for (long i = 1; i <= last + 5; i++) {
        char k[32];
        snprintf(k, sizeof k, "n%ld", i);
        bool want = i <= last && i > last - 3;
        bool have = kvs_get(ns, k, strlen(k), buf, sizeof buf, NULL) == KVS_OK;
        if (want != have) bad++;
        per_key += have;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(per_key + KEYS_PER_EVENT, keys_expected);
    kvs_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/graft-kv-test-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_basics();
    test_crash();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
