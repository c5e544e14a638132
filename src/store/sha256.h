/* sha256.h - the module store's content addresses: SHA-256 as hex.
 *
 * The store checks every payload it writes and every payload it reads back
 * against its digest. The digest is libsodium's (crypto_hash_sha256, the
 * same library the bundle format uses), so the store carries no hash code
 * of its own and still does not depend on src/bundle: the caller verifies
 * bundles; the store only takes plain values. */
#ifndef GRAFT_STORE_SHA256_H
#define GRAFT_STORE_SHA256_H

#include <stddef.h>

/* The digest of (data, len) as 64 lowercase hex digits and a NUL. */
void mstore_sha256_hex(const void *data, size_t len, char out_hex[65]);

#endif
