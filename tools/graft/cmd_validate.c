/* cmd_validate.c - `graft validate module.wasm`: decode, validate and
 * compile a module and say "ok", or print the first error with its byte
 * offset.
 *
 * The engine validates and compiles each function in one pass, so loading
 * is compiling; validate loads the module both ways `graft run` can: metered
 * (for --fuel) and unmetered (graft_env_config.unmetered, the default of
 * `run`). Their code differs, and issue 11 was a module that validated
 * (metered) and then crashed the compiler under `graft run` (unmetered):
 * "ok" means that `run` will load it either way.
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
    for (int unmetered = 0; unmetered <= 1; unmetered++) {
        cli_loaded l;
        int status = cli_load_module(argv[0], CLI_EXIT_INVALID, unmetered, &l);
        if (status != 0)
            return status;
        cli_unload_module(&l);
    }
    printf("ok\n");
    return CLI_EXIT_OK;
}
