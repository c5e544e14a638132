/* module_file.c - reading module files and reporting errors, the same way
 * for every command.
 *
 * Messages go to stderr prefixed "graft: ". A load error shows the
 * engine's message (catalogue text and details) and, when the engine knows
 * it and the details do not already say it, the byte offset in the file,
 * in hex like wasm-objdump's offsets. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("graft: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_read_file(const char *path, uint8_t **out_bytes, size_t *out_len)
{
    *out_bytes = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("cannot read '%s': %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("cannot read '%s': %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                                                                      : "not a regular file");
        fclose(f);
        return false;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size : 1;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap || feof(f) || ferror(f))
            break;
        uint8_t *grown = realloc(buf, cap * 2); /* the file grew since fstat */
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    bool failed = !buf || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        cli_error("cannot read '%s': %s", path, buf ? strerror(saved) : "out of memory");
        free(buf);
        return false;
    }
    *out_bytes = buf;
    *out_len = len;
    return true;
}

static void print_load_error(const char *path, const graft_env *env)
{
    const graft_error *e = graft_env_error(env);
    char where[40] = "";
    if (e->offset != GRAFT_NO_OFFSET) {
        /* the engine's details may name the offset already; say it once */
        snprintf(where, sizeof where, "offset 0x%llx", (unsigned long long)e->offset);
        if (strstr(e->message, where))
            where[0] = '\0';
    }
    if (where[0])
        cli_error("%s: %s (at byte %s)", path, e->message, where);
    else
        cli_error("%s: %s", path, e->message);
}

int cli_load_module(const char *path, int invalid_status, bool unmetered, cli_loaded *out)
{
    memset(out, 0, sizeof *out);
    if (!cli_read_file(path, &out->bytes, &out->len))
        return CLI_EXIT_USAGE;
    graft_env_config cfg = {.unmetered = unmetered};
    if (graft_env_new(&cfg, &out->env) != GRAFT_OK) {
        cli_error("cannot create the engine environment");
        cli_unload_module(out);
        return CLI_EXIT_CANNOT_RUN;
    }
    graft_result r = graft_module_load(out->env, out->bytes, out->len, &out->module);
    if (r != GRAFT_OK) {
        print_load_error(path, out->env);
        cli_unload_module(out);
        return r == GRAFT_ERR_MALFORMED || r == GRAFT_ERR_INVALID ? invalid_status
                                                                   : CLI_EXIT_CANNOT_RUN;
    }
    return 0;
}

void cli_unload_module(cli_loaded *l)
{
    graft_module_free(l->module);
    graft_env_free(l->env);
    free(l->bytes);
    memset(l, 0, sizeof *l);
}
