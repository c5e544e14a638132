/* decode.c - the binary format [spec 5]: module bytes into struct
 * graft_module (module.h).
 *
 * The decoder walks the module once with a bounds-checked gr_reader
 * (reader.h) whose window is the whole module, so no read can leave the
 * caller's bytes. Like the reference decoder, a section's contents are read
 * from the rest of the module and must then end exactly at the section's
 * declared size ("section size mismatch" otherwise), which gives the spec's
 * error messages for truncated and overlong sections. Custom sections are
 * the exception: their contents are not decoded, so their name and the
 * name section are read strictly inside the section. Everything decoded
 * lands in the module's arena:
 * names, custom-section names and data-segment bytes are copied, so the
 * caller's bytes are not retained. Function bodies are only located here
 * (offset and size); compile.c parses their locals and instructions.
 *
 * Hostile input: every count read from the module is checked against the
 * bytes left in the current window before anything is allocated for it
 * (each entry takes at least one byte), so a tiny module cannot ask for a
 * huge allocation.
 *
 * The binary format alone decides what is malformed. Constant expressions
 * are decoded as general instruction sequences (decode_segments.c); a
 * well-formed expression that is not a valid constant is recorded as
 * GR_CONST_BAD for valid.c to report, since that is a validation error. */
#include "decode.h"

#include <string.h>

/* Section ids [spec 5.5.2] and their rank in the required order: the data
 * count section (12) sits between the element (9) and code (10) sections. */
enum {
    SEC_CUSTOM = 0, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL,
    SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE, SEC_DATA, SEC_DATACOUNT, SEC_COUNT_
};

static unsigned section_rank(uint8_t id)
{
    static const uint8_t rank[SEC_COUNT_] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return rank[id];
}

/* ---- Shared helpers (decode.h) ----------------------------------------- */

void *graft__dec_array(gr_dec *d, uint64_t count, size_t size, uint64_t offset)
{
    if (count == 0) count = 1; /* a valid non-NULL pointer even for empty arrays */
    if (count > SIZE_MAX / size) {
        graft__error(d->err, GRAFT_E_MODULE_TOO_LARGE, offset, GRAFT_NO_INDEX,
                     "%llu entries at offset 0x%llx", (unsigned long long)count,
                     (unsigned long long)offset);
        return NULL;
    }
    void *p = graft__arena_alloc(&d->m->arena, (size_t)count * size);
    if (!p)
        graft__oom(d->m->env, d->err, offset, GRAFT_NO_INDEX,
                   "decoding the module at offset 0x%llx", (unsigned long long)offset);
    return p;
}

graft_result graft__dec_count(gr_dec *d, gr_reader *r, uint32_t *out, const char *what)
{
    uint64_t at = gr_offset(r);
    size_t before = gr_remaining(r);
    graft_result rc = gr_read_u32(r, out, d->err, what);
    if (rc != GRAFT_OK) return rc;
    if (*out > before)
        return graft__error(d->err, GRAFT_E_LENGTH_BOUNDS, at, GRAFT_NO_INDEX,
                            "%s %u at offset 0x%llx exceeds the %zu bytes left", what, *out,
                            (unsigned long long)at, before);
    return GRAFT_OK;
}

graft_result graft__dec_length(gr_dec *d, gr_reader *r, uint32_t *out, const char *what)
{
    uint64_t at = gr_offset(r);
    graft_result rc = gr_read_u32(r, out, d->err, what);
    if (rc != GRAFT_OK) return rc;
    if (*out > gr_remaining(r))
        return graft__error(d->err, GRAFT_E_LENGTH_BOUNDS, at, GRAFT_NO_INDEX,
                            "%s %u at offset 0x%llx exceeds the %zu bytes left", what, *out,
                            (unsigned long long)at, gr_remaining(r));
    return GRAFT_OK;
}

/* UTF-8 as the spec defines it [spec 5.2.4]: shortest forms only, no
 * surrogates, nothing above U+10FFFF. Returns the length of the valid
 * prefix's end, i.e. n when all n bytes are valid. */
static size_t utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (b < 0x80) { i++; continue; }
        if (b >= 0xC2 && b <= 0xDF) len = 2;
        else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return i;
        }
        if (n - i < len) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += len;
    }
    return n;
}

