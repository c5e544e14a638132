/* harness.h - the tests' small assertion harness.
 *
 * CHECK(cond) and CHECK_EQ_*(a, b) record a failure with file, line and
 * both values, and let the test continue; TEST_MAIN_END() prints the plain
 * "N passed, N failed" line and returns the exit status. One test program is
 * one ctest, in its own process. */
#ifndef GRAFT_TEST_HARNESS_H
#define GRAFT_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (cond) { harness_passed++; }                                           \
        else { harness_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n",     \
                                         __FILE__, __LINE__, #cond); }            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                        \
    do {                                                                          \
        long long va_ = (long long)(a), vb_ = (long long)(b);                     \
        if (va_ == vb_) { harness_passed++; }                                     \
        else { harness_failed++; fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
                                         __FILE__, __LINE__, #a, #b, va_, vb_); } \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                        \
    do {                                                                          \
        uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                        \
        if (va_ == vb_) { harness_passed++; }                                     \
        else { harness_failed++; fprintf(stderr, "%s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
                                         __FILE__, __LINE__, #a, #b, va_, vb_); } \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                        \
    do {                                                                          \
        const char *sa_ = (a), *sb_ = (b);                                        \
        if (sa_ && sb_ && strcmp(sa_, sb_) == 0) { harness_passed++; }            \
        else { harness_failed++; fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                                         __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); } \
    } while (0)

/* Prefix match, for error messages that carry details after the catalogue text. */
#define CHECK_PREFIX(s, prefix)                                                   \
    do {                                                                          \
        const char *sa_ = (s), *sp_ = (prefix);                                   \
        if (sa_ && strncmp(sa_, sp_, strlen(sp_)) == 0) { harness_passed++; }     \
        else { harness_failed++; fprintf(stderr, "%s:%d: \"%s\" does not start with \"%s\"\n", \
                                         __FILE__, __LINE__, sa_ ? sa_ : "(null)", sp_); } \
    } while (0)

#define TEST_MAIN_END()                                                           \
    do {                                                                          \
        printf("%d passed, %d failed\n", harness_passed, harness_failed);         \
        return harness_failed ? 1 : 0;                                            \
    } while (0)

#endif
