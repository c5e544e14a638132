/* cli.h - what the files of the graft command-line tool share: its exit
 * statuses, the option-table parser, module loading and value syntax.
 *
 * Layout: main.c dispatches a command name to a cmd_*() function (one file
 * per command: cmd_run.c, cmd_validate.c, cmd_inspect.c). options.c parses
 * flags from a table, so a new flag is one table row plus a field in the
 * command's option struct. module_file.c reads a file and loads it through
 * libgraft, reporting errors the same way for every command. values.c holds
 * the text syntax of WebAssembly values used by `run --invoke`. sections.c
 * walks a module's raw sections for `inspect` (facts the engine API does not
 * expose: defined memories, tables, globals, the function count).
 *
 * Exit statuses (docs/cli.md is the reference; keep the two in step):
 *   0..125  the guest's own exit code: proc_exit(c) exits with c when
 *           c <= 125; a guest that returns from _start exits 0. A larger
 *           code (WASI codes are 32-bit) is reported on stderr and the
 *           status is 125, so statuses above 125 always mean graft itself.
 *   1       `validate`: the module is malformed or invalid.
 *   2       usage: bad flag or value, missing or unreadable file, no such
 *           export. Detected before any guest code runs.
 *   126     the module could not be run: decode, validation, link or WASI
 *           setup failed, no _start, or the engine failed with a non-trap
 *           error.
 *   134     the guest trapped (128 + SIGABRT: what a native program that
 *           calls abort() reports, and wasi-libc's abort() is a trap).
 *   142     run --timeout: the deadline passed (128 + SIGALRM).
 *   152     run --fuel: the fuel ran out (128 + SIGXCPU). */
#ifndef GRAFT_CLI_H
#define GRAFT_CLI_H

#include <graft.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_INVALID = 1,        /* validate: the module is rejected */
    CLI_EXIT_USAGE = 2,          /* bad command line, missing file */
    CLI_EXIT_GUEST_MAX = 125,    /* largest guest code passed through */
    CLI_EXIT_CANNOT_RUN = 126,   /* load, link, setup or engine failure */
    CLI_EXIT_TRAP = 134,         /* the guest trapped */
    CLI_EXIT_DEADLINE = 142,     /* --timeout passed (128 + SIGALRM) */
    CLI_EXIT_FUEL = 152          /* --fuel ran out (128 + SIGXCPU, "CPU limit") */
};

/* ---- options.c ----------------------------------------------------------- */

/* One flag. apply() gets the command's option struct and the flag's value
 * (NULL for flags without one); it returns false after printing why the
 * value is wrong. */
typedef struct cli_option {
    const char *name;       /* "--dir" */
    const char *metavar;    /* "HOST[:GUEST[:ro]]", or NULL for a bare flag */
    const char *help;       /* one line for `graft help` */
    bool (*apply)(void *opts, const char *value);
} cli_option;

/* Parse flags from argv[*index] on, stopping at the first operand (a word
 * not starting with '-', or "-" itself) or after "--". Both "--flag VALUE"
 * and "--flag=VALUE" are accepted. On success *index is the first operand
 * and true is returned; on an unknown flag, a missing value or a value that
 * apply() rejects, an error is printed and false is returned. */
bool cli_parse_options(const cli_option *table, size_t count, void *opts, int argc,
                       char **argv, int *index);
/* Print the table as "  --name METAVAR   help" lines on stdout. */
void cli_print_options(const cli_option *table, size_t count);

/* ---- module_file.c --------------------------------------------------------- */

/* Print "graft: <fmt>" and a newline on stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Read a whole file. On failure prints "graft: cannot read 'path': why" and
 * returns false. *out_bytes is malloc'd; the caller frees it. */
bool cli_read_file(const char *path, uint8_t **out_bytes, size_t *out_len);

/* A module file read and loaded through its own env. */
typedef struct cli_loaded {
    uint8_t *bytes;          /* the file's contents (malloc'd) */
    size_t len;              /* their size */
    graft_env *env;          /* owns module */
    graft_module *module;    /* loaded, validated, compiled */
} cli_loaded;

