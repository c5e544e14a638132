/* store.h - the device's versioned module store (docs/ota.md, "The store
 * on disk").
 *
 * Per module instance (the config entry's name) the store keeps at most one
 * `active` version, one `previous` and one `staged`, each with its manifest
 * text, version, payload SHA-256 and security floor; the payloads live as
 * content-addressed files STATE_DIR/store/blobs/SHA256.wasm and the
 * bookkeeping in STATE_DIR/store/store.sqlite (WAL, synchronous=FULL). Every
 * transition is a row in `history` with its reason and time. The store also
 * persists the anti-rollback state per instance (highest floor accepted,
 * running version and hash) and the newest wall-clock time ever seen.
 *
 * The store takes plain values: the caller has verified the bundle
 * (signature, scope, floor, downgrade, expiry) before it stages anything.
 *
 * Errors: every function returns an mstore_result; the text (naming the
 * file and SQLite's or errno's reason) stays on the handle, mstore_errmsg.
 * A handle is used by one thread at a time. */
#ifndef GRAFT_STORE_STORE_H
#define GRAFT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mstore mstore;

typedef enum mstore_result {
    MSTORE_OK = 0,
    MSTORE_EIO,         /* a file or SQLite operation failed */
    MSTORE_ECORRUPT,    /* a blob does not match its hash, or the bookkeeping is inconsistent */
    MSTORE_ENOTFOUND,   /* no such instance or version */
    MSTORE_ESTATE,      /* the transition is not allowed from the current state */
    MSTORE_EINVAL,      /* a bad argument (an empty name, a malformed hash or version) */
    MSTORE_ENOMEM,
} mstore_result;

/* The states of a version. `failed`: staged and never committed (found at
 * open, or replaced by a newer staged version). */
#define MSTORE_STATES(X) \
    X(STAGED, "staged") X(ACTIVE, "active") X(PREVIOUS, "previous") X(ROLLED_BACK, "rolled_back") \
    X(QUARANTINED, "quarantined") X(REMOVED, "removed") X(FAILED, "failed")

typedef enum mstore_state {
#define X(name, text) MSTORE_##name,
    MSTORE_STATES(X)
#undef X
    MSTORE_STATE_COUNT
} mstore_state;

const char *mstore_state_name(mstore_state st);

/* One version as listed. The strings belong to the store and stay valid
 * until the callback returns. */
typedef struct mstore_version {
    int64_t id;             /* the row's id, unique in the store */
    const char *instance;
    const char *version;    /* semver text */
    const char *sha256;     /* the payload's digest, 64 lowercase hex digits */
    const char *floor;      /* the security floor the manifest declares ("" for none) */
    const char *manifest;   /* the manifest text as staged */
    mstore_state state;
    int64_t staged_at;      /* unix seconds */
} mstore_version;

/* One history row: version `version_id` went from `from` to `to`. A new
 * version's first row has from == MSTORE_STATE_COUNT ("none"). */
typedef struct mstore_event {
    int64_t seq;            /* increasing across the store */
    int64_t version_id;
    const char *instance;
    const char *version;
    mstore_state from, to;
    const char *reason;
    int64_t at;             /* unix seconds */
} mstore_event;

/* The anti-rollback state of one instance (docs/ota.md). */
typedef struct mstore_guard {
    char highest_floor[64];     /* the highest floor of a committed version, "" for none */
    char running_version[64];   /* the active version, "" for none */
    char running_sha256[65];    /* its hash, "" for none */
} mstore_guard;

typedef struct mstore_options {
    /* Test only (tests/store/crashfs_campaign.c, the negative control):
     * skip the fsync of a blob's data, so the power-loss check can show it
     * sees the missing fsync. Never set outside that test. */
    bool unsafe_skip_blob_fsync;
} mstore_options;

/* Opens (creating when missing) STATE_DIR/store: sweeps tmp/ and every blob
 * no live version (staged, active, previous) refers to, and marks every
 * staged version `failed` (never committed: the active one stays). opt may
 * be NULL. On failure *out may still hold a handle for mstore_errmsg; close
 * it either way. */
mstore_result mstore_open(const char *state_dir, const mstore_options *opt, mstore **out);
void mstore_close(mstore *s);
const char *mstore_errmsg(const mstore *s);

/* Stages (version, sha256, floor, manifest, payload) for instance: checks
 * the payload against sha256, writes the blob durably, then records the
 * version `staged`. An existing staged version of the instance becomes
 * `failed` (replaced). */
mstore_result mstore_stage(mstore *s, const char *instance, const char *manifest, const char *version,
                           const char *sha256, const char *floor, const void *payload, size_t len,
                           const char *reason);

/* staged -> active; the old active -> previous; the old previous ->
 * removed. Raises the instance's highest floor to the committed version's
 * floor, sets the running version and hash, and notes the time. */
mstore_result mstore_commit(mstore *s, const char *instance, const char *reason);

/* active -> rolled_back, previous -> active. Refused (MSTORE_ESTATE) when
 * there is no previous version, or when it is below the instance's highest
 * floor (anti-rollback). */
mstore_result mstore_rollback(mstore *s, const char *instance, const char *reason);

/* Version `version` of instance (staged, active or previous) ->
 * quarantined; when it was active, the previous version becomes active. */
mstore_result mstore_quarantine(mstore *s, const char *instance, const char *version, const char *reason);

/* Every live version of instance -> removed; the instance has no active
 * version afterwards. Its floor stays (anti-rollback outlives a removal). */
mstore_result mstore_remove(mstore *s, const char *instance, const char *reason);

/* Calls fn for each version (of instance, or of all when NULL; removed and
 * dead versions included), ordered by instance then id. fn returns false to
 * stop. */
typedef bool (*mstore_version_fn)(void *user, const mstore_version *v);
mstore_result mstore_list(mstore *s, const char *instance, mstore_version_fn fn, void *user);

/* Calls fn for each history row (of instance, or all when NULL) in order. */
typedef bool (*mstore_event_fn)(void *user, const mstore_event *e);
mstore_result mstore_history(mstore *s, const char *instance, mstore_event_fn fn, void *user);

/* The anti-rollback state of instance (all "" when unknown). */
mstore_result mstore_guard_get(mstore *s, const char *instance, mstore_guard *out);

/* Reads the active version's payload into a malloc'd buffer (*out_buf, the
 * caller frees) and checks it against its hash: MSTORE_ECORRUPT names the
 * blob when it does not match. MSTORE_ENOTFOUND when there is no active
 * version. out_version may be NULL, otherwise it receives the version's id. */
mstore_result mstore_read_active(mstore *s, const char *instance, uint8_t **out_buf, size_t *out_len,
                                 int64_t *out_version_id);

/* The trusted clock: persists max(stored, unix_seconds) and returns it in
 * *out_trusted (may be NULL). */
mstore_result mstore_note_time(mstore *s, int64_t unix_seconds, int64_t *out_trusted);

/* The path of the blob for sha256 (for tests and diagnostics). */
mstore_result mstore_blob_path(mstore *s, const char *sha256, char *out, size_t cap);

/* semver ordering [semver.org 11], ignoring +BUILD: <0, 0, >0. "" sorts
 * below every version. */
int mstore_semver_cmp(const char *a, const char *b);

#endif
