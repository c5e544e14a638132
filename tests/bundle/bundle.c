/* bundle.c - the bundle format and the trust decision (src/bundle):
 * round trips, every refusal reason of docs/ota.md in its order, every
 * header field's bound, and every truncation point of a valid bundle.
 * The keys are generated here, at run time: no key is checked in. */
#include "bundle.h"
#include "harness.h"
#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t pk_a[BUNDLE_PUBLIC_KEY_LEN], sk_a[BUNDLE_SECRET_KEY_LEN];
static uint8_t pk_b[BUNDLE_PUBLIC_KEY_LEN], sk_b[BUNDLE_SECRET_KEY_LEN];
static const uint8_t wasm[] = { 0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00 };

/* A manifest for wasm (or for the bytes given), with the bundle keys;
 * extra is spliced in before the closing brace (",\"k\":v" or ""). */
static char *manifest_json(const char *name, const char *version, const char *floor, const char *extra,
                           const uint8_t *payload, size_t payload_len)
{
    static char buf[2048];
    char hex[65];
    bundle_sha256_hex(payload, payload_len, hex);
    snprintf(buf, sizeof buf,
             "{\"manifest_version\":1,\"name\":\"%s\",\"version\":\"%s\",\"host_api\":\"iot_v1\","
             "\"wasm_sha256\":\"%s\",\"security_floor\":\"%s\","
             "\"payload\":{\"encoding\":\"plain\",\"size\":%zu,\"decoded_size\":%zu}%s}",
             name, version, hex, floor, payload_len, payload_len, extra);
    return buf;
}

/* Pack json over wasm with sk; returns a malloc'd bundle. */
static uint8_t *pack_with(const char *json, const uint8_t *payload, size_t payload_len, const uint8_t *sk,
                          size_t *out_len)
{
    size_t cap = bundle_packed_len(strlen(json), payload_len);
    uint8_t *b = malloc(cap);
    bundle_error e;
    if (!b || bundle_pack(json, strlen(json), payload, payload_len, sk, b, cap, out_len, &e) != BUNDLE_OK) {
        fprintf(stderr, "pack failed: %s\n", e.msg);
        exit(2);
    }
    return b;
}

static uint8_t *pack(const char *name, const char *version, const char *floor, const char *extra, size_t *out_len)
{
    return pack_with(manifest_json(name, version, floor, extra, wasm, sizeof wasm), wasm, sizeof wasm, sk_a, out_len);
}

static const char *const scope_alarm[] = { "alarm", "other" };
static trust_key keys[2];
static trust_store store = { keys, 2 };

/* The decision with the default store and a fresh state; returns the
 * status and leaves the message in *e. */
static bundle_status decide(const uint8_t *b, size_t n, const trust_state *st, const trust_request *rq,
                            bundle_error *e)
{
    static const trust_state empty;
    trust_request dflt = { .module = "alarm", .now = 1000 };
    bundle_manifest bm;
    bundle_status s = trust_check(&store, st ? st : &empty, rq ? rq : &dflt, b, n, &bm, NULL, e);
    bundle_manifest_free(&bm);
    return s;
}

#define CHECK_REFUSED(b, n, st, rq, status, prefix)                  \
    do {                                                             \
        bundle_error e_;                                             \
        CHECK_EQ_STR(bundle_status_name(decide(b, n, st, rq, &e_)), bundle_status_name(status)); \
        CHECK_PREFIX(e_.msg, prefix);                                \
    } while (0)

static void setup_keys(void)
{
    bundle_error e;
    CHECK_EQ_INT(bundle_keygen(pk_a, sk_a, &e), BUNDLE_OK);
    CHECK_EQ_INT(bundle_keygen(pk_b, sk_b, &e), BUNDLE_OK);
    memcpy(keys[0].public_key, pk_a, sizeof pk_a);
    bundle_key_id(pk_a, keys[0].id);
    keys[0].scopes = scope_alarm;
    keys[0].scope_count = 2;
    memcpy(keys[1].public_key, pk_b, sizeof pk_b);
    bundle_key_id(pk_b, keys[1].id);
    keys[1].any_module = true;
}

