/* sha256.h - SHA-256 (FIPS 180-4) for the module store's content addresses.
 *
 * The store checks every payload it writes and every payload it reads back
 * against its digest, so it carries its own small implementation rather
 * than depend on src/bundle (the caller verifies bundles; the store only
 * takes plain values). Caller-owned context, no allocation. */
#ifndef GRAFT_STORE_SHA256_H
#define GRAFT_STORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct mstore_sha256 {
    uint32_t h[8];          /* the chaining state */
    uint64_t bytes;         /* message length so far */
    uint8_t block[64];      /* the partial block */
    size_t used;            /* bytes in block */
} mstore_sha256;

void mstore_sha256_init(mstore_sha256 *c);
void mstore_sha256_update(mstore_sha256 *c, const void *data, size_t len);
void mstore_sha256_final(mstore_sha256 *c, uint8_t out[32]);

/* The digest of (data, len) as 64 lowercase hex digits and a NUL. */
void mstore_sha256_hex(const void *data, size_t len, char out_hex[65]);

#endif
