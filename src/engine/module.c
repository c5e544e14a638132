/* module.c - PLACEHOLDER owned by the decoder helper; replaced wholesale. */
#include "module.h"
#include "code.h"

graft_result graft_module_load(graft_env *env, const uint8_t *bytes, size_t len, graft_module **out)
{ (void)bytes; (void)len; *out = NULL; return graft__error(&env->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "not implemented"); }
void graft_module_free(graft_module *m) { (void)m; }
uint32_t graft_module_import_count(const graft_module *m) { return m->nimports; }
void graft_module_import(const graft_module *m, uint32_t i, graft_extern_desc *out) { (void)m; (void)i; (void)out; }
uint32_t graft_module_export_count(const graft_module *m) { return m->nexports; }
void graft_module_export(const graft_module *m, uint32_t i, graft_extern_desc *out) { (void)m; (void)i; (void)out; }
uint32_t graft_module_custom_count(const graft_module *m) { return m->ncustoms; }
void graft_module_custom(const graft_module *m, uint32_t i, graft_custom_section *out) { (void)m; (void)i; (void)out; }
const char *graft_module_func_name(const graft_module *m, uint32_t func_index, size_t *out_len) { (void)m; (void)func_index; (void)out_len; return NULL; }
void graft_module_code_size(const graft_module *m, size_t *out_internal, size_t *out_wasm) { *out_internal = m->internal_code_bytes; *out_wasm = (size_t)m->code_section_size; }
const gr_functype *graft__func_type(const graft_module *m, uint32_t func_index) { return &m->types[m->func_types[func_index]]; }
int graft__functype_eq(const gr_functype *a, const gr_functype *b) { (void)a; (void)b; return 0; }
uint32_t graft__functype_hash(const gr_functype *t) { (void)t; return 0; }
int graft__is_reftype(gr_valtype t) { return t == GRAFT_FUNCREF || t == GRAFT_EXTERNREF; }
int graft__is_valtype(gr_valtype t) { return t == GRAFT_I32 || t == GRAFT_I64 || t == GRAFT_F32 || t == GRAFT_F64 || graft__is_reftype(t); }
