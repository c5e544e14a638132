/* bundle.c - the bundle byte format (docs/bundle-format.md): parsing the
 * fixed header and bounding every length, the Ed25519 signature over the
 * header, manifest and natives table, packing and signing.
 *
 * All integers are little-endian and read byte by byte, so the code does
 * not care about the host's alignment or byte order. libsodium does the
 * cryptography (crypto_sign_detached, crypto_hash_sha256). Nothing here
 * allocates; the caller owns every buffer. */
#include "bundle.h"

#include <sodium.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_texts[] = {
#define BUNDLE_TEXT(name, text) text,
    BUNDLE_STATUS_LIST(BUNDLE_TEXT)
#undef BUNDLE_TEXT
};
static const char *const status_names[] = {
#define BUNDLE_NAME(name, text) #name,
    BUNDLE_STATUS_LIST(BUNDLE_NAME)
#undef BUNDLE_NAME
};

const char *bundle_status_text(bundle_status s)
{
    return (unsigned)s < BUNDLE_STATUS_COUNT ? status_texts[s] : "unknown status";
}

const char *bundle_status_name(bundle_status s)
{
    return (unsigned)s < BUNDLE_STATUS_COUNT ? status_names[s] : "BUNDLE_?";
}

bundle_status bundle_fail(bundle_error *err, bundle_status status, const char *fmt, ...)
{
    if (!err) return status;
    err->status = status;
    err->msg[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

static bundle_status ok(bundle_error *err)
{
    if (err) {
        err->status = BUNDLE_OK;
        err->msg[0] = '\0';
    }
    return BUNDLE_OK;
}

/* ---- little-endian fields ---------------------------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Header offsets (docs/bundle-format.md, "Header"). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_HEADER_LEN = 10,
    OFF_FLAGS = 12,
    OFF_KEY_ID = 16,
    OFF_MANIFEST_LEN = 24,
    OFF_NATIVES_LEN = 28,
    OFF_PAYLOAD_LEN = 32,
    OFF_RESERVED = 40      /* 24 bytes up to BUNDLE_HEADER_LEN, all zero */
};

/* ---- parsing ---------------------------------------------------------- */

/* The header's own checks, in docs/ota.md's order: magic, version, then
 * the fields whose meaning the version fixes. */
static bundle_status check_header(const uint8_t *b, size_t len, bundle_header *h, bundle_error *err)
{
    /* A prefix of a valid bundle must read as truncated, never as a bad
     * magic: compare only the magic bytes that are there. */
    size_t have = len < BUNDLE_MAGIC_LEN ? len : BUNDLE_MAGIC_LEN;
    if (memcmp(b, BUNDLE_MAGIC, have) != 0)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: bad magic (not a graft bundle)");
    if (len < BUNDLE_HEADER_LEN)
        return bundle_fail(err, BUNDLE_TRUNCATED, "truncated at byte %zu (the header is %d bytes)", len,
                           BUNDLE_HEADER_LEN);
    h->format_version = get16(b + OFF_VERSION);
    if (h->format_version != BUNDLE_FORMAT_VERSION)
        return bundle_fail(err, BUNDLE_UNSUPPORTED_VERSION, "unsupported format version %u (this reader knows %d)",
                           h->format_version, BUNDLE_FORMAT_VERSION);
    h->header_len = get16(b + OFF_HEADER_LEN);
    if (h->header_len != BUNDLE_HEADER_LEN)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: byte %d: header length %u, format 1 has %d",
                           OFF_HEADER_LEN, h->header_len, BUNDLE_HEADER_LEN);
    h->flags = get32(b + OFF_FLAGS);
    if (h->flags != 0)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: byte %d: unknown flags 0x%08x", OFF_FLAGS,
                           (unsigned)h->flags);
    memcpy(h->key_id, b + OFF_KEY_ID, BUNDLE_KEY_ID_LEN);
    h->manifest_len = get32(b + OFF_MANIFEST_LEN);
    if (h->manifest_len == 0 || h->manifest_len > BUNDLE_MANIFEST_MAX)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: byte %d: manifest length %u not in 1..%u",
                           OFF_MANIFEST_LEN, (unsigned)h->manifest_len, BUNDLE_MANIFEST_MAX);
    h->natives_len = get32(b + OFF_NATIVES_LEN);
    if (h->natives_len > BUNDLE_NATIVES_MAX)
        return bundle_fail(err, BUNDLE_MALFORMED,
                           "malformed bundle: byte %d: native object table of %u bytes (reserved: empty in format 1)",
                           OFF_NATIVES_LEN, (unsigned)h->natives_len);
    h->payload_len = get64(b + OFF_PAYLOAD_LEN);
    if (h->payload_len > BUNDLE_PAYLOAD_MAX)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: byte %d: payload length %llu above %u",
                           OFF_PAYLOAD_LEN, (unsigned long long)h->payload_len, BUNDLE_PAYLOAD_MAX);
    for (size_t i = OFF_RESERVED; i < BUNDLE_HEADER_LEN; i++)
        if (b[i] != 0)
            return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: byte %zu: reserved, must be 0", i);
    return BUNDLE_OK;
}

