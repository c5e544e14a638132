/* alloc.c - fault injection: fail allocation number k, for every k from 1
 * until a run completes without an injected failure, through load,
 * instantiate and call (memory.grow, table.grow and WASI calls included).
 *
 * Every run must end in success or a clean error of an expected class, and
 * after freeing everything the env's in-use count must be back at its
 * baseline (LeakSanitizer also checks the process at exit). Two subjects:
 * a set of modules from the spec suite whose exports are called with zero
 * arguments (imports satisfied by zero_imports.h), and a small WASI command
 * written for this test (source in the comment below). */
#include <graft.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "graft_wasi.h"
#include "harness.h"
#include "runtime.h"
#include "zero_imports.h"

/* (module
 *   (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
 *   (import "wasi_snapshot_preview1" "args_sizes_get" (func (param i32 i32) (result i32)))
 *   (import "wasi_snapshot_preview1" "path_open"
 *     (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
 *   (memory (export "memory") 1 4)
 *   (table $t 1 10 funcref)
 *   (data (i32.const 16) "hello\n")
 *   (data (i32.const 64) "x.txt")
 *   (func (export "_start")
 *     ;; fd_write(1, iovec{16, 6}), args_sizes_get, path_open(3, "x.txt", O_CREAT),
 *     ;; memory.grow 1, table.grow 3))
 * built with wat2wasm 1.0.32. */
static const uint8_t wasi_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x1f, 0x04, 0x60,
  0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x01,
  0x7f, 0x60, 0x09, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 0x7e, 0x7f, 0x7f,
  0x01, 0x7f, 0x60, 0x00, 0x00, 0x02, 0x6e, 0x03, 0x16, 0x77, 0x61, 0x73,
  0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f, 0x70,
  0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31, 0x08, 0x66, 0x64, 0x5f, 0x77,
  0x72, 0x69, 0x74, 0x65, 0x00, 0x00, 0x16, 0x77, 0x61, 0x73, 0x69, 0x5f,
  0x73, 0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74, 0x5f, 0x70, 0x72, 0x65,
  0x76, 0x69, 0x65, 0x77, 0x31, 0x0e, 0x61, 0x72, 0x67, 0x73, 0x5f, 0x73,
  0x69, 0x7a, 0x65, 0x73, 0x5f, 0x67, 0x65, 0x74, 0x00, 0x01, 0x16, 0x77,
  0x61, 0x73, 0x69, 0x5f, 0x73, 0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74,
  0x5f, 0x70, 0x72, 0x65, 0x76, 0x69, 0x65, 0x77, 0x31, 0x09, 0x70, 0x61,
  0x74, 0x68, 0x5f, 0x6f, 0x70, 0x65, 0x6e, 0x00, 0x02, 0x03, 0x02, 0x01,
  0x03, 0x04, 0x05, 0x01, 0x70, 0x01, 0x01, 0x0a, 0x05, 0x04, 0x01, 0x01,
  0x01, 0x04, 0x07, 0x13, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79,
  0x02, 0x00, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x03, 0x0a,
  0x47, 0x01, 0x45, 0x00, 0x41, 0x00, 0x41, 0x10, 0x36, 0x02, 0x00, 0x41,
  0x04, 0x41, 0x06, 0x36, 0x02, 0x00, 0x41, 0x01, 0x41, 0x00, 0x41, 0x01,
  0x41, 0x20, 0x10, 0x00, 0x1a, 0x41, 0x28, 0x41, 0x2c, 0x10, 0x01, 0x1a,
  0x41, 0x03, 0x41, 0x00, 0x41, 0xc0, 0x00, 0x41, 0x05, 0x41, 0x01, 0x42,
  0x7f, 0x42, 0x7f, 0x41, 0x00, 0x41, 0x30, 0x10, 0x02, 0x1a, 0x41, 0x01,
  0x40, 0x00, 0x1a, 0xd0, 0x70, 0x41, 0x03, 0xfc, 0x0f, 0x00, 0x1a, 0x0b,
  0x0b, 0x17, 0x02, 0x00, 0x41, 0x10, 0x0b, 0x06, 0x68, 0x65, 0x6c, 0x6c,
  0x6f, 0x0a, 0x00, 0x41, 0xc0, 0x00, 0x0b, 0x05, 0x78, 0x2e, 0x74, 0x78,
  0x74
};

/* Spec modules that exercise memories, tables, segments, globals, linking
 * and calls. Paths are relative to the suite's core/ folder. */
static const char *const spec_modules[] = {
    "memory_grow/memory_grow.0.wasm", "table_grow/table_grow.0.wasm",
    "bulk/bulk.7.wasm",               "elem/elem.0.wasm",
    "data/data.0.wasm",               "global/global.0.wasm",
    "call_indirect/call_indirect.0.wasm", "fac/fac.0.wasm",
    "br_table/br_table.0.wasm",       "memory_copy/memory_copy.0.wasm",
};

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int clean_class(graft_result r)
{
    return r == GRAFT_OK || r == GRAFT_ERR_RESOURCE || r == GRAFT_ERR_LINK || r == GRAFT_ERR_TRAP;
}

