/* values.h - spec-test values: parsing from JSON, passing to the engine,
 * comparing results, printing.
 *
 * A spec_val holds one value of a command's "args" or "expected" list as
 * raw bits: integers and floats stay bit patterns end to end (no float or
 * double conversions, which would quiet signalling NaNs). Expected floats
 * may instead be a NaN pattern; v128 values keep their lane view so each
 * lane can carry its own pattern. References are null, or for externref a
 * host reference number N. */
#ifndef GRAFT_SPECTEST_VALUES_H
#define GRAFT_SPECTEST_VALUES_H

#include <graft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

typedef enum spec_nan {
    SPEC_NAN_NONE = 0,   /* a concrete bit pattern */
    SPEC_NAN_CANONICAL,  /* "nan:canonical" */
    SPEC_NAN_ARITHMETIC  /* "nan:arithmetic" */
} spec_nan;

typedef struct spec_val {
    graft_valtype type;   /* the value's type */
    uint64_t bits;        /* i32/i64/f32/f64: the bit pattern, zero-extended */
    spec_nan nan;         /* f32/f64 in expected lists: a NaN pattern instead of bits */
    bool is_null;         /* funcref/externref: ref.null */
    uint64_t extern_n;    /* externref when !is_null: the N of ref.extern N */
    uint8_t v128[16];     /* v128: the 16 bytes, little-endian lanes */
    unsigned lane_bits;   /* v128: lane width 8, 16, 32 or 64 */
    bool lane_float;      /* v128: lanes are f32 or f64 */
    spec_nan lane_nan[16]; /* v128 float lanes: per-lane pattern */
} spec_val;

/* Parse one {"type": T, "value": S} object. Patterns are accepted only when
 * allow_patterns (expected lists). On failure returns false and writes a
 * reason to err (errlen bytes). */
bool spec_val_parse(const json_node *node, bool allow_patterns, spec_val *out, char *err,
                    size_t errlen);

/* Parse only the "type" of a {"type": T, ...} object (lists of result
 * types in action, assert_trap and assert_exhaustion). */
bool spec_type_parse(const json_node *node, graft_valtype *out);

/* The opaque, non-null host reference that stands for ref.extern N. Equal N
 * give equal pointers, different N different pointers. */
void *spec_extern_ref(uint64_t n);

/* Convert an argument to the engine's representation. Fails (false, reason
 * in err) for values the public API cannot carry (v128, non-null funcref). */
bool spec_val_to_graft(const spec_val *v, graft_val *out, char *err, size_t errlen);

/* Does the engine's result match the expected value? Bitwise for numbers,
 * NaN patterns as the suite defines them, identity for references. */
bool spec_val_matches(const spec_val *expected, const graft_val *got);

/* Human-readable forms for failure messages. */
void spec_val_format(const spec_val *v, char *buf, size_t len);
void spec_graft_val_format(const graft_val *v, char *buf, size_t len);
const char *spec_valtype_name(graft_valtype t);

#endif
