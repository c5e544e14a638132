/* kv.c - per-module key-value state: in-memory committed maps, per-event
 * write buffers, and a group-commit flusher that writes queued events to
 * SQLite, one transaction per window.
 *
 * Data structures: a kvs_ns holds its committed state as a sorted array of
 * entries (key and value in one allocation each) and the open event's
 * writes as an op list (put or delete, one per key). Committing moves the
 * op list into a batch (one per event) appended to the store's queue and
 * applies copies to the sorted array. The flusher thread (or kvs_flush)
 * takes the queue and writes it in BEGIN IMMEDIATE ... COMMIT transactions
 * of whole batches (at most KVS_TXN_MAX_BYTES each, so one long queue does
 * not make one huge WAL); on failure the batches go back to the front of
 * the queue for the next try.
 *
 * Durability state: each batch carries its estimated memory (bytes); the
 * queue's total is bounded by queue_max_bytes, checked when a write is
 * recorded. A failed flush marks the store failing (its reason, since when,
 * attempts): writes are refused with KVS_EIO until a retry succeeds; the
 * flusher retries with a doubling backoff; the first failure, a reminder
 * at most every KVS_LOG_REPEAT_MS and the recovery go to the log callback.
 * The flusher also runs the scheduled TRUNCATE checkpoints.
 *
 * Locks: db_mu serialises SQLite use and flushes (so batches reach the disk
 * in queue order); q_mu guards the queue, sequence numbers, the list of open
 * namespaces and the flusher's state. Order: db_mu, then q_mu. A namespace
 * is touched only by its owner thread. See kv.h for the contract. */
#include "kv.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "metrics.h"

/* What one allocation costs beyond its size (the estimate of the queue's
 * memory counts it for each key, op array, batch and module name). */
#define ALLOC_OVERHEAD 16u

typedef struct kv_op {
    uint8_t *key;           /* key then value in one allocation */
    size_t klen, vlen;
    bool del;
} kv_op;

typedef struct kv_entry { uint8_t *key; size_t klen, vlen; } kv_entry;  /* value follows key */

typedef struct batch {
    struct batch *next;
    uint64_t seq;
    char *module;
    kv_op *ops;
    size_t count;
    size_t bytes;           /* estimated memory of the batch (batch_cost + op_cost each) */
} batch;

struct kvs_ns {
    kvs *store;
    kvs_ns *next_open;
    char *module;
    size_t quota, usage;    /* usage: committed bytes */
    kv_entry *entries;
    size_t count, cap;
    bool in_event;
    kv_op *ops;             /* the open event's writes */
    size_t op_count, op_cap;
    long long pending;      /* usage change the open event would make */
    size_t op_bytes;        /* op_cost of the open event's writes */
};

struct kvs {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
    char *path;
    char *wal_path;                 /* path + "-wal", whose size graft_kv_wal_bytes shows */
    kvs_options opt;                /* as opened, defaults filled in */
    pthread_mutex_t db_mu, q_mu;
    pthread_cond_t q_cv;
    pthread_t flusher;
    bool flusher_running, stopping;
    batch *head, *tail;             /* the queue: committed, not on disk */
    struct timespec first_queued;   /* when head was queued (the window's start) */
    uint64_t committed;
    _Atomic uint64_t durable;
    uint64_t q_events;              /* batches in the queue */
    _Atomic size_t q_bytes;         /* their bytes; read without q_mu on the write path */

    /* Durability state, under q_mu (failing is also read without it). */
    _Atomic bool failing;           /* the last write attempt failed */
    struct timespec fail_since;     /* when the current failure began */
    struct timespec next_retry;     /* when the flusher tries again */
    struct timespec fail_logged;    /* the last "failing" log line */
    unsigned backoff_ms;            /* the current retry delay */
    uint64_t fail_attempts;         /* failed attempts in the current failure */
    uint64_t flush_failures;        /* failed attempts in total */
    char flush_err[256];            /* SQLite's text of the latest failed write */
    struct timespec full_logged;    /* the last "queue full" log line */
    bool full_logged_once;
    _Atomic uint64_t refused;       /* writes answered KVS_EIO (failing or full) */
    bool ckpt_pending;              /* written since the last TRUNCATE checkpoint */
    struct timespec ckpt_due;       /* when to run it */
    uint64_t checkpoints;

    /* kvs_attach_metrics' series (NULL before); set under q_mu before any event. */
    metrics_gauge *m_durable, *m_pending_events, *m_pending_bytes, *m_wal_bytes;
    metrics_counter *m_failures, *m_refused;

    kvs_ns *open_list;
    char err[512];
};

static void set_err(kvs *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
}

const char *kvs_errmsg(const kvs *store) { return store ? store->err : "out of memory"; }

static void op_free(kv_op *op) { free(op->key); }

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->count; i++) op_free(&b->ops[i]);
    free(b->ops);
    free(b->module);
    free(b);
}

/* ---- time ------------------------------------------------------------------ */

