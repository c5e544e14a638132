/* cmd_run.c - `graft run`: run a WASI command module, or call one export
 * of a module with --invoke and print its results.
 *
 * The sequence: parse flags into a run_options (options.c drives the
 * table below), read and load the module, make a store, a graft_wasi for
 * the guest (arguments, --env variables only, the host's stdin/stdout/
 * stderr, --dir preopens) and bind it, instantiate, then call `_start` or
 * the --invoke export. Everything is freed in reverse order through goto
 * labels named for what they undo.
 *
 * The outcome becomes the exit status (see cli.h and docs/cli.md): the
 * guest's exit code when it called proc_exit (clamped to 0..125 with a
 * note on stderr), 0 when _start returned, 134 after a trap (message and
 * WebAssembly backtrace on stderr), 126 when the module cannot be run. */
#include "cli.h"
#include "graft_wasi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Everything the flags of `graft run` set. argv-sized arrays: there can be
 * no more flags than words. */
typedef struct run_options {
    graft_wasi_preopen *dirs;    /* --dir, in order */
    char **dir_copies;           /* the malloc'd strings dirs point into */
    int ndirs;
    const char **envs;           /* --env K=V, in order */
    int nenvs;
    const char *invoke;          /* --invoke NAME, or NULL to run _start */
    graft_store_limits limits;   /* --max-memory, --max-stack */
    uint64_t timeout_ms;         /* --timeout MS, 0 = none */
    uint64_t fuel;               /* --fuel N: units for the whole run, 0 = unmetered */
    bool help;                   /* --help */
} run_options;

/* HOST[:GUEST[:ro]]: GUEST defaults to HOST; "HOST::ro" is read-only
 * with the default guest name. */
static bool opt_dir(void *o, const char *value)
{
    run_options *opts = o;
    char *copy = strdup(value);
    if (!copy) {
        cli_error("out of memory");
        return false;
    }
    opts->dir_copies[opts->ndirs] = copy;
    graft_wasi_preopen *d = &opts->dirs[opts->ndirs++];
    d->host_path = copy;
    d->guest_path = copy;
    d->read_only = false;
    char *colon = strchr(copy, ':');
    if (colon) {
        *colon = '\0';
        char *guest = colon + 1;
        char *mode = strchr(guest, ':');
        if (mode) {
            *mode++ = '\0';
            if (strcmp(mode, "ro") && strcmp(mode, "rw")) {
                cli_error("--dir %s: the mode after the second ':' must be ro or rw", value);
                return false;
            }
            d->read_only = !strcmp(mode, "ro");
        }
        if (*guest)
            d->guest_path = guest;
    }
    struct stat st;
    if (!*copy || stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--dir %s: '%s' is not a directory", value, copy);
        return false;
    }
    return true;
}

static bool opt_env(void *o, const char *value)
{
    run_options *opts = o;
    const char *eq = strchr(value, '=');
    if (!eq || eq == value) {
        cli_error("--env %s: expected NAME=VALUE", value);
        return false;
    }
    opts->envs[opts->nenvs++] = value;
    return true;
}

static bool opt_invoke(void *o, const char *value)
{
    ((run_options *)o)->invoke = value;
    return true;
}

/* A whole number, decimal; with_suffix also takes K, M or G (binary:
 * 64K = 65536). Prints why and returns false when the value is wrong. */
static bool parse_amount(const char *flag, const char *value, bool with_suffix, uint64_t *out)
{
    const char *p = value;
    uint64_t n = 0;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (n > (UINT64_MAX - digit) / 10) /* n * 10 + digit would wrap */
            goto bad;
        n = n * 10 + digit;
    }
    if (with_suffix && *p) {
        const char *units = "KMG";
        const char *u = strchr(units, *p >= 'a' ? *p - 'a' + 'A' : *p);
        if (!u)
            goto bad;
        for (int shift = 0; shift <= u - units; shift++) {
            if (n > UINT64_MAX / 1024)
                goto bad;
            n *= 1024;
        }
        p++;
    }
    if (*p)
        goto bad;
    *out = n;
    return true;
bad:
    cli_error("%s %s: expected a whole number%s", flag, value,
              with_suffix ? " of bytes, optionally with K, M or G" : "");
    return false;
}

/* Linear memory: each memory may reach BYTES / 64 KiB pages, below any
 * declared maximum; memory.grow past it returns -1. */
static bool opt_max_memory(void *o, const char *value)
{
    uint64_t bytes;
    if (!parse_amount("--max-memory", value, true, &bytes))
        return false;
    uint64_t pages = bytes / 65536u;
    if (pages == 0 || pages > 65536u) {
        cli_error("--max-memory %s: must be from 64K (one page) to 4G", value);
        return false;
    }
    ((run_options *)o)->limits.max_memory_pages = (uint32_t)pages;
    return true;
}