graft_result graft__dec_name(gr_dec *d, gr_reader *r, gr_name *out, const char *what)
{
    uint32_t n;
    const uint8_t *bytes;
    graft_result rc = graft__dec_length(d, r, &n, what);
    if (rc != GRAFT_OK) return rc;
    uint64_t at = gr_offset(r);
    rc = gr_read_bytes(r, n, &bytes, d->err, what);
    if (rc != GRAFT_OK) return rc;
    size_t ok = utf8_valid_prefix(bytes, n);
    if (ok != n)
        return graft__error(d->err, GRAFT_E_UTF8, at + ok, GRAFT_NO_INDEX,
                            "in %s at offset 0x%llx", what, (unsigned long long)(at + ok));
    char *copy = graft__dec_array(d, (uint64_t)n + 1, 1, at);
    if (!copy) return d->err->pub.result;
    if (n) memcpy(copy, bytes, n);
    copy[n] = '\0';
    out->ptr = copy;
    out->len = n;
    return GRAFT_OK;
}

/* Value types [spec 5.3.1]. v128 is not supported (SIMD is excepted). */
graft_result graft__dec_valtype(gr_dec *d, gr_reader *r, gr_valtype *out)
{
    uint64_t at = gr_offset(r);
    uint8_t b;
    graft_result rc = gr_read_u8(r, &b, d->err, "a value type");
    if (rc != GRAFT_OK) return rc;
    if (!graft__is_valtype(b))
        return graft__error(d->err, GRAFT_E_BAD_VALTYPE, at, GRAFT_NO_INDEX,
                            "0x%x at offset 0x%llx", b, (unsigned long long)at);
    *out = b;
    return GRAFT_OK;
}

/* Reference types [spec 5.3.3]. */
graft_result graft__dec_reftype(gr_dec *d, gr_reader *r, gr_valtype *out)
{
    uint64_t at = gr_offset(r);
    uint8_t b;
    graft_result rc = gr_read_u8(r, &b, d->err, "a reference type");
    if (rc != GRAFT_OK) return rc;
    if (!graft__is_reftype(b))
        return graft__error(d->err, GRAFT_E_BAD_REFTYPE, at, GRAFT_NO_INDEX,
                            "0x%x at offset 0x%llx", b, (unsigned long long)at);
    *out = b;
    return GRAFT_OK;
}

/* Limits [spec 5.3.7]: flag 0 (min) or 1 (min, max). The reference
 * decoder reads the flag as a 1-bit LEB128, so 0x02 is "integer too large"
 * and 0x81 "integer representation too long"; so do we. */
static graft_result dec_limits(gr_dec *d, gr_reader *r, gr_limits *out)
{
    uint64_t flag;
    graft_result rc = gr_read_leb(r, 1, 0, &flag, d->err, "limits flags (0 or 1)");
    if (rc != GRAFT_OK) return rc;
    rc = gr_read_u32(r, &out->min, d->err, "a limits minimum");
    if (rc != GRAFT_OK) return rc;
    out->has_max = (uint8_t)flag;
    out->max = 0;
    if (flag) rc = gr_read_u32(r, &out->max, d->err, "a limits maximum");
    return rc;
}

/* Table types [spec 5.3.9]. */
static graft_result dec_tabletype(gr_dec *d, gr_reader *r, gr_tabletype *out)
{
    graft_result rc = graft__dec_reftype(d, r, &out->elem);
    if (rc != GRAFT_OK) return rc;
    return dec_limits(d, r, &out->limits);
}

/* Global types [spec 5.3.10]. */
static graft_result dec_globaltype(gr_dec *d, gr_reader *r, gr_globaltype *out)
{
    graft_result rc = graft__dec_valtype(d, r, &out->type);
    if (rc != GRAFT_OK) return rc;
    uint64_t at = gr_offset(r);
    uint8_t mut;
    rc = gr_read_u8(r, &mut, d->err, "a global's mutability");
    if (rc != GRAFT_OK) return rc;
    if (mut > 1)
        return graft__error(d->err, GRAFT_E_BAD_MUTABILITY, at, GRAFT_NO_INDEX,
                            "0x%x at offset 0x%llx (0 or 1 expected)", mut,
                            (unsigned long long)at);
    out->mutable_ = mut;
    return GRAFT_OK;
}

/* ---- Type section [spec 5.5.4] ---------------------------------------- */