/* Read path and load it. Returns 0, or after printing why, the exit
 * status: CLI_EXIT_USAGE when the file cannot be read, invalid_status when
 * the module is malformed or invalid ("graft: <path>: <message> (at byte
 * offset 0x..)"), CLI_EXIT_CANNOT_RUN when the engine fails otherwise.
 * unmetered compiles without fuel charges (graft_env_config.unmetered: full
 * speed, but only with fuel off). On failure nothing stays allocated. */
int cli_load_module(const char *path, int invalid_status, bool unmetered, cli_loaded *out);
void cli_unload_module(cli_loaded *l);

/* ---- values.c --------------------------------------------------------------- */

/* Parse text as a value of type t (see docs/cli.md, "Value syntax"). An
 * optional "TYPE:" prefix must name t. On failure writes a reason to err
 * and returns false. */
bool cli_value_parse(graft_valtype t, const char *text, graft_val *out, char *err,
                     size_t err_len);
/* Format v as "type:value" into buf (at least 64 bytes hold any value). */
void cli_value_format(const graft_val *v, char *buf, size_t len);
/* Format a function type as "(i32, i64) -> (f32)". */
void cli_functype_format(const graft_functype *ft, char *buf, size_t len);

/* ---- sections.c -------------------------------------------------------------- */

/* The facts `inspect` reads from the raw bytes of an already-validated
 * module. Arrays are malloc'd; cli_layout_free releases them. */
typedef struct cli_section {
    uint8_t id;            /* section id [spec 5.5.2] */
    uint64_t offset;       /* of the contents */
    uint32_t size;         /* contents' size */
} cli_section;

typedef struct cli_table_def {
    graft_valtype elem;    /* funcref or externref */
    graft_limits limits;   /* in elements */
} cli_table_def;

typedef struct cli_global_def {
    graft_valtype type;    /* value type */
    bool mutable_;         /* declared mut */
} cli_global_def;

typedef struct cli_layout {
    cli_section *sections;      /* every section, in file order */
    uint32_t nsections;
    uint32_t ntypes;            /* entries of the type section */
    uint32_t nfuncs;            /* entries of the function section (defined) */
    graft_limits *memories;     /* defined memories, in pages */
    uint32_t nmemories;
    cli_table_def *tables;      /* defined tables */
    uint32_t ntables;
    cli_global_def *globals;    /* defined globals */
    uint32_t nglobals;
    uint32_t nelems;            /* element segments */
    uint32_t ndatas;            /* data segments */
    bool has_start;             /* a start section is present */
    uint32_t start;             /* its function index */
} cli_layout;

/* Walk bytes (a module graft_module_load accepted). Returns false with a
 * reason in err if the bytes do not parse, which for a loaded module means
 * this walker lacks a feature. */
bool cli_layout_read(const uint8_t *bytes, size_t len, cli_layout *out, char *err,
                     size_t err_len);
void cli_layout_free(cli_layout *l);
/* "type", "import", ... "custom" for a section id. */
const char *cli_section_name(uint8_t id);

/* ---- deadline.c --------------------------------------------------------------- */

/* A timer thread that calls graft_store_interrupt when ms milliseconds
 * have passed, unless stopped first. */
typedef struct cli_deadline {
    graft_store *store;      /* interrupted when the deadline passes */
    uint64_t ms;             /* the deadline, from start */
    pthread_t thread;
    pthread_mutex_t lock;    /* guards cancelled and fired */
    pthread_cond_t cond;     /* signalled by cli_deadline_stop */
    bool cancelled;          /* the run ended first */
    bool fired;              /* the deadline passed and the store was interrupted */
    bool running;            /* a thread exists */
} cli_deadline;

/* Start the timer; false (nothing to stop) when no thread can be made. */
bool cli_deadline_start(cli_deadline *d, graft_store *store, uint64_t ms);
/* Stop and join the timer; true when it had fired. Harmless when not started. */
bool cli_deadline_stop(cli_deadline *d);

/* ---- commands --------------------------------------------------------------- */

/* Each takes the words after the command name and returns an exit status. */
int cli_cmd_run(int argc, char **argv);
int cli_cmd_validate(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
/* cmd_bundle.c: keygen, pack, verify, inspect of signed bundles. */
int cli_cmd_bundle(int argc, char **argv);

#endif
