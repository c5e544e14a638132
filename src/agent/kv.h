/* kv.h - persistent per-module key-value state for graftd (SQLite).
 *
 * One database file (usually STATE_DIR/kv.sqlite) in WAL mode with
 * synchronous=FULL holds the table kv(module, key, value), keyed by
 * (module, key). Each module opens its namespace (kvs_ns) with a quota in
 * bytes counted as the sum of key and value lengths.
 *
 * Events: kvs_event_begin starts buffering a module's writes; its own reads
 * see them at once; kvs_event_end(commit=true) makes them the module's
 * committed state and queues them as one unit for the disk, commit=false
 * (a trapped event) discards them. Queued events are written by a flusher
 * thread in one SQLite transaction per window (group commit): the window
 * starts at the first event queued after a flush and ends window_ms later.
 * Durability: an event is on disk at most window_ms plus one transaction's
 * time after it ended; a power cut or SIGKILL loses at most the events of
 * the last window, and never part of an event (every event's writes are in
 * one transaction). window_ms 0 writes each event synchronously in
 * kvs_event_end. kvs_flush writes the queue now; kvs_close flushes and closes.
 *
 * When the disk fails (full, read-only, gone): the events already queued
 * stay queued and are retried with a backoff (KVS_RETRY_MIN_MS doubling to
 * KVS_RETRY_MAX_MS); meanwhile the store is "failing": kvs_put and
 * kvs_delete answer KVS_EIO (the module learns its write would not become
 * durable), the first failure and the recovery are logged through the
 * log callback with SQLite's reason, and the series of kvs_attach_metrics
 * say so. The queue is bounded (queue_max_bytes of estimated memory): a
 * write that would overflow it is answered KVS_EIO too. kvs_close retries
 * for drain_ms, then logs how many events it could not write and why, and
 * returns KVS_EIO.
 *
 * Space: the WAL is checkpointed by SQLite every KVS_WAL_AUTOCHECKPOINT_PAGES
 * pages, truncated to 0 by an explicit checkpoint KVS_CHECKPOINT_MS after
 * the first write since the last one (and when a write fails, to reclaim
 * room), and capped at KVS_WAL_LIMIT_BYTES after each checkpoint; one
 * transaction carries at most KVS_TXN_MAX_BYTES of queued events (whole
 * events), so the WAL stays near KVS_WAL_LIMIT_BYTES however long the
 * queue grew. docs/agent.md, "Durability window", gives the space needs.
 *
 * Memory: a namespace keeps its committed state in memory (bounded by its
 * quota), so reads never touch the disk; the disk is written, never read,
 * after kvs_ns_open loads it.
 *
 * Errors: functions return KVS_* codes; the text of the latest failure of the
 * store (file, SQLite message, module) is kept on the store: kvs_errmsg.
 *
 * Thread-safety: a store serves many threads; one namespace is used by one
 * thread at a time (its module's worker). kvs_flush and kvs_close may run on
 * any thread. */
#ifndef GRAFT_AGENT_KV_H
#define GRAFT_AGENT_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kvs_result {
    KVS_OK = 0,
    KVS_ENOENT = -2,        /* no such key (matches IOT_ENOENT) */
    KVS_EQUOTA = -5,        /* the write would exceed the module's quota (IOT_EQUOTA) */
    KVS_E2BIG = -6,         /* key longer than KVS_KEY_MAX (IOT_E2BIG) */
    KVS_EIO = -8,           /* SQLite failed; see kvs_errmsg (IOT_EIO) */
    KVS_EINVAL = -4,        /* empty key, no event open, namespace already open (IOT_EINVAL) */
    KVS_ENOMEM = -9,
} kvs_result;

#define KVS_KEY_MAX 256u
#define KVS_WINDOW_DEFAULT_MS 50u
#define KVS_QUEUE_DEFAULT_BYTES (1u << 20)   /* queue bound: events not yet on disk */
#define KVS_DRAIN_DEFAULT_MS 5000u           /* kvs_close retries this long */
#define KVS_RETRY_MIN_MS 100u                /* backoff of a failing flush ... */
#define KVS_RETRY_MAX_MS 2000u               /* ... doubling up to this */
#define KVS_LOG_REPEAT_MS 60000u             /* "still failing" at most this often */
#define KVS_WAL_AUTOCHECKPOINT_PAGES 64      /* PRAGMA wal_autocheckpoint */
#define KVS_WAL_LIMIT_BYTES (512u << 10)     /* PRAGMA journal_size_limit */
#define KVS_CHECKPOINT_MS 1000u              /* TRUNCATE checkpoint this long after a write */
#define KVS_TXN_MAX_BYTES (256u << 10)       /* queued bytes per transaction */

typedef struct kvs kvs;
typedef struct kvs_ns kvs_ns;
struct metrics;