static struct timespec now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static void add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) { t->tv_sec++; t->tv_nsec -= 1000000000L; }
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* ---- the log and the metrics ---------------------------------------------- */

static void say(kvs *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(kvs *s, int level, const char *fmt, ...)
{
    if (!s->opt.log) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->opt.log(s->opt.log_user, level, line);
}

/* The queue gauges. Caller holds q_mu. */
static void sync_queue_gauges(kvs *s)
{
    if (s->m_pending_events) metrics_gauge_set(s->m_pending_events, (int64_t)s->q_events);
    if (s->m_pending_bytes) metrics_gauge_set(s->m_pending_bytes, (int64_t)atomic_load(&s->q_bytes));
}

static void sync_wal_gauge(kvs *s)
{
    struct stat st;
    if (s->m_wal_bytes) metrics_gauge_set(s->m_wal_bytes, stat(s->wal_path, &st) == 0 ? (int64_t)st.st_size : 0);
}

void kvs_attach_metrics(kvs *s, metrics *reg)
{
    pthread_mutex_lock(&s->q_mu);
    s->m_durable = metrics_gauge_get(reg, "graft_kv_durable",
                                     "1 while kv writes reach the disk, 0 while they fail", NULL, NULL);
    s->m_pending_events = metrics_gauge_get(reg, "graft_kv_pending_events",
                                            "kv events committed by modules and not yet on disk", NULL, NULL);
    s->m_pending_bytes = metrics_gauge_get(reg, "graft_kv_pending_bytes",
                                           "estimated memory of the kv events not yet on disk", NULL, NULL);
    metrics_gauge *limit = metrics_gauge_get(reg, "graft_kv_queue_limit_bytes",
                                             "bound on graft_kv_pending_bytes", NULL, NULL);
    s->m_wal_bytes = metrics_gauge_get(reg, "graft_kv_wal_bytes", "size of the kv store's write-ahead log",
                                       NULL, NULL);
    s->m_failures = metrics_counter_get(reg, "graft_kv_flush_failures_total",
                                        "kv write attempts that failed (SQLite's reason is logged)", NULL, NULL);
    s->m_refused = metrics_counter_get(reg, "graft_kv_writes_refused_total",
                                       "kv_put/kv_delete answered IOT_EIO: the store was failing or its queue full",
                                       NULL, NULL);
    if (s->m_durable) metrics_gauge_set(s->m_durable, atomic_load(&s->failing) ? 0 : 1);
    if (limit) metrics_gauge_set(limit, (int64_t)s->opt.queue_max_bytes);
    sync_queue_gauges(s);
    pthread_mutex_unlock(&s->q_mu);
    sync_wal_gauge(s);
}

/* ---- the disk ---------------------------------------------------------- */

static kvs_result db_exec(kvs *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        set_err(s, "kv store %s: %s: %s", s->path, sql, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return KVS_EIO;
    }
    return KVS_OK;
}

static kvs_result write_op(kvs *s, const char *module, const kv_op *op)
{
    sqlite3_stmt *st = op->del ? s->del : s->put;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, op->key, (int)op->klen, SQLITE_STATIC);
    if (!op->del) sqlite3_bind_blob(st, 3, op->key + op->klen, (int)op->vlen, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        set_err(s, "kv store %s: writing module '%s': %s", s->path, module, sqlite3_errmsg(s->db));
        return KVS_EIO;
    }
    return KVS_OK;
}

/* Writes the batches list in one transaction. Caller holds db_mu. On
 * failure SQLite's reason goes to reason (read before the ROLLBACK, which
 * would replace it). */
static kvs_result write_batches(kvs *s, batch *list, char *reason, size_t cap)
{
    kvs_result r = db_exec(s, "BEGIN IMMEDIATE");
    for (batch *b = list; b && r == KVS_OK; b = b->next)
        for (size_t i = 0; i < b->count && r == KVS_OK; i++) r = write_op(s, b->module, &b->ops[i]);
    if (r == KVS_OK) r = db_exec(s, "COMMIT");
    if (r == KVS_OK) return KVS_OK;
    snprintf(reason, cap, "%s (SQLite code %d)", sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db));
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

/* Truncates the WAL to 0 (a TRUNCATE checkpoint). Caller holds db_mu. A
 * failure (a full disk can refuse the database file's growth) leaves the
 * WAL as it is and is tried again later. */
static void checkpoint(kvs *s)
{
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    pthread_mutex_lock(&s->q_mu);
    if (rc == SQLITE_OK) {
        s->checkpoints++;
        s->ckpt_pending = false;
    } else {
        s->ckpt_due = now_mono();
        add_ms(&s->ckpt_due, KVS_CHECKPOINT_MS);
    }
    pthread_mutex_unlock(&s->q_mu);
    sync_wal_gauge(s);
}

/* Writes the queue as it is now, oldest first, whole batches, at most
 * KVS_TXN_MAX_BYTES per transaction (the first batch always goes). Caller
 * holds db_mu. *out_written: the batches that reached the disk. */
