/* cmd_validate.c - `graft validate module.wasm`: decode and validate a
 * module and say "ok", or print the first error with its byte offset.
 *
 * Exit 0 when the module is valid, 1 when it is malformed or invalid (the
 * message is graft_env_error's, on stderr), 2 for usage errors and
 * unreadable files, 126 when the engine itself fails (out of memory). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

int cli_cmd_validate(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        cli_error("usage: graft validate module.wasm");
        return CLI_EXIT_USAGE;
    }
    const char *path = argv[0];
    uint8_t *bytes;
    size_t len;
    if (!cli_read_file(path, &bytes, &len))
        return CLI_EXIT_USAGE;
    graft_env *env = NULL;
    if (graft_env_new(NULL, &env) != GRAFT_OK) {
        cli_error("cannot create the engine environment");
        free(bytes);
        return CLI_EXIT_CANNOT_RUN;
    }
    graft_module *m = NULL;
    graft_result r = graft_module_load(env, bytes, len, &m);
    int status = CLI_EXIT_OK;
    if (r == GRAFT_OK) {
        printf("ok\n");
        graft_module_free(m);
    } else {
        cli_print_load_error(path, env);
        status = (r == GRAFT_ERR_MALFORMED || r == GRAFT_ERR_INVALID) ? CLI_EXIT_INVALID
                                                                       : CLI_EXIT_CANNOT_RUN;
    }
    graft_env_free(env);
    free(bytes);
    return status;
}
