/* decode.c - PLACEHOLDER owned by the decoder helper; replaced wholesale. */
#include "module.h"
graft_result graft__decode(graft_module *m, const uint8_t *bytes, size_t len, gr_errbuf *err)
{ (void)m; (void)bytes; (void)len; return graft__error(err, GRAFT_E_BAD_ARGUMENT, 0, GRAFT_NO_INDEX, "not implemented"); }
