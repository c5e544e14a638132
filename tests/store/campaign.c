/* campaign.c - crash and power-loss campaigns for the module store
 * (src/store, docs/ota.md "The store on disk").
 *
 *   campaign kill DIR KILLS SEED
 *       KILLS times: fork a worker that runs random stage / commit /
 *       rollback / quarantine / remove / note-time operations on the store
 *       in DIR (forever), SIGKILL it after a random 0-40 ms, reopen the
 *       store and check it (below). The store persists across kills.
 *   campaign crashfs DIR SHIM OPS POINTS SEED [negative]
 *       Count the file-system operations of a fixed OPS-step workload under
 *       the LD_PRELOAD shim SHIM (tests/store/crashfs.c), then, from a fresh
 *       store each time, run it again crashing (losing everything not
 *       fsynced) at POINTS evenly spread operation counts (0: every one),
 *       and check. `negative` runs the worker with the blob fsync skipped
 *       and passes only when the check catches it.
 *   campaign worker STATE_DIR SEED OPS SKIP_FSYNC LOG   (internal)
 *
 * The worker logs "B instance candidate" before each operation (the active
 * version the operation may leave, "-" for none) and "D instance active"
 * after it. After a crash the active version of each instance must be the
 * last D's or the pending B's candidate.
 *
 * The check: the store opens; per instance at most one active and one
 * previous and no staged version (open marks them failed), a previous only
 * with an active; the active version is one the log allows and its payload
 * reads back verified; every live version's blob exists with its hash; no
 * other file survives in blobs/ and tmp/ is empty; each version's history is
 * a chain from "none" through from == the last to, ending in its current
 * state; the guard's running version and hash are the active's and its
 * highest floor the highest floor ever committed; SQLite's integrity_check
 * says ok. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "store.h"

#define NINST 3
static const char *const INST[NINST] = { "alpha", "beta", "gamma" };

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* ---- the worker ------------------------------------------------------------ */

typedef struct info {
    char active[64], previous[64];
    bool staged;
    unsigned max_patch;
} info;

static bool info_fn(void *user, const mstore_version *v)
{
    info *in = user;
    unsigned a, b, c;
    if (sscanf(v->version, "%u.%u.%u", &a, &b, &c) == 3 && c > in->max_patch) in->max_patch = c;
    if (v->state == MSTORE_ACTIVE) snprintf(in->active, sizeof in->active, "%s", v->version);
    if (v->state == MSTORE_PREVIOUS) snprintf(in->previous, sizeof in->previous, "%s", v->version);
    if (v->state == MSTORE_STAGED) in->staged = true;
    return true;
}

static info info_get(mstore *s, const char *inst)
{
    info in = { "", "", false, 0 };
    if (mstore_list(s, inst, info_fn, &in) != MSTORE_OK) {
        fprintf(stderr, "worker: list: %s\n", mstore_errmsg(s));
        exit(3);
    }
    return in;
}

static void logf_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_line(int fd, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (write(fd, line, (size_t)n) != n) exit(4);
}

/* One of six payloads, so blobs are shared across versions and instances. */
static uint8_t *payload(unsigned which, size_t *out_len)
{
    uint64_t st = 0x9e3779b97f4a7c15ull * (which + 1);
    size_t len = 64 + (size_t)(which * 1777 % 9000);
    uint8_t *p = malloc(len);
    memcpy(p, "\0asm\1\0\0\0", 8);
    for (size_t i = 8; i < len; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        p[i] = (uint8_t)st;
    }
    *out_len = len;
    return p;
}

