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

typedef struct kvs kvs;
typedef struct kvs_ns kvs_ns;

/* Opens (creating) the database at path. Always sets *out (NULL only when out
 * of memory); on failure read kvs_errmsg(*out) and kvs_close it. */
kvs_result kvs_open(const char *path, unsigned window_ms, kvs **out);
/* Flushes queued events, stops the flusher, closes namespaces and the file. */
kvs_result kvs_close(kvs *store);
const char *kvs_errmsg(const kvs *store);
/* Writes every queued event now (one transaction). */
kvs_result kvs_flush(kvs *store);
/* Sequence numbers: each committed event gets the next one; durable_seq is
 * the highest that is on disk. */
uint64_t kvs_committed_seq(kvs *store);
uint64_t kvs_durable_seq(kvs *store);

/* Opens module's namespace, loading its committed state. KVS_EQUOTA when the
 * stored data already exceeds quota_bytes (reads work; writes refuse). */
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
/* Writes must happen inside an event (KVS_EINVAL otherwise). */
kvs_result kvs_put(kvs_ns *ns, const void *key, size_t klen, const void *val, size_t vlen);
kvs_result kvs_delete(kvs_ns *ns, const void *key, size_t klen);

#endif