bundle_status bundle_parse(const uint8_t *bytes, size_t len, bundle_view *out, bundle_error *err)
{
    if (!out || (!bytes && len)) return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "invalid argument");
    memset(out, 0, sizeof *out);
    if (len == 0) return bundle_fail(err, BUNDLE_TRUNCATED, "truncated at byte 0 (empty file)");
    bundle_status s = check_header(bytes, len, &out->header, err);
    if (s != BUNDLE_OK) return s;
    const bundle_header *h = &out->header;
    /* Every length is bounded above, so these sums cannot overflow. */
    size_t manifest_at = BUNDLE_HEADER_LEN;
    size_t natives_at = manifest_at + h->manifest_len;
    size_t signature_at = natives_at + h->natives_len;
    size_t payload_at = signature_at + BUNDLE_SIGNATURE_LEN;
    size_t end = payload_at + (size_t)h->payload_len;
    if (len < end) {
        const char *part = len < natives_at ? "manifest" : len < signature_at ? "native object table"
                         : len < payload_at ? "signature" : "payload";
        return bundle_fail(err, BUNDLE_TRUNCATED, "truncated at byte %zu (in the %s; the bundle is %zu bytes)", len,
                           part, end);
    }
    if (len > end)
        return bundle_fail(err, BUNDLE_MALFORMED, "malformed bundle: %zu bytes after the payload, which ends at byte %zu",
                           len - end, end);
    out->signed_bytes = bytes;
    out->signed_len = signature_at;
    out->manifest = (const char *)bytes + manifest_at;
    out->manifest_len = h->manifest_len;
    out->natives = bytes + natives_at;
    out->natives_len = h->natives_len;
    out->signature = bytes + signature_at;
    out->payload = bytes + payload_at;
    out->payload_len = (size_t)h->payload_len;
    return ok(err);
}

/* ---- cryptography ---------------------------------------------------- */

static bool crypto_ready(void)
{
    /* sodium_init is idempotent and thread-safe: 0 first time, 1 after. */
    return sodium_init() >= 0;
}

bundle_status bundle_verify_signature(const bundle_view *view, const uint8_t public_key[BUNDLE_PUBLIC_KEY_LEN],
                                      bundle_error *err)
{
    if (!view || !view->signature || !public_key) return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "invalid argument");
    if (!crypto_ready()) return bundle_fail(err, BUNDLE_ERR_CRYPTO, "crypto library failed: sodium_init");
    if (crypto_sign_verify_detached(view->signature, view->signed_bytes, view->signed_len, public_key) != 0)
        return bundle_fail(err, BUNDLE_BAD_SIGNATURE, "bad signature (header, manifest or signature altered, "
                                                      "or signed by another key with the same id)");
    return ok(err);
}

void bundle_key_id(const uint8_t public_key[BUNDLE_PUBLIC_KEY_LEN], uint8_t out_id[BUNDLE_KEY_ID_LEN])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, public_key, BUNDLE_PUBLIC_KEY_LEN);
    memcpy(out_id, h, BUNDLE_KEY_ID_LEN);
}