static kvs_result flush_locked(kvs *s, uint64_t *out_written, char *reason, size_t cap)
{
    *out_written = 0;
    pthread_mutex_lock(&s->q_mu);
    uint64_t stop_seq = s->tail ? s->tail->seq : 0;   /* later events wait for the next flush */
    pthread_mutex_unlock(&s->q_mu);
    for (;;) {
        pthread_mutex_lock(&s->q_mu);
        batch *list = s->head, *last = NULL;
        if (!list || list->seq > stop_seq) { pthread_mutex_unlock(&s->q_mu); return KVS_OK; }
        size_t bytes = 0;
        uint64_t n = 0;
        for (batch *b = list; b && b->seq <= stop_seq; b = b->next) {
            if (n && bytes + b->bytes > KVS_TXN_MAX_BYTES) break;
            bytes += b->bytes;
            n++;
            last = b;
        }
        s->head = last->next;
        if (!s->head) s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->q_mu);
        kvs_result r = write_batches(s, list, reason, cap);
        pthread_mutex_lock(&s->q_mu);
        if (r != KVS_OK) {                           /* retry them first next time */
            last->next = s->head;
            if (!s->head) s->tail = last;
            s->head = list;
            pthread_mutex_unlock(&s->q_mu);
            return r;
        }
        s->q_events -= n;
        atomic_fetch_sub(&s->q_bytes, bytes);
        sync_queue_gauges(s);
        pthread_mutex_unlock(&s->q_mu);
        atomic_store(&s->durable, last->seq);
        while (list) { batch *next = list->next; batch_free(list); list = next; }
        *out_written += n;
    }
}

/* Records a failed attempt: the first of a failure is logged with SQLite's
 * reason, later ones at most every KVS_LOG_REPEAT_MS; the retry backs off. */
static void note_failure(kvs *s, const char *reason)
{
    struct timespec now = now_mono();
    char line[768] = "";
    int level = KVS_LOG_ERROR;
    pthread_mutex_lock(&s->q_mu);
    s->flush_failures++;
    if (s->m_failures) metrics_counter_inc(s->m_failures);
    snprintf(s->flush_err, sizeof s->flush_err, "%s", reason);
    if (!atomic_load(&s->failing)) {
        atomic_store(&s->failing, true);
        if (s->m_durable) metrics_gauge_set(s->m_durable, 0);
        s->fail_since = s->fail_logged = now;
        s->fail_attempts = 1;
        s->backoff_ms = KVS_RETRY_MIN_MS;
        snprintf(line, sizeof line,
                 "kv store %s: writes are not reaching the disk: %s; %llu events (%zu bytes) queued, retrying; "
                 "kv_put/kv_delete answer IOT_EIO until a write succeeds",
                 s->path, reason, (unsigned long long)s->q_events, atomic_load(&s->q_bytes));
    } else {
        s->fail_attempts++;
        s->backoff_ms = s->backoff_ms * 2 > KVS_RETRY_MAX_MS ? KVS_RETRY_MAX_MS : s->backoff_ms * 2;
        if (seconds_between(&s->fail_logged, &now) * 1000.0 >= KVS_LOG_REPEAT_MS) {
            s->fail_logged = now;
            level = KVS_LOG_WARN;
            snprintf(line, sizeof line, "kv store %s: still failing after %.0f s (%llu attempts): %s; %llu events queued",
                     s->path, seconds_between(&s->fail_since, &now), (unsigned long long)s->fail_attempts, reason,
                     (unsigned long long)s->q_events);
        }
    }
    s->next_retry = now;
    add_ms(&s->next_retry, s->backoff_ms);
    pthread_cond_signal(&s->q_cv);                   /* the flusher now waits for next_retry */
    pthread_mutex_unlock(&s->q_mu);
    if (line[0]) say(s, level, "%s", line);
}

/* Records a successful flush of written batches: ends a failure (logged
 * with how many were written) and schedules the TRUNCATE checkpoint. */
static void note_success(kvs *s, uint64_t written)
{
    struct timespec now = now_mono();
    char line[512] = "";
    pthread_mutex_lock(&s->q_mu);
    if (atomic_load(&s->failing)) {
        atomic_store(&s->failing, false);
        if (s->m_durable) metrics_gauge_set(s->m_durable, 1);
        snprintf(line, sizeof line,
                 "kv store %s: flushing resumed after %.1f s and %llu failed attempts: %llu events written",
                 s->path, seconds_between(&s->fail_since, &now), (unsigned long long)s->fail_attempts,
                 (unsigned long long)written);
        s->full_logged_once = false;
    }
    if (written && !s->ckpt_pending) {
        s->ckpt_pending = true;
        s->ckpt_due = now;
        add_ms(&s->ckpt_due, KVS_CHECKPOINT_MS);
        pthread_cond_signal(&s->q_cv);
    }
    pthread_mutex_unlock(&s->q_mu);
    if (line[0]) say(s, KVS_LOG_INFO, "%s", line);
}

