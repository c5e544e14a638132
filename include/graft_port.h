/* graft_port.h - what the engine needs from a platform. For porters only.
 *
 * The build compiles exactly one folder under src/port/ (posix or bare) and
 * that folder defines every function below. The engine core (src/engine/)
 * includes no OS header; everything platform-specific goes through here.
 *
 * Two tiers, after WAMR's port contract: the core tier (allocation and
 * linear memory) is all a microcontroller needs; the WASI tier (clocks,
 * randomness, files) lives in src/wasi/ and uses POSIX directly. */
#ifndef GRAFT_PORT_H
#define GRAFT_PORT_H

#include "graft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default allocator when graft_env_config.alloc is NULL. The bare port
 * has none and returns NULL: there the embedder must pass a pool. */
graft_alloc_fn graft_port_default_alloc(void);

/* Linear memory. A memory is reserved once for its largest possible size
 * (max_bytes, already capped by the store's limit) and committed as it
 * grows. A port with virtual memory reserves address space and commits
 * pages in place (the base never moves, and a later guard-page mode can
 * rely on it); a port without one allocates initial_bytes through the env's
 * allocator and resizes on commit, so the base may move.
 *
 * The engine counts committed bytes against the env's budget before it
 * calls these hooks, so ports never account themselves. All three must zero
 * newly committed bytes. */
void *graft_port_mem_reserve(graft_env *env, uint64_t max_bytes, uint64_t initial_bytes);
/* Grow the committed part from old_bytes to new_bytes. Returns the (possibly
 * moved) base, or NULL with the old mapping intact. */
void *graft_port_mem_commit(graft_env *env, void *base, uint64_t max_bytes, uint64_t old_bytes,
                            uint64_t new_bytes);
void graft_port_mem_release(graft_env *env, void *base, uint64_t max_bytes, uint64_t committed_bytes);

/* Raw allocation through the env's allocator, for ports that carve linear
 * memory out of the heap. Not counted against the budget: the engine has
 * already charged the committed bytes. NULL on failure. */
void *graft_env_realloc(graft_env *env, void *ptr, size_t old_size, size_t new_size);

#ifdef __cplusplus
}
#endif
#endif /* GRAFT_PORT_H */
