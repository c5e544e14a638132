/* store.c - PLACEHOLDER owned by the runtime helper; replaced wholesale
 * (the runtime helper may split these into instance.c, memory.c, ...). */
#include "runtime.h"
#define NI(ret) return ret
graft_result graft_store_new(graft_env *env, const graft_store_limits *limits, graft_store **out) { (void)env; (void)limits; *out = NULL; NI(GRAFT_ERR_API); }
void graft_store_free(graft_store *s) { (void)s; }
const graft_error *graft_store_error(const graft_store *s) { return &s->err.pub; }
graft_env *graft_store_env(const graft_store *s) { return s->env; }
void graft_store_interrupt(graft_store *s) { (void)s; }
graft_store *graft_caller_store(graft_caller *c) { return c->store; }
graft_instance *graft_caller_instance(graft_caller *c) { return c->inst; }
graft_memory *graft_caller_memory(graft_caller *c) { (void)c; return NULL; }
graft_result graft_caller_trap(graft_caller *c, const char *message) { (void)c; (void)message; NI(GRAFT_ERR_TRAP); }
graft_result graft_caller_exit(graft_caller *c, int32_t code) { (void)c; (void)code; NI(GRAFT_EXIT); }
graft_result graft_func_new_host(graft_store *s, const graft_functype *type, graft_host_fn fn, void *user, graft_func **out) { (void)s; (void)type; (void)fn; (void)user; (void)out; NI(GRAFT_ERR_API); }
graft_result graft_table_new(graft_store *s, graft_valtype elem_type, graft_limits limits, graft_table **out) { (void)s; (void)elem_type; (void)limits; (void)out; NI(GRAFT_ERR_API); }
graft_result graft_memory_new(graft_store *s, graft_limits limits, graft_memory **out) { (void)s; (void)limits; (void)out; NI(GRAFT_ERR_API); }
graft_result graft_global_new(graft_store *s, graft_valtype type, bool mutable_, graft_val init, graft_global **out) { (void)s; (void)type; (void)mutable_; (void)init; (void)out; NI(GRAFT_ERR_API); }
graft_result graft_store_define(graft_store *s, const char *module, size_t module_len, const char *name, size_t name_len, graft_extern ext) { (void)s; (void)module; (void)module_len; (void)name; (void)name_len; (void)ext; NI(GRAFT_ERR_API); }
graft_result graft_store_define_instance(graft_store *s, const char *module, size_t module_len, graft_instance *inst) { (void)s; (void)module; (void)module_len; (void)inst; NI(GRAFT_ERR_API); }
graft_result graft_store_define_func(graft_store *s, const char *module, const char *name, const graft_functype *type, graft_host_fn fn, void *user) { (void)s; (void)module; (void)name; (void)type; (void)fn; (void)user; NI(GRAFT_ERR_API); }
graft_result graft_instance_new(graft_store *s, const graft_module *m, graft_instance **out) { (void)s; (void)m; (void)out; NI(GRAFT_ERR_API); }
const graft_module *graft_instance_module(const graft_instance *inst) { return inst->module; }
graft_result graft_instance_export(graft_instance *inst, const char *name, size_t name_len, graft_extern *out) { (void)inst; (void)name; (void)name_len; (void)out; NI(GRAFT_ERR_API); }
graft_func *graft_instance_func(graft_instance *inst, const char *name) { (void)inst; (void)name; return NULL; }
graft_memory *graft_instance_memory(graft_instance *inst) { (void)inst; return NULL; }
graft_result graft_call(graft_func *f, const graft_val *args, size_t nargs, graft_val *results, size_t nresults) { (void)f; (void)args; (void)nargs; (void)results; (void)nresults; NI(GRAFT_ERR_API); }
void graft_func_type(const graft_func *f, graft_functype *out) { (void)f; (void)out; }
uint8_t *graft_memory_data(graft_memory *mem) { return mem->data; }
uint64_t graft_memory_size(const graft_memory *mem) { return mem->size; }
graft_result graft_memory_grow(graft_memory *mem, uint32_t delta, uint32_t *out_old_pages) { (void)mem; (void)delta; (void)out_old_pages; NI(GRAFT_ERR_API); }
void graft_global_get(const graft_global *g, graft_val *out) { (void)g; (void)out; }
graft_result graft_global_set(graft_global *g, graft_val v) { (void)g; (void)v; NI(GRAFT_ERR_API); }
uint32_t graft_table_size(const graft_table *t) { return t->size; }
graft_result graft_table_get(const graft_table *t, uint32_t i, graft_val *out) { (void)t; (void)i; (void)out; NI(GRAFT_ERR_API); }
int64_t graft__memory_grow(graft_memory *m, uint32_t delta) { (void)m; (void)delta; return -1; }
int64_t graft__table_grow(graft_table *t, uint32_t delta, void *init) { (void)t; (void)delta; (void)init; return -1; }
graft_result graft__trap(graft_store *s, graft_error_code code, uint32_t first_frame) { (void)first_frame; return graft__error(&s->err, code, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, NULL); }
void graft__store_adopt(graft_store *s, gr_object *o, gr_object_type type) { (void)s; (void)o; (void)type; }
graft_result graft__store_stack(graft_store *s) { (void)s; NI(GRAFT_ERR_API); }