/* The value stack: BYTES / 8 cells (the call depth stays 10000 frames).
 * The engine counts cells in 32 bits, so 32G (2^32 cells) is taken as
 * 2^32 - 1 cells; docs/cli.md says so. Above 8M the limit is a ceiling:
 * the engine allocates the largest halving of it that memory grants
 * (graft__store_stack), so a huge value runs and deep calls trap. */
static bool opt_max_stack(void *o, const char *value)
{
    uint64_t bytes;
    if (!parse_amount("--max-stack", value, true, &bytes))
        return false;
    uint64_t cells = bytes / 8u;
    if (cells < 64u || cells > (uint64_t)UINT32_MAX + 1) {
        cli_error("--max-stack %s: must be from 512 bytes to 32G", value);
        return false;
    }
    ((run_options *)o)->limits.max_stack_slots =
        cells > UINT32_MAX ? UINT32_MAX : (uint32_t)cells;
    return true;
}

static bool opt_timeout(void *o, const char *value)
{
    uint64_t ms;
    if (!parse_amount("--timeout", value, false, &ms))
        return false;
    if (ms == 0 || ms > UINT32_MAX) {
        cli_error("--timeout %s: must be from 1 to %u milliseconds", value, UINT32_MAX);
        return false;
    }
    ((run_options *)o)->timeout_ms = ms;
    return true;
}

static bool opt_fuel(void *o, const char *value)
{
    uint64_t n;
    if (!parse_amount("--fuel", value, false, &n))
        return false;
    if (n == 0) {
        cli_error("--fuel %s: must be at least 1 unit", value);
        return false;
    }
    ((run_options *)o)->fuel = n;
    return true;
}

static bool opt_help(void *o, const char *value)
{
    ((run_options *)o)->help = true;
    return true;
}

static const cli_option run_flags[] = {
    {"--dir", "HOST[:GUEST[:ro]]",
     "preopen directory HOST as GUEST (default: HOST); ro refuses writes", opt_dir},
    {"--env", "NAME=VALUE", "set a guest environment variable (the host's are not passed)",
     opt_env},
    {"--invoke", "NAME", "call export NAME with the VALUES after the module; print results",
     opt_invoke},
    {"--timeout", "MS", "stop the guest after MS milliseconds (status 142)", opt_timeout},
    {"--fuel", "N", "stop the guest after N units of fuel: one per WebAssembly instruction, "
     "bulk work as docs/engine.md says (status 152)", opt_fuel},
    {"--max-memory", "BYTES", "cap each linear memory at BYTES (K, M, G: binary); grow fails past it",
     opt_max_memory},
    {"--max-stack", "BYTES", "value stack of BYTES (K, M, G); deeper calls trap", opt_max_stack},
    {"--help", NULL, "show this help", opt_help},
};

static void print_run_help(void)
{
    printf("usage: graft run [FLAGS] module.wasm [ARGS...]\n"
           "       graft run [FLAGS] --invoke NAME module.wasm [VALUES...]\n\nflags:\n");
    cli_print_options(run_flags, sizeof run_flags / sizeof run_flags[0]);
    printf("\nvalues: i32/i64 decimal or 0x-hex; f32/f64 decimal, hex-float, inf, -inf,\n"
           "nan, -nan, nan:0xPAYLOAD; an optional TYPE: prefix (i32:7). Results print as\n"
           "type:value, one per line. See docs/cli.md.\n");
}

/* The exit status for a guest's proc_exit code. WASI codes are 32-bit;
 * statuses above 125 belong to graft, so larger codes become 125. */
static int guest_exit_status(int32_t code)
{
    uint32_t c = (uint32_t)code;
    if (c <= CLI_EXIT_GUEST_MAX)
        return (int)c;
    cli_error("the guest exited with code %u; statuses above %d are graft's own, so graft "
              "exits with %d", c, CLI_EXIT_GUEST_MAX, CLI_EXIT_GUEST_MAX);
    return CLI_EXIT_GUEST_MAX;
}

/* The status for a call (or instantiation) that did not return GRAFT_OK.
 * Only the --timeout thread interrupts the store, so an interrupted trap
 * is the deadline. */
