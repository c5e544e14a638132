/* kv.c - per-module key-value state: in-memory committed maps, per-event
 * write buffers, and a group-commit flusher that writes queued events to
 * SQLite, one transaction per window.
 *
 * Data structures: a kvs_ns holds its committed state as a sorted array of
 * entries (key and value in one allocation each) and the open event's
 * writes as an op list (put or delete, one per key). Committing moves the
 * op list into a batch (one per event) appended to the store's queue and
 * applies copies to the sorted array. The flusher thread (or kvs_flush)
 * takes the whole queue and writes it in one BEGIN IMMEDIATE ... COMMIT; on
 * failure the batches go back to the front of the queue for the next try.
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
#include <time.h>

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
};

struct kvs {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
    char *path;
    unsigned window_ms;
    pthread_mutex_t db_mu, q_mu;
    pthread_cond_t q_cv;
    pthread_t flusher;
    bool flusher_running, stopping;
    batch *head, *tail;
    struct timespec first_queued;
    uint64_t committed;
    _Atomic uint64_t durable;
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

/* Writes the batches list in one transaction. Caller holds db_mu. */
static kvs_result write_batches(kvs *s, batch *list)
{
    kvs_result r = db_exec(s, "BEGIN IMMEDIATE");
    for (batch *b = list; b && r == KVS_OK; b = b->next)
        for (size_t i = 0; i < b->count && r == KVS_OK; i++) r = write_op(s, b->module, &b->ops[i]);
    if (r == KVS_OK) return db_exec(s, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

kvs_result kvs_flush(kvs *s)
{
    pthread_mutex_lock(&s->db_mu);
    pthread_mutex_lock(&s->q_mu);
    batch *list = s->head, *last = s->tail;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->q_mu);
    kvs_result r = KVS_OK;
    if (list) {
        r = write_batches(s, list);
        if (r == KVS_OK) {
            atomic_store(&s->durable, last->seq);
            while (list) { batch *n = list->next; batch_free(list); list = n; }
        } else {
            pthread_mutex_lock(&s->q_mu);            /* retry them first next time */
            last->next = s->head;
            if (!s->head) s->tail = last;
            s->head = list;
            pthread_mutex_unlock(&s->q_mu);
        }
    }
    pthread_mutex_unlock(&s->db_mu);
    return r;
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

/* The group-commit thread: waits for a first queued event, lets the window
 * run out, then flushes everything queued. */
static void *flusher_main(void *arg)
{
    kvs *s = arg;
    pthread_mutex_lock(&s->q_mu);
    for (;;) {
        while (!s->head && !s->stopping) pthread_cond_wait(&s->q_cv, &s->q_mu);
        if (s->stopping) break;
        struct timespec due = s->first_queued, now;
        add_ms(&due, s->window_ms);
        clock_gettime(CLOCK_MONOTONIC, &now);
        while (!s->stopping && before(&now, &due)) {
            pthread_cond_timedwait(&s->q_cv, &s->q_mu, &due);
            clock_gettime(CLOCK_MONOTONIC, &now);
        }
        pthread_mutex_unlock(&s->q_mu);
        kvs_flush(s);                                /* a failure stays queued and is retried */
        pthread_mutex_lock(&s->q_mu);
        if (s->head) clock_gettime(CLOCK_MONOTONIC, &s->first_queued);
    }
    pthread_mutex_unlock(&s->q_mu);
    return NULL;
}

kvs_result kvs_open(const char *path, unsigned window_ms, kvs **out)
{
    kvs *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) return KVS_ENOMEM;
    s->path = strdup(path ? path : "");
    s->window_ms = window_ms;
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->q_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (!s->path) { set_err(s, "kv store: out of memory"); return KVS_ENOMEM; }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        set_err(s, "kv store %s: cannot open: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return KVS_EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    kvs_result r = db_exec(s, "PRAGMA journal_mode=WAL");
    if (r == KVS_OK) r = db_exec(s, "PRAGMA synchronous=FULL");
    if (r == KVS_OK)
        r = db_exec(s, "CREATE TABLE IF NOT EXISTS kv(module TEXT NOT NULL, key BLOB NOT NULL, "
                       "value BLOB NOT NULL, PRIMARY KEY(module, key)) WITHOUT ROWID");
    if (r != KVS_OK) return r;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO kv(module, key, value) VALUES(?1, ?2, ?3)",
                           -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM kv WHERE module = ?1 AND key = ?2", -1, &s->del,
                           NULL) != SQLITE_OK) {
        set_err(s, "kv store %s: preparing statements: %s", path, sqlite3_errmsg(s->db));
        return KVS_EIO;
    }
    if (window_ms > 0) {
        if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
            set_err(s, "kv store %s: cannot start the flusher thread", path);
            return KVS_ENOMEM;
        }
        s->flusher_running = true;
    }
    return KVS_OK;
}

static void ns_free(kvs_ns *ns);

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
    if (s->db) r = kvs_flush(s);
    while (s->head) { batch *n = s->head->next; batch_free(s->head); s->head = n; }
    while (s->open_list) { kvs_ns *n = s->open_list->next_open; ns_free(s->open_list); s->open_list = n; }
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK && r == KVS_OK) r = KVS_EIO;
    pthread_cond_destroy(&s->q_cv);
    pthread_mutex_destroy(&s->q_mu);
    pthread_mutex_destroy(&s->db_mu);
    free(s->path);
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
    kvs_result r = kvs_flush(s);                     /* queued events of an earlier instance */
    if (r != KVS_OK) return r;
    kvs_ns *ns = calloc(1, sizeof *ns);
    if (!ns || !(ns->module = strdup(module))) { free(ns); return KVS_ENOMEM; }
    ns->store = s;
    ns->quota = quota;
    pthread_mutex_lock(&s->db_mu);
    r = ns_load(s, ns);
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
    uint8_t *blob = blob_new(key, klen, val, del ? 0 : vlen);
    if (!blob) return KVS_ENOMEM;
    kv_op *op = op_find(ns, key, klen);
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
    ns->ops = NULL;
    ns->op_count = ns->op_cap = 0;
    ns->pending = 0;
    pthread_mutex_lock(&s->q_mu);
    uint64_t seq = b->seq = ++s->committed;
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
    if (s->window_ms == 0) return kvs_flush(s);
    return KVS_OK;
}
