/* bundle.h - signed module bundles (docs/bundle-format.md): the byte
 * format, packing, signing and the signature check.
 *
 * Everything here is a pure function over (ptr, len): no file or network
 * I/O, no allocation (the manifest parse in trust.h is the one place that
 * allocates, through jansson). The caller owns every buffer; a
 * `bundle_view` only points into the caller's bytes and is valid as long
 * as they are.
 *
 * Errors: functions return a `bundle_status`; the message (with the byte
 * offset where the format is at fault) goes into a caller-owned
 * `bundle_error`, in the wording docs/ota.md lists, so the CLI and graftd
 * print the same text. */
#ifndef GRAFT_BUNDLE_H
#define GRAFT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed sizes of format 1 (docs/bundle-format.md, "Layout"). */
#define BUNDLE_MAGIC "GRFTBNDL"        /* 8 bytes, no terminator in the file */
#define BUNDLE_MAGIC_LEN 8
#define BUNDLE_FORMAT_VERSION 1
#define BUNDLE_HEADER_LEN 64
#define BUNDLE_KEY_ID_LEN 8            /* first 8 bytes of SHA-256(public key) */
#define BUNDLE_PUBLIC_KEY_LEN 32       /* Ed25519 */
#define BUNDLE_SECRET_KEY_LEN 64       /* libsodium's seed || public key */
#define BUNDLE_SIGNATURE_LEN 64
#define BUNDLE_SHA256_LEN 32
/* Bounds on every length (docs/bundle-format.md, "Bounds"). */
#define BUNDLE_MANIFEST_MAX (64u * 1024)          /* manifest JSON bytes */
#define BUNDLE_NATIVES_MAX 0u                     /* reserved: empty in format 1 */
#define BUNDLE_PAYLOAD_MAX (64u * 1024 * 1024)    /* payload bytes */

/* Outcomes, in the order docs/ota.md checks them. X(NAME, text): the text
 * is the reason as printed (details follow after ": "). */
#define BUNDLE_STATUS_LIST(X)                                              \
    X(BUNDLE_OK, "accepted")                                               \
    X(BUNDLE_TRUNCATED, "truncated")                                       \
    X(BUNDLE_MALFORMED, "malformed bundle")                                \
    X(BUNDLE_UNSUPPORTED_VERSION, "unsupported format version")            \
    X(BUNDLE_UNKNOWN_KEY, "unknown key")                                   \
    X(BUNDLE_REVOKED_KEY, "revoked key")                                   \
    X(BUNDLE_BAD_SIGNATURE, "bad signature")                               \
    X(BUNDLE_BAD_MANIFEST, "bad manifest")                                 \
    X(BUNDLE_KEY_NOT_ALLOWED, "key not allowed for this module")           \
    X(BUNDLE_WRONG_MODULE, "not for this module")                          \
    X(BUNDLE_HASH_MISMATCH, "hash mismatch")                               \
    X(BUNDLE_BELOW_FLOOR, "below the security floor")                      \
    X(BUNDLE_OLDER, "older than the running version")                      \
    X(BUNDLE_SAME_VERSION_OTHER_HASH, "same version with a different hash") \
    X(BUNDLE_EXPIRED, "expired")                                           \
    X(BUNDLE_ERR_ARGUMENT, "invalid argument")                             \
    X(BUNDLE_ERR_CRYPTO, "crypto library failed")

typedef enum bundle_status {
#define BUNDLE_ENUM(name, text) name,
    BUNDLE_STATUS_LIST(BUNDLE_ENUM)
#undef BUNDLE_ENUM
    BUNDLE_STATUS_COUNT
} bundle_status;

/* The reason's fixed text ("truncated", "bad signature", ...). */
const char *bundle_status_text(bundle_status s);
/* The enumerator's name ("BUNDLE_TRUNCATED"), for tests and logs. */
const char *bundle_status_name(bundle_status s);

/* The full message of the last refusal: the reason and its details, e.g.
 * "truncated at byte 63 (the header is 64 bytes)". */
typedef struct bundle_error {
    bundle_status status;  /* what went wrong, BUNDLE_OK when nothing did */
    char msg[320];         /* text; "" when status is BUNDLE_OK */
} bundle_error;

/* Record status and a formatted message in *err (err may be NULL); returns
 * status. The one place every refusal passes through: a breakpoint here
 * catches them all. */
