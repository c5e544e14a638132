/* sha256.c - mstore_sha256_hex over libsodium (sha256.h). */
#include "sha256.h"

#include <sodium.h>

void mstore_sha256_hex(const void *data, size_t len, char out_hex[65])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, len);
    sodium_bin2hex(out_hex, 65, d, sizeof d);
}
