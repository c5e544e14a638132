/* interp.c - PLACEHOLDER owned by the interpreter helper; replaced wholesale. */
#include "runtime.h"
static const int32_t identity[GR_IOP_COUNT_];
const int32_t *graft__interp_handlers(void) { return identity; }
graft_result graft__interp_run(graft_store *s, graft_func *f, gr_slot *fp)
{ (void)f; (void)fp; return graft__error(&s->err, GRAFT_E_BAD_ARGUMENT, GRAFT_NO_OFFSET, GRAFT_NO_INDEX, "not implemented"); }
