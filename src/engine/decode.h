/* decode.h - the decoder's insides, shared by decode.c (the module and its
 * sections) and decode_segments.c (constant expressions, element and data
 * segments). Nothing outside the decoder includes this.
 *
 * gr_dec is the decoding state of one graft__decode call; it lives on that
 * call's stack and owns nothing: what it decodes goes into d->m's arena. */
#ifndef GR_DECODE_H
#define GR_DECODE_H

#include "module.h"
#include "reader.h"

typedef struct gr_dec {
    graft_module *m;        /* the module being filled */
    gr_errbuf *err;         /* where errors go */
    const uint8_t *section_end; /* end of the current section; its reader may
                                   read past it to the module's end, as the
                                   reference decoder does, and the section
                                   size is checked afterwards */
    uint32_t nfunc_decls;   /* entries of the function section */
    uint8_t has_code;       /* a code section was seen */
    uint8_t seen_names;     /* the (first) name section was handled */
} gr_dec;

/* An arena array of count entries of size bytes, zeroed; at least one entry
 * so that empty arrays are non-NULL. NULL with an error on d->err. */
void *graft__dec_array(gr_dec *d, uint64_t count, size_t size, uint64_t offset);

/* A u32 vector count, checked against the bytes left in r's window (every
 * entry takes at least one byte), so nothing huge is ever allocated: "length
 * out of bounds". Like the reference decoder, the bytes left are counted
 * from the count's own first byte. */
graft_result graft__dec_count(gr_dec *d, gr_reader *r, uint32_t *out, const char *what);

/* A u32 byte length (names, sections, bodies), which must fit in the bytes
 * left after it: "length out of bounds". */
graft_result graft__dec_length(gr_dec *d, gr_reader *r, uint32_t *out, const char *what);

/* A name [spec 5.2.4]: length, UTF-8 bytes; copied into the arena. */
graft_result graft__dec_name(gr_dec *d, gr_reader *r, gr_name *out, const char *what);

graft_result graft__dec_valtype(gr_dec *d, gr_reader *r, gr_valtype *out);
graft_result graft__dec_reftype(gr_dec *d, gr_reader *r, gr_valtype *out);

/* A constant expression up to its `end` [spec 5.4.9]: any well-formed
 * instruction sequence decodes; one that is not a single constant
 * instruction is recorded as GR_CONST_BAD with the validation error. */
graft_result graft__dec_const_expr(gr_dec *d, gr_reader *r, gr_const_expr *out);

/* The element and data sections [spec 5.5.12, 5.5.14]. */
graft_result graft__dec_elem_section(gr_dec *d, gr_reader *r);
graft_result graft__dec_data_section(gr_dec *d, gr_reader *r);

#endif