kvs_result kvs_flush(kvs *s)
{
    char reason[256] = "";
    uint64_t written = 0;
    pthread_mutex_lock(&s->db_mu);
    kvs_result r = flush_locked(s, &written, reason, sizeof reason);
    if (r == KVS_OK) {
        note_success(s, written);
    } else {
        note_failure(s, reason);
        checkpoint(s);                               /* a shorter WAL may make room */
    }
    pthread_mutex_unlock(&s->db_mu);
    return r;
}

/* What the flusher does next, and when: retry a failing flush, end a
 * window, or checkpoint. Caller holds q_mu. */
typedef enum { WORK_NONE, WORK_FLUSH, WORK_CHECKPOINT } work;

static work next_work(kvs *s, struct timespec *due)
{
    if (atomic_load(&s->failing)) { *due = s->next_retry; return WORK_FLUSH; }
    if (s->head && s->opt.window_ms > 0) {
        *due = s->first_queued;
        add_ms(due, s->opt.window_ms);
        return WORK_FLUSH;
    }
    if (s->ckpt_pending) { *due = s->ckpt_due; return WORK_CHECKPOINT; }
    return WORK_NONE;
}

/* The flusher thread: group commit (waits for a first queued event, lets
 * the window run out, flushes everything queued), retries while failing,
 * and runs the scheduled checkpoints. With window_ms 0 the events are
 * written by kvs_event_end; the thread only retries and checkpoints. */
static void *flusher_main(void *arg)
{
    kvs *s = arg;
    pthread_mutex_lock(&s->q_mu);
    while (!s->stopping) {
        struct timespec due, now = now_mono();
        work w = next_work(s, &due);
        if (w == WORK_NONE) { pthread_cond_wait(&s->q_cv, &s->q_mu); continue; }
        if (before(&now, &due)) { pthread_cond_timedwait(&s->q_cv, &s->q_mu, &due); continue; }
        pthread_mutex_unlock(&s->q_mu);
        if (w == WORK_FLUSH) {
            kvs_flush(s);                            /* a failure stays queued and is retried */
        } else {
            pthread_mutex_lock(&s->db_mu);
            checkpoint(s);
            pthread_mutex_unlock(&s->db_mu);
        }
        pthread_mutex_lock(&s->q_mu);
    }
    pthread_mutex_unlock(&s->q_mu);
    return NULL;
}

/* Sets the pragmas that keep the WAL small (see kv.h). */
static kvs_result setup_db(kvs *s)
{
    char sql[128];
    kvs_result r = db_exec(s, "PRAGMA journal_mode=WAL");
    if (r == KVS_OK) r = db_exec(s, "PRAGMA synchronous=FULL");
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d", KVS_WAL_AUTOCHECKPOINT_PAGES);
    if (r == KVS_OK) r = db_exec(s, sql);
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%u", KVS_WAL_LIMIT_BYTES);
    if (r == KVS_OK) r = db_exec(s, sql);
    if (r == KVS_OK)
        r = db_exec(s, "CREATE TABLE IF NOT EXISTS kv(module TEXT NOT NULL, key BLOB NOT NULL, "
                       "value BLOB NOT NULL, PRIMARY KEY(module, key)) WITHOUT ROWID");
    if (r != KVS_OK) return r;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO kv(module, key, value) VALUES(?1, ?2, ?3)",
                           -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM kv WHERE module = ?1 AND key = ?2", -1, &s->del,
                           NULL) != SQLITE_OK) {
        set_err(s, "kv store %s: preparing statements: %s", s->path, sqlite3_errmsg(s->db));
        return KVS_EIO;
    }
    /* A WAL left long (by a crash, or a graftd before these pragmas) is
     * folded in now; on a full disk this may fail and is retried later. */
    checkpoint(s);
    return KVS_OK;
}

kvs_result kvs_open_opts(const char *path, const kvs_options *opt, kvs **out)
{
    kvs *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) return KVS_ENOMEM;
    if (opt) s->opt = *opt;
    if (!s->opt.queue_max_bytes) s->opt.queue_max_bytes = KVS_QUEUE_DEFAULT_BYTES;
    if (!s->opt.drain_ms) s->opt.drain_ms = KVS_DRAIN_DEFAULT_MS;
    s->path = strdup(path ? path : "");
    size_t plen = strlen(path ? path : "");
    s->wal_path = malloc(plen + 5);
    if (s->wal_path) snprintf(s->wal_path, plen + 5, "%s-wal", path ? path : "");
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->q_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (!s->path || !s->wal_path) { set_err(s, "kv store: out of memory"); return KVS_ENOMEM; }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        set_err(s, "kv store %s: cannot open: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return KVS_EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    kvs_result r = setup_db(s);
    if (r != KVS_OK) return r;
    /* Always running, also with window 0: it retries a failing disk. */
    if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
        set_err(s, "kv store %s: cannot start the flusher thread", path);
        return KVS_ENOMEM;
    }
    s->flusher_running = true;
    return KVS_OK;
}

