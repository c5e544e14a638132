/* pool.c - PLACEHOLDER, written by the lead next. */
#include "env.h"
graft_pool *graft_pool_create(void *buf, size_t size) { (void)buf; (void)size; return NULL; }
void *graft_pool_alloc(void *pool, void *ptr, size_t old_size, size_t new_size) { (void)pool; (void)ptr; (void)old_size; (void)new_size; return NULL; }
void graft_pool_stats(const graft_pool *pool, graft_alloc_stats *out) { (void)pool; (void)out; }