static int worker(const char *state_dir, uint64_t seed, long ops, bool skip_fsync, const char *log_path)
{
    rnd_state = seed | 1;
    int log = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log < 0) return 2;
    mstore_options opt = { .unsafe_skip_blob_fsync = skip_fsync };
    mstore *s;
    if (mstore_open(state_dir, &opt, &s) != MSTORE_OK) {
        fprintf(stderr, "worker: open: %s\n", mstore_errmsg(s));
        return 2;
    }
    for (long i = 0; ops <= 0 || i < ops; i++) {
        const char *inst = INST[rnd() % NINST];
        info in = info_get(s, inst);
        unsigned pick = (unsigned)(rnd() % 100);
        const char *cand = in.active[0] ? in.active : "-";
        char version[64];
        snprintf(version, sizeof version, "1.0.%u", in.max_patch + 1);
        if (pick < 55) {
            /* stage, and most of the time commit it */
            size_t len;
            uint8_t *p = payload((unsigned)(rnd() % 6), &len);
            char sha[65], floor[64], manifest[128];
            mstore_sha256_hex(p, len, sha);
            snprintf(floor, sizeof floor, "1.0.%u", in.max_patch > 3 ? in.max_patch - 3 : 0);
            snprintf(manifest, sizeof manifest, "{\"name\":\"%s\",\"version\":\"%s\"}", inst, version);
            bool commit = rnd() % 4 != 0;
            logf_line(log, "B %s %s\n", inst, commit ? version : cand);
            if (mstore_stage(s, inst, manifest, version, sha, floor, p, len, "campaign") != MSTORE_OK) {
                fprintf(stderr, "worker: stage: %s\n", mstore_errmsg(s));
                return 3;
            }
            free(p);
            if (commit && mstore_commit(s, inst, "campaign") != MSTORE_OK) {
                fprintf(stderr, "worker: commit: %s\n", mstore_errmsg(s));
                return 3;
            }
        } else if (pick < 80) {
            logf_line(log, "B %s %s\n", inst, in.previous[0] ? in.previous : cand);
            mstore_result r = mstore_rollback(s, inst, "campaign rollback");
            if (r != MSTORE_OK && r != MSTORE_ESTATE) {
                fprintf(stderr, "worker: rollback: %s\n", mstore_errmsg(s));
                return 3;
            }
        } else if (pick < 88) {
            logf_line(log, "B %s %s\n", inst, in.previous[0] ? in.previous : "-");
            mstore_result r = mstore_quarantine(s, inst, in.active, "campaign quarantine");
            if (r != MSTORE_OK && r != MSTORE_ENOTFOUND) {
                fprintf(stderr, "worker: quarantine: %s\n", mstore_errmsg(s));
                return 3;
            }
        } else if (pick < 92) {
            logf_line(log, "B %s -\n", inst);
            mstore_result r = mstore_remove(s, inst, "campaign remove");
            if (r != MSTORE_OK && r != MSTORE_ENOTFOUND) {
                fprintf(stderr, "worker: remove: %s\n", mstore_errmsg(s));
                return 3;
            }
        } else {
            logf_line(log, "B %s %s\n", inst, cand);
            if (mstore_note_time(s, (int64_t)time(NULL), NULL) != MSTORE_OK) {
                fprintf(stderr, "worker: note_time: %s\n", mstore_errmsg(s));
                return 3;
            }
        }
        in = info_get(s, inst);
        logf_line(log, "D %s %s\n", inst, in.active[0] ? in.active : "-");
    }
    mstore_close(s);
    close(log);
    return 0;
}

/* ---- the check ------------------------------------------------------------- */

typedef struct model { char active[NINST][64]; } model;

typedef struct vers {
    int64_t id;
    int inst;
    char version[64], sha[65], floor[64];
    mstore_state state;
    mstore_state last_to;   /* from the history replay */
    bool seen, committed;
} vers;

typedef struct listing { vers *v; size_t n; } listing;

static int inst_index(const char *name)
{
    for (int i = 0; i < NINST; i++)
        if (strcmp(INST[i], name) == 0) return i;
    return -1;
}

static bool list_fn(void *user, const mstore_version *v)
{
    listing *l = user;
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    vers *x = &l->v[l->n++];
    *x = (vers){ .id = v->id, .inst = inst_index(v->instance), .state = v->state, .last_to = MSTORE_STATE_COUNT };
    snprintf(x->version, sizeof x->version, "%s", v->version);
    snprintf(x->sha, sizeof x->sha, "%s", v->sha256);
    snprintf(x->floor, sizeof x->floor, "%s", v->floor);
    return true;
}

typedef struct hist { listing *l; char *why; size_t cap; int64_t last_seq; bool ok; } hist;