static void test_round_trip(void)
{
    size_t n;
    uint8_t *b = pack("alarm", "1.2.3+build.7", "1.0.0", ",\"expires\":5000", &n);
    bundle_view v;
    bundle_error e;
    CHECK_EQ_INT(bundle_parse(b, n, &v, &e), BUNDLE_OK);
    CHECK_EQ_INT(v.header.format_version, BUNDLE_FORMAT_VERSION);
    CHECK_EQ_INT(v.payload_len, sizeof wasm);
    CHECK(memcmp(v.payload, wasm, sizeof wasm) == 0);
    CHECK(memcmp(v.header.key_id, keys[0].id, BUNDLE_KEY_ID_LEN) == 0);
    CHECK_EQ_INT(bundle_verify_signature(&v, pk_a, &e), BUNDLE_OK);
    CHECK_EQ_INT(bundle_verify_signature(&v, pk_b, &e), BUNDLE_BAD_SIGNATURE);
    bundle_manifest bm;
    trust_state st = { 0 };
    trust_request rq = { .module = "alarm", .now = 1000 };
    bundle_view tv;
    CHECK_EQ_INT(trust_check(&store, &st, &rq, b, n, &bm, &tv, &e), BUNDLE_OK);
    CHECK_EQ_STR(e.msg, "");
    CHECK_EQ_STR(bm.m.name, "alarm");
    CHECK_EQ_STR(bm.m.version, "1.2.3+build.7");
    CHECK_EQ_STR(bm.security_floor, "1.0.0");
    CHECK(bm.has_expires);
    CHECK_EQ_INT(bm.expires, 5000);
    CHECK_EQ_STR(bm.encoding, "plain");
    CHECK_EQ_U64(bm.decoded_size, sizeof wasm);
    CHECK(tv.payload == b + n - sizeof wasm);
    bundle_manifest_free(&bm);
    /* The same version with its own hash is accepted (a reinstall), and
     * +BUILD does not count: 1.2.3+other is the same version. */
    semver_parse("1.2.3+other", &st.running, NULL);
    st.has_running = true;
    bundle_sha256_hex(wasm, sizeof wasm, st.running_sha256);
    CHECK_EQ_INT(decide(b, n, &st, NULL, &e), BUNDLE_OK);
    /* A key with any_module signs anything; no module asked: any name. */
    size_t n2;
    uint8_t *b2 = pack_with(manifest_json("zeta", "0.1.0", "0.0.0", "", wasm, sizeof wasm), wasm, sizeof wasm,
                            sk_b, &n2);
    trust_request any = { .now = 1 };
    CHECK_EQ_INT(decide(b2, n2, NULL, &any, &e), BUNDLE_OK);
    /* An empty payload packs and parses. */
    size_t n3;
    uint8_t *b3 = pack_with(manifest_json("alarm", "1.0.0", "1.0.0", "", NULL, 0), NULL, 0, sk_a, &n3);
    CHECK_EQ_INT(decide(b3, n3, NULL, NULL, &e), BUNDLE_OK);
    free(b3);
    free(b2);
    free(b);
}

/* Every proper prefix of a valid bundle is "truncated at byte N", through
 * the parser and the full decision. */
static void test_truncation(void)
{
    size_t n;
    uint8_t *b = pack("alarm", "1.0.0", "1.0.0", "", &n);
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees any overread */
        memcpy(copy, b, len);
        bundle_view v;
        bundle_error e;
        char want[48];
        snprintf(want, sizeof want, "truncated at byte %zu ", len);
        if (bundle_parse(copy, len, &v, &e) != BUNDLE_TRUNCATED || strncmp(e.msg, want, strlen(want)) != 0) {
            fprintf(stderr, "prefix %zu: %s\n", len, e.msg);
            bad++;
        }
        if (decide(copy, len, NULL, NULL, &e) != BUNDLE_TRUNCATED) bad++;
        free(copy);
    }
    CHECK_EQ_INT(bad, 0);
    /* One byte more is not truncation but trailing data. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    CHECK_REFUSED(longer, n + 1, NULL, NULL, BUNDLE_MALFORMED, "malformed bundle: 1 bytes after the payload");
    free(longer);
    free(b);
}

/* Set a little-endian field of a copy and expect the refusal. */
static void header_case(const uint8_t *b, size_t n, size_t off, size_t width, uint64_t value, bundle_status want,
                        const char *prefix)
{
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    for (size_t i = 0; i < width; i++) c[off + i] = (uint8_t)(value >> (8 * i));
    CHECK_REFUSED(c, n, NULL, NULL, want, prefix);
    free(c);
}

