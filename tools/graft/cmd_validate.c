/* cmd_validate.c - `graft validate module.wasm`: decode and validate a
 * module and say "ok", or print the first error with its byte offset.
 *
 * Exit 0 when the module is valid, 1 when it is malformed or invalid (the
 * message is graft_env_error's, on stderr), 2 for usage errors and
 * unreadable files, 126 when the engine itself fails (out of memory). */
#include "cli.h"

#include <stdio.h>

int cli_cmd_validate(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        cli_error("usage: graft validate module.wasm");
        return CLI_EXIT_USAGE;
    }
    cli_loaded l;
    int status = cli_load_module(argv[0], CLI_EXIT_INVALID, false, &l);
    if (status != 0)
        return status;
    printf("ok\n");
    cli_unload_module(&l);
    return CLI_EXIT_OK;
}
