/* compile.c - PLACEHOLDER owned by the compiler helper; replaced wholesale. */
#include "code.h"
graft_result graft__compile_module(graft_module *m, const uint8_t *bytes, size_t len, gr_errbuf *err)
{ (void)m; (void)bytes; (void)len; return graft__error(err, GRAFT_E_BAD_ARGUMENT, 0, GRAFT_NO_INDEX, "not implemented"); }
uint64_t graft__code_wasm_offset(const gr_code *c, uint32_t pc) { (void)c; (void)pc; return GRAFT_NO_OFFSET; }