kvs_result kvs_open(const char *path, unsigned window_ms, kvs **out)
{
    kvs_options opt = { .window_ms = window_ms };
    return kvs_open_opts(path, &opt, out);
}

static void ns_free(kvs_ns *ns);

/* kvs_close's last flush: retries with a doubling delay (KVS_RETRY_MIN_MS
 * up to 1 s) for at most drain_ms, so a stop is bounded even on a disk
 * that never comes back. */
static kvs_result drain(kvs *s)
{
    struct timespec start = now_mono(), now;
    unsigned delay = KVS_RETRY_MIN_MS;
    for (;;) {
        kvs_result r = kvs_flush(s);
        now = now_mono();
        double left_ms = s->opt.drain_ms - seconds_between(&start, &now) * 1000.0;
        if (r == KVS_OK || left_ms <= 0) return r;
        sleep_ms(delay < left_ms ? delay : (unsigned)left_ms + 1);
        delay = delay * 2 > 1000 ? 1000 : delay * 2;
    }
}

kvs_result kvs_close(kvs *s)
{
    if (!s) return KVS_OK;
    kvs_result r = KVS_OK;
    if (s->flusher_running) {
        pthread_mutex_lock(&s->q_mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->q_cv);
        pthread_mutex_unlock(&s->q_mu);
        pthread_join(s->flusher, NULL);
    }
    if (s->db && s->put) {
        r = drain(s);
        if (r == KVS_OK) {
            pthread_mutex_lock(&s->db_mu);
            checkpoint(s);                           /* a clean stop leaves no WAL behind */
            pthread_mutex_unlock(&s->db_mu);
        } else {
            say(s, KVS_LOG_ERROR,
                "kv store %s: %llu events committed by modules (%zu bytes) could not be written in %.1f s "
                "and are lost: %s",
                s->path, (unsigned long long)s->q_events, atomic_load(&s->q_bytes), s->opt.drain_ms / 1000.0,
                s->flush_err);
        }
    }
    while (s->head) { batch *n = s->head->next; batch_free(s->head); s->head = n; }
    while (s->open_list) { kvs_ns *n = s->open_list->next_open; ns_free(s->open_list); s->open_list = n; }
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK && r == KVS_OK) r = KVS_EIO;
    pthread_cond_destroy(&s->q_cv);
    pthread_mutex_destroy(&s->q_mu);
    pthread_mutex_destroy(&s->db_mu);
    free(s->path);
    free(s->wal_path);
    free(s);
    return r;
}

uint64_t kvs_committed_seq(kvs *s)
{
    pthread_mutex_lock(&s->q_mu);
    uint64_t v = s->committed;
    pthread_mutex_unlock(&s->q_mu);
    return v;
}

uint64_t kvs_durable_seq(kvs *s) { return atomic_load(&s->durable); }

bool kvs_is_durable(kvs *s) { return !atomic_load(&s->failing); }

void kvs_get_stats(kvs *s, kvs_stats *out)
{
    memset(out, 0, sizeof *out);
    struct timespec now = now_mono();
    pthread_mutex_lock(&s->q_mu);
    out->durable = !atomic_load(&s->failing);
    out->failing_s = out->durable ? 0 : seconds_between(&s->fail_since, &now);
    out->pending_events = s->q_events;
    out->pending_bytes = atomic_load(&s->q_bytes);
    out->queue_max_bytes = s->opt.queue_max_bytes;
    out->flush_failures = s->flush_failures;
    out->refused = atomic_load(&s->refused);
    out->checkpoints = s->checkpoints;
    snprintf(out->last_error, sizeof out->last_error, "%s", s->flush_err);
    pthread_mutex_unlock(&s->q_mu);
}

/* ---- the in-memory map ----------------------------------------------------- */

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of key, or of where it would go (*found false). */
static size_t map_find(const kvs_ns *ns, const void *key, size_t klen, bool *found)
{
    size_t lo = 0, hi = ns->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(ns->entries[mid].key, ns->entries[mid].klen, key, klen);
        if (c == 0) { *found = true; return mid; }
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    *found = false;
    return lo;
}

/* Takes ownership of blob (key then value). */
static kvs_result map_put(kvs_ns *ns, uint8_t *blob, size_t klen, size_t vlen)
{
    bool found;
    size_t i = map_find(ns, blob, klen, &found);
    if (found) {
        ns->usage -= ns->entries[i].klen + ns->entries[i].vlen;
        free(ns->entries[i].key);
    } else {
        if (ns->count == ns->cap) {
            size_t cap = ns->cap ? ns->cap * 2 : 16;
            kv_entry *grown = realloc(ns->entries, cap * sizeof *grown);
            if (!grown) { free(blob); return KVS_ENOMEM; }
            ns->entries = grown;
            ns->cap = cap;
        }
        memmove(&ns->entries[i + 1], &ns->entries[i], (ns->count - i) * sizeof *ns->entries);
        ns->count++;
    }
    ns->entries[i] = (kv_entry){ blob, klen, vlen };
    ns->usage += klen + vlen;
    return KVS_OK;
}