static void test_header_bounds(void)
{
    size_t n;
    uint8_t *b = pack("alarm", "1.0.0", "1.0.0", "", &n);
    header_case(b, n, 0, 1, 'X', BUNDLE_MALFORMED, "malformed bundle: bad magic");
    header_case(b, n, 8, 2, 2, BUNDLE_UNSUPPORTED_VERSION, "unsupported format version 2");
    header_case(b, n, 8, 2, 0, BUNDLE_UNSUPPORTED_VERSION, "unsupported format version 0");
    header_case(b, n, 10, 2, 72, BUNDLE_MALFORMED, "malformed bundle: byte 10: header length 72");
    header_case(b, n, 12, 4, 1, BUNDLE_MALFORMED, "malformed bundle: byte 12: unknown flags 0x00000001");
    header_case(b, n, 12, 4, 0x80000000u, BUNDLE_MALFORMED, "malformed bundle: byte 12: unknown flags");
    header_case(b, n, 24, 4, 0, BUNDLE_MALFORMED, "malformed bundle: byte 24: manifest length 0");
    header_case(b, n, 24, 4, BUNDLE_MANIFEST_MAX + 1, BUNDLE_MALFORMED, "malformed bundle: byte 24: manifest length");
    header_case(b, n, 24, 4, 0xffffffffu, BUNDLE_MALFORMED, "malformed bundle: byte 24");
    header_case(b, n, 28, 4, 1, BUNDLE_MALFORMED, "malformed bundle: byte 28: native object table");
    header_case(b, n, 32, 8, (uint64_t)BUNDLE_PAYLOAD_MAX + 1, BUNDLE_MALFORMED, "malformed bundle: byte 32");
    header_case(b, n, 32, 8, UINT64_MAX, BUNDLE_MALFORMED, "malformed bundle: byte 32");
    header_case(b, n, 63, 1, 1, BUNDLE_MALFORMED, "malformed bundle: byte 63: reserved");
    header_case(b, n, 40, 1, 1, BUNDLE_MALFORMED, "malformed bundle: byte 40: reserved");
    /* A longer payload length than the file holds is truncation. */
    header_case(b, n, 32, 8, sizeof wasm + 1, BUNDLE_TRUNCATED, "truncated at byte");
    /* Any byte that is not the magic's, even in a short file. */
    static const uint8_t junk[3] = { 'G', 'X', 'F' };
    CHECK_REFUSED(junk, sizeof junk, NULL, NULL, BUNDLE_MALFORMED, "malformed bundle: bad magic");
    free(b);
}

/* Flip byte off of a copy and expect the refusal. */
static void flip_case(const uint8_t *b, size_t n, size_t off, bundle_status want, const char *prefix)
{
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    c[off] ^= 0x01;
    CHECK_REFUSED(c, n, NULL, NULL, want, prefix);
    free(c);
}

static void test_keys_and_signature(void)
{
    size_t n;
    uint8_t *b = pack("alarm", "1.0.0", "1.0.0", "", &n);
    bundle_view v;
    bundle_parse(b, n, &v, NULL);
    size_t man = BUNDLE_HEADER_LEN, sig = v.signed_len, pay = n - sizeof wasm;
    flip_case(b, n, 16, BUNDLE_UNKNOWN_KEY, "unknown key ");
    flip_case(b, n, man + 3, BUNDLE_BAD_SIGNATURE, "bad signature");
    flip_case(b, n, man + v.manifest_len - 1, BUNDLE_BAD_SIGNATURE, "bad signature");
    flip_case(b, n, sig, BUNDLE_BAD_SIGNATURE, "bad signature");
    flip_case(b, n, sig + BUNDLE_SIGNATURE_LEN - 1, BUNDLE_BAD_SIGNATURE, "bad signature");
    flip_case(b, n, pay, BUNDLE_HASH_MISMATCH, "hash mismatch: the payload's SHA-256 is");
    /* No key at all. */
    trust_store none = { NULL, 0 };
    bundle_manifest bm;
    bundle_error e;
    trust_request rq = { .module = "alarm" };
    CHECK_EQ_INT(trust_check(&none, NULL, &rq, b, n, &bm, NULL, &e), BUNDLE_UNKNOWN_KEY);
    bundle_manifest_free(&bm);
    /* Revoked comes before the signature: a revoked key's bundle is
     * refused as revoked even when it is also tampered with. */
    keys[0].revoked = true;
    CHECK_REFUSED(b, n, NULL, NULL, BUNDLE_REVOKED_KEY, "revoked key ");
    flip_case(b, n, man + 3, BUNDLE_REVOKED_KEY, "revoked key");
    keys[0].revoked = false;
    /* A key whose id matches but whose public key differs: bad signature. */
    memcpy(keys[0].public_key, pk_b, sizeof pk_b);
    CHECK_REFUSED(b, n, NULL, NULL, BUNDLE_BAD_SIGNATURE, "bad signature");
    memcpy(keys[0].public_key, pk_a, sizeof pk_a);
    free(b);
}

