/* semver.h - semantic versions [semver.org 2.0.0], pure functions.
 *
 * MAJOR.MINOR.PATCH (numbers without leading zeros), an optional
 * -PRERELEASE of dot-separated identifiers, an optional +BUILD that is
 * checked but ignored in comparisons [semver.org 10]. Used by the manifest
 * parser (src/agent/manifest.c), the bundle trust decision
 * (src/bundle/trust.c) and the module store (src/store/store.c). */
#ifndef GRAFT_SEMVER_H
#define GRAFT_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

/* A parsed semantic version. */
typedef struct semver {
    uint64_t major, minor, patch;  /* the three numbers */
    char pre[64];                  /* pre-release after '-', or "" */
} semver;

/* Parses s. False with *why (may be NULL) naming what is malformed. */
bool semver_parse(const char *s, semver *out, const char **why);
/* <0, 0, >0 in precedence order [semver.org 11]. */
int semver_compare(const semver *a, const semver *b);

#endif
