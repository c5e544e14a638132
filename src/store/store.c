/* store.c - the versioned module store: blobs on disk, bookkeeping in
 * SQLite (docs/ota.md, "The store on disk").
 *
 * Data: the `versions` table (one row per staged version, its state
 * updated in place), `history` (one row per transition), `guard` (per
 * instance: highest floor, running version and hash) and `meta` (the
 * newest time seen). A blob is referenced while a version in a live state
 * (staged, active, previous) names its hash; any other file in blobs/ is
 * garbage.
 *
 * Ordering, the whole of the crash safety: a blob is written to tmp/,
 * fsynced, renamed into blobs/ and blobs/ fsynced BEFORE the transaction
 * that refers to it begins, so a committed row never names a missing or
 * partial blob. Blobs are unlinked only AFTER the transaction that made
 * them unreferenced committed; a crash in between leaves garbage that the
 * sweep at open removes. SQLite (WAL, synchronous=FULL) makes each
 * transaction durable before mstore_* returns.
 *
 * The handle owns the connection and the paths; err holds the latest
 * failure's text. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "semver.h"
#include "sha256.h"

#define FIELD_MAX 64        /* version and floor texts: at most 63 bytes */

struct mstore {
    sqlite3 *db;
    char *dir;              /* STATE_DIR/store */
    char *db_path;          /* .../store.sqlite */
    char *blobs;            /* .../blobs */
    char *tmp;              /* .../tmp */
    mstore_options opt;     /* as opened */
    char err[768];          /* the latest failure */
};

/* One version row as the transitions need it. */
typedef struct vrow {
    int64_t id;
    char version[FIELD_MAX];
    char sha256[65];
    char floor[FIELD_MAX];
} vrow;

static const char *const state_names[] = {
#define X(name, text) text,
    MSTORE_STATES(X)
#undef X
};

const char *mstore_state_name(mstore_state st)
{
    return st < MSTORE_STATE_COUNT ? state_names[st] : "none";
}

static bool state_parse(const char *text, mstore_state *out)
{
    for (int i = 0; i < MSTORE_STATE_COUNT; i++)
        if (text && strcmp(text, state_names[i]) == 0) { *out = (mstore_state)i; return true; }
    return false;
}

static mstore_result fail(mstore *s, mstore_result r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static mstore_result fail(mstore *s, mstore_result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return r;
}

static mstore_result sql_fail(mstore *s, const char *what)
{
    return fail(s, MSTORE_EIO, "%s: %s: %s", s->db_path, what, sqlite3_errmsg(s->db));
}

const char *mstore_errmsg(const mstore *s) { return s ? s->err : "out of memory"; }

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static bool is_hex64(const char *h)
{
    return h && strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64;
}

/* ---- versions ---------------------------------------------------------------- */

/* Versions are compared by src/semver, the one ordering the manifest and
 * the bundle trust decision use too; "" (no version yet) sorts below all. */
int mstore_semver_cmp(const char *a, const char *b)
{
    semver x, y;
    bool ha = *a && semver_parse(a, &x, NULL), hb = *b && semver_parse(b, &y, NULL);
    if (!ha || !hb) return ha ? 1 : hb ? -1 : 0;
    return semver_compare(&x, &y);
}

static bool semver_ok(const char *v)
{
    semver parsed;
    return v && strlen(v) < FIELD_MAX && semver_parse(v, &parsed, NULL);
}

/* ---- files ------------------------------------------------------------------ */

static mstore_result fsync_dir(mstore *s, const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(s, MSTORE_EIO, "%s: open: %s", path, strerror(errno));
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return fail(s, MSTORE_EIO, "%s: fsync: %s", path, strerror(e));
    }
    close(fd);
    return MSTORE_OK;
}

/* mkdir 0700 when missing, then fsync the parent so the entry survives a
 * power loss. */
