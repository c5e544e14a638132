/* semver.c - semantic versions [semver.org 2.0.0]: parsing and precedence
 * (semver.h). The one implementation the manifest, the bundle trust
 * decision and the module store all order versions by, so that what a
 * device calls "older" or "below the floor" is the same everywhere. */
#include "semver.h"

#include <ctype.h>
#include <string.h>

/* A numeric part without leading zeros; advances *p. */
static bool semver_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) return false;
    if (*s == '0' && isdigit((unsigned char)s[1])) return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    *p = s;
    *out = v;
    return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-], non-empty; numeric ones
 * without leading zeros when `numeric_rule`. Returns the end. */
static const char *semver_idents(const char *s, bool numeric_rule)
{
    for (;;) {
        const char *start = s;
        bool all_digits = true;
        while (isalnum((unsigned char)*s) || *s == '-') all_digits &= isdigit((unsigned char)*s++) != 0;
        if (s == start) return NULL;
        if (numeric_rule && all_digits && *start == '0' && s - start > 1) return NULL;
        if (*s != '.') return s;
        s++;
    }
}

bool semver_parse(const char *s, semver *out, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    const char *p = s;
    memset(out, 0, sizeof *out);
    *why = "expected MAJOR.MINOR.PATCH with numbers without leading zeros";
    if (!semver_number(&p, &out->major) || *p++ != '.' || !semver_number(&p, &out->minor) ||
        *p++ != '.' || !semver_number(&p, &out->patch))
        return false;
    if (*p == '-') {
        const char *end = semver_idents(p + 1, true);
        *why = "expected a pre-release of dot-separated [0-9A-Za-z-] identifiers after '-'";
        if (!end || (size_t)(end - p - 1) >= sizeof out->pre) return false;
        memcpy(out->pre, p + 1, (size_t)(end - p - 1));
        p = end;
    }
    if (*p == '+') {
        p = semver_idents(p + 1, false);
        *why = "expected build metadata of dot-separated [0-9A-Za-z-] identifiers after '+'";
        if (!p) return false;
    }
    *why = "unexpected characters after the version";
    return *p == '\0';
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

int semver_compare(const semver *a, const semver *b)
{
    int r = cmp_u64(a->major, b->major);
    if (!r) r = cmp_u64(a->minor, b->minor);
    if (!r) r = cmp_u64(a->patch, b->patch);
    if (r) return r;
    if (!a->pre[0] || !b->pre[0]) return cmp_u64(!a->pre[0], !b->pre[0]); /* release > pre-release */
    const char *x = a->pre, *y = b->pre;
    for (;;) {
        size_t nx = strcspn(x, "."), ny = strcspn(y, ".");
        bool dx = strspn(x, "0123456789") == nx, dy = strspn(y, "0123456789") == ny;
        if (dx && dy) r = nx != ny ? cmp_u64(nx, ny) : strncmp(x, y, nx);
        else if (dx != dy) r = dx ? -1 : 1;
        else { r = strncmp(x, y, nx < ny ? nx : ny); if (!r) r = cmp_u64(nx, ny); }
        if (r) return r < 0 ? -1 : 1;
        x += nx; y += ny;
        if (!*x || !*y) return cmp_u64(*x != 0, *y != 0);
        x++; y++;
    }
}