static graft_result dec_valtypes(gr_dec *d, gr_reader *r, uint32_t *out_n,
                                 const gr_valtype **out, const char *what)
{
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, what);
    if (rc != GRAFT_OK) return rc;
    gr_valtype *v = graft__dec_array(d, n, sizeof *v, gr_offset(r));
    if (!v) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = graft__dec_valtype(d, r, &v[i]);
        if (rc != GRAFT_OK) return rc;
    }
    *out_n = n;
    *out = v;
    return GRAFT_OK;
}

static graft_result sec_type(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, "the type count");
    if (rc != GRAFT_OK) return rc;
    m->types = graft__dec_array(d, n, sizeof *m->types, gr_offset(r));
    if (!m->types) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        gr_functype *t = &m->types[i];
        uint64_t at = gr_offset(r);
        uint8_t form;
        rc = gr_read_u8(r, &form, d->err, "a function type");
        if (rc != GRAFT_OK) return rc;
        if (form != 0x60)
            return graft__error(d->err, GRAFT_E_BAD_FUNCTYPE, at, GRAFT_NO_INDEX,
                                "type %u: 0x60 expected at offset 0x%llx, found 0x%x", i,
                                (unsigned long long)at, form);
        rc = dec_valtypes(d, r, &t->nparams, &t->params, "a parameter count");
        if (rc != GRAFT_OK) return rc;
        rc = dec_valtypes(d, r, &t->nresults, &t->results, "a result count");
        if (rc != GRAFT_OK) return rc;
        t->param_slots = t->nparams;
        t->result_slots = t->nresults;
        t->hash = graft__functype_hash(t);
        m->ntypes = i + 1;
    }
    return GRAFT_OK;
}

static void *index_space(gr_dec *d, uint32_t kind, uint32_t total, size_t size, uint64_t at);

/* ---- Import section [spec 5.5.5] -------------------------------------- */

static graft_result dec_import_desc(gr_dec *d, gr_reader *r, gr_import *imp)
{
    graft_module *m = d->m;
    uint64_t at = gr_offset(r);
    graft_result rc = gr_read_u8(r, &imp->kind, d->err, "an import kind");
    if (rc != GRAFT_OK) return rc;
    switch (imp->kind) {
    case GRAFT_EXTERN_FUNC:
        imp->index = m->nimported_funcs++;
        return gr_read_u32(r, &imp->desc.type_index, d->err, "an import's type index");
    case GRAFT_EXTERN_TABLE:
        imp->index = m->nimported_tables++;
        return dec_tabletype(d, r, &imp->desc.table);
    case GRAFT_EXTERN_MEMORY:
        imp->index = m->nimported_memories++;
        return dec_limits(d, r, &imp->desc.memory);
    case GRAFT_EXTERN_GLOBAL:
        imp->index = m->nimported_globals++;
        return dec_globaltype(d, r, &imp->desc.global);
    default:
        return graft__error(d->err, GRAFT_E_BAD_IMPORT_KIND, at, GRAFT_NO_INDEX,
                            "0x%x at offset 0x%llx", imp->kind, (unsigned long long)at);
    }
}

static graft_result sec_import(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, "the import count");
    if (rc != GRAFT_OK) return rc;
    m->imports = graft__dec_array(d, n, sizeof *m->imports, gr_offset(r));
    if (!m->imports) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        gr_import *imp = &m->imports[i];
        rc = graft__dec_name(d, r, &imp->module, "an import's module name");
        if (rc != GRAFT_OK) return rc;
        rc = graft__dec_name(d, r, &imp->name, "an import's name");
        if (rc != GRAFT_OK) return rc;
        rc = dec_import_desc(d, r, imp);
        if (rc != GRAFT_OK) return rc;
        m->nimports = i + 1;
    }
    /* The import-only index spaces, until the defining sections widen them. */
    m->nfuncs = m->nimported_funcs;
    m->ntables = m->nimported_tables;
    m->nmemories = m->nimported_memories;
    m->nglobals = m->nimported_globals;
    /* Constant expressions read the imported globals' types. */
    m->global_types = index_space(d, GRAFT_EXTERN_GLOBAL, m->nglobals, sizeof *m->global_types,
                                  gr_offset(r));
    return m->global_types ? GRAFT_OK : d->err->pub.result;
}

