/* firmware.c - a minimal Cortex-M image that embeds libgraft with the bare
 * port and the pool allocator: the link check that the engine needs no
 * malloc, and (later) the program QEMU runs.
 *
 * It loads a tiny module (an exported `add` of two i32), instantiates it in a
 * store limited to small stacks, and calls it, all from one static buffer. */
#include <assert.h>
#include <graft.h>

/* newlib's assert handler prints through fiprintf, which allocates: this
 * firmware supplies its own, which stops the core on a breakpoint (a
 * debugger shows where), so an engine built with its invariant asserts
 * (no NDEBUG) still links without malloc. */
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    (void)file, (void)line, (void)func, (void)expr;
    for (;;) __asm__ volatile("bkpt #0");
}

static uint64_t heap[(96 << 10) / 8];

/* (module (func (export "add") (param i32 i32) (result i32)
 *           local.get 0 local.get 1 i32.add)) */
static const uint8_t add_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f,
    0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64,
    0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b};

int run_add(int a, int b, int *out);

int run_add(int a, int b, int *out)
{
    graft_pool *pool = graft_pool_create(heap, sizeof heap);
    graft_env_config cfg = {.alloc = graft_pool_alloc, .alloc_user = pool, .budget = sizeof heap};
    graft_env *env;
    graft_module *m = 0;
    graft_store *s = 0;
    graft_instance *inst;
    int status = 1;
    if (graft_env_new(&cfg, &env) != GRAFT_OK) return 1;
    graft_store_limits lim = {64, 2048, 1, 16};
    if (graft_module_load(env, add_wasm, sizeof add_wasm, &m) != GRAFT_OK) goto done;
    if (graft_store_new(env, &lim, &s) != GRAFT_OK) goto done;
    if (graft_instance_new(s, m, &inst) != GRAFT_OK) goto done;
    graft_val args[2] = {{GRAFT_I32, {.i32 = a}}, {GRAFT_I32, {.i32 = b}}};
    graft_val res;
    if (graft_call(graft_instance_func(inst, "add"), args, 2, &res, 1) != GRAFT_OK) goto done;
    *out = res.of.i32;
    status = 0;
done:
    if (s) graft_store_free(s);
    if (m) graft_module_free(m);
    graft_env_free(env);
    return status;
}

int main(void)
{
    int r = 0;
    return run_add(40, 2, &r) == 0 && r == 42 ? 0 : 1;
}
