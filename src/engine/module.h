/* module.h - the decoded, validated and compiled module (struct graft_module).
 *
 * graft_module_load runs three phases over the caller's bytes:
 *   1. decode.c   parses every section into the structures below (no typing
 *                 beyond what the binary format itself enforces);
 *   2. valid.c    validates the module-level rules: limits, constant
 *                 expressions, imports, exports, start, segments;
 *   3. compile.c  validates and compiles each function body in one pass into
 *                 internal code (code.h).
 * Everything is allocated from the module's arena and is immutable once
 * loading returns; the caller's bytes are not retained (names, data segment
 * bytes and custom-section names are copied).
 *
 * Index spaces follow the spec [spec 2.5.1]: imported entities come first.
 * So funcs[0 .. nimported_funcs) are imports and the rest are defined in the
 * code section; likewise tables, memories and globals. */
#ifndef GR_MODULE_H
#define GR_MODULE_H

#include "env.h"

typedef uint8_t gr_valtype;   /* graft_valtype encoding (0x7F i32 ... 0x6F externref) */

/* A function type [spec 2.3.3]. */
typedef struct gr_functype {
    uint32_t nparams;
    uint32_t nresults;
    const gr_valtype *params;    /* nparams entries */
    const gr_valtype *results;   /* nresults entries */
    uint32_t param_slots;        /* value-stack cells the params take */
    uint32_t result_slots;       /* value-stack cells the results take */
    uint32_t hash;               /* structural hash, for fast inequality in call_indirect */
} gr_functype;

typedef struct gr_limits {
    uint32_t min;
    uint32_t max;
    uint8_t has_max;
} gr_limits;

typedef struct gr_tabletype {
    gr_valtype elem;     /* GRAFT_FUNCREF or GRAFT_EXTERNREF */
    gr_limits limits;
} gr_tabletype;

typedef struct gr_globaltype {
    gr_valtype type;
    uint8_t mutable_;
} gr_globaltype;

/* A constant expression [spec 3.3.10]. In 2.0 it is exactly one instruction
 * before `end`, held inline. With extended-const (GRAFT_FEATURE_EXTENDED_CONST)
 * a longer sequence, or a lone arithmetic instruction, is GR_CONST_SEQ: `seq`
 * holds `index` single-instruction entries in order, each a constant or one
 * of the arithmetic kinds; valid.c types it with a small stack and
 * instance.c evaluates it. */
typedef enum gr_const_kind {
    GR_CONST_I32, GR_CONST_I64, GR_CONST_F32, GR_CONST_F64,
    GR_CONST_REF_NULL,     /* value.u64 unused; type in `type` */
    GR_CONST_REF_FUNC,     /* index = function index */
    GR_CONST_GLOBAL_GET,   /* index = global index (an immutable import) */
    GR_CONST_BAD,          /* well-formed but not a valid constant expression:
                              `error` says why, `offset` points at the culprit */
    /* extended-const: inside a GR_CONST_SEQ only; `type` is the operand type */
    GR_CONST_I32_ADD, GR_CONST_I32_SUB, GR_CONST_I32_MUL,
    GR_CONST_I64_ADD, GR_CONST_I64_SUB, GR_CONST_I64_MUL,
    GR_CONST_SEQ           /* index = number of entries in seq */
} gr_const_kind;

/* The deepest stack an extended-const sequence may build (valid.c rejects
 * deeper ones as an implementation limit; instance.c evaluates on a native
 * array of this many slots). */
#define GR_CONST_STACK 32

typedef struct gr_const_expr {
    uint8_t kind;          /* gr_const_kind */
    gr_valtype type;       /* the expression's result type (SEQ: the last entry's,
                              which valid.c checks with its stack) */
    uint32_t index;        /* REF_FUNC, GLOBAL_GET; SEQ: entry count */
    uint64_t bits;         /* I32/I64 value, F32/F64 raw bits */
    uint64_t offset;       /* byte offset of the expression, for errors */
    uint16_t error;        /* GR_CONST_BAD: the graft_error_code valid.c reports */
    struct gr_const_expr *seq; /* SEQ: the entries (module arena) */
} gr_const_expr;

typedef struct gr_name {
    const char *ptr;       /* arena copy, NUL-terminated for convenience */
    uint32_t len;          /* true length (names may contain NUL) */
} gr_name;

typedef struct gr_import {
    gr_name module;
    gr_name name;
    uint8_t kind;          /* graft_extern_kind */
    uint32_t index;        /* index in its kind's space (imports come first) */
    union {
        uint32_t type_index;     /* FUNC */
        gr_tabletype table;      /* TABLE */
        gr_limits memory;        /* MEMORY */
        gr_globaltype global;    /* GLOBAL */
    } desc;
} gr_import;

typedef struct gr_export {
    gr_name name;
    uint8_t kind;          /* graft_extern_kind */
    uint32_t index;
} gr_export;

typedef struct gr_global_def {
    gr_globaltype type;
    gr_const_expr init;
} gr_global_def;

typedef enum gr_seg_mode { GR_SEG_ACTIVE, GR_SEG_PASSIVE, GR_SEG_DECLARATIVE } gr_seg_mode;

