/* sections.c - a small reader of a module's raw section layout for
 * `graft inspect`: section ids, offsets and sizes, and the entries of the
 * sections whose contents the engine API does not list (defined memories,
 * tables and globals, function and segment counts, the start function).
 *
 * It only runs on bytes that graft_module_load has accepted, so it is not a
 * validator: it reads just enough of each entry to step over it [spec 5.5],
 * with bounds checks so that a gap in it can only cause an error message,
 * never a bad read. Results are malloc'd arrays in a cli_layout. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* one past the last byte */
    bool failed;         /* a read ran past end or was malformed */
} reader;

static uint8_t read_byte(reader *r)
{
    if (r->p >= r->end) {
        r->failed = true;
        return 0;
    }
    return *r->p++;
}

/* Unsigned LEB128 of up to 64 bits [spec 5.2.2]. */
static uint64_t read_uleb(reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t b = read_byte(r);
        if (r->failed)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->failed = true;
    return 0;
}

static void skip(reader *r, uint64_t n)
{
    if (n > (uint64_t)(r->end - r->p)) {
        r->failed = true;
        r->p = r->end;
        return;
    }
    r->p += n;
}

static graft_limits read_limits(reader *r)
{
    graft_limits l = {0, 0, false};
    uint8_t flags = read_byte(r);
    l.min = (uint32_t)read_uleb(r);
    if (flags & 1) {
        l.has_max = true;
        l.max = (uint32_t)read_uleb(r);
    }
    return l;
}

/* Step over a constant expression up to and including its `end`
 * [spec 3.3.10]: the constant instructions of 2.0 plus the extended-const
 * arithmetic, which have no immediates. */
static void skip_const_expr(reader *r)
{
    while (!r->failed) {
        uint8_t op = read_byte(r);
        switch (op) {
        case 0x0b: return;                                  /* end */
        case 0x41: case 0x42: case 0x23: case 0xd2:         /* i32/i64.const, global.get, ref.func */
            read_uleb(r);
            break;
        case 0x43: skip(r, 4); break;                       /* f32.const */
        case 0x44: skip(r, 8); break;                       /* f64.const */
        case 0xd0: read_byte(r); break;                     /* ref.null t */
        case 0x6a: case 0x6b: case 0x6c:                    /* i32.add sub mul */
        case 0x7c: case 0x7d: case 0x7e: break;             /* i64.add sub mul */
        case 0xfd:                                          /* v128.const */
            if (read_uleb(r) != 12)
                r->failed = true;
            skip(r, 16);
            break;
        default: r->failed = true; break;
        }
    }
}

const char *cli_section_name(uint8_t id)
{
    static const char *const names[] = {"custom", "type", "import", "function", "table",
                                        "memory", "global", "export", "start", "element",
                                        "code", "data", "datacount"};
    return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

/* Read the entries of one known section into l. */
static void read_section(reader *r, uint8_t id, cli_layout *l)
{
    switch (id) {
    case 1: l->ntypes = (uint32_t)read_uleb(r); break;
    case 3: l->nfuncs = (uint32_t)read_uleb(r); break;
    case 4: {
        uint64_t n = read_uleb(r);
        l->tables = n && n <= (uint64_t)(r->end - r->p) ? calloc(n, sizeof *l->tables) : NULL;
        for (uint64_t i = 0; l->tables && i < n && !r->failed; i++) {
            l->tables[i].elem = (graft_valtype)read_byte(r);
            l->tables[i].limits = read_limits(r);
            l->ntables = (uint32_t)i + 1;
        }
        break;
    }
    case 5: {
        uint64_t n = read_uleb(r);
        l->memories = n && n <= (uint64_t)(r->end - r->p) ? calloc(n, sizeof *l->memories) : NULL;
        for (uint64_t i = 0; l->memories && i < n && !r->failed; i++) {
            l->memories[i] = read_limits(r);
            l->nmemories = (uint32_t)i + 1;
        }
        break;
    }
    case 6: {
        uint64_t n = read_uleb(r);
        l->globals = n && n <= (uint64_t)(r->end - r->p) ? calloc(n, sizeof *l->globals) : NULL;
        for (uint64_t i = 0; l->globals && i < n && !r->failed; i++) {
            l->globals[i].type = (graft_valtype)read_byte(r);
            l->globals[i].mutable_ = read_byte(r) == 1;
            skip_const_expr(r);
            l->nglobals = (uint32_t)i + 1;
        }
        break;
    }
    case 8:
        l->has_start = true;
        l->start = (uint32_t)read_uleb(r);
        break;
    case 9: l->nelems = (uint32_t)read_uleb(r); break;
    case 11: l->ndatas = (uint32_t)read_uleb(r); break;
    default: break;
    }
}

bool cli_layout_read(const uint8_t *bytes, size_t len, cli_layout *out, char *err,
                     size_t err_len)
{
    memset(out, 0, sizeof *out);
    reader r = {bytes, bytes + len, false};
    skip(&r, 8); /* magic and version */
    uint32_t cap = 0;
    while (!r.failed && r.p < r.end) {
        uint8_t id = read_byte(&r);
        uint64_t size = read_uleb(&r);
        if (r.failed || size > (uint64_t)(r.end - r.p))
            break;
        if (out->nsections == cap) {
            cap = cap ? cap * 2 : 16;
            cli_section *grown = realloc(out->sections, cap * sizeof *grown);
            if (!grown) {
                snprintf(err, err_len, "out of memory");
                cli_layout_free(out);
                return false;
            }
            out->sections = grown;
        }
        cli_section *s = &out->sections[out->nsections++];
        s->id = id;
        s->offset = (uint64_t)(r.p - bytes);
        s->size = (uint32_t)size;
        reader body = {r.p, r.p + size, false};
        read_section(&body, id, out);
        if (body.failed) {
            snprintf(err, err_len, "cannot read the %s section at offset 0x%llx",
                     cli_section_name(id), (unsigned long long)s->offset);
            cli_layout_free(out);
            return false;
        }
        r.p += size;
    }
    if (r.failed) {
        snprintf(err, err_len, "cannot read the section headers");
        cli_layout_free(out);
        return false;
    }
    return true;
}

void cli_layout_free(cli_layout *l)
{
    free(l->sections);
    free(l->memories);
    free(l->tables);
    free(l->globals);
    memset(l, 0, sizeof *l);
}
