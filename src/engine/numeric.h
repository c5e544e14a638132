/* numeric.h - the WebAssembly numeric operators that C does not give us
 * directly, as static inline functions for the interpreter (interp.c).
 *
 * Everything here follows [spec 4.3 Numerics]. The rules that matter:
 *   - no signed overflow, no shift by >= the width, no out-of-range
 *     float-to-int conversion in C (each is undefined behaviour);
 *   - float abs/neg/copysign are bit operations (interp.c does them on the
 *     raw bits) so NaN payloads pass through untouched;
 *   - min/max propagate NaN and order -0 below +0;
 *   - trapping truncations are guarded by exact range tests: a float x is
 *     convertible when trunc(x) fits, so the bounds below are the first
 *     values on each side that do NOT truncate into range.
 * No state, no allocation; included only by interp.c and the tests. */
#ifndef GR_NUMERIC_H
#define GR_NUMERIC_H

#include <math.h>
#include <stdint.h>

/* ---- Bit counting [spec 4.3.2 iclz, ictz, ipopcnt] ----------------------- */

static inline uint32_t gr_clz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_clz(x) : 32;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; n++; }
    return n;
#endif
}

static inline uint64_t gr_clz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_clzll(x) : 64;
#else
    uint64_t n = 0;
    if (!x) return 64;
    while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; }
    return n;
#endif
}

static inline uint32_t gr_ctz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_ctz(x) : 32;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}

static inline uint64_t gr_ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_ctzll(x) : 64;
#else
    uint64_t n = 0;
    if (!x) return 64;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}

static inline uint32_t gr_popcnt32(uint32_t x)
{
#if defined(__GNUC__)
    return (uint32_t)__builtin_popcount(x);
#else
    uint32_t n = 0;
    for (; x; x &= x - 1) n++;
    return n;
#endif
}

static inline uint64_t gr_popcnt64(uint64_t x)
{
#if defined(__GNUC__)
    return (uint64_t)__builtin_popcountll(x);
#else
    uint64_t n = 0;
    for (; x; x &= x - 1) n++;
    return n;
#endif
}

/* ---- Shifts and rotates: the count is taken modulo the width ------------ */

static inline uint32_t gr_rotl32(uint32_t x, uint32_t k)
{
    k &= 31;
    return (x << k) | (x >> ((32 - k) & 31));
}

static inline uint32_t gr_rotr32(uint32_t x, uint32_t k)
{
    k &= 31;
    return (x >> k) | (x << ((32 - k) & 31));
}

static inline uint64_t gr_rotl64(uint64_t x, uint64_t k)
{
    k &= 63;
    return (x << k) | (x >> ((64 - k) & 63));
}

static inline uint64_t gr_rotr64(uint64_t x, uint64_t k)
{
    k &= 63;
    return (x >> k) | (x << ((64 - k) & 63));
}

/* Arithmetic right shift without relying on how the compiler shifts a
 * negative signed value (implementation-defined in C11): shift the bits,
 * then fill the vacated top bits with copies of the sign. */
static inline uint32_t gr_shr_s32(uint32_t x, uint32_t k)
{
    k &= 31;
    uint32_t fill = (x >> 31) ? ~(0xFFFFFFFFu >> k) : 0;
    return (x >> k) | fill;
}

static inline uint64_t gr_shr_s64(uint64_t x, uint64_t k)
{
    k &= 63;
    uint64_t fill = (x >> 63) ? ~(0xFFFFFFFFFFFFFFFFull >> k) : 0;
    return (x >> k) | fill;
}

/* Sign extension of the low `bits` bits, in unsigned arithmetic. */
static inline uint32_t gr_sext32(uint32_t x, uint32_t bits)
{
    uint32_t m = 1u << (bits - 1);
    x &= (m << 1) - 1;
    return (x ^ m) - m;
}

static inline uint64_t gr_sext64(uint64_t x, uint32_t bits)
{
    uint64_t m = 1ull << (bits - 1);
    x &= bits == 64 ? ~0ull : (m << 1) - 1;
    return (x ^ m) - m;
}

/* ---- Float min, max, nearest [spec 4.3.3 fmin, fmax, fnearest] ---------- */

/* NaN in, NaN out (a + b yields a quiet NaN built from an input's payload,
 * which is what nan:canonical / nan:arithmetic allow). Equal operands are
 * either identical or a pair of zeros; OR-ing their bits gives -0 when
 * either is -0 (min), AND-ing gives +0 unless both are -0 (max). */
static inline uint32_t gr_fbits(float f)
{
    union { float f; uint32_t u; } c;
    c.f = f;
    return c.u;
}

static inline float gr_bitsf(uint32_t u)
{
    union { float f; uint32_t u; } c;
    c.u = u;
    return c.f;
}