static bool bad(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool bad(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

static bool hist_fn(void *user, const mstore_event *e)
{
    hist *h = user;
    vers *x = NULL;
    for (size_t i = 0; i < h->l->n; i++)
        if (h->l->v[i].id == e->version_id) x = &h->l->v[i];
    if (!x) return h->ok = bad(h->why, h->cap, "history row %lld names missing version %lld", (long long)e->seq,
                               (long long)e->version_id);
    if (e->seq <= h->last_seq) return h->ok = bad(h->why, h->cap, "history seq %lld out of order", (long long)e->seq);
    h->last_seq = e->seq;
    mstore_state expect = x->seen ? x->last_to : MSTORE_STATE_COUNT;
    if (e->from != expect)
        return h->ok = bad(h->why, h->cap, "version %lld: history row %lld goes from %s, but it was %s", (long long)x->id,
                           (long long)e->seq, mstore_state_name(e->from), mstore_state_name(expect));
    if (e->from == MSTORE_STAGED && e->to == MSTORE_ACTIVE) x->committed = true;
    x->seen = true;
    x->last_to = e->to;
    return true;
}

static bool file_hash_ok(const char *path, const char *sha)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    crypto_hash_sha256_state c;
    crypto_hash_sha256_init(&c);
    unsigned char buf[4096], d[crypto_hash_sha256_BYTES];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) crypto_hash_sha256_update(&c, buf, n);
    fclose(f);
    crypto_hash_sha256_final(&c, d);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    return strcmp(hex, sha) == 0;
}

static bool integrity_ok(const char *state_dir, char *why, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store/store.sqlite", state_dir);
    sqlite3 *db;
    bool ok = false;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK) {
            ok = sqlite3_step(q) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
            if (!ok) bad(why, cap, "integrity_check: %s", sqlite3_column_text(q, 0));
            sqlite3_finalize(q);
        }
    }
    if (!ok && !why[0]) bad(why, cap, "%s: %s", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return ok;
}

/* What the log allows per instance: the last D's active, or the pending
 * B's candidate (allow[i][1]; equal to [0] when nothing is pending). */
static void log_allows(const char *log_path, const model *m, char allow[NINST][2][64])
{
    for (int i = 0; i < NINST; i++) {
        snprintf(allow[i][0], 64, "%.63s", m->active[i][0] ? m->active[i] : "-");
        memcpy(allow[i][1], allow[i][0], 64);
    }
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char kind, inst[64], ver[64];
    while (fscanf(f, " %c %63s %63s", &kind, inst, ver) == 3) {
        int i = inst_index(inst);
        if (i < 0) continue;
        if (kind == 'D') snprintf(allow[i][0], 64, "%s", ver);
        snprintf(allow[i][1], 64, "%s", ver);
    }
    fclose(f);
}

static bool check_versions(mstore *s, const char *state_dir, listing *l, const char allow[NINST][2][64], model *m,
                           char *why, size_t cap)
{
    for (int i = 0; i < NINST; i++) {
        int na = 0, np = 0;
        vers *act = NULL;
        char highest[64] = "";
        for (size_t k = 0; k < l->n; k++) {
            vers *x = &l->v[k];
            if (x->inst != i) continue;
            if (x->state == MSTORE_STAGED) return bad(why, cap, "%s: version %s still staged after open", INST[i], x->version);
            if (x->state == MSTORE_ACTIVE) { na++; act = x; }
            if (x->state == MSTORE_PREVIOUS) np++;
            if (!x->seen || x->last_to != x->state)
                return bad(why, cap, "%s %s: state %s but history ends in %s", INST[i], x->version,
                           mstore_state_name(x->state), mstore_state_name(x->last_to));
            if (x->committed && mstore_semver_cmp(x->floor, highest) > 0) snprintf(highest, sizeof highest, "%s", x->floor);
            if (x->state == MSTORE_ACTIVE || x->state == MSTORE_PREVIOUS) {
                char path[4096];
                mstore_blob_path(s, x->sha, path, sizeof path);
                if (!file_hash_ok(path, x->sha)) return bad(why, cap, "%s %s: blob %s missing or wrong", INST[i], x->version, path);
            }
        }
        if (na > 1 || np > 1 || (np && !na)) return bad(why, cap, "%s: %d active, %d previous", INST[i], na, np);
        const char *got = act ? act->version : "-";
        if (strcmp(got, allow[i][0]) != 0 && strcmp(got, allow[i][1]) != 0)
            return bad(why, cap, "%s: active is %s, the log allows %s or %s", INST[i], got, allow[i][0], allow[i][1]);
        if (act) {
            uint8_t *buf;
            size_t len;
            if (mstore_read_active(s, INST[i], &buf, &len, NULL) != MSTORE_OK)
                return bad(why, cap, "%s: read_active: %s", INST[i], mstore_errmsg(s));
            free(buf);
        }
        mstore_guard g;
        if (mstore_guard_get(s, INST[i], &g) != MSTORE_OK) return bad(why, cap, "guard: %s", mstore_errmsg(s));
        if (strcmp(g.running_version, act ? act->version : "") != 0 || strcmp(g.running_sha256, act ? act->sha : "") != 0)
            return bad(why, cap, "%s: guard runs \"%s\", active is \"%s\"", INST[i], g.running_version, got);
        if (strcmp(g.highest_floor, highest) != 0)
            return bad(why, cap, "%s: highest floor \"%s\", committed floors reach \"%s\"", INST[i], g.highest_floor, highest);
        snprintf(m->active[i], sizeof m->active[i], "%s", act ? act->version : "");
    }
    return true;
}