static void map_delete(kvs_ns *ns, const void *key, size_t klen)
{
    bool found;
    size_t i = map_find(ns, key, klen, &found);
    if (!found) return;
    ns->usage -= ns->entries[i].klen + ns->entries[i].vlen;
    free(ns->entries[i].key);
    memmove(&ns->entries[i], &ns->entries[i + 1], (ns->count - i - 1) * sizeof *ns->entries);
    ns->count--;
}

static uint8_t *blob_new(const void *key, size_t klen, const void *val, size_t vlen)
{
    uint8_t *b = malloc(klen + vlen + 1);
    if (!b) return NULL;
    memcpy(b, key, klen);
    if (vlen) memcpy(b + klen, val, vlen);
    return b;
}

/* ---- namespaces ------------------------------------------------------------- */

static void ns_free(kvs_ns *ns)
{
    for (size_t i = 0; i < ns->count; i++) free(ns->entries[i].key);
    for (size_t i = 0; i < ns->op_count; i++) op_free(&ns->ops[i]);
    free(ns->entries);
    free(ns->ops);
    free(ns->module);
    free(ns);
}

static kvs_result ns_load(kvs *s, kvs_ns *ns)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM kv WHERE module = ?1", -1, &st, NULL) != SQLITE_OK) {
        set_err(s, "kv store %s: loading module '%s': %s", s->path, ns->module, sqlite3_errmsg(s->db));
        return KVS_EIO;
    }
    sqlite3_bind_text(st, 1, ns->module, -1, SQLITE_STATIC);
    kvs_result r = KVS_OK;
    int rc;
    while (r == KVS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t klen = (size_t)sqlite3_column_bytes(st, 0);
        const void *k = sqlite3_column_blob(st, 0);
        size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
        const void *v = sqlite3_column_blob(st, 1);
        uint8_t *blob = blob_new(k ? k : "", klen, v ? v : "", vlen);
        r = blob ? map_put(ns, blob, klen, vlen) : KVS_ENOMEM;
    }
    if (r == KVS_OK && rc != SQLITE_DONE) {
        set_err(s, "kv store %s: loading module '%s': %s", s->path, ns->module, sqlite3_errmsg(s->db));
        r = KVS_EIO;
    }
    sqlite3_finalize(st);
    return r;
}

/* Applies the module's queued (committed, not yet written) events to its
 * freshly loaded map, in queue order. Caller holds db_mu, so no flush has
 * taken part of the queue: the disk plus the queue is the whole state. */
static kvs_result overlay_queued(kvs *s, kvs_ns *ns)
{
    kvs_result r = KVS_OK;
    pthread_mutex_lock(&s->q_mu);
    for (batch *b = s->head; b && r == KVS_OK; b = b->next) {
        if (strcmp(b->module, ns->module) != 0) continue;
        for (size_t i = 0; i < b->count && r == KVS_OK; i++) {
            const kv_op *op = &b->ops[i];
            if (op->del) { map_delete(ns, op->key, op->klen); continue; }
            uint8_t *blob = blob_new(op->key, op->klen, op->key + op->klen, op->vlen);
            r = blob ? map_put(ns, blob, op->klen, op->vlen) : KVS_ENOMEM;
        }
    }
    pthread_mutex_unlock(&s->q_mu);
    return r;
}

kvs_result kvs_ns_open(kvs *s, const char *module, size_t quota, kvs_ns **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->q_mu);
    for (kvs_ns *o = s->open_list; o; o = o->next_open)
        if (strcmp(o->module, module) == 0) {
            pthread_mutex_unlock(&s->q_mu);
            set_err(s, "kv store %s: module '%s' already has its namespace open", s->path, module);
            return KVS_EINVAL;
        }
    pthread_mutex_unlock(&s->q_mu);
    kvs_flush(s);     /* queued events of an earlier instance; if the disk refuses, overlay_queued has them */
    kvs_ns *ns = calloc(1, sizeof *ns);
    if (!ns || !(ns->module = strdup(module))) { free(ns); return KVS_ENOMEM; }
    ns->store = s;
    ns->quota = quota;
    pthread_mutex_lock(&s->db_mu);
    kvs_result r = ns_load(s, ns);
    if (r == KVS_OK) r = overlay_queued(s, ns);
    pthread_mutex_unlock(&s->db_mu);
    if (r != KVS_OK) { ns_free(ns); return r; }
    pthread_mutex_lock(&s->q_mu);
    ns->next_open = s->open_list;
    s->open_list = ns;
    pthread_mutex_unlock(&s->q_mu);
    *out = ns;
    if (ns->usage > quota) {
        set_err(s, "kv store %s: module '%s' holds %zu bytes, over its quota of %zu",
                s->path, module, ns->usage, quota);
        return KVS_EQUOTA;
    }
    return KVS_OK;
}

