/* trust.h - whether a device accepts a bundle (docs/ota.md, "Verification
 * order"): a pure decision over the bundle's bytes, the trust store and the
 * module's persisted state. No I/O and no clock: the caller passes the wall
 * clock and the state it keeps (src/store/ on graftd), so every refusal is
 * testable without a device.
 *
 * The signed manifest is the manifest of docs/manifest.md, parsed by the
 * agent's own parser (src/agent/manifest.c), plus the keys only a bundle
 * carries: `security_floor`, `expires` and `payload`; `wasm_sha256` is
 * required. bundle_manifest_parse splits the two, so there is one manifest
 * parser, not two.
 *
 * Ownership: the trust store and the state belong to the caller and are
 * only read. A successful trust_check fills a bundle_manifest that owns
 * its capability lists (jansson and the agent's parser allocate): free it
 * with bundle_manifest_free, also after a failure (it is then empty). */
#ifndef GRAFT_BUNDLE_TRUST_H
#define GRAFT_BUNDLE_TRUST_H

#include "bundle.h"
#include "manifest.h"

/* Bounds of the bundle-only manifest keys. */
#define BUNDLE_EXPIRES_MAX 253402300799LL   /* 9999-12-31T23:59:59Z in Unix seconds */

/* The manifest inside a bundle. */
typedef struct bundle_manifest {
    manifest m;                       /* the docs/manifest.md part; m.wasm_sha256 is never "" */
    char security_floor[96];          /* as written, e.g. "1.2.0" */
    semver floor;            /* security_floor, parsed; never above m.semver */
    bool has_expires;                 /* false: the bundle never expires */
    int64_t expires;                  /* Unix seconds (UTC); refused from this second on */
    char encoding[16];                /* payload.encoding: "plain" (the only one format 1 reads) */
    uint64_t payload_size;            /* payload.size: the payload's bytes */
    uint64_t decoded_size;            /* payload.decoded_size: the wasm's bytes once decoded */
} bundle_manifest;

/* Parse the bundle's manifest JSON (json, len) as docs/manifest.md and
 * docs/bundle-format.md ("The signed manifest") describe it. origin names
 * it in messages. BUNDLE_OK, or BUNDLE_BAD_MANIFEST with
 * "bad manifest: ORIGIN: JSON.PATH: what was expected". Free *out with
 * bundle_manifest_free either way. */
bundle_status bundle_manifest_parse(const char *json, size_t len, const char *origin, bundle_manifest *out,
                                    bundle_error *err);
void bundle_manifest_free(bundle_manifest *bm);

/* One trusted public key. */
typedef struct trust_key {
    uint8_t id[BUNDLE_KEY_ID_LEN];                 /* bundle_key_id(public_key) */
    uint8_t public_key[BUNDLE_PUBLIC_KEY_LEN];     /* Ed25519 */
    const char *const *scopes;                     /* manifest module names the key may sign */
    size_t scope_count;
    bool any_module;                               /* true: scopes ignored, any name (the CLI's verify
                                                      without scopes; graftd always names them) */
    bool revoked;                                  /* true: every bundle by this key is refused */
} trust_key;

typedef struct trust_store {
    const trust_key *keys;   /* caller-owned array */
    size_t count;
} trust_store;

/* What the device remembers about the instance (docs/ota.md,
 * "Anti-rollback and the trusted clock"). */
typedef struct trust_state {
    bool has_floor;                 /* false: no version was ever committed */
    semver floor;          /* the highest security floor accepted */
    bool has_running;               /* false: nothing runs from the store */
    semver running;        /* the running version */
    char running_sha256[65];        /* its wasm's SHA-256, lowercase hex */
    int64_t newest_time_seen;       /* Unix seconds; 0 when never seen */
} trust_state;

/* What is being asked. */
typedef struct trust_request {
    const char *module;     /* the instance's expected manifest name; NULL: any (the CLI without --module) */
    int64_t now;            /* the wall clock, Unix seconds (may read 1970 before a sync) */
    bool rollback;          /* an explicit rollback: an older version is allowed (the floor still holds) */
} trust_request;

/* Decide on the bundle (bytes, len) in docs/ota.md's order: sizes,
 * magic, format version, bounds; key known, not revoked; signature;
 * manifest; scope and name; payload length and hash; floor; downgrade;
 * expiry. BUNDLE_OK with *out filled (and *out_view pointing into bytes
 * when out_view is not NULL), or the first reason with its message in
 * *err. */
bundle_status trust_check(const trust_store *store, const trust_state *state, const trust_request *req,
                          const uint8_t *bytes, size_t len, bundle_manifest *out, bundle_view *out_view,
                          bundle_error *err);

/* Key id as 16 lowercase hex digits and a NUL. */
void trust_key_id_hex(const uint8_t id[BUNDLE_KEY_ID_LEN], char out[2 * BUNDLE_KEY_ID_LEN + 1]);

#endif
