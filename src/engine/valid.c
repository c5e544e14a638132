/* valid.c - PLACEHOLDER owned by the decoder helper; replaced wholesale. */
#include "module.h"
graft_result graft__validate_module(graft_module *m, gr_errbuf *err)
{ (void)m; return graft__error(err, GRAFT_E_BAD_ARGUMENT, 0, GRAFT_NO_INDEX, "not implemented"); }