static bool check_dirs(const char *state_dir, const listing *l, char *why, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store/tmp", state_dir);
    DIR *dp = opendir(path);
    if (!dp) return bad(why, cap, "%s: %s", path, strerror(errno));
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        if (e->d_name[0] != '.') { closedir(dp); return bad(why, cap, "tmp/%s survived the sweep", e->d_name); }
    closedir(dp);
    snprintf(path, sizeof path, "%s/store/blobs", state_dir);
    if (!(dp = opendir(path))) return bad(why, cap, "%s: %s", path, strerror(errno));
    bool ok = true;
    while (ok && (e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.') continue;
        bool live = false;
        for (size_t k = 0; k < l->n; k++) {
            const vers *x = &l->v[k];
            if ((x->state == MSTORE_ACTIVE || x->state == MSTORE_PREVIOUS) && strncmp(e->d_name, x->sha, 64) == 0) live = true;
        }
        if (!live) ok = bad(why, cap, "blobs/%s survived the sweep unreferenced", e->d_name);
    }
    closedir(dp);
    return ok;
}

/* Opens the store after a crash and checks everything the file's comment
 * lists; on success m holds the active versions found. */
static bool check_store(const char *state_dir, const char *log_path, model *m, char *why, size_t cap)
{
    char allow[NINST][2][64];
    log_allows(log_path, m, allow);
    why[0] = '\0';
    mstore *s;
    if (mstore_open(state_dir, NULL, &s) != MSTORE_OK) {
        bad(why, cap, "open: %s", mstore_errmsg(s));
        mstore_close(s);
        return false;
    }
    listing l = { NULL, 0 };
    hist h = { &l, why, cap, 0, true };
    bool ok = mstore_list(s, NULL, list_fn, &l) == MSTORE_OK || bad(why, cap, "list: %s", mstore_errmsg(s));
    if (ok) ok = mstore_history(s, NULL, hist_fn, &h) == MSTORE_OK || bad(why, cap, "history: %s", mstore_errmsg(s));
    ok = ok && h.ok;
    if (ok) ok = check_versions(s, state_dir, &l, allow, m, why, cap);
    if (ok) ok = check_dirs(state_dir, &l, why, cap);
    mstore_close(s);
    if (ok) ok = integrity_ok(state_dir, why, cap);
    free(l.v);
    return ok;
}

/* ---- the campaigns ----------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f) { return remove(p); }

static void reset(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(dir, 0700) != 0) { perror(dir); exit(2); }
}

static long count_lines(const char *path, char kind)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) n += line[0] == kind;
    if (f) fclose(f);
    return n;
}

static int campaign_kill(const char *dir, long kills, uint64_t seed)
{
    char state[4096], log_path[4200], why[1024];
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(log_path, sizeof log_path, "%s/worker.log", dir);
    reset(dir);
    mkdir(state, 0700);
    rnd_state = seed | 1;
    model m = { { "" } };
    long failures = 0, ops = 0, early = 0;
    for (long k = 0; k < kills; k++) {
        unlink(log_path);
        uint64_t child_seed = rnd();
        unsigned delay_us = (unsigned)(rnd() % 40000);
        pid_t pid = fork();
        if (pid == 0) _exit(worker(state, child_seed, 0, false, log_path));
        usleep(delay_us);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        if (!WIFSIGNALED(st)) { early++; fprintf(stderr, "kill %ld: the worker exited with %d before the kill\n", k, WEXITSTATUS(st)); }
        ops += count_lines(log_path, 'D');
        if (!check_store(state, log_path, &m, why, sizeof why)) {
            failures++;
            fprintf(stderr, "kill %ld (after %u us): %s\n", k, delay_us, why);
        }
    }
    printf("store kill campaign: %ld kills, %ld operations completed, %ld check failures, %ld early exits\n",
           kills, ops, failures, early);
    return failures || early ? 1 : 0;
}

/* Runs the worker under the shim; returns its wait status. */
static int run_shimmed(const char *self, const char *state, const char *shim, long crash_at, const char *count_file,
                       long ops, uint64_t seed, bool negative, const char *log_path)
{
    char store_dir[4200], at[32], seed_s[32], ops_s[32];
    snprintf(store_dir, sizeof store_dir, "%s/store", state);
    snprintf(at, sizeof at, "%ld", crash_at);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(ops_s, sizeof ops_s, "%ld", ops);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", shim, 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
        setenv("CRASHFS_DIR", store_dir, 1);
        setenv("CRASHFS_CRASH_AT", at, 1);
        if (count_file) setenv("CRASHFS_COUNT_FILE", count_file, 1);
        execl(self, self, "worker", state, seed_s, ops_s, negative ? "1" : "0", log_path, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return st;
}

/* A fresh store, created and closed without the shim, so that it is on
 * the disk (as far as the shim's model goes) before the workload starts. */
static void fresh_store(const char *dir, const char *state, const char *log_path)
{
    reset(dir);
    mkdir(state, 0700);
    mstore *s;
    if (mstore_open(state, NULL, &s) != MSTORE_OK) { fprintf(stderr, "open: %s\n", mstore_errmsg(s)); exit(2); }
    mstore_close(s);
    unlink(log_path);
}

static int campaign_crashfs(const char *self, const char *dir, const char *shim, long ops, long points, uint64_t seed,
                            bool negative)
{
    char state[4096], log_path[4200], count_file[4200], why[1024];
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(log_path, sizeof log_path, "%s.log", dir);
    snprintf(count_file, sizeof count_file, "%s.count", dir);
    fresh_store(dir, state, log_path);
    int st = run_shimmed(self, state, shim, 0, count_file, ops, seed, negative, log_path);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "the counting run failed (status %d)\n", st); return 1; }
    FILE *f = fopen(count_file, "r");
    long total = 0;
    if (!f || fscanf(f, "%ld", &total) != 1 || total <= 0) { fprintf(stderr, "%s: no count\n", count_file); return 1; }
    fclose(f);
    long n = points <= 0 || points > total ? total : points, failures = 0, crashed = 0;
    for (long i = 0; i < n; i++) {
        long at = 1 + i * total / n;
        fresh_store(dir, state, log_path);
        st = run_shimmed(self, state, shim, at, NULL, ops, seed, negative, log_path);
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) crashed++;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "crash point %ld: worker status %d\n", at, st); failures++; continue; }
        model m = { { "" } };
        if (!check_store(state, log_path, &m, why, sizeof why)) {
            failures++;
            if (!negative || failures <= 3) fprintf(stderr, "crash point %ld of %ld: %s\n", at, total, why);
        }
    }
    printf("store crashfs campaign%s: %ld file-system operations in the workload, %ld crash points, %ld crashed, "
           "%ld check failures\n", negative ? " (negative control: blob fsync skipped)" : "", total, n, crashed, failures);
    if (negative) {
        if (failures == 0) fprintf(stderr, "the check did not see the missing fsync\n");
        return failures ? 0 : 1;
    }
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "worker") == 0)
        return worker(argv[2], strtoull(argv[3], NULL, 10), atol(argv[4]), strcmp(argv[5], "1") == 0, argv[6]);
    if (argc == 5 && strcmp(argv[1], "kill") == 0)
        return campaign_kill(argv[2], atol(argv[3]), strtoull(argv[4], NULL, 10));
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "crashfs") == 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return 2;
        self[n] = '\0';
        return campaign_crashfs(self, argv[2], argv[3], atol(argv[4]), atol(argv[5]), strtoull(argv[6], NULL, 10),
                                argc == 8 && strcmp(argv[7], "negative") == 0);
    }
    fprintf(stderr, "usage: campaign kill DIR KILLS SEED | campaign crashfs DIR SHIM OPS POINTS SEED [negative]\n");
    return 2;
}