/* Allocate an index space of `total` entries and copy the imported ones
 * (kind `kind`) into its first slots. */
static void *index_space(gr_dec *d, uint32_t kind, uint32_t total, size_t size, uint64_t at)
{
    graft_module *m = d->m;
    uint8_t *arr = graft__dec_array(d, total, size, at);
    if (!arr) return NULL;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const gr_import *imp = &m->imports[i];
        if (imp->kind != kind) continue;
        void *slot = arr + (size_t)imp->index * size;
        switch (kind) {
        case GRAFT_EXTERN_FUNC: *(uint32_t *)slot = imp->desc.type_index; break;
        case GRAFT_EXTERN_TABLE: *(gr_tabletype *)slot = imp->desc.table; break;
        case GRAFT_EXTERN_MEMORY: *(gr_limits *)slot = imp->desc.memory; break;
        default: *(gr_globaltype *)slot = imp->desc.global; break;
        }
    }
    return arr;
}

/* An index space's total: imports plus definitions, at most 2^32-1. */
static graft_result space_total(gr_dec *d, uint32_t imported, uint32_t defined, uint32_t *out,
                                uint64_t at, const char *what)
{
    uint64_t total = (uint64_t)imported + defined;
    if (total > UINT32_MAX)
        return graft__error(d->err, GRAFT_E_MODULE_TOO_LARGE, at, GRAFT_NO_INDEX,
                            "too many %s at offset 0x%llx", what, (unsigned long long)at);
    *out = (uint32_t)total;
    return GRAFT_OK;
}

/* ---- Function, table, memory, global sections [spec 5.5.6-5.5.9] ------ */

static graft_result sec_function(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    uint64_t at = gr_offset(r);
    graft_result rc = graft__dec_count(d, r, &n, "the function count");
    if (rc != GRAFT_OK) return rc;
    rc = space_total(d, m->nimported_funcs, n, &m->nfuncs, at, "functions");
    if (rc != GRAFT_OK) return rc;
    m->func_types = index_space(d, GRAFT_EXTERN_FUNC, m->nfuncs, sizeof(uint32_t), at);
    m->func_defs = graft__dec_array(d, n, sizeof *m->func_defs, at);
    if (!m->func_types || !m->func_defs) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = gr_read_u32(r, &m->func_defs[i].type_index, d->err, "a function's type index");
        if (rc != GRAFT_OK) return rc;
        m->func_types[m->nimported_funcs + i] = m->func_defs[i].type_index;
    }
    d->nfunc_decls = n;
    return GRAFT_OK;
}