typedef struct gr_elem_seg {
    uint8_t mode;            /* gr_seg_mode */
    gr_valtype type;         /* element reference type */
    uint32_t table;          /* ACTIVE: table index */
    gr_const_expr offset;    /* ACTIVE: i32 offset expression */
    uint32_t count;
    gr_const_expr *items;    /* count expressions (ref.func, ref.null, global.get) */
} gr_elem_seg;

typedef struct gr_data_seg {
    uint8_t mode;            /* GR_SEG_ACTIVE or GR_SEG_PASSIVE */
    uint32_t memory;         /* ACTIVE: memory index (0) */
    gr_const_expr offset;    /* ACTIVE: i32 offset expression */
    uint32_t size;
    const uint8_t *bytes;    /* arena copy */
} gr_data_seg;

typedef struct gr_custom {
    gr_name name;
    uint64_t offset;         /* of the contents in the module bytes */
    uint32_t size;
} gr_custom;

/* One local declaration run in a code body: count locals of one type. */
typedef struct gr_local_run {
    uint32_t count;
    gr_valtype type;
} gr_local_run;

struct gr_code;              /* code.h */

/* A function defined in the code section. */
typedef struct gr_func_def {
    uint32_t type_index;
    uint64_t body_offset;    /* offset of the body's first byte (after its size) */
    uint32_t body_size;      /* bytes, locals declarations included */
    struct gr_code *code;    /* compiled code, set by compile.c */
} gr_func_def;

typedef struct gr_func_name {
    uint32_t func_index;
    gr_name name;
} gr_func_name;

struct graft_module {
    graft_env *env;
    gr_arena arena;              /* owns everything below */

    uint32_t ntypes;
    gr_functype *types;
    graft_functype *pub_types;   /* ntypes copies with graft_valtype arrays, for
                                    graft_module_import/export (module.c) */

    uint32_t nimports;
    gr_import *imports;          /* in section order */

    /* Function index space: imports, then definitions. */
    uint32_t nfuncs;             /* total */
    uint32_t nimported_funcs;
    uint32_t *func_types;        /* nfuncs type indices, imports included */
    gr_func_def *func_defs;      /* nfuncs - nimported_funcs entries */

    uint32_t ntables, nimported_tables;
    gr_tabletype *tables;        /* ntables, imports first */

    uint32_t nmemories, nimported_memories;
    gr_limits *memories;         /* nmemories (at most 1 in 2.0) */

    uint32_t nglobals, nimported_globals;
    gr_globaltype *global_types; /* nglobals, imports first */
    gr_global_def *global_defs;  /* nglobals - nimported_globals */

    uint32_t nexports;
    gr_export *exports;

    uint8_t has_start;
    uint32_t start;

    uint32_t nelems;
    gr_elem_seg *elems;

    uint8_t has_data_count;
    uint32_t data_count;
    uint32_t ndatas;
    gr_data_seg *datas;

    uint32_t ncustoms;
    gr_custom *customs;

    /* Name section [spec 7.4]: function names, sorted by index. The module
     * name and local names are not kept. */
    uint32_t nfunc_names;
    gr_func_name *func_names;

    /* Functions that may be referenced by ref.func in bodies: those named
     * in elem segments, exports, or global initializers [spec 3.4.10 C.refs].
     * Bitmap of nfuncs bits. */
    uint8_t *declared_refs;

    uint8_t unmetered;           /* compiled without fuel charges (env's choice
                                    at load): runs only with GRAFT_FUEL_OFF */
    uint64_t code_section_size;  /* bytes, for the code-size ratio */
    size_t internal_code_bytes;  /* sum of compiled code sizes */
};

/* ---- Phase entry points, each in its own file ------------------------- */

/* decode.c: parse bytes into m (already zeroed, arena initialized). Fills
 * everything except func_defs[].code. Errors on err, with byte offsets. */
graft_result graft__decode(graft_module *m, const uint8_t *bytes, size_t len, gr_errbuf *err);

/* valid.c: module-level validation [spec 3.4]. */
graft_result graft__validate_module(graft_module *m, gr_errbuf *err);

/* compile.c: validate and compile every function body. bytes/len are the
 * module bytes given to decode (bodies are read in place). */
graft_result graft__compile_module(graft_module *m, const uint8_t *bytes, size_t len,
                                   gr_errbuf *err);

/* compile_scan.c: check only the binary format of the bodies of func_defs
 * [first ..): the first malformed one's error, or GRAFT_OK (err untouched).
 * For reporting malformed before invalid, as the reference decoder does;
 * graft__compile_module already uses it after a body's validation error. */
graft_result graft__compile_scan(const graft_module *m, const uint8_t *bytes, size_t len,
                                 uint32_t first, gr_errbuf *err);

/* Helpers shared by the phases (module.c). */
const gr_functype *graft__func_type(const graft_module *m, uint32_t func_index);
int graft__functype_eq(const gr_functype *a, const gr_functype *b);
uint32_t graft__functype_hash(const gr_functype *t);
int graft__is_reftype(gr_valtype t);
int graft__is_valtype(gr_valtype t);
/* graft_valtype_name for the internal byte type, for messages. */
static inline const char *graft__type_name(gr_valtype t)
{
    return graft_valtype_name((graft_valtype)t);
}

#endif