static int failure_status(const run_options *opts, graft_store *s, graft_result r,
                          const char *path)
{
    const graft_error *e = graft_store_error(s);
    if (r == GRAFT_EXIT)
        return guest_exit_status(e->exit_code);
    if (r == GRAFT_ERR_TRAP && e->code == GRAFT_E_TRAP_OUT_OF_FUEL && opts->fuel) {
        fflush(stdout);
        cli_error("out of fuel: the guest used all %llu units of --fuel",
                  (unsigned long long)opts->fuel);
        return CLI_EXIT_FUEL;
    }
    if (r == GRAFT_ERR_TRAP && e->code == GRAFT_E_TRAP_INTERRUPTED && opts->timeout_ms) {
        fflush(stdout);
        cli_error("deadline of %llu ms exceeded", (unsigned long long)opts->timeout_ms);
        return CLI_EXIT_DEADLINE;
    }
    if (r == GRAFT_ERR_TRAP) {
        fflush(stdout);
        fprintf(stderr, "graft: trap: %s\n", e->message);
        if (e->backtrace && e->backtrace[0]) {
            fprintf(stderr, "backtrace:\n");
            const char *line = e->backtrace;
            while (*line) { /* re-indent each frame by two spaces */
                line += strspn(line, " \t");
                size_t n = strcspn(line, "\n");
                if (n)
                    fprintf(stderr, "  %.*s\n", (int)n, line);
                line += n + (line[n] == '\n');
            }
        }
        return CLI_EXIT_TRAP;
    }
    if (r == GRAFT_ERR_LINK)
        cli_error("%s: cannot link: %s", path, e->message);
    else
        cli_error("%s: %s: %s", path, graft_result_name(r), e->message);
    return CLI_EXIT_CANNOT_RUN;
}

/* Call _start. Returning normally is exit code 0 [WASI command ABI]. */
static int run_start(const run_options *opts, graft_store *s, graft_instance *inst,
                     const char *path)
{
    graft_func *start = graft_instance_func(inst, "_start");
    if (!start) {
        cli_error("%s: no _start export: not a WASI command (call an export with --invoke NAME)",
                  path);
        return CLI_EXIT_CANNOT_RUN;
    }
    graft_result r = graft_call(start, NULL, 0, NULL, 0);
    return r == GRAFT_OK ? CLI_EXIT_OK : failure_status(opts, s, r, path);
}

/* Parse the values for f's parameters from words; print a usage error and
 * return false when the count or a value is wrong. */
static bool parse_args(const char *name, const graft_functype *ft, int nwords, char **words,
                       graft_val *args)
{
    char sig[512];
    if ((uint32_t)nwords != ft->nparams) {
        cli_functype_format(ft, sig, sizeof sig);
        cli_error("'%s' takes %u argument%s %s, got %d", name, ft->nparams,
                  ft->nparams == 1 ? "" : "s", sig, nwords);
        return false;
    }
    for (int i = 0; i < nwords; i++) {
        char err[256];
        if (!cli_value_parse(ft->params[i], words[i], &args[i], err, sizeof err)) {
            cli_error("argument %d of '%s': %s", i + 1, name, err);
            return false;
        }
    }
    return true;
}

/* --invoke: run _initialize first when the module is a WASI reactor, then
 * call the export and print its results as type:value lines. */
static int run_invoke(const run_options *opts, graft_store *s, graft_instance *inst,
                      const char *path, int nwords, char **words)
{
    const char *name = opts->invoke;
    graft_extern ext;
    if (graft_instance_export(inst, name, strlen(name), &ext) != GRAFT_OK) {
        cli_error("%s: no export named '%s'", path, name);
        return CLI_EXIT_USAGE;
    }
    if (ext.kind != GRAFT_EXTERN_FUNC) {
        cli_error("%s: export '%s' is not a function", path, name);
        return CLI_EXIT_USAGE;
    }
    graft_functype ft;
    graft_func_type(ext.of.func, &ft);
    size_t nargs = ft.nparams, nres = ft.nresults;
    graft_val *vals = calloc(nargs + nres + 1, sizeof *vals);
    if (!vals) {
        cli_error("out of memory");
        return CLI_EXIT_CANNOT_RUN;
    }
    int status = CLI_EXIT_USAGE;
    if (!parse_args(name, &ft, nwords, words, vals))
        goto free_vals;
    graft_func *init = graft_instance_func(inst, "_initialize");
    graft_result r = GRAFT_OK;
    if (init && strcmp(name, "_initialize") != 0)
        r = graft_call(init, NULL, 0, NULL, 0);
    if (r == GRAFT_OK)
        r = graft_call(ext.of.func, vals, nargs, vals + nargs, nres);
    if (r != GRAFT_OK) {
        status = failure_status(opts, s, r, path);
        goto free_vals;
    }
    for (size_t i = 0; i < nres; i++) {
        char text[128];
        cli_value_format(&vals[nargs + i], text, sizeof text);
        printf("%s\n", text);
    }
    status = CLI_EXIT_OK;
free_vals:
    free(vals);
    return status;
}