/* A bundle whose manifest json is signed by key A over wasm; expect. */
static void manifest_case(const char *json, bundle_status want, const char *prefix)
{
    size_t n;
    uint8_t *b = pack_with(json, wasm, sizeof wasm, sk_a, &n);
    CHECK_REFUSED(b, n, NULL, NULL, want, prefix);
    free(b);
}

static void test_manifest(void)
{
    char hex[65], buf[1024];
    bundle_sha256_hex(wasm, sizeof wasm, hex);
    const char *head = "{\"manifest_version\":1,\"name\":\"alarm\",\"version\":\"1.0.0\",\"host_api\":\"iot_v1\"";
    const char *payload = "\"payload\":{\"encoding\":\"plain\",\"size\":8,\"decoded_size\":8}";
    manifest_case("{", BUNDLE_BAD_MANIFEST, "bad manifest: manifest:1:");
    manifest_case("[1]", BUNDLE_BAD_MANIFEST, "bad manifest: manifest: (top level): expected an object");
    snprintf(buf, sizeof buf, "%s,\"security_floor\":\"1.0.0\",%s}", head, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: (top level): missing key \"wasm_sha256\"");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",%s}", head, hex, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: (top level): missing key \"security_floor\"");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\"}", head, hex);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: (top level): missing key \"payload\"");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0\",%s}", head, hex, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: security_floor: \"1.0\" is not a semantic");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.1\",%s}", head, hex, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: security_floor: 1.0.1 is above the version");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\",\"expires\":\"soon\",%s}",
             head, hex, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: expires");
    /* Unknown keys are refused, at the top and inside payload. */
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\",\"natives\":[],%s}", head, hex,
             payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: natives: unknown key");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\","
             "\"payload\":{\"encoding\":\"plain\",\"size\":8,\"decoded_size\":8,\"chunk\":1}}", head, hex);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: payload.chunk: unknown key");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\","
             "\"payload\":{\"encoding\":\"zstd\",\"size\":8,\"decoded_size\":8}}", head, hex);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: payload.encoding: \"zstd\" is not an encoding");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\","
             "\"payload\":{\"encoding\":\"plain\",\"size\":8,\"decoded_size\":9}}", head, hex);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: payload.decoded_size: expected 8");
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\","
             "\"payload\":{\"encoding\":\"plain\",\"decoded_size\":8}}", head, hex);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: payload: missing key \"size\"");
    /* The agent's own schema errors come through with their path. */
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\",\"limits\":{\"x\":1},%s}", head,
             hex, payload);
    manifest_case(buf, BUNDLE_BAD_MANIFEST, "bad manifest: manifest: limits.x: unknown key");
    /* The payload's length must be the manifest's. */
    snprintf(buf, sizeof buf, "%s,\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\","
             "\"payload\":{\"encoding\":\"plain\",\"size\":7,\"decoded_size\":7}}", head, hex);
    manifest_case(buf, BUNDLE_HASH_MISMATCH, "hash mismatch: the payload is 8 bytes, the manifest says 7");
}