bundle_status bundle_fail(bundle_error *err, bundle_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The fixed header, decoded (docs/bundle-format.md, "Header"). */
typedef struct bundle_header {
    uint16_t format_version;                 /* BUNDLE_FORMAT_VERSION */
    uint16_t header_len;                     /* BUNDLE_HEADER_LEN */
    uint32_t flags;                          /* 0: no flag is defined in format 1 */
    uint8_t key_id[BUNDLE_KEY_ID_LEN];       /* the signer's key id */
    uint32_t manifest_len;                   /* 1..BUNDLE_MANIFEST_MAX */
    uint32_t natives_len;                    /* 0 in format 1 */
    uint64_t payload_len;                    /* 0..BUNDLE_PAYLOAD_MAX */
} bundle_header;

/* A parsed bundle: the header and pointers into the caller's bytes. */
typedef struct bundle_view {
    bundle_header header;       /* decoded fixed header */
    const uint8_t *signed_bytes; /* header || manifest || natives: what the signature covers */
    size_t signed_len;
    const char *manifest;       /* manifest JSON, manifest_len bytes, not NUL-terminated */
    size_t manifest_len;
    const uint8_t *natives;     /* native object table (empty in format 1) */
    size_t natives_len;
    const uint8_t *signature;   /* BUNDLE_SIGNATURE_LEN bytes */
    const uint8_t *payload;     /* payload_len bytes */
    size_t payload_len;
} bundle_view;

/* Check sizes, magic, format version, flags, reserved bytes and every
 * length's bound, and point *out into bytes. Nothing after the header is
 * interpreted: the manifest is authenticated data only once
 * bundle_verify_signature accepted it [ota.md "Verification order" 1].
 * Errors: BUNDLE_TRUNCATED ("truncated at byte N", N = len, where the
 * bytes end before the format says they should), BUNDLE_MALFORMED,
 * BUNDLE_UNSUPPORTED_VERSION. */
bundle_status bundle_parse(const uint8_t *bytes, size_t len, bundle_view *out, bundle_error *err);

/* Ed25519 over view->signed_bytes with public_key [ota.md step 3].
 * BUNDLE_OK or BUNDLE_BAD_SIGNATURE. */
bundle_status bundle_verify_signature(const bundle_view *view, const uint8_t public_key[BUNDLE_PUBLIC_KEY_LEN],
                                      bundle_error *err);

/* Key id of a public key: the first BUNDLE_KEY_ID_LEN bytes of its SHA-256. */
void bundle_key_id(const uint8_t public_key[BUNDLE_PUBLIC_KEY_LEN], uint8_t out_id[BUNDLE_KEY_ID_LEN]);

/* A fresh key pair from the OS's randomness. BUNDLE_ERR_CRYPTO when
 * libsodium cannot start. */
bundle_status bundle_keygen(uint8_t out_public[BUNDLE_PUBLIC_KEY_LEN], uint8_t out_secret[BUNDLE_SECRET_KEY_LEN],
                            bundle_error *err);

/* SHA-256 of (p, n) as 64 lowercase hex digits and a NUL. */
void bundle_sha256_hex(const uint8_t *p, size_t n, char out_hex[2 * BUNDLE_SHA256_LEN + 1]);

/* Bytes bundle_pack writes for these lengths, or 0 when one is beyond its
 * bound. */
size_t bundle_packed_len(size_t manifest_len, size_t payload_len);

/* Write a signed bundle into out (out_cap >= bundle_packed_len(...)):
 * header, manifest, empty natives table, the signature by secret_key over
 * the first three, the payload. *out_len gets the length written. The
 * manifest is not checked here (trust_check does that on the device; the
 * CLI's pack checks it first). BUNDLE_ERR_ARGUMENT on a length out of
 * bound or a short out. */
bundle_status bundle_pack(const char *manifest, size_t manifest_len, const uint8_t *payload, size_t payload_len,
                          const uint8_t secret_key[BUNDLE_SECRET_KEY_LEN], uint8_t *out, size_t out_cap,
                          size_t *out_len, bundle_error *err);

/* Replace the signature of a packed bundle (bytes, len, parsed as view)
 * with one by secret_key, and its key id with that key's. For tests and
 * the fuzzer, which mutate signed bytes and need them signed again. */
bundle_status bundle_resign(uint8_t *bytes, size_t len, const uint8_t secret_key[BUNDLE_SECRET_KEY_LEN],
                            bundle_error *err);

#endif
