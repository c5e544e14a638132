/* fuel_overhead.c - what fuel metering costs (issue 3, "Overhead";
 * docs/engine.md, "Fuel"): the same guests (bench/fuel_overhead.wat, built
 * by wat2wasm into FUEL_OVERHEAD_WASM) loaded twice in one process, through
 * an unmetered env and a metered one, and run interleaved in three shapes:
 *
 *   unmetered   unmetered module, fuel off         (the baseline)
 *   off         metered module, fuel off           (an infinite tank)
 *   trap        metered module, GRAFT_FUEL_TRAP    (a large tank)
 *
 * Usage: bench_fuel_overhead [TRIALS]   medians over TRIALS rounds (default
 *                                       21), each round every kernel once
 *                                       in every shape, and the ratios
 *        bench_fuel_overhead --once KERNEL
 *                                       one call per shape, in the functions
 *                                       run_unmetered, run_off and run_trap,
 *                                       for instruction counts under
 *                                       valgrind --tool=callgrind */
#include <graft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kernel {
    const char *name;
    int32_t arg;
} kernel;

static const kernel kernels[] = {
    {"fib", 27},          /* recursive calls */
    {"loop", 3000000},    /* an arithmetic loop */
    {"memory", 60},       /* loads and stores over 64 KiB */
    {"calls", 1000000},   /* two small calls per iteration */
};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

enum { UNMETERED, OFF, TRAP, NSHAPES };
static const char *const shape_names[NSHAPES] = {"unmetered", "fuel off", "fuel trap"};

typedef struct shape {
    graft_env *env;
    graft_module *module;
    graft_store *store;
    graft_instance *inst;
} shape;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_fuel_overhead: %s: %s\n", what, why);
    exit(1);
}

static uint8_t *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, "cannot open");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die(path, "cannot read");
    fclose(f);
    *out_len = (size_t)n;
    return buf;
}

static void shape_new(shape *sh, const uint8_t *bytes, size_t len, bool unmetered,
                      graft_fuel_mode mode)
{
    graft_env_config cfg = {.unmetered = unmetered};
    if (graft_env_new(&cfg, &sh->env) != GRAFT_OK) die("env", "cannot create");
    if (graft_module_load(sh->env, bytes, len, &sh->module) != GRAFT_OK)
        die("load", graft_env_error(sh->env)->message);
    if (graft_store_new(sh->env, NULL, &sh->store) != GRAFT_OK) die("store", "cannot create");
    if (graft_instance_new(sh->store, sh->module, &sh->inst) != GRAFT_OK)
        die("instantiate", graft_store_error(sh->store)->message);
    graft_store_set_fuel(sh->store, mode, mode == GRAFT_FUEL_OFF ? 0 : UINT64_MAX / 2);
}

static void shape_free(shape *sh)
{
    graft_store_free(sh->store);
    graft_module_free(sh->module);
    graft_env_free(sh->env);
}

static int32_t run(shape *sh, const kernel *k, int which)
{
    graft_val arg = {.type = GRAFT_I32, .of.i32 = k->arg}, res;
    graft_func *f = graft_instance_func(sh->inst, k->name);
    if (!f) die(k->name, "no such export");
    if (graft_call(f, &arg, 1, &res, 1) != GRAFT_OK) {
        fprintf(stderr, "bench_fuel_overhead: %s (%s): %s\n", k->name, shape_names[which],
                graft_store_error(sh->store)->message);
        exit(1);
    }
    return res.of.i32;
}

/* One function per shape, so callgrind reports each one's inclusive cost
 * (distinct bodies, so the compiler cannot fold them into one). */
__attribute__((noinline)) static int32_t run_unmetered(shape *sh, const kernel *k)
{
    return run(sh, k, UNMETERED);
}
__attribute__((noinline)) static int32_t run_off(shape *sh, const kernel *k)
{
    return run(sh, k, OFF);
}
__attribute__((noinline)) static int32_t run_trap(shape *sh, const kernel *k)
{
    return run(sh, k, TRAP);
}

static int32_t run_shape(shape *shapes, int i, const kernel *k)
{
    if (i == UNMETERED) return run_unmetered(&shapes[i], k);
    if (i == OFF) return run_off(&shapes[i], k);
    return run_trap(&shapes[i], k);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Every round runs every kernel in every shape, rotating which shape goes
 * first, so drift in the machine's load hits all shapes alike. */
static void timed(shape *shapes, int trials)
{
    double *t = malloc(sizeof *t * (size_t)trials * NKERNELS * NSHAPES);
    if (!t) die("timing", "out of memory");
    for (int r = 0; r < trials; r++)
        for (size_t k = 0; k < NKERNELS; k++)
            for (int j = 0; j < NSHAPES; j++) {
                int i = (j + r) % NSHAPES;
                double t0 = now_ms();
                int32_t got = run_shape(shapes, i, &kernels[k]);
                double dt = now_ms() - t0;
                if (r == 0 && got != run_shape(shapes, UNMETERED, &kernels[k]))
                    die(kernels[k].name, "shapes disagree");
                t[((size_t)k * NSHAPES + (size_t)i) * (size_t)trials + (size_t)r] = dt;
            }
    printf("%-8s %12s %12s %12s %9s %9s   (median ms over %d trials)\n", "kernel",
           shape_names[0], shape_names[1], shape_names[2], "off/unm", "trap/unm", trials);
    for (size_t k = 0; k < NKERNELS; k++) {
        double m[NSHAPES];
        for (int i = 0; i < NSHAPES; i++)
            m[i] = median(&t[((size_t)k * NSHAPES + (size_t)i) * (size_t)trials], trials);
        printf("%-8s %12.2f %12.2f %12.2f %9.3f %9.3f\n", kernels[k].name, m[0], m[1], m[2],
               m[1] / m[0], m[2] / m[0]);
    }
    free(t);
}

static void once(shape *shapes, const char *name)
{
    for (size_t k = 0; k < NKERNELS; k++) {
        if (strcmp(kernels[k].name, name) != 0) continue;
        for (int i = 0; i < NSHAPES; i++)
            printf("%s %s: %d\n", name, shape_names[i], (int)run_shape(shapes, i, &kernels[k]));
        printf("fuel consumed (trap): %llu\n",
               (unsigned long long)graft_store_fuel_consumed(shapes[TRAP].store));
        return;
    }
    die(name, "no such kernel (fib, loop, memory, calls)");
}

int main(int argc, char **argv)
{
    size_t len;
    uint8_t *bytes = read_file(FUEL_OVERHEAD_WASM, &len);
    shape shapes[NSHAPES];
    shape_new(&shapes[UNMETERED], bytes, len, true, GRAFT_FUEL_OFF);
    shape_new(&shapes[OFF], bytes, len, false, GRAFT_FUEL_OFF);
    shape_new(&shapes[TRAP], bytes, len, false, GRAFT_FUEL_TRAP);
    free(bytes);
    if (argc == 3 && strcmp(argv[1], "--once") == 0) {
        once(shapes, argv[2]);
    } else {
        int trials = argc > 1 ? atoi(argv[1]) : 21;
        if (trials < 1) die("TRIALS", "must be at least 1");
        timed(shapes, trials);
    }
    for (int i = 0; i < NSHAPES; i++) shape_free(&shapes[i]);
    return 0;
}