void kvs_ns_close(kvs_ns *ns)
{
    if (!ns) return;
    kvs *s = ns->store;
    pthread_mutex_lock(&s->q_mu);
    for (kvs_ns **p = &s->open_list; *p; p = &(*p)->next_open)
        if (*p == ns) { *p = ns->next_open; break; }
    pthread_mutex_unlock(&s->q_mu);
    ns_free(ns);
}

size_t kvs_ns_usage(const kvs_ns *ns) { return (size_t)((long long)ns->usage + ns->pending); }

kvs_result kvs_ns_set_quota(kvs_ns *ns, size_t quota_bytes)
{
    ns->quota = quota_bytes;
    return ns->usage > quota_bytes ? KVS_EQUOTA : KVS_OK;
}

/* ---- events -------------------------------------------------------------- */

static void ops_clear(kvs_ns *ns)
{
    for (size_t i = 0; i < ns->op_count; i++) op_free(&ns->ops[i]);
    ns->op_count = 0;
    ns->pending = 0;
    ns->op_bytes = 0;
}

void kvs_event_begin(kvs_ns *ns)
{
    ops_clear(ns);
    ns->in_event = true;
}

static kv_op *op_find(kvs_ns *ns, const void *key, size_t klen)
{
    for (size_t i = 0; i < ns->op_count; i++)
        if (ns->ops[i].klen == klen && memcmp(ns->ops[i].key, key, klen) == 0) return &ns->ops[i];
    return NULL;
}

/* The visible value: the event's op, else the committed map. */
static bool visible(kvs_ns *ns, const void *key, size_t klen, const uint8_t **val, size_t *vlen)
{
    kv_op *op = ns->in_event ? op_find(ns, key, klen) : NULL;
    if (op) {
        if (op->del) return false;
        *val = op->key + op->klen;
        *vlen = op->vlen;
        return true;
    }
    bool found;
    size_t i = map_find(ns, key, klen, &found);
    if (!found) return false;
    *val = ns->entries[i].key + klen;
    *vlen = ns->entries[i].vlen;
    return true;
}

kvs_result kvs_get(kvs_ns *ns, const void *key, size_t klen, void *buf, size_t cap, size_t *out_len)
{
    if (klen == 0) return KVS_EINVAL;
    if (klen > KVS_KEY_MAX) return KVS_E2BIG;
    const uint8_t *val;
    size_t vlen;
    if (!visible(ns, key, klen, &val, &vlen)) return KVS_ENOENT;
    if (buf && cap) memcpy(buf, val, vlen < cap ? vlen : cap);
    if (out_len) *out_len = vlen;
    return KVS_OK;
}

/* What a write costs in the queue (its kv_op, key and value) and what a
 * batch costs besides its writes: the estimate the queue bound counts. */
static size_t op_cost(size_t klen, size_t vlen) { return sizeof(kv_op) + klen + vlen + 1 + 2 * ALLOC_OVERHEAD; }
static size_t batch_cost(const char *module) { return sizeof(batch) + strlen(module) + 1 + 3 * ALLOC_OVERHEAD; }

/* Answers a write the store cannot make durable: counted, and a full queue
 * logged (first time, then at most every KVS_LOG_REPEAT_MS; a failing disk
 * was logged by note_failure). */
static kvs_result refuse(kvs_ns *ns, bool full, size_t event_bytes)
{
    kvs *s = ns->store;
    atomic_fetch_add(&s->refused, 1);
    if (s->m_refused) metrics_counter_inc(s->m_refused);
    if (!full) return KVS_EIO;
    struct timespec now = now_mono();
    char line[512] = "";
    pthread_mutex_lock(&s->q_mu);
    if (!s->full_logged_once || seconds_between(&s->full_logged, &now) * 1000.0 >= KVS_LOG_REPEAT_MS) {
        s->full_logged_once = true;
        s->full_logged = now;
        snprintf(line, sizeof line,
                 "kv store %s: module '%s': write refused (IOT_EIO): the queue of events not yet on disk is full "
                 "(%llu events, %zu bytes queued, this event %zu bytes, bound %zu bytes)",
                 s->path, ns->module, (unsigned long long)s->q_events, atomic_load(&s->q_bytes), event_bytes,
                 s->opt.queue_max_bytes);
    }
    pthread_mutex_unlock(&s->q_mu);
    if (line[0]) say(s, KVS_LOG_WARN, "%s", line);
    return KVS_EIO;
}