static graft_result sec_table(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    uint64_t at = gr_offset(r);
    graft_result rc = graft__dec_count(d, r, &n, "the table count");
    if (rc != GRAFT_OK) return rc;
    rc = space_total(d, m->nimported_tables, n, &m->ntables, at, "tables");
    if (rc != GRAFT_OK) return rc;
    m->tables = index_space(d, GRAFT_EXTERN_TABLE, m->ntables, sizeof *m->tables, at);
    if (!m->tables) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = dec_tabletype(d, r, &m->tables[m->nimported_tables + i]);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

static graft_result sec_memory(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    uint64_t at = gr_offset(r);
    graft_result rc = graft__dec_count(d, r, &n, "the memory count");
    if (rc != GRAFT_OK) return rc;
    rc = space_total(d, m->nimported_memories, n, &m->nmemories, at, "memories");
    if (rc != GRAFT_OK) return rc;
    m->memories = index_space(d, GRAFT_EXTERN_MEMORY, m->nmemories, sizeof *m->memories, at);
    if (!m->memories) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        rc = dec_limits(d, r, &m->memories[m->nimported_memories + i]);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

static graft_result sec_global(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    uint64_t at = gr_offset(r);
    graft_result rc = graft__dec_count(d, r, &n, "the global count");
    if (rc != GRAFT_OK) return rc;
    rc = space_total(d, m->nimported_globals, n, &m->nglobals, at, "globals");
    if (rc != GRAFT_OK) return rc;
    m->global_types =
        index_space(d, GRAFT_EXTERN_GLOBAL, m->nglobals, sizeof *m->global_types, at);
    m->global_defs = graft__dec_array(d, n, sizeof *m->global_defs, at);
    if (!m->global_types || !m->global_defs) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        gr_global_def *g = &m->global_defs[i];
        rc = dec_globaltype(d, r, &g->type);
        if (rc != GRAFT_OK) return rc;
        m->global_types[m->nimported_globals + i] = g->type;
        rc = graft__dec_const_expr(d, r, &g->init);
        if (rc != GRAFT_OK) return rc;
    }
    return GRAFT_OK;
}

/* ---- Export, start [spec 5.5.10, 5.5.11] ------------------------------- */

static graft_result sec_export(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    uint32_t n;
    graft_result rc = graft__dec_count(d, r, &n, "the export count");
    if (rc != GRAFT_OK) return rc;
    m->exports = graft__dec_array(d, n, sizeof *m->exports, gr_offset(r));
    if (!m->exports) return d->err->pub.result;
    for (uint32_t i = 0; i < n; i++) {
        gr_export *e = &m->exports[i];
        rc = graft__dec_name(d, r, &e->name, "an export's name");
        if (rc != GRAFT_OK) return rc;
        uint64_t at = gr_offset(r);
        rc = gr_read_u8(r, &e->kind, d->err, "an export kind");
        if (rc != GRAFT_OK) return rc;
        if (e->kind > GRAFT_EXTERN_GLOBAL)
            return graft__error(d->err, GRAFT_E_BAD_EXPORT_KIND, at, GRAFT_NO_INDEX,
                                "0x%x at offset 0x%llx", e->kind, (unsigned long long)at);
        rc = gr_read_u32(r, &e->index, d->err, "an export's index");
        if (rc != GRAFT_OK) return rc;
        m->nexports = i + 1;
    }
    return GRAFT_OK;
}

static graft_result sec_start(gr_dec *d, gr_reader *r)
{
    d->m->has_start = 1;
    return gr_read_u32(r, &d->m->start, d->err, "the start function index");
}

/* ---- Code and data count [spec 5.5.13, 5.5.15] ------------------------- */

static graft_result sec_code(gr_dec *d, gr_reader *r, uint32_t section_size)
{
    graft_module *m = d->m;
    uint32_t n;
    uint64_t at = gr_offset(r);
    graft_result rc = graft__dec_count(d, r, &n, "the code entry count");
    if (rc != GRAFT_OK) return rc;
    if (n != d->nfunc_decls)
        return graft__error(d->err, GRAFT_E_FUNC_CODE_MISMATCH, at, GRAFT_NO_INDEX,
                            "%u functions declared, %u bodies at offset 0x%llx", d->nfunc_decls,
                            n, (unsigned long long)at);
    for (uint32_t i = 0; i < n; i++) {
        gr_func_def *f = &m->func_defs[i];
        uint32_t size;
        rc = graft__dec_length(d, r, &size, "a function body's size");
        if (rc != GRAFT_OK) return rc;
        f->body_offset = gr_offset(r);
        f->body_size = size;
        r->p += size; /* checked by graft__dec_length */
    }
    d->has_code = 1;
    m->code_section_size = section_size;
    return GRAFT_OK;
}

static graft_result sec_datacount(gr_dec *d, gr_reader *r)
{
    d->m->has_data_count = 1;
    return gr_read_u32(r, &d->m->data_count, d->err, "the data count");
}

/* ---- Custom sections and the name section [spec 5.5.3, 7.4] ------------ */

/* Function names: subsection 1 of the name section, a name map sorted by
 * index [spec 7.4.2]. Returns 0 at the first flaw, leaving m untouched;
 * errors go to nd's scratch buffer. */
static int function_names(gr_dec *nd, gr_reader r)
{
    while (!gr_at_end(&r)) {
        uint8_t id;
        uint32_t size;
        if (gr_read_u8(&r, &id, nd->err, "a name subsection id") != GRAFT_OK) return 0;
        if (graft__dec_length(nd, &r, &size, "a name subsection size") != GRAFT_OK) return 0;
        gr_reader sub = r;
        sub.end = r.p + size;
        r.p += size;
        if (id != 1) continue;
        uint32_t n;
        if (graft__dec_count(nd, &sub, &n, "the function name count") != GRAFT_OK) return 0;
        gr_func_name *names = graft__dec_array(nd, n, sizeof *names, gr_offset(&sub));
        if (!names) return 0;
        for (uint32_t i = 0; i < n; i++) {
            if (gr_read_u32(&sub, &names[i].func_index, nd->err, "a function index") != GRAFT_OK)
                return 0;
            if (i > 0 && names[i].func_index <= names[i - 1].func_index) return 0;
            if (graft__dec_name(nd, &sub, &names[i].name, "a function name") != GRAFT_OK)
                return 0;
        }
        if (!gr_at_end(&sub)) return 0;
        nd->m->func_names = names;
        nd->m->nfunc_names = n;
    }
    return 1;
}

/* The name section [spec 7.4]: a malformed one is ignored, never an error
 * (custom sections must not make a module fail); running out of memory
 * while reading it still is one. */
static graft_result name_section(gr_dec *d, gr_reader r)
{
    gr_errbuf scratch;
    gr_dec nd = *d;
    nd.err = &scratch;
    if (function_names(&nd, r)) return GRAFT_OK;
    d->m->func_names = NULL;
    d->m->nfunc_names = 0;
    if (scratch.pub.result == GRAFT_ERR_RESOURCE)
        return graft__error(d->err, scratch.pub.code, scratch.pub.offset, GRAFT_NO_INDEX,
                            "reading the name section");
    return GRAFT_OK;
}

static graft_result sec_custom(gr_dec *d, gr_reader *r)
{
    graft_module *m = d->m;
    gr_name name;
    /* The name must lie inside the section: custom contents are not
     * decoded, so reading on into the next section would go unnoticed. */
    gr_reader own = *r;
    own.end = d->section_end;
    graft_result rc = graft__dec_name(d, &own, &name, "a custom section's name");
    if (rc != GRAFT_OK) return rc;
    r->p = own.p;
    /* Grow the list by one; custom sections are few, so a copy is fine. */
    gr_custom *list = graft__dec_array(d, (uint64_t)m->ncustoms + 1, sizeof *list, gr_offset(r));
    if (!list) return d->err->pub.result;
    if (m->ncustoms) memcpy(list, m->customs, m->ncustoms * sizeof *list);
    list[m->ncustoms].name = name;
    list[m->ncustoms].offset = gr_offset(r);
    list[m->ncustoms].size = (uint32_t)(d->section_end - r->p);
    m->customs = list;
    m->ncustoms++;
    if (name.len == 4 && memcmp(name.ptr, "name", 4) == 0 && !d->seen_names) {
        d->seen_names = 1;
        rc = name_section(d, own);
        if (rc != GRAFT_OK) return rc;
    }
    r->p = d->section_end;
    return GRAFT_OK;
}

/* ---- The module [spec 5.5.16] ------------------------------------------ */

static graft_result section_body(gr_dec *d, uint8_t id, gr_reader *r, uint32_t size)
{
    switch (id) {
    case SEC_CUSTOM: return sec_custom(d, r);
    case SEC_TYPE: return sec_type(d, r);
    case SEC_IMPORT: return sec_import(d, r);
    case SEC_FUNCTION: return sec_function(d, r);
    case SEC_TABLE: return sec_table(d, r);
    case SEC_MEMORY: return sec_memory(d, r);
    case SEC_GLOBAL: return sec_global(d, r);
    case SEC_EXPORT: return sec_export(d, r);
    case SEC_START: return sec_start(d, r);
    case SEC_ELEMENT: return graft__dec_elem_section(d, r);
    case SEC_CODE: return sec_code(d, r, size);
    case SEC_DATA: return graft__dec_data_section(d, r);
    default: return sec_datacount(d, r);
    }
}

/* One section: id, size, contents. As in the reference decoder, contents
 * are read from the rest of the module (every read stays bounds-checked),
 * and the section must then end exactly at its declared size: "section
 * size mismatch" when it stops short or runs over, "unexpected end of
 * section or function" when the module ends inside it. */
static graft_result section(gr_dec *d, gr_reader *top, unsigned *last_rank)
{
    uint64_t at = gr_offset(top);
    uint8_t id;
    uint32_t size;
    graft_result rc = gr_read_u8(top, &id, d->err, "a section id");
    if (rc != GRAFT_OK) return rc;
    if (id >= SEC_COUNT_)
        return graft__error(d->err, GRAFT_E_SECTION_ID, at, GRAFT_NO_INDEX,
                            "%u at offset 0x%llx", id, (unsigned long long)at);
    rc = graft__dec_length(d, top, &size, "a section size");
    if (rc != GRAFT_OK) return rc;
    if (id != SEC_CUSTOM) {
        unsigned rank = section_rank(id);
        if (rank <= *last_rank)
            return graft__error(d->err, GRAFT_E_SECTION_ORDER, at, GRAFT_NO_INDEX,
                                "section %u at offset 0x%llx is out of order or repeated", id,
                                (unsigned long long)at);
        *last_rank = rank;
    }
    gr_reader r = *top;
    d->section_end = top->p + size;
    top->p = d->section_end;
    rc = section_body(d, id, &r, size);
    if (rc == GRAFT_OK && r.p != d->section_end)
        return graft__error(d->err, GRAFT_E_SECTION_SIZE, gr_offset(&r), GRAFT_NO_INDEX,
                            "section %u at offset 0x%llx declares %u bytes, its contents end "
                            "at offset 0x%llx", id, (unsigned long long)at, size,
                            (unsigned long long)gr_offset(&r));
    if (rc != GRAFT_OK && d->err->pub.code == GRAFT_E_UNEXPECTED_END) {
        /* Keep the details, but say that the section (not the file) ended. */
        const char *details = d->err->msg;
        while (*details && *details != ':') details++;
        if (*details) details += 2;
        char copy[GR_MSG_CAP];
        graft__fmt(copy, sizeof copy, "%s", details);
        return graft__error(d->err, GRAFT_E_SECTION_END, d->err->pub.offset, GRAFT_NO_INDEX,
                            "%s in section %u", copy, id);
    }
    return rc;
}

/* Checks that need the whole module: the function and code sections agree,
 * the data count matches, and every index space exists. */
static graft_result finish(gr_dec *d, uint64_t end)
{
    graft_module *m = d->m;
    if (!d->has_code && d->nfunc_decls != 0)
        return graft__error(d->err, GRAFT_E_FUNC_CODE_MISMATCH, end, GRAFT_NO_INDEX,
                            "%u functions declared, no code section", d->nfunc_decls);
    if (m->has_data_count && m->data_count != m->ndatas)
        return graft__error(d->err, GRAFT_E_DATA_COUNT_MISMATCH, end, GRAFT_NO_INDEX,
                            "data count %u, %u data segments", m->data_count, m->ndatas);
    if (!m->func_types)
        m->func_types = index_space(d, GRAFT_EXTERN_FUNC, m->nfuncs, sizeof(uint32_t), end);
    if (!m->tables)
        m->tables = index_space(d, GRAFT_EXTERN_TABLE, m->ntables, sizeof *m->tables, end);
    if (!m->memories)
        m->memories = index_space(d, GRAFT_EXTERN_MEMORY, m->nmemories, sizeof *m->memories, end);
    if (!m->global_types)
        m->global_types =
            index_space(d, GRAFT_EXTERN_GLOBAL, m->nglobals, sizeof *m->global_types, end);
    if (!m->func_types || !m->tables || !m->memories || !m->global_types)
        return d->err->pub.result;
    return GRAFT_OK;
}

/* [spec 5.5.16] magic, version, then sections in order. */
graft_result graft__decode(graft_module *m, const uint8_t *bytes, size_t len, gr_errbuf *err)
{
    static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6D};
    static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
    gr_dec d;
    memset(&d, 0, sizeof d);
    d.m = m;
    d.err = err;
    gr_reader top = gr_reader_at(bytes, 0, len);
    const uint8_t *p;

    if (len < 4) return gr_eof(&top, err, "the magic number");
    if (memcmp(bytes, magic, 4) != 0) {
        return graft__error(err, GRAFT_E_MAGIC, 0, GRAFT_NO_INDEX,
                            "\\0asm expected at offset 0");
    }
    top.p += 4;
    if (gr_read_bytes(&top, 4, &p, err, "the binary version") != GRAFT_OK) return err->pub.result;
    if (memcmp(p, version, 4) != 0)
        return graft__error(err, GRAFT_E_VERSION, 4, GRAFT_NO_INDEX,
                            "version 1 expected at offset 0x4");

    unsigned last_rank = 0;
    while (!gr_at_end(&top)) {
        graft_result rc = section(&d, &top, &last_rank);
        if (rc != GRAFT_OK) return rc;
    }
    return finish(&d, len);
}
