/* fuzz_bundle.c - libFuzzer target over the bundle parser and the whole
 * trust decision (src/bundle). The first input byte picks how the rest is
 * used, so mutations reach past the signature, which random bytes never
 * forge:
 *   0  the rest is a bundle, checked as it is (header, key, signature);
 *   1  the rest is "MANIFEST-JSON \0 PAYLOAD": packed and signed with the
 *      fuzzer's key, then checked (the manifest parser and every policy
 *      step see mutated, authenticated input);
 *   2  the rest is a bundle whose signature is replaced by one from the
 *      fuzzer's key when its header parses, then checked.
 * Invariants: no crash, leak or overread; a refusal has a message; an
 * accepted bundle's payload is inside the input. The key is derived from a
 * fixed seed, so runs are repeatable; no key is checked in.
 * Seeds: tests/fuzz/bundle-seeds/ (one per mode). */
#include "bundle.h"
#include "trust.h"

#include <sodium.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint8_t pk[BUNDLE_PUBLIC_KEY_LEN], sk[BUNDLE_SECRET_KEY_LEN];
static trust_key keys[2];
static const char *const scopes[] = { "alarm", "fan" };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 0x42, sizeof seed);
    if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed) != 0) abort();
    /* One scoped key and, under another id, the same key revoked: the
     * store's lookups see both outcomes. */
    memcpy(keys[0].public_key, pk, sizeof pk);
    bundle_key_id(pk, keys[0].id);
    keys[0].scopes = scopes;
    keys[0].scope_count = 2;
    keys[1] = keys[0];
    keys[1].id[0] ^= 0xff;
    keys[1].revoked = true;
    return 0;
}

static void check(const uint8_t *b, size_t n)
{
    trust_store store = { keys, 2 };
    trust_state fresh = { 0 };
    trust_state used = { .has_floor = true, .has_running = true, .newest_time_seen = 1700000000 };
    semver_parse("1.0.0", &used.floor, NULL);
    semver_parse("1.2.0", &used.running, NULL);
    memset(used.running_sha256, 'a', 64);
    trust_request any = { .now = 0 };
    trust_request alarm = { .module = "alarm", .now = 1800000000 };
    const trust_state *states[] = { &fresh, &used };
    const trust_request *reqs[] = { &any, &alarm };
    for (size_t i = 0; i < 2; i++) {
        bundle_manifest bm;
        bundle_view v;
        bundle_error e;
        bundle_status s = trust_check(&store, states[i], reqs[i], b, n, &bm, &v, &e);
        if (s >= BUNDLE_STATUS_COUNT) abort();
        if (s != BUNDLE_OK && !e.msg[0]) abort();
        if (s == BUNDLE_OK && (v.payload < b || v.payload + v.payload_len != b + n || !bm.m.wasm_sha256[0])) abort();
        bundle_manifest_free(&bm);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0:
        check(rest, n);
        break;
    case 1: {
        const uint8_t *nul = memchr(rest, 0, n);
        size_t mlen = nul ? (size_t)(nul - rest) : n;
        const uint8_t *payload = nul ? nul + 1 : rest + n;
        size_t plen = nul ? n - mlen - 1 : 0;
        size_t cap = bundle_packed_len(mlen, plen);
        if (!cap) break;
        uint8_t *b = malloc(cap);
        size_t len;
        if (b && bundle_pack((const char *)rest, mlen, payload, plen, sk, b, cap, &len, NULL) == BUNDLE_OK)
            check(b, len);
        free(b);
        break;
    }
    default: {
        uint8_t *b = malloc(n ? n : 1);
        if (!b) break;
        memcpy(b, rest, n);
        bundle_resign(b, n, sk, NULL);
        check(b, n);
        free(b);
        break;
    }
    }
    return 0;
}
