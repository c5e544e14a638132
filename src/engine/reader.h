/* reader.h - a bounds-checked byte reader over module bytes, with the
 * LEB128 readers of the binary format [spec 5.2.2]. Shared by the decoder
 * (decode.c) and the compiler (compile.c), which both walk module bytes.
 *
 * A gr_reader is a window [p, end) inside the module bytes that start at
 * base; it owns nothing. Every reader checks the window before touching a
 * byte, so no read ever passes `end`: a decoder narrows `end` to the current
 * section or function body, and an overrun is an error, never a wild read.
 * Errors name the byte offset relative to base (the module's first byte),
 * which is what graft_error.offset reports.
 *
 * Every function returns GRAFT_OK or the error class, with the details in
 * err: "unexpected end: reading <what> at offset 0x1c", or for LEB128 the
 * two spec distinctions [spec 5.2.2]:
 *   "integer representation too long"  more bytes than ceil(N/7), i.e. the
 *                                      last permitted byte has its
 *                                      continuation bit set;
 *   "integer too large"                the last permitted byte has bits set
 *                                      beyond the N-bit value (unsigned), or
 *                                      those bits are not the sign extension
 *                                      of the value (signed).
 * An overrun always reports GRAFT_E_UNEXPECTED_END ("unexpected end"); a
 * caller reading inside a section or function body converts that to
 * GRAFT_E_SECTION_END ("unexpected end of section or function"), as
 * decode.c's section() does, because only it knows which one it is in.
 * `what` is a short noun phrase naming what was being read ("section size",
 * "type index"); it goes into the details text. On error *out is zero (so
 * no caller reads an unset value, and gcc -O2 can see that) and the
 * reader's position is unspecified (the caller stops). */
#ifndef GR_READER_H
#define GR_READER_H

#include "env.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gr_reader {
    const uint8_t *p;     /* next byte to read */
    const uint8_t *end;   /* one past the last byte this reader may read */
    const uint8_t *base;  /* the module's first byte: offsets are p - base */
} gr_reader;

/* A reader over [base + start, base + end). */
static inline gr_reader gr_reader_at(const uint8_t *base, size_t start, size_t end)
{
    gr_reader r;
    r.base = base;
    r.p = base + start;
    r.end = base + end;
    return r;
}

/* The byte offset of the next byte, relative to base. */
static inline uint64_t gr_offset(const gr_reader *r)
{
    return (uint64_t)(r->p - r->base);
}

/* Bytes left in the window. */
static inline size_t gr_remaining(const gr_reader *r)
{
    return (size_t)(r->end - r->p);
}

static inline int gr_at_end(const gr_reader *r)
{
    return r->p >= r->end;
}

/* The "unexpected end" error, at the reader's current offset. */
static inline graft_result gr_eof(const gr_reader *r, gr_errbuf *err, const char *what)
{
    return graft__error(err, GRAFT_E_UNEXPECTED_END, gr_offset(r), GRAFT_NO_INDEX,
                        "reading %s at offset 0x%llx", what, (unsigned long long)gr_offset(r));
}

static inline graft_result gr_read_u8(gr_reader *r, uint8_t *out, gr_errbuf *err, const char *what)
{
    *out = 0;
    if (r->p >= r->end) return gr_eof(r, err, what);
    *out = *r->p++;
    return GRAFT_OK;
}

/* Borrow n raw bytes in place (*out points into the module bytes). */
static inline graft_result gr_read_bytes(gr_reader *r, size_t n, const uint8_t **out,
                                         gr_errbuf *err, const char *what)
{
    *out = NULL;
    if (n > gr_remaining(r)) return gr_eof(r, err, what);
    *out = r->p;
    r->p += n;
    return GRAFT_OK;
}

/* Little-endian raw 32 and 64 bits (f32 and f64 immediates) [spec 5.2.3]. */
static inline graft_result gr_read_fixed32(gr_reader *r, uint32_t *out, gr_errbuf *err,
                                           const char *what)
{
    const uint8_t *b;
    graft_result rc = gr_read_bytes(r, 4, &b, err, what);
    if (rc != GRAFT_OK) return rc;
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return GRAFT_OK;
}

