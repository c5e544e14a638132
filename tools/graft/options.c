/* options.c - table-driven flag parsing for the graft commands.
 *
 * A command describes its flags as an array of cli_option rows (name,
 * metavar, help, apply callback) and owns an option struct that the
 * callbacks fill. Adding a flag (--fuel, --timeout, ...) is one row, one
 * callback and one field; the parser, the error messages and the help
 * listing follow from the table. Flags come before the module path; the
 * words after it belong to the guest, so "graft run m.wasm --dir x" passes
 * "--dir" and "x" to the guest. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_option *find_option(const cli_option *table, size_t count, const char *name,
                                     size_t name_len)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(table[i].name) == name_len && !memcmp(table[i].name, name, name_len))
            return &table[i];
    return NULL;
}

bool cli_parse_options(const cli_option *table, size_t count, void *opts, int argc,
                       char **argv, int *index)
{
    int i = *index;
    while (i < argc) {
        const char *word = argv[i];
        if (word[0] != '-' || word[1] == '\0')
            break; /* the first operand */
        if (!strcmp(word, "--")) {
            i++;
            break;
        }
        const char *eq = strchr(word, '=');
        size_t name_len = eq ? (size_t)(eq - word) : strlen(word);
        const cli_option *opt = find_option(table, count, word, name_len);
        if (!opt) {
            cli_error("unknown flag '%.*s'", (int)name_len, word);
            return false;
        }
        const char *value = NULL;
        if (opt->metavar) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                cli_error("flag '%s' needs a value: %s %s", opt->name, opt->name, opt->metavar);
                return false;
            }
        } else if (eq) {
            cli_error("flag '%s' takes no value", opt->name);
            return false;
        }
        if (!opt->apply(opts, value))
            return false;
        i++;
    }
    *index = i;
    return true;
}

void cli_print_options(const cli_option *table, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", table[i].name, table[i].metavar ? " " : "",
                 table[i].metavar ? table[i].metavar : "");
        printf("  %-26s %s\n", left, table[i].help);
    }
}