/* One run of a spec module with the k-th allocation failing; returns 1
 * when no failure was injected (the run went all the way through). */
static int spec_run(const uint8_t *bytes, size_t len, uint64_t k, int *unclean)
{
    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) return 1;
    size_t base = sizeof(graft_env);
    graft_env_fail_alloc_after(env, k);
    graft_module *m = NULL;
    graft_result r = graft_module_load(env, bytes, len, &m);
    if (!clean_class(r)) (*unclean)++;
    if (r == GRAFT_OK) {
        graft_store *s = NULL;
        graft_store_limits lim = {100, 1 << 14, 64, 1 << 12};
        r = graft_store_new(env, &lim, &s);
        if (!clean_class(r)) (*unclean)++;
        if (r == GRAFT_OK) {
            zero_imports(s, m);
            graft_instance *inst = NULL;
            r = graft_instance_new(s, m, &inst);
            if (!clean_class(r)) (*unclean)++;
            for (uint32_t i = 0; inst && i < graft_module_export_count(m); i++) {
                graft_extern_desc d;
                graft_module_export(m, i, &d);
                graft_extern ext;
                if (d.kind != GRAFT_EXTERN_FUNC || d.func.nparams > 8 || d.func.nresults > 8) continue;
                if (graft_instance_export(inst, d.name, d.name_len, &ext) != GRAFT_OK) continue;
                graft_val args[8], res[8];
                for (uint32_t a = 0; a < d.func.nparams; a++) args[a] = zero_val(d.func.params[a]);
                graft_store_set_fuel(s, GRAFT_FUEL_TRAP, 1000000);
                r = graft_call(ext.of.func, args, d.func.nparams, res, d.func.nresults);
                if (!clean_class(r)) (*unclean)++;
            }
            graft_store_free(s);
        }
        graft_module_free(m);
    }
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, base);
    int complete = st.failures == 0;
    graft_env_free(env);
    return complete;
}

static void spec_modules_under_faults(void)
{
    for (size_t i = 0; i < sizeof spec_modules / sizeof spec_modules[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/core/%s", GRAFT_SPECTEST_DIR, spec_modules[i]);
        size_t len;
        uint8_t *bytes = read_file(path, &len);
        CHECK(bytes != NULL);
        if (!bytes) continue;
        int unclean = 0;
        uint64_t k = 1;
        while (!spec_run(bytes, len, k, &unclean) && k < 100000) k++;
        CHECK(k < 100000);
        CHECK_EQ_INT(unclean, 0);
        printf("%s: %llu allocation points, all clean\n", spec_modules[i], (unsigned long long)k - 1);
        free(bytes);
    }
}

/* One run of the WASI command; returns 1 when no failure was injected. */
static int wasi_run(const char *dir, uint64_t k, int *unclean)
{
    graft_env *env;
    if (graft_env_new(NULL, &env) != GRAFT_OK) return 1;
    graft_env_fail_alloc_after(env, k);
    const char *argv[] = {"prog", "a1"};
    graft_wasi_preopen pre = {dir, ".", false};
    int devnull = open("/dev/null", O_WRONLY);
    graft_wasi_config cfg = {argv, 2, NULL, 0, &pre, 1, -1, devnull, devnull};
    graft_wasi *w = NULL;
    char err[256];
    graft_result r = graft_wasi_new(env, &cfg, &w, err, sizeof err);
    if (!clean_class(r)) (*unclean)++;
    graft_store *s = NULL;
    graft_module *m = NULL;
    if (r == GRAFT_OK) r = graft_store_new(env, NULL, &s);
    if (r == GRAFT_OK) r = graft_wasi_define(w, s);
    if (r == GRAFT_OK) r = graft_module_load(env, wasi_wasm, sizeof wasi_wasm, &m);
    graft_instance *inst = NULL;
    if (r == GRAFT_OK) r = graft_instance_new(s, m, &inst);
    if (r == GRAFT_OK) r = graft_call(graft_instance_func(inst, "_start"), NULL, 0, NULL, 0);
    if (!clean_class(r)) (*unclean)++;
    if (s) graft_store_free(s);
    if (m) graft_module_free(m);
    if (w) graft_wasi_free(w);
    close(devnull);
    graft_alloc_stats st;
    graft_env_stats(env, &st);
    CHECK_EQ_INT(st.in_use, sizeof(graft_env));
    int complete = st.failures == 0;
    if (complete) CHECK_EQ_INT(r, GRAFT_OK);
    graft_env_free(env);
    return complete;
}

static void wasi_under_faults(void)
{
    char dir[] = "/tmp/graft-fault-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int unclean = 0;
    uint64_t k = 1;
    while (!wasi_run(dir, k, &unclean) && k < 100000) k++;
    CHECK(k < 100000);
    CHECK_EQ_INT(unclean, 0);
    printf("wasi command: %llu allocation points, all clean\n", (unsigned long long)k - 1);
    char file[64];
    snprintf(file, sizeof file, "%s/x.txt", dir);
    CHECK(access(file, F_OK) == 0); /* the complete run created it */
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    spec_modules_under_faults();
    wasi_under_faults();
    TEST_MAIN_END();
}