/* Log levels of the log callback (the values of jlog_level). */
enum { KVS_LOG_INFO = 1, KVS_LOG_WARN = 2, KVS_LOG_ERROR = 3 };
/* Called on the thread that noticed (flusher, worker, closer); msg is a
 * whole line without a newline, valid during the call only. */
typedef void (*kvs_log_fn)(void *user, int level, const char *msg);

typedef struct kvs_options {
    unsigned window_ms;          /* group-commit window; 0: each event written in kvs_event_end */
    size_t queue_max_bytes;      /* bound on the queue's estimated memory; 0: KVS_QUEUE_DEFAULT_BYTES */
    unsigned drain_ms;           /* how long kvs_close retries a failing disk; 0: KVS_DRAIN_DEFAULT_MS */
    kvs_log_fn log;              /* failures, recovery, losses; NULL: not logged */
    void *log_user;              /* for log */
} kvs_options;

/* What kvs_get_stats reports: the store's durability state. */
typedef struct kvs_stats {
    bool durable;                /* false while writes fail (since failing_s seconds) */
    double failing_s;            /* how long the current failure lasts; 0 when durable */
    uint64_t pending_events;     /* committed by modules, not yet on disk */
    size_t pending_bytes;        /* their estimated memory (<= queue_max_bytes + one event per module) */
    size_t queue_max_bytes;      /* the bound in force */
    uint64_t flush_failures;     /* failed write attempts, in total */
    uint64_t refused;            /* kvs_put/kvs_delete answered KVS_EIO (failing or queue full) */
    uint64_t checkpoints;        /* TRUNCATE checkpoints done */
    char last_error[256];        /* SQLite's text of the latest failed write ("" if none) */
} kvs_stats;

/* Opens (creating) the database at path. Always sets *out (NULL only when out
 * of memory); on failure read kvs_errmsg(*out) and kvs_close it. opt NULL:
 * every default. */
kvs_result kvs_open_opts(const char *path, const kvs_options *opt, kvs **out);
/* kvs_open_opts with window_ms and the other defaults. */
kvs_result kvs_open(const char *path, unsigned window_ms, kvs **out);
/* Registers the graft_kv_* series in reg (docs/agent.md, "Metrics") and
 * keeps them up to date; reg must outlive the store. */
void kvs_attach_metrics(kvs *store, struct metrics *reg);
/* Writes queued events (retrying a failing disk for drain_ms), stops the
 * flusher, closes namespaces and the file. KVS_EIO when events could not be
 * written: they are lost, and the log callback said how many and why. */
kvs_result kvs_close(kvs *store);
const char *kvs_errmsg(const kvs *store);
/* Writes every event queued now (whole events, KVS_TXN_MAX_BYTES per
 * transaction). KVS_EIO when the disk refused: they stay queued. */
kvs_result kvs_flush(kvs *store);
void kvs_get_stats(kvs *store, kvs_stats *out);
/* False while the store is failing (cheap; /healthz). */
bool kvs_is_durable(kvs *store);
/* Sequence numbers: each committed event gets the next one; durable_seq is
 * the highest that is on disk. */
uint64_t kvs_committed_seq(kvs *store);
uint64_t kvs_durable_seq(kvs *store);

/* Opens module's namespace, loading its committed state: what is on disk
 * plus the module's events still queued (so a failing disk does not keep a
 * replaced instance from starting, nor hide its earlier writes). KVS_EQUOTA
 * when the data already exceeds quota_bytes (reads work; writes refuse). */
kvs_result kvs_ns_open(kvs *store, const char *module, size_t quota_bytes, kvs_ns **out);
void kvs_ns_close(kvs_ns *ns);
size_t kvs_ns_usage(const kvs_ns *ns);   /* committed and pending bytes */
/* Changes an open namespace's quota (a replaced module inherits the
 * namespace of the version it replaces, so its state never leaves memory
 * nor waits for the disk). Outside an event. KVS_EQUOTA when the committed
 * state is already over it (reads work; writes refuse), else KVS_OK. */
kvs_result kvs_ns_set_quota(kvs_ns *ns, size_t quota_bytes);

void kvs_event_begin(kvs_ns *ns);
/* Ends the event: commit (queue for the disk) or discard. Returns the event's
 * sequence number in *out_seq when committed (0 when it wrote nothing). */
kvs_result kvs_event_end(kvs_ns *ns, bool commit, uint64_t *out_seq);

/* Reads key into buf (up to cap bytes); *out_len gets the value's full
 * length. Outside an event reads the committed state. */
kvs_result kvs_get(kvs_ns *ns, const void *key, size_t klen, void *buf, size_t cap, size_t *out_len);
/* Writes must happen inside an event (KVS_EINVAL otherwise). KVS_EIO when
 * the store is failing or the write would overflow the queue bound: the
 * write is not made (the event's other writes stand). */
kvs_result kvs_put(kvs_ns *ns, const void *key, size_t klen, const void *val, size_t vlen);
kvs_result kvs_delete(kvs_ns *ns, const void *key, size_t klen);

#endif