/* Whether m imports anything from iot_v1, graftd's host API: such a module
 * cannot link under `graft run`, and the message should say where it runs. */
static bool imports_iot_v1(const graft_module *m)
{
    for (uint32_t i = 0; i < graft_module_import_count(m); i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        if (d.module_len == 6 && memcmp(d.module, "iot_v1", 6) == 0)
            return true;
    }
    return false;
}

/* Everything after the flags: load, set up WASI, instantiate, run. */
static int run_module(const run_options *opts, int nwords, char **words)
{
    const char *path = words[0];
    cli_loaded l;
    /* Without --fuel nothing is metered: compile without charges. */
    int status = cli_load_module(path, CLI_EXIT_CANNOT_RUN, opts->fuel == 0, &l);
    if (status != 0)
        return status;
    status = CLI_EXIT_CANNOT_RUN;
    graft_store *store = NULL;
    graft_wasi *wasi = NULL;
    graft_instance *inst = NULL;
    char err[512] = "";
    if (graft_store_new(l.env, &opts->limits, &store) != GRAFT_OK) {
        cli_error("cannot create a store: %s", graft_env_error(l.env)->message);
        goto unload;
    }
    graft_wasi_config cfg = {
        .argv = (const char *const *)words, .argc = opts->invoke ? 1 : nwords,
        .envp = opts->envs, .envc = opts->nenvs,
        .preopens = opts->dirs, .npreopens = opts->ndirs,
        .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2,
    };
    graft_result r = graft_wasi_new(l.env, &cfg, &wasi, err, sizeof err);
    if (r != GRAFT_OK) {
        cli_error("cannot set up WASI: %s", err[0] ? err : graft_result_name(r));
        status = r == GRAFT_ERR_IO ? CLI_EXIT_USAGE : CLI_EXIT_CANNOT_RUN;
        goto free_store;
    }
    if (graft_wasi_define(wasi, store) != GRAFT_OK) {
        cli_error("cannot bind WASI: %s", graft_store_error(store)->message);
        goto free_wasi;
    }
    cli_deadline timer = {0};
    if (opts->timeout_ms && !cli_deadline_start(&timer, store, opts->timeout_ms)) {
        cli_error("--timeout: cannot start the timer thread");
        goto free_wasi;
    }
    /* The tank covers the whole run, start function included. */
    if (opts->fuel)
        graft_store_set_fuel(store, GRAFT_FUEL_TRAP, opts->fuel);
    r = graft_instance_new(store, l.module, &inst);
    if (r != GRAFT_OK) {
        status = failure_status(opts, store, r, path);
        if (r == GRAFT_ERR_LINK && imports_iot_v1(l.module))
            cli_error("%s imports iot_v1: it is a gateway module, run by graftd (docs/writing-modules.md); "
                      "`graft validate` and `graft inspect` check it here", path);
    }
    else if (opts->invoke)
        status = run_invoke(opts, store, inst, path, nwords - 1, words + 1);
    else
        status = run_start(opts, store, inst, path);
    cli_deadline_stop(&timer);
free_wasi:
    /* the store goes first: graft_wasi must outlive it (graft_wasi.h) */
    graft_store_free(store);
    store = NULL;
    graft_wasi_free(wasi);
free_store:
    graft_store_free(store);
unload:
    cli_unload_module(&l);
    return status;
}

int cli_cmd_run(int argc, char **argv)
{
    size_t slots = (size_t)argc + 1;
    run_options opts = {0};
    opts.dirs = calloc(slots, sizeof *opts.dirs);
    opts.dir_copies = calloc(slots, sizeof *opts.dir_copies);
    opts.envs = calloc(slots, sizeof *opts.envs);
    int status = CLI_EXIT_USAGE;
    int first = 0;
    if (!opts.dirs || !opts.dir_copies || !opts.envs) {
        cli_error("out of memory");
        goto free_opts;
    }
    if (!cli_parse_options(run_flags, sizeof run_flags / sizeof run_flags[0], &opts, argc, argv,
                           &first))
        goto free_opts;
    if (opts.help) {
        print_run_help();
        status = CLI_EXIT_OK;
        goto free_opts;
    }
    if (first >= argc) {
        cli_error("usage: graft run [FLAGS] module.wasm [ARGS...] (see 'graft help run')");
        goto free_opts;
    }
    status = run_module(&opts, argc - first, argv + first);
free_opts:
    for (int i = 0; i < opts.ndirs; i++)
        free(opts.dir_copies[i]);
    free(opts.dir_copies);
    free(opts.dirs);
    free(opts.envs);
    return status;
}