static mstore_result make_dir(mstore *s, const char *path, const char *parent)
{
    if (mkdir(path, 0700) == 0) return fsync_dir(s, parent);
    if (errno != EEXIST) return fail(s, MSTORE_EIO, "%s: mkdir: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(s, MSTORE_EIO, "%s: exists and is not a directory", path);
    return MSTORE_OK;
}

static mstore_result write_all(mstore *s, int fd, const char *path, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(s, MSTORE_EIO, "%s: write: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return MSTORE_OK;
}

/* Makes blobs/SHA.wasm hold payload durably: tmp/SHA.tmp, fsync, rename,
 * fsync blobs/ [docs/ota.md "Every change"]. */
static mstore_result write_blob(mstore *s, const char *sha, const void *payload, size_t len)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", s->tmp, sha);
    snprintf(dst, sizeof dst, "%s/%s.wasm", s->blobs, sha);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail(s, MSTORE_EIO, "%s: open: %s", tmp, strerror(errno));
    mstore_result r = write_all(s, fd, tmp, payload, len);
    if (r == MSTORE_OK && !s->opt.unsafe_skip_blob_fsync && fsync(fd) != 0)
        r = fail(s, MSTORE_EIO, "%s: fsync: %s", tmp, strerror(errno));
    if (close(fd) != 0 && r == MSTORE_OK) r = fail(s, MSTORE_EIO, "%s: close: %s", tmp, strerror(errno));
    if (r == MSTORE_OK && rename(tmp, dst) != 0)
        r = fail(s, MSTORE_EIO, "rename %s to %s: %s", tmp, dst, strerror(errno));
    if (r != MSTORE_OK) {
        unlink(tmp);
        return r;
    }
    return fsync_dir(s, s->blobs);
}

/* Reads blobs/SHA.wasm and checks it against sha: a mismatch is
 * MSTORE_ECORRUPT naming the file, never a silent return. */
static mstore_result read_blob(mstore *s, const char *sha, uint8_t **out, size_t *out_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.wasm", s->blobs, sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(s, errno == ENOENT ? MSTORE_ECORRUPT : MSTORE_EIO, "%s: open: %s (the blob of a live version)",
                    path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(s, MSTORE_EIO, "%s: stat: %s", path, strerror(e));
    }
    size_t len = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return fail(s, MSTORE_ENOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return fail(s, MSTORE_EIO, "%s: read: %s", path, n < 0 ? strerror(e) : "file shrank while read");
        }
        got += (size_t)n;
    }
    close(fd);
    char hex[65];
    mstore_sha256_hex(buf, len, hex);
    if (strcmp(hex, sha) != 0) {
        free(buf);
        return fail(s, MSTORE_ECORRUPT, "%s: corrupt blob: its %zu bytes hash to %s", path, len, hex);
    }
    *out = buf;
    *out_len = len;
    return MSTORE_OK;
}

/* ---- SQLite ------------------------------------------------------------------- */

static mstore_result exec(mstore *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_fail(s, sql);
    return MSTORE_OK;
}

static mstore_result prepare(mstore *s, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return sql_fail(s, sql);
    return MSTORE_OK;
}

/* Runs a statement that returns no rows, binding texts[0..n) (NULL: SQL
 * NULL); numbers travel as text and are CAST in the SQL. */
