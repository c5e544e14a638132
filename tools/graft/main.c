/* main.c - the graft command-line tool's entry point: maps the first word
 * of the command line to a command and prints the version and the help.
 *
 * Commands live in their own files (cmd_*.c) and return the process's exit
 * status; see cli.h for the statuses and docs/cli.md for the reference. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;                   /* word after "graft" */
    int (*run)(int argc, char **argv);  /* gets the words after the name */
    const char *usage;                  /* synopsis for the help */
} command;

static const command commands[] = {
    {"run", cli_cmd_run,
     "run [--dir HOST[:GUEST[:ro]]]... [--env K=V]... [--invoke NAME] module.wasm [ARGS...]"},
    {"validate", cli_cmd_validate, "validate module.wasm"},
    {"inspect", cli_cmd_inspect, "inspect module.wasm"},
    {"bundle", cli_cmd_bundle, "bundle keygen|pack|verify|inspect ... (`graft bundle help`)"},
};

static void print_help(void)
{
    printf("graft %s - run and examine WebAssembly modules\n\nusage:\n", GRAFT_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  graft %s\n", commands[i].usage);
    printf("  graft help | --help\n  graft --version\n\n");
    printf("`graft run` runs a WASI command (_start) or, with --invoke, calls one export\n"
           "and prints its results as type:value lines. `graft help run` lists its flags.\n\n");
    printf("exit statuses: the guest's exit code (0..125; larger codes exit 125), 1 module\n"
           "rejected by validate, 2 usage error or missing file, 126 module could not be\n"
           "run, 134 the guest trapped, 142 --timeout passed, 152 --fuel ran out.\n"
           "See docs/cli.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help();
        return CLI_EXIT_USAGE;
    }
    const char *word = argv[1];
    if (!strcmp(word, "--version") || !strcmp(word, "version")) {
        printf("graft %s\n", GRAFT_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    if (!strcmp(word, "help") || !strcmp(word, "--help") || !strcmp(word, "-h")) {
        if (argc > 2 && !strcmp(argv[2], "run")) {
            char *help_argv[] = {"--help", NULL};
            return cli_cmd_run(1, help_argv);
        }
        print_help();
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(word, commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    cli_error("unknown command '%s' (try 'graft help')", word);
    return CLI_EXIT_USAGE;
}