/* Records a put (val non-NULL or vlen 0 with del false) or a delete. */
static kvs_result record(kvs_ns *ns, const void *key, size_t klen, const void *val, size_t vlen, bool del)
{
    if (!ns->in_event) return KVS_EINVAL;
    if (klen == 0) return KVS_EINVAL;
    if (klen > KVS_KEY_MAX) return KVS_E2BIG;
    const uint8_t *old;
    size_t old_vlen;
    bool exists = visible(ns, key, klen, &old, &old_vlen);
    if (del && !exists) return KVS_ENOENT;
    long long delta = (del ? 0 : (long long)(klen + vlen)) - (exists ? (long long)(klen + old_vlen) : 0);
    if (delta > 0 && (long long)ns->usage + ns->pending + delta > (long long)ns->quota) return KVS_EQUOTA;
    /* Durability: refuse what would not reach the disk (failing) or would
     * overflow the queue (the event's writes so far, this one, the batch). */
    kvs *s = ns->store;
    if (atomic_load(&s->failing)) return refuse(ns, false, 0);
    kv_op *op = op_find(ns, key, klen);
    size_t cost = op_cost(klen, del ? 0 : vlen), old_cost = op ? op_cost(op->klen, op->vlen) : 0;
    size_t event_bytes = ns->op_bytes - old_cost + cost + batch_cost(ns->module);
    if (atomic_load(&s->q_bytes) + event_bytes > s->opt.queue_max_bytes) return refuse(ns, true, event_bytes);
    uint8_t *blob = blob_new(key, klen, val, del ? 0 : vlen);
    if (!blob) return KVS_ENOMEM;
    if (!op) {
        if (ns->op_count == ns->op_cap) {
            size_t cap = ns->op_cap ? ns->op_cap * 2 : 8;
            kv_op *grown = realloc(ns->ops, cap * sizeof *grown);
            if (!grown) { free(blob); return KVS_ENOMEM; }
            ns->ops = grown;
            ns->op_cap = cap;
        }
        op = &ns->ops[ns->op_count++];
    } else {
        op_free(op);
    }
    *op = (kv_op){ blob, klen, del ? 0 : vlen, del };
    ns->pending += delta;
    ns->op_bytes += cost - old_cost;
    return KVS_OK;
}

kvs_result kvs_put(kvs_ns *ns, const void *key, size_t klen, const void *val, size_t vlen)
{
    return record(ns, key, klen, val, vlen, false);
}

kvs_result kvs_delete(kvs_ns *ns, const void *key, size_t klen)
{
    return record(ns, key, klen, NULL, 0, true);
}

kvs_result kvs_event_end(kvs_ns *ns, bool commit, uint64_t *out_seq)
{
    if (out_seq) *out_seq = 0;
    if (!ns->in_event) return KVS_EINVAL;
    ns->in_event = false;
    if (!commit || ns->op_count == 0) { ops_clear(ns); return KVS_OK; }
    kvs *s = ns->store;
    batch *b = calloc(1, sizeof *b);
    uint8_t **copies = calloc(ns->op_count, sizeof *copies);
    bool ok = b && copies && (b->module = strdup(ns->module));
    for (size_t i = 0; ok && i < ns->op_count; i++) {
        const kv_op *op = &ns->ops[i];
        ok = op->del || (copies[i] = blob_new(op->key, op->klen, op->key + op->klen, op->vlen));
    }
    if (!ok) {                                       /* treated as a discarded event */
        for (size_t i = 0; copies && i < ns->op_count; i++) free(copies[i]);
        free(copies);
        if (b) free(b->module);
        free(b);
        ops_clear(ns);
        set_err(s, "kv store %s: out of memory committing module '%s'", s->path, ns->module);
        return KVS_ENOMEM;
    }
    /* Apply to the committed map (map_put cannot fail on growth after this
     * point without leaving the event half applied, so grow first). */
    size_t need = ns->count + ns->op_count;
    if (need > ns->cap) {
        kv_entry *grown = realloc(ns->entries, need * sizeof *grown);
        if (grown) { ns->entries = grown; ns->cap = need; }
    }
    for (size_t i = 0; i < ns->op_count; i++) {
        const kv_op *op = &ns->ops[i];
        if (op->del) map_delete(ns, op->key, op->klen);
        else map_put(ns, copies[i], op->klen, op->vlen);
    }
    free(copies);
    b->ops = ns->ops;
    b->count = ns->op_count;
    b->bytes = ns->op_bytes + batch_cost(ns->module);
    ns->ops = NULL;
    ns->op_count = ns->op_cap = 0;
    ns->pending = 0;
    ns->op_bytes = 0;
    pthread_mutex_lock(&s->q_mu);
    uint64_t seq = b->seq = ++s->committed;
    s->q_events++;
    atomic_fetch_add(&s->q_bytes, b->bytes);
    sync_queue_gauges(s);
    if (!s->head) {
        s->head = b;
        clock_gettime(CLOCK_MONOTONIC, &s->first_queued);
        pthread_cond_signal(&s->q_cv);
    } else {
        s->tail->next = b;
    }
    s->tail = b;
    pthread_mutex_unlock(&s->q_mu);
    if (out_seq) *out_seq = seq;              /* b may be flushed and freed by now */
    if (s->opt.window_ms == 0) return kvs_flush(s);
    return KVS_OK;
}
