/* bundle_verify.c - what a device pays to decide on a bundle
 * (src/bundle): the time of trust_check (header, key lookup, Ed25519
 * signature, manifest parse, payload SHA-256, policy) per bundle, for
 * payloads from 1 KiB to 16 MiB, and of the signature check alone.
 * Median and minimum over the rounds, in microseconds. The key is made at
 * run time. Never part of the tests (bench/README.md).
 *
 * usage: bench_bundle_verify [ROUNDS]   (default 200; 16 MiB runs ROUNDS/20) */
#include "bundle.h"
#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1) rounds = 1;
    uint8_t pk[BUNDLE_PUBLIC_KEY_LEN], sk[BUNDLE_SECRET_KEY_LEN];
    bundle_error e;
    if (bundle_keygen(pk, sk, &e) != BUNDLE_OK) return 1;
    static const char *const scopes[] = { "alarm" };
    trust_key key = { .scopes = scopes, .scope_count = 1 };
    memcpy(key.public_key, pk, sizeof pk);
    bundle_key_id(pk, key.id);
    trust_store store = { &key, 1 };
    trust_state state = { 0 };
    trust_request req = { .module = "alarm", .now = 1 };
    static const size_t sizes[] = { 1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024 };
    printf("%-10s %-22s %12s %12s\n", "payload", "what", "median µs", "min µs");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *wasm = malloc(n);
        for (size_t i = 0; i < n; i++) wasm[i] = (uint8_t)(i * 2654435761u >> 24);
        char hex[65], json[512];
        bundle_sha256_hex(wasm, n, hex);
        snprintf(json, sizeof json,
                 "{\"manifest_version\":1,\"name\":\"alarm\",\"version\":\"1.0.0\",\"host_api\":\"iot_v1\","
                 "\"wasm_sha256\":\"%s\",\"security_floor\":\"1.0.0\",\"capabilities\":{\"publish\":[\"alarms/+\"]},"
                 "\"payload\":{\"encoding\":\"plain\",\"size\":%zu,\"decoded_size\":%zu}}", hex, n, n);
        size_t cap = bundle_packed_len(strlen(json), n), len;
        uint8_t *b = malloc(cap);
        if (bundle_pack(json, strlen(json), wasm, n, sk, b, cap, &len, &e) != BUNDLE_OK) return 1;
        int r = n >= 16 * 1024 * 1024 ? (rounds / 20 > 0 ? rounds / 20 : 1) : rounds;
        double *full = malloc(sizeof *full * (size_t)r), *sig = malloc(sizeof *sig * (size_t)r);
        for (int i = 0; i < r; i++) {
            bundle_manifest bm;
            double t0 = now_us();
            bundle_status st = trust_check(&store, &state, &req, b, len, &bm, NULL, &e);
            full[i] = now_us() - t0;
            bundle_manifest_free(&bm);
            if (st != BUNDLE_OK) {
                fprintf(stderr, "refused: %s\n", e.msg);
                return 1;
            }
            bundle_view v;
            bundle_parse(b, len, &v, NULL);
            t0 = now_us();
            st = bundle_verify_signature(&v, pk, NULL);
            sig[i] = now_us() - t0;
            if (st != BUNDLE_OK) return 1;
        }
        qsort(full, (size_t)r, sizeof *full, cmp_double);
        qsort(sig, (size_t)r, sizeof *sig, cmp_double);
        char label[32];
        snprintf(label, sizeof label, "%zu KiB", n / 1024);
        printf("%-10s %-22s %12.1f %12.1f\n", label, "trust_check (all)", full[r / 2], full[0]);
        printf("%-10s %-22s %12.1f %12.1f\n", "", "signature only", sig[r / 2], sig[0]);
        free(full);
        free(sig);
        free(b);
        free(wasm);
    }
    return 0;
}