bundle_status bundle_keygen(uint8_t out_public[BUNDLE_PUBLIC_KEY_LEN], uint8_t out_secret[BUNDLE_SECRET_KEY_LEN],
                            bundle_error *err)
{
    if (!crypto_ready()) return bundle_fail(err, BUNDLE_ERR_CRYPTO, "crypto library failed: sodium_init");
    if (crypto_sign_keypair(out_public, out_secret) != 0)
        return bundle_fail(err, BUNDLE_ERR_CRYPTO, "crypto library failed: crypto_sign_keypair");
    return ok(err);
}

void bundle_sha256_hex(const uint8_t *p, size_t n, char out_hex[2 * BUNDLE_SHA256_LEN + 1])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(out_hex, 2 * BUNDLE_SHA256_LEN + 1, h, sizeof h);
}

/* ---- packing ---------------------------------------------------------- */

size_t bundle_packed_len(size_t manifest_len, size_t payload_len)
{
    if (manifest_len == 0 || manifest_len > BUNDLE_MANIFEST_MAX || payload_len > BUNDLE_PAYLOAD_MAX) return 0;
    return BUNDLE_HEADER_LEN + manifest_len + BUNDLE_SIGNATURE_LEN + payload_len;
}

/* Sign bytes[0, signed_len) into bytes + signed_len. */
static bundle_status sign_into(uint8_t *bytes, size_t signed_len, const uint8_t *secret_key, bundle_error *err)
{
    if (!crypto_ready()) return bundle_fail(err, BUNDLE_ERR_CRYPTO, "crypto library failed: sodium_init");
    if (crypto_sign_detached(bytes + signed_len, NULL, bytes, signed_len, secret_key) != 0)
        return bundle_fail(err, BUNDLE_ERR_CRYPTO, "crypto library failed: crypto_sign_detached");
    return ok(err);
}

bundle_status bundle_pack(const char *manifest, size_t manifest_len, const uint8_t *payload, size_t payload_len,
                          const uint8_t secret_key[BUNDLE_SECRET_KEY_LEN], uint8_t *out, size_t out_cap,
                          size_t *out_len, bundle_error *err)
{
    size_t total = bundle_packed_len(manifest_len, payload_len);
    if (!manifest || (!payload && payload_len) || !secret_key || !out || !out_len)
        return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "invalid argument");
    if (total == 0)
        return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "manifest of %zu bytes (1..%u) or payload of %zu bytes (at most %u)",
                           manifest_len, BUNDLE_MANIFEST_MAX, payload_len, BUNDLE_PAYLOAD_MAX);
    if (out_cap < total)
        return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "output buffer of %zu bytes, the bundle needs %zu", out_cap, total);
    memset(out, 0, BUNDLE_HEADER_LEN);
    memcpy(out + OFF_MAGIC, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
    put16(out + OFF_VERSION, BUNDLE_FORMAT_VERSION);
    put16(out + OFF_HEADER_LEN, BUNDLE_HEADER_LEN);
    put32(out + OFF_FLAGS, 0);
    /* libsodium's secret key ends with the public key. */
    bundle_key_id(secret_key + 32, out + OFF_KEY_ID);
    put32(out + OFF_MANIFEST_LEN, (uint32_t)manifest_len);
    put32(out + OFF_NATIVES_LEN, 0);
    put64(out + OFF_PAYLOAD_LEN, payload_len);
    memcpy(out + BUNDLE_HEADER_LEN, manifest, manifest_len);
    size_t signed_len = BUNDLE_HEADER_LEN + manifest_len;
    if (payload_len) memcpy(out + signed_len + BUNDLE_SIGNATURE_LEN, payload, payload_len);
    bundle_status s = sign_into(out, signed_len, secret_key, err);
    if (s != BUNDLE_OK) return s;
    *out_len = total;
    return BUNDLE_OK;
}

bundle_status bundle_resign(uint8_t *bytes, size_t len, const uint8_t secret_key[BUNDLE_SECRET_KEY_LEN],
                            bundle_error *err)
{
    if (!bytes || !secret_key) return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "invalid argument");
    bundle_view v;
    bundle_status s = bundle_parse(bytes, len, &v, err);
    if (s != BUNDLE_OK) return s;
    bundle_key_id(secret_key + 32, bytes + OFF_KEY_ID);
    return sign_into(bytes, v.signed_len, secret_key, err);
}
