/* cmd_inspect.c - `graft inspect module.wasm`: what a module imports and
 * exports (with types), its memories, tables and globals with their
 * limits, its custom sections, function count and code sizes.
 *
 * Imports, exports, custom sections and code sizes come from the engine's
 * module API; the definitions the API does not list come from sections.c's
 * walk over the same bytes. The output is line-oriented and stable (the
 * e2e tests grep it); docs/cli.md shows an example. Names are printed with
 * bytes outside printable ASCII escaped as \xNN. */
#include "cli.h"

#include <stdio.h>

static void print_name(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
}

static void print_limits(graft_limits l, const char *unit)
{
    printf("min %u%s", l.min, unit);
    if (l.has_max)
        printf(", max %u%s", l.max, unit);
    else
        printf(", no max");
}

static const char *kind_name(graft_extern_kind k)
{
    switch (k) {
    case GRAFT_EXTERN_FUNC: return "func";
    case GRAFT_EXTERN_TABLE: return "table";
    case GRAFT_EXTERN_MEMORY: return "memory";
    case GRAFT_EXTERN_GLOBAL: return "global";
    }
    return "?";
}

/* The type part of an import or export line. */
static void print_desc_type(const graft_extern_desc *d)
{
    char buf[512];
    switch (d->kind) {
    case GRAFT_EXTERN_FUNC:
        cli_functype_format(&d->func, buf, sizeof buf);
        printf("%s", buf);
        break;
    case GRAFT_EXTERN_TABLE:
        printf("%s ", graft_valtype_name(d->elem_type));
        print_limits(d->limits, "");
        break;
    case GRAFT_EXTERN_MEMORY:
        print_limits(d->limits, " pages");
        break;
    case GRAFT_EXTERN_GLOBAL:
        printf("%s%s", d->global_mutable ? "mut " : "", graft_valtype_name(d->global_type));
        break;
    }
}

/* Imports, and how many of each kind (the index spaces start with them). */
static void print_imports(const graft_module *m, uint32_t counts[4])
{
    uint32_t n = graft_module_import_count(m);
    printf("imports: %u\n", n);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_import(m, i, &d);
        printf("  %s[%u] ", kind_name(d.kind), d.index);
        print_name(d.module, d.module_len);
        putchar('.');
        print_name(d.name, d.name_len);
        printf(": ");
        print_desc_type(&d);
        putchar('\n');
        if ((unsigned)d.kind < 4)
            counts[d.kind]++;
    }
}

static void print_exports(const graft_module *m)
{
    uint32_t n = graft_module_export_count(m);
    printf("exports: %u\n", n);
    for (uint32_t i = 0; i < n; i++) {
        graft_extern_desc d;
        graft_module_export(m, i, &d);
        printf("  %s[%u] \"", kind_name(d.kind), d.index);
        print_name(d.name, d.name_len);
        printf("\": ");
        print_desc_type(&d);
        putchar('\n');
    }
}

static void print_definitions(const graft_module *m, const cli_layout *l,
                              const uint32_t imported[4])
{
    printf("memories: %u imported, %u defined\n", imported[GRAFT_EXTERN_MEMORY], l->nmemories);
    for (uint32_t i = 0; i < l->nmemories; i++) {
        printf("  memory[%u]: ", imported[GRAFT_EXTERN_MEMORY] + i);
        print_limits(l->memories[i], " pages");
        putchar('\n');
    }
    printf("tables: %u imported, %u defined\n", imported[GRAFT_EXTERN_TABLE], l->ntables);
    for (uint32_t i = 0; i < l->ntables; i++) {
        printf("  table[%u]: %s ", imported[GRAFT_EXTERN_TABLE] + i,
               graft_valtype_name(l->tables[i].elem));
        print_limits(l->tables[i].limits, "");
        putchar('\n');
    }
    printf("globals: %u imported, %u defined\n", imported[GRAFT_EXTERN_GLOBAL], l->nglobals);
    for (uint32_t i = 0; i < l->nglobals; i++)
        printf("  global[%u]: %s%s\n", imported[GRAFT_EXTERN_GLOBAL] + i,
               l->globals[i].mutable_ ? "mut " : "", graft_valtype_name(l->globals[i].type));
    printf("functions: %u (%u imported, %u defined)\n", imported[GRAFT_EXTERN_FUNC] + l->nfuncs,
           imported[GRAFT_EXTERN_FUNC], l->nfuncs);
    if (l->has_start) {
        size_t name_len = 0;
        const char *name = graft_module_func_name(m, l->start, &name_len);
        printf("start: func[%u]", l->start);
        if (name) {
            printf(" ");
            print_name(name, name_len);
        }
        putchar('\n');
    }
    printf("types: %u, element segments: %u, data segments: %u\n", l->ntypes, l->nelems,
           l->ndatas);
}

static void print_sections(const graft_module *m, const cli_layout *l)
{
    printf("sections: %u\n", l->nsections);
    for (uint32_t i = 0; i < l->nsections; i++)
        printf("  %-9s offset 0x%llx, %u bytes\n", cli_section_name(l->sections[i].id),
               (unsigned long long)l->sections[i].offset, l->sections[i].size);
    uint32_t n = graft_module_custom_count(m);
    printf("custom sections: %u\n", n);
    for (uint32_t i = 0; i < n; i++) {
        graft_custom_section c;
        graft_module_custom(m, i, &c);
        printf("  \"");
        print_name(c.name, c.name_len);
        printf("\": %u bytes\n", c.size);
    }
    size_t internal = 0, wasm = 0;
    graft_module_code_size(m, &internal, &wasm);
    printf("code section: %zu bytes\ninternal code: %zu bytes\n", wasm, internal);
}

int cli_cmd_inspect(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        cli_error("usage: graft inspect module.wasm");
        return CLI_EXIT_USAGE;
    }
    const char *path = argv[0];
    cli_loaded l;
    int status = cli_load_module(path, CLI_EXIT_INVALID, false, &l);
    if (status != 0)
        return status;
    cli_layout layout;
    char err[256];
    if (!cli_layout_read(l.bytes, l.len, &layout, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        cli_unload_module(&l);
        return CLI_EXIT_CANNOT_RUN;
    }
    uint32_t imported[4] = {0, 0, 0, 0};
    printf("module: %s (%zu bytes)\n", path, l.len);
    print_imports(l.module, imported);
    print_exports(l.module);
    print_definitions(l.module, &layout, imported);
    print_sections(l.module, &layout);
    cli_layout_free(&layout);
    cli_unload_module(&l);
    return CLI_EXIT_OK;
}