static mstore_result run(mstore *s, const char *sql, int n, const char *const *texts)
{
    sqlite3_stmt *st;
    mstore_result r = prepare(s, &st, sql);
    if (r != MSTORE_OK) return r;
    for (int i = 0; i < n; i++) sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) r = sql_fail(s, sql);
    sqlite3_finalize(st);
    return r;
}

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS versions("
    " id INTEGER PRIMARY KEY, instance TEXT NOT NULL, version TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, floor TEXT NOT NULL, manifest TEXT NOT NULL,"
    " state TEXT NOT NULL, staged_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS versions_by_instance ON versions(instance, state);"
    "CREATE TABLE IF NOT EXISTS history("
    " seq INTEGER PRIMARY KEY, version_id INTEGER NOT NULL, instance TEXT NOT NULL,"
    " version TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL,"
    " reason TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS guard("
    " instance TEXT PRIMARY KEY, highest_floor TEXT NOT NULL DEFAULT '',"
    " running_version TEXT NOT NULL DEFAULT '', running_sha256 TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static mstore_result begin(mstore *s) { return exec(s, "BEGIN IMMEDIATE"); }

/* Commits, or rolls back and keeps the first failure's text. */
static mstore_result finish(mstore *s, mstore_result r)
{
    if (r == MSTORE_OK) return exec(s, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static void fmt_i64(char *buf, size_t cap, int64_t v) { snprintf(buf, cap, "%lld", (long long)v); }

/* The version of instance in state st: MSTORE_ENOTFOUND when none. */
static mstore_result find(mstore *s, const char *instance, mstore_state st, vrow *out)
{
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "SELECT id, version, sha256, floor FROM versions"
                                     " WHERE instance = ?1 AND state = ?2 ORDER BY id DESC");
    if (r != MSTORE_OK) return r;
    sqlite3_bind_text(q, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, state_names[st], -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(q, 0);
        snprintf(out->version, sizeof out->version, "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(out->sha256, sizeof out->sha256, "%s", (const char *)sqlite3_column_text(q, 2));
        snprintf(out->floor, sizeof out->floor, "%s", (const char *)sqlite3_column_text(q, 3));
        r = MSTORE_OK;
    } else if (rc == SQLITE_DONE) {
        r = MSTORE_ENOTFOUND;
    } else {
        r = sql_fail(s, "find a version");
    }
    sqlite3_finalize(q);
    return r;
}

/* Moves one version to state `to` and writes its history row. Inside a
 * transaction. */
static mstore_result transition(mstore *s, const char *instance, const vrow *v, const char *from, mstore_state to,
                                const char *reason)
{
    char id[24], at[24];
    fmt_i64(id, sizeof id, v->id);
    fmt_i64(at, sizeof at, (int64_t)time(NULL));
    const char *up[] = { state_names[to], id };
    mstore_result r = run(s, "UPDATE versions SET state = ?1 WHERE id = CAST(?2 AS INTEGER)", 2, up);
    if (r != MSTORE_OK) return r;
    const char *h[] = { id, instance, v->version, from, state_names[to], reason ? reason : "", at };
    return run(s, "INSERT INTO history(version_id, instance, version, from_state, to_state, reason, at)"
                  " VALUES (CAST(?1 AS INTEGER), ?2, ?3, ?4, ?5, ?6, CAST(?7 AS INTEGER))", 7, h);
}

/* Sets the running version and hash (empty: none) and, when floor is
 * higher than the stored one, the highest floor. Inside a transaction. */
static mstore_result set_guard(mstore *s, const char *instance, const vrow *running, const char *floor)
{
    const char *ins[] = { instance };
    mstore_result r = run(s, "INSERT OR IGNORE INTO guard(instance) VALUES (?1)", 1, ins);
    if (r != MSTORE_OK) return r;
    const char *g[] = { running ? running->version : "", running ? running->sha256 : "", instance };
    r = run(s, "UPDATE guard SET running_version = ?1, running_sha256 = ?2 WHERE instance = ?3", 3, g);
    if (r != MSTORE_OK || !floor || !*floor) return r;
    mstore_guard cur;
    if ((r = mstore_guard_get(s, instance, &cur)) != MSTORE_OK) return r;
    if (mstore_semver_cmp(floor, cur.highest_floor) <= 0) return MSTORE_OK;
    const char *f[] = { floor, instance };
    return run(s, "UPDATE guard SET highest_floor = ?1 WHERE instance = ?2", 2, f);
}

static mstore_result note_time_locked(mstore *s, int64_t t)
{
    char v[24];
    fmt_i64(v, sizeof v, t);
    const char *a[] = { v };
    return run(s, "INSERT INTO meta(key, value) VALUES ('newest_time_seen', CAST(?1 AS INTEGER))"
                  " ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)", 1, a);
}

/* ---- the sweep ------------------------------------------------------------------ */

static mstore_result blob_live(mstore *s, const char *sha, bool *out)
{
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "SELECT 1 FROM versions WHERE sha256 = ?1"
                                     " AND state IN ('staged', 'active', 'previous') LIMIT 1");
    if (r != MSTORE_OK) return r;
    sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) *out = rc == SQLITE_ROW;
    else r = sql_fail(s, "look up a blob");
    sqlite3_finalize(q);
    return r;
}

/* Unlinks every file in tmp/ (when with_tmp) and every file in blobs/ no
 * live version refers to. Unlinks need no fsync: one that a power loss
 * undoes is found again by the next sweep. */
static mstore_result sweep(mstore *s, bool with_tmp)
{
    const char *dirs[2] = { s->blobs, s->tmp };
    for (int d = 0; d < (with_tmp ? 2 : 1); d++) {
        DIR *dp = opendir(dirs[d]);
        if (!dp) return fail(s, MSTORE_EIO, "%s: opendir: %s", dirs[d], strerror(errno));
        struct dirent *e;
        mstore_result r = MSTORE_OK;
        while (r == MSTORE_OK && (e = readdir(dp)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            bool keep = false;
            if (d == 0 && strlen(e->d_name) == 69 && strcmp(e->d_name + 64, ".wasm") == 0) {
                char sha[65];
                memcpy(sha, e->d_name, 64);
                sha[64] = '\0';
                if (is_hex64(sha)) r = blob_live(s, sha, &keep);
            }
            if (r != MSTORE_OK || keep) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            if (unlink(path) != 0 && errno != ENOENT)
                r = fail(s, MSTORE_EIO, "%s: unlink (sweeping garbage): %s", path, strerror(errno));
        }
        closedir(dp);
        if (r != MSTORE_OK) return r;
    }
    return MSTORE_OK;
}

/* ---- open and close ---------------------------------------------------------------- */

static mstore_result open_db(mstore *s)
{
    if (sqlite3_open_v2(s->db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        return s->db ? sql_fail(s, "open") : fail(s, MSTORE_ENOMEM, "%s: open: out of memory", s->db_path);
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "PRAGMA journal_mode=WAL");
    if (r != MSTORE_OK) return r;
    bool wal = sqlite3_step(q) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
    sqlite3_finalize(q);
    if (!wal) return fail(s, MSTORE_EIO, "%s: cannot switch to WAL mode: %s", s->db_path, sqlite3_errmsg(s->db));
    /* FULL: a commit is on the disk when the call returns, which is what
     * every caller of the store relies on. mmap off: every write goes
     * through pwrite, where the crash test (tests/store/crashfs.c) sees it. */
    if ((r = exec(s, "PRAGMA synchronous=FULL; PRAGMA mmap_size=0")) != MSTORE_OK) return r;
    if ((r = begin(s)) != MSTORE_OK) return r;
    return finish(s, exec(s, SCHEMA));
}

/* A staged version found at open was never committed: failed, and the
 * active one stays [docs/ota.md "At boot"]. */
static mstore_result recover(mstore *s)
{
    mstore_result r = begin(s);
    if (r != MSTORE_OK) return r;
    sqlite3_stmt *q;
    if ((r = prepare(s, &q, "SELECT id, instance, version FROM versions WHERE state = 'staged'")) != MSTORE_OK)
        return finish(s, r);
    int rc;
    while (r == MSTORE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        vrow v = { .id = sqlite3_column_int64(q, 0) };
        char instance[256];
        snprintf(instance, sizeof instance, "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(v.version, sizeof v.version, "%s", (const char *)sqlite3_column_text(q, 2));
        r = transition(s, instance, &v, "staged", MSTORE_FAILED, "staged, never committed (found at open)");
    }
    if (r == MSTORE_OK && rc != SQLITE_DONE) r = sql_fail(s, "list staged versions");
    sqlite3_finalize(q);
    return finish(s, r);
}

mstore_result mstore_open(const char *state_dir, const mstore_options *opt, mstore **out)
{
    *out = NULL;
    mstore *s = calloc(1, sizeof *s);
    if (!s) return MSTORE_ENOMEM;
    *out = s;
    if (opt) s->opt = *opt;
    s->dir = join(state_dir, "store");
    s->db_path = s->dir ? join(s->dir, "store.sqlite") : NULL;
    s->blobs = s->dir ? join(s->dir, "blobs") : NULL;
    s->tmp = s->dir ? join(s->dir, "tmp") : NULL;
    if (!s->db_path || !s->blobs || !s->tmp) return fail(s, MSTORE_ENOMEM, "out of memory");
    mstore_result r;
    if ((r = make_dir(s, s->dir, state_dir)) != MSTORE_OK) return r;
    if ((r = make_dir(s, s->blobs, s->dir)) != MSTORE_OK) return r;
    if ((r = make_dir(s, s->tmp, s->dir)) != MSTORE_OK) return r;
    if ((r = open_db(s)) != MSTORE_OK) return r;
    if ((r = recover(s)) != MSTORE_OK) return r;
    return sweep(s, true);
}

void mstore_close(mstore *s)
{
    if (!s) return;
    sqlite3_close(s->db);
    free(s->dir);
    free(s->db_path);
    free(s->blobs);
    free(s->tmp);
    free(s);
}

/* ---- the operations ---------------------------------------------------------------- */

static mstore_result check_instance(mstore *s, const char *instance)
{
    if (!instance || !*instance || strlen(instance) > 200)
        return fail(s, MSTORE_EINVAL, "instance name must be 1 to 200 bytes");
    return MSTORE_OK;
}

mstore_result mstore_stage(mstore *s, const char *instance, const char *manifest, const char *version,
                           const char *sha256, const char *floor, const void *payload, size_t len,
                           const char *reason)
{
    mstore_result r = check_instance(s, instance);
    if (r != MSTORE_OK) return r;
    if (!semver_ok(version)) return fail(s, MSTORE_EINVAL, "instance %s: bad version \"%s\"", instance, version ? version : "");
    if (floor && *floor && !semver_ok(floor))
        return fail(s, MSTORE_EINVAL, "instance %s: bad floor \"%s\"", instance, floor);
    if (!is_hex64(sha256)) return fail(s, MSTORE_EINVAL, "instance %s: sha256 must be 64 lowercase hex digits", instance);
    char hex[65];
    mstore_sha256_hex(payload, len, hex);
    if (strcmp(hex, sha256) != 0)
        return fail(s, MSTORE_EINVAL, "instance %s: the payload hashes to %s, not %s", instance, hex, sha256);

    /* The blob is durable before the row that names it exists. */
    if ((r = write_blob(s, sha256, payload, len)) != MSTORE_OK) return r;
    if ((r = begin(s)) != MSTORE_OK) return r;
    vrow old;
    r = find(s, instance, MSTORE_STAGED, &old);
    if (r == MSTORE_OK) {
        char why[128];
        snprintf(why, sizeof why, "replaced by staged %s", version);
        r = transition(s, instance, &old, "staged", MSTORE_FAILED, why);
    } else if (r == MSTORE_ENOTFOUND) {
        r = MSTORE_OK;
    }
    char at[24];
    fmt_i64(at, sizeof at, (int64_t)time(NULL));
    const char *ins[] = { instance, version, sha256, floor ? floor : "", manifest ? manifest : "", at };
    if (r == MSTORE_OK)
        r = run(s, "INSERT INTO versions(instance, version, sha256, floor, manifest, state, staged_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, 'staged', CAST(?6 AS INTEGER))", 6, ins);
    if (r == MSTORE_OK) {
        vrow v = { .id = sqlite3_last_insert_rowid(s->db) };
        snprintf(v.version, sizeof v.version, "%s", version);
        r = transition(s, instance, &v, NULL, MSTORE_STAGED, reason);
    }
    r = finish(s, r);
    if (r == MSTORE_OK) sweep(s, false);
    return r;
}

mstore_result mstore_commit(mstore *s, const char *instance, const char *reason)
{
    mstore_result r = check_instance(s, instance);
    if (r != MSTORE_OK || (r = begin(s)) != MSTORE_OK) return r;
    vrow staged, act, prev;
    r = find(s, instance, MSTORE_STAGED, &staged);
    if (r == MSTORE_ENOTFOUND) r = fail(s, MSTORE_ESTATE, "instance %s has no staged version to commit", instance);
    if (r != MSTORE_OK) return finish(s, r);
    char why[128];
    snprintf(why, sizeof why, "superseded by %s", staged.version);
    if ((r = find(s, instance, MSTORE_PREVIOUS, &prev)) == MSTORE_OK)
        r = transition(s, instance, &prev, "previous", MSTORE_REMOVED, why);
    if (r == MSTORE_ENOTFOUND) r = MSTORE_OK;
    if (r == MSTORE_OK && (r = find(s, instance, MSTORE_ACTIVE, &act)) == MSTORE_OK)
        r = transition(s, instance, &act, "active", MSTORE_PREVIOUS, why);
    if (r == MSTORE_ENOTFOUND) r = MSTORE_OK;
    if (r == MSTORE_OK) r = transition(s, instance, &staged, "staged", MSTORE_ACTIVE, reason);
    if (r == MSTORE_OK) r = set_guard(s, instance, &staged, staged.floor);
    if (r == MSTORE_OK) r = note_time_locked(s, (int64_t)time(NULL));
    r = finish(s, r);
    if (r == MSTORE_OK) sweep(s, false);
    return r;
}

mstore_result mstore_rollback(mstore *s, const char *instance, const char *reason)
{
    mstore_result r = check_instance(s, instance);
    if (r != MSTORE_OK || (r = begin(s)) != MSTORE_OK) return r;
    vrow act, prev;
    mstore_guard g;
    r = find(s, instance, MSTORE_ACTIVE, &act);
    if (r == MSTORE_ENOTFOUND) r = fail(s, MSTORE_ESTATE, "instance %s has no active version to roll back", instance);
    if (r == MSTORE_OK) {
        r = find(s, instance, MSTORE_PREVIOUS, &prev);
        if (r == MSTORE_ENOTFOUND)
            r = fail(s, MSTORE_ESTATE, "instance %s has no previous version to roll back to", instance);
    }
    if (r == MSTORE_OK) r = mstore_guard_get(s, instance, &g);
    if (r == MSTORE_OK && mstore_semver_cmp(prev.version, g.highest_floor) < 0)
        r = fail(s, MSTORE_ESTATE, "instance %s: previous version %s is below the security floor %s", instance,
                 prev.version, g.highest_floor);
    if (r == MSTORE_OK) r = transition(s, instance, &act, "active", MSTORE_ROLLED_BACK, reason);
    if (r == MSTORE_OK) r = transition(s, instance, &prev, "previous", MSTORE_ACTIVE, reason);
    if (r == MSTORE_OK) r = set_guard(s, instance, &prev, NULL);
    r = finish(s, r);
    if (r == MSTORE_OK) sweep(s, false);
    return r;
}

mstore_result mstore_quarantine(mstore *s, const char *instance, const char *version, const char *reason)
{
    mstore_result r = check_instance(s, instance);
    if (r != MSTORE_OK || (r = begin(s)) != MSTORE_OK) return r;
    static const mstore_state live[] = { MSTORE_ACTIVE, MSTORE_PREVIOUS, MSTORE_STAGED };
    vrow v, prev;
    int i;
    for (i = 0; i < 3; i++) {
        r = find(s, instance, live[i], &v);
        if (r != MSTORE_ENOTFOUND && (r != MSTORE_OK || strcmp(v.version, version ? version : "") == 0)) break;
    }
    if (i == 3) r = fail(s, MSTORE_ENOTFOUND, "instance %s has no live version %s", instance, version ? version : "");
    if (r == MSTORE_OK) r = transition(s, instance, &v, state_names[live[i]], MSTORE_QUARANTINED, reason);
    if (r == MSTORE_OK && live[i] == MSTORE_ACTIVE) {
        /* The previous version takes over, as a rollback would. */
        r = find(s, instance, MSTORE_PREVIOUS, &prev);
        if (r == MSTORE_OK) r = transition(s, instance, &prev, "previous", MSTORE_ACTIVE, "the active version was quarantined");
        if (r == MSTORE_OK) r = set_guard(s, instance, &prev, NULL);
        else if (r == MSTORE_ENOTFOUND) r = set_guard(s, instance, NULL, NULL);
    }
    r = finish(s, r);
    if (r == MSTORE_OK) sweep(s, false);
    return r;
}

mstore_result mstore_remove(mstore *s, const char *instance, const char *reason)
{
    mstore_result r = check_instance(s, instance);
    if (r != MSTORE_OK || (r = begin(s)) != MSTORE_OK) return r;
    static const mstore_state live[] = { MSTORE_STAGED, MSTORE_ACTIVE, MSTORE_PREVIOUS };
    bool any = false;
    for (int i = 0; r == MSTORE_OK && i < 3; i++) {
        vrow v;
        r = find(s, instance, live[i], &v);
        if (r == MSTORE_OK) {
            any = true;
            r = transition(s, instance, &v, state_names[live[i]], MSTORE_REMOVED, reason);
        } else if (r == MSTORE_ENOTFOUND) {
            r = MSTORE_OK;
        }
    }
    if (r == MSTORE_OK && !any) r = fail(s, MSTORE_ENOTFOUND, "instance %s has no version in the store", instance);
    if (r == MSTORE_OK) r = set_guard(s, instance, NULL, NULL);
    r = finish(s, r);
    if (r == MSTORE_OK) sweep(s, false);
    return r;
}

/* ---- reading ------------------------------------------------------------------------ */

mstore_result mstore_list(mstore *s, const char *instance, mstore_version_fn fn, void *user)
{
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "SELECT id, instance, version, sha256, floor, manifest, state, staged_at"
                                     " FROM versions WHERE ?1 IS NULL OR instance = ?1 ORDER BY instance, id");
    if (r != MSTORE_OK) return r;
    if (instance) sqlite3_bind_text(q, 1, instance, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        mstore_version v = {
            .id = sqlite3_column_int64(q, 0),
            .instance = (const char *)sqlite3_column_text(q, 1),
            .version = (const char *)sqlite3_column_text(q, 2),
            .sha256 = (const char *)sqlite3_column_text(q, 3),
            .floor = (const char *)sqlite3_column_text(q, 4),
            .manifest = (const char *)sqlite3_column_text(q, 5),
            .staged_at = sqlite3_column_int64(q, 7),
        };
        if (!state_parse((const char *)sqlite3_column_text(q, 6), &v.state)) {
            r = fail(s, MSTORE_ECORRUPT, "%s: version %lld has an unknown state", s->db_path, (long long)v.id);
            break;
        }
        if (!fn(user, &v)) break;
    }
    if (r == MSTORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) r = sql_fail(s, "list versions");
    sqlite3_finalize(q);
    return r;
}

mstore_result mstore_history(mstore *s, const char *instance, mstore_event_fn fn, void *user)
{
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "SELECT seq, version_id, instance, version, from_state, to_state, reason, at"
                                     " FROM history WHERE ?1 IS NULL OR instance = ?1 ORDER BY seq");
    if (r != MSTORE_OK) return r;
    if (instance) sqlite3_bind_text(q, 1, instance, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        mstore_event e = {
            .seq = sqlite3_column_int64(q, 0),
            .version_id = sqlite3_column_int64(q, 1),
            .instance = (const char *)sqlite3_column_text(q, 2),
            .version = (const char *)sqlite3_column_text(q, 3),
            .from = MSTORE_STATE_COUNT,
            .reason = (const char *)sqlite3_column_text(q, 6),
            .at = sqlite3_column_int64(q, 7),
        };
        const char *from = (const char *)sqlite3_column_text(q, 4);
        if ((from && !state_parse(from, &e.from)) || !state_parse((const char *)sqlite3_column_text(q, 5), &e.to)) {
            r = fail(s, MSTORE_ECORRUPT, "%s: history row %lld has an unknown state", s->db_path, (long long)e.seq);
            break;
        }
        if (!fn(user, &e)) break;
    }
    if (r == MSTORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) r = sql_fail(s, "read the history");
    sqlite3_finalize(q);
    return r;
}

mstore_result mstore_guard_get(mstore *s, const char *instance, mstore_guard *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *q;
    mstore_result r = prepare(s, &q, "SELECT highest_floor, running_version, running_sha256 FROM guard WHERE instance = ?1");
    if (r != MSTORE_OK) return r;
    sqlite3_bind_text(q, 1, instance, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(out->highest_floor, sizeof out->highest_floor, "%s", (const char *)sqlite3_column_text(q, 0));
        snprintf(out->running_version, sizeof out->running_version, "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(out->running_sha256, sizeof out->running_sha256, "%s", (const char *)sqlite3_column_text(q, 2));
    } else if (rc != SQLITE_DONE) {
        r = sql_fail(s, "read the anti-rollback state");
    }
    sqlite3_finalize(q);
    return r;
}

mstore_result mstore_read_active(mstore *s, const char *instance, uint8_t **out_buf, size_t *out_len,
                                 int64_t *out_version_id)
{
    *out_buf = NULL;
    *out_len = 0;
    vrow v;
    mstore_result r = find(s, instance, MSTORE_ACTIVE, &v);
    if (r == MSTORE_ENOTFOUND) return fail(s, r, "instance %s has no active version", instance);
    if (r != MSTORE_OK) return r;
    if ((r = read_blob(s, v.sha256, out_buf, out_len)) != MSTORE_OK) return r;
    if (out_version_id) *out_version_id = v.id;
    return MSTORE_OK;
}

mstore_result mstore_note_time(mstore *s, int64_t unix_seconds, int64_t *out_trusted)
{
    mstore_result r = begin(s);
    if (r != MSTORE_OK) return r;
    r = finish(s, note_time_locked(s, unix_seconds));
    if (r != MSTORE_OK || !out_trusted) return r;
    sqlite3_stmt *q;
    if ((r = prepare(s, &q, "SELECT value FROM meta WHERE key = 'newest_time_seen'")) != MSTORE_OK) return r;
    if (sqlite3_step(q) == SQLITE_ROW) *out_trusted = sqlite3_column_int64(q, 0);
    else r = sql_fail(s, "read the newest time seen");
    sqlite3_finalize(q);
    return r;
}

mstore_result mstore_blob_path(mstore *s, const char *sha256, char *out, size_t cap)
{
    if (!is_hex64(sha256)) return fail(s, MSTORE_EINVAL, "sha256 must be 64 lowercase hex digits");
    if ((size_t)snprintf(out, cap, "%s/%s.wasm", s->blobs, sha256) >= cap)
        return fail(s, MSTORE_EINVAL, "blob path longer than %zu bytes", cap);
    return MSTORE_OK;
}