static void test_policy(void)
{
    size_t n;
    bundle_error e;
    uint8_t *b = pack("alarm", "1.5.0", "1.2.0", ",\"expires\":2000", &n);
    /* Scope and name. */
    size_t on;
    uint8_t *other = pack("sensor", "1.0.0", "1.0.0", "", &on);
    trust_request rq_sensor = { .module = "sensor", .now = 1000 };
    CHECK_REFUSED(other, on, NULL, &rq_sensor, BUNDLE_KEY_NOT_ALLOWED, "key not allowed for this module: key ");
    trust_request rq_other = { .module = "other", .now = 1000 };
    CHECK_REFUSED(b, n, NULL, &rq_other, BUNDLE_WRONG_MODULE, "not for this module: the bundle is \"alarm\"");
    /* The floor. */
    trust_state st = { .has_floor = true };
    semver_parse("1.5.1", &st.floor, NULL);
    CHECK_REFUSED(b, n, &st, NULL, BUNDLE_BELOW_FLOOR, "below the security floor: version 1.5.0, the floor is 1.5.1");
    semver_parse("1.5.0", &st.floor, NULL);
    CHECK_EQ_INT(decide(b, n, &st, NULL, &e), BUNDLE_OK);
    /* Downgrade: older refused unless a rollback asks; the floor holds
     * even then. */
    trust_state run = { .has_running = true };
    semver_parse("1.6.0", &run.running, NULL);
    CHECK_REFUSED(b, n, &run, NULL, BUNDLE_OLDER, "older than the running version: 1.5.0 < 1.6.0");
    trust_request rb = { .module = "alarm", .now = 1000, .rollback = true };
    CHECK_EQ_INT(decide(b, n, &run, &rb, &e), BUNDLE_OK);
    run.has_floor = true;
    semver_parse("1.6.0", &run.floor, NULL);
    CHECK_REFUSED(b, n, &run, &rb, BUNDLE_BELOW_FLOOR, "below the security floor");
    /* Same version, another hash. */
    trust_state same = { .has_running = true };
    semver_parse("1.5.0+old", &same.running, NULL);
    memset(same.running_sha256, 'a', 64);
    CHECK_REFUSED(b, n, &same, NULL, BUNDLE_SAME_VERSION_OTHER_HASH, "same version with a different hash: 1.5.0 ");
    /* A pre-release of the running version is older. */
    semver_parse("1.5.0", &run.running, NULL);
    run.has_floor = false;
    size_t pn;
    uint8_t *pre = pack("alarm", "1.5.0-rc.1", "1.0.0", "", &pn);
    CHECK_REFUSED(pre, pn, &run, NULL, BUNDLE_OLDER, "older than the running version");
    free(pre);
    /* Expiry against max(wall clock, newest time seen). */
    trust_request late = { .module = "alarm", .now = 2000 };
    CHECK_REFUSED(b, n, NULL, &late, BUNDLE_EXPIRED, "expired: at 2000");
    trust_request y1970 = { .module = "alarm", .now = 0 };
    CHECK_EQ_INT(decide(b, n, NULL, &y1970, &e), BUNDLE_OK);
    trust_state seen = { .newest_time_seen = 2500 };
    CHECK_REFUSED(b, n, &seen, &y1970, BUNDLE_EXPIRED, "expired: at 2000 (Unix seconds), the trusted time is 2500");
    trust_request early = { .module = "alarm", .now = 1999 };
    CHECK_EQ_INT(decide(b, n, NULL, &early, &e), BUNDLE_OK);
    /* docs/ota.md's order when several reasons hold at once. */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    c[n - 1] ^= 1;   /* hash mismatch ... */
    CHECK_REFUSED(c, n, &st, &rq_other, BUNDLE_WRONG_MODULE, "not for this module");   /* ... name first */
    trust_state high = { .has_floor = true, .has_running = true };
    semver_parse("9.0.0", &high.floor, NULL);
    semver_parse("9.0.0", &high.running, NULL);
    CHECK_REFUSED(c, n, &high, &late, BUNDLE_HASH_MISMATCH, "hash mismatch");          /* hash before floor */
    CHECK_REFUSED(b, n, &high, &late, BUNDLE_BELOW_FLOOR, "below");                    /* floor before older */
    semver_parse("1.0.0", &high.floor, NULL);
    CHECK_REFUSED(b, n, &high, &late, BUNDLE_OLDER, "older");                          /* older before expired */
    free(c);
    free(other);
    free(b);
}

static void test_texts(void)
{
    CHECK_EQ_STR(bundle_status_text(BUNDLE_OK), "accepted");
    CHECK_EQ_STR(bundle_status_text(BUNDLE_BELOW_FLOOR), "below the security floor");
    CHECK_EQ_STR(bundle_status_text(BUNDLE_STATUS_COUNT), "unknown status");
    CHECK_EQ_STR(bundle_status_name(BUNDLE_EXPIRED), "BUNDLE_EXPIRED");
    uint8_t small[8];
    size_t n;
    bundle_error e;
    CHECK_EQ_INT(bundle_pack("{}", 2, wasm, sizeof wasm, sk_a, small, sizeof small, &n, &e), BUNDLE_ERR_ARGUMENT);
    CHECK_EQ_INT(bundle_pack("", 0, wasm, sizeof wasm, sk_a, small, sizeof small, &n, &e), BUNDLE_ERR_ARGUMENT);
    CHECK_EQ_U64(bundle_packed_len(1, (size_t)BUNDLE_PAYLOAD_MAX + 1), 0);
}

int main(void)
{
    setup_keys();
    test_round_trip();
    test_truncation();
    test_header_bounds();
    test_keys_and_signature();
    test_manifest();
    test_policy();
    test_texts();
    TEST_MAIN_END();
}