static inline uint64_t gr_dbits(double d)
{
    union { double d; uint64_t u; } c;
    c.d = d;
    return c.u;
}

static inline double gr_bitsd(uint64_t u)
{
    union { double d; uint64_t u; } c;
    c.u = u;
    return c.d;
}

static inline float gr_fmin32(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return gr_bitsf(gr_fbits(a) | gr_fbits(b));
    return a < b ? a : b;
}

static inline float gr_fmax32(float a, float b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return gr_bitsf(gr_fbits(a) & gr_fbits(b));
    return a > b ? a : b;
}

static inline double gr_fmin64(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return gr_bitsd(gr_dbits(a) | gr_dbits(b));
    return a < b ? a : b;
}

static inline double gr_fmax64(double a, double b)
{
    if (a != a || b != b) return a + b;
    if (a == b) return gr_bitsd(gr_dbits(a) & gr_dbits(b));
    return a > b ? a : b;
}

/* Rounding to an integral value [spec 4.3.3 fceil, ffloor, ftrunc,
 * fnearest]. A NaN result must be an arithmetic (quiet) NaN, but compilers
 * inline these as bit tricks that hand a signalling NaN back unchanged, so
 * NaN goes through an addition, which quiets it. nearbyint rounds half to
 * even in the default rounding mode, which the engine never changes, and
 * keeps the sign of a zero result (-0.4 -> -0), as the spec requires. */
static inline float gr_fceil32(float a) { return a != a ? a + a : ceilf(a); }
static inline float gr_ffloor32(float a) { return a != a ? a + a : floorf(a); }
static inline float gr_ftrunc32(float a) { return a != a ? a + a : truncf(a); }
static inline float gr_fnearest32(float a) { return a != a ? a + a : nearbyintf(a); }
static inline double gr_fceil64(double a) { return a != a ? a + a : ceil(a); }
static inline double gr_ffloor64(double a) { return a != a ? a + a : floor(a); }
static inline double gr_ftrunc64(double a) { return a != a ? a + a : trunc(a); }
static inline double gr_fnearest64(double a) { return a != a ? a + a : nearbyint(a); }

/* ---- Truncation range checks [spec 4.3.3 trunc] -------------------------
 * Each returns 1 when trunc(x) is representable in the target (x not NaN).
 * The bounds are exact in the source format. */

static inline int gr_f32_fits_i32(float x) { return x >= -2147483648.0f && x < 2147483648.0f; }
static inline int gr_f32_fits_u32(float x) { return x > -1.0f && x < 4294967296.0f; }
static inline int gr_f64_fits_i32(double x) { return x > -2147483649.0 && x < 2147483648.0; }
static inline int gr_f64_fits_u32(double x) { return x > -1.0 && x < 4294967296.0; }
static inline int gr_f32_fits_i64(float x)
{
    return x >= -9223372036854775808.0f && x < 9223372036854775808.0f;
}
static inline int gr_f32_fits_u64(float x) { return x > -1.0f && x < 18446744073709551616.0f; }
static inline int gr_f64_fits_i64(double x)
{
    return x >= -9223372036854775808.0 && x < 9223372036854775808.0;
}
static inline int gr_f64_fits_u64(double x) { return x > -1.0 && x < 18446744073709551616.0; }

/* ---- Saturating truncation [spec 4.3.3 trunc_sat]: NaN -> 0 ------------- */

static inline int32_t gr_sat_f32_i32(float x)
{
    if (x != x) return 0;
    if (x < -2147483648.0f) return INT32_MIN;
    if (x >= 2147483648.0f) return INT32_MAX;
    return (int32_t)x;
}

static inline uint32_t gr_sat_f32_u32(float x)
{
    if (x != x || x <= -1.0f) return 0;
    if (x >= 4294967296.0f) return UINT32_MAX;
    return (uint32_t)x;
}

static inline int32_t gr_sat_f64_i32(double x)
{
    if (x != x) return 0;
    if (x <= -2147483649.0) return INT32_MIN;
    if (x >= 2147483648.0) return INT32_MAX;
    return (int32_t)x;
}

static inline uint32_t gr_sat_f64_u32(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)x;
}

static inline int64_t gr_sat_f32_i64(float x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0f) return INT64_MIN;
    if (x >= 9223372036854775808.0f) return INT64_MAX;
    return (int64_t)x;
}

static inline uint64_t gr_sat_f32_u64(float x)
{
    if (x != x || x <= -1.0f) return 0;
    if (x >= 18446744073709551616.0f) return UINT64_MAX;
    return (uint64_t)x;
}

static inline int64_t gr_sat_f64_i64(double x)
{
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return INT64_MIN;
    if (x >= 9223372036854775808.0) return INT64_MAX;
    return (int64_t)x;
}

static inline uint64_t gr_sat_f64_u64(double x)
{
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)x;
}

#endif