static inline graft_result gr_read_fixed64(gr_reader *r, uint64_t *out, gr_errbuf *err,
                                           const char *what)
{
    const uint8_t *b;
    graft_result rc = gr_read_bytes(r, 8, &b, err, what);
    if (rc != GRAFT_OK) return rc;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    *out = v;
    return GRAFT_OK;
}

/* The general LEB128 reader: an N-bit integer (N = bits, 1..64), signed or
 * not, into 64 bits (sign-extended when is_signed). The wrappers below are
 * what callers use. [spec 5.2.2] */
static inline graft_result gr_read_leb(gr_reader *r, unsigned bits, int is_signed, uint64_t *out,
                                       gr_errbuf *err, const char *what)
{
    const unsigned max_bytes = (bits + 6) / 7;
    const uint64_t start = gr_offset(r);
    uint64_t v = 0;
    *out = 0;
    unsigned shift = 0;
    for (unsigned i = 0;; i++) {
        uint8_t b;
        if (r->p >= r->end) return gr_eof(r, err, what);
        b = *r->p++;
        if (i == max_bytes - 1) {
            /* The last permitted byte: no continuation, and the bits above
             * the value are zero (unsigned) or copies of its sign bit. */
            unsigned used = bits - shift;              /* value bits in this byte, 1..7 */
            if (b & 0x80)
                return graft__error(err, GRAFT_E_INT_TOO_LONG, start, GRAFT_NO_INDEX,
                                    "%s at offset 0x%llx", what, (unsigned long long)start);
            uint8_t extra = (uint8_t)(b & 0x7F) >> used; /* the unused high bits */
            uint8_t allowed = 0;
            if (is_signed && (b >> (used - 1) & 1)) allowed = (uint8_t)(0x7F >> used);
            if (used < 7 && extra != allowed)
                return graft__error(err, GRAFT_E_INT_TOO_LARGE, start, GRAFT_NO_INDEX,
                                    "%s at offset 0x%llx", what, (unsigned long long)start);
            v |= (uint64_t)(b & 0x7F) << shift;
            shift += 7;
            break;
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
    }
    if (is_signed && shift < 64 && (v >> (shift - 1) & 1)) v |= ~(uint64_t)0 << shift;
    if (bits < 64) {
        /* Keep exactly N bits (two's complement for signed values). */
        uint64_t mask = ((uint64_t)1 << bits) - 1;
        if (is_signed) {
            int neg = (v >> (bits - 1)) & 1;
            v &= mask;
            if (neg) v |= ~mask;
        } else {
            v &= mask;
        }
    }
    *out = v;
    return GRAFT_OK;
}

/* u32: indices, counts, sizes, alignments. */
static inline graft_result gr_read_u32(gr_reader *r, uint32_t *out, gr_errbuf *err,
                                       const char *what)
{
    uint64_t v = 0;
    graft_result rc = gr_read_leb(r, 32, 0, &v, err, what);
    *out = (uint32_t)v;
    return rc;
}

/* s32: i32.const immediates. */
static inline graft_result gr_read_s32(gr_reader *r, int32_t *out, gr_errbuf *err,
                                       const char *what)
{
    uint64_t v = 0;
    graft_result rc = gr_read_leb(r, 32, 1, &v, err, what);
    *out = (int32_t)(uint32_t)v;
    return rc;
}

/* s33: block types (a negative value is a value type or empty, a
 * non-negative one a type index) [spec 5.4.1]. */
static inline graft_result gr_read_s33(gr_reader *r, int64_t *out, gr_errbuf *err,
                                       const char *what)
{
    uint64_t v = 0;
    graft_result rc = gr_read_leb(r, 33, 1, &v, err, what);
    *out = (int64_t)v;
    return rc;
}

/* s64: i64.const immediates. */
static inline graft_result gr_read_s64(gr_reader *r, int64_t *out, gr_errbuf *err,
                                       const char *what)
{
    uint64_t v = 0;
    graft_result rc = gr_read_leb(r, 64, 1, &v, err, what);
    *out = (int64_t)v;
    return rc;
}

#endif
