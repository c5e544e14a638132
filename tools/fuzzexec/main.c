/* main.c - graft-fuzz-exec, the differential fuzzing harness's entry point.
 *
 *   graft-fuzz-exec --bytes SEED        write the random input bytes for SEED
 *                                       (the input of `wasm-opt -ttf`) to stdout
 *   graft-fuzz-exec MODULE.wasm         run the module's exports, print events
 *   graft-fuzz-exec MODULE.wasm REF     ... and compare with binaryen's
 *                                       --fuzz-exec output in the file REF
 *
 * Every module runs twice: compiled metered (with fuel) and unmetered
 * (graft_env_config.unmetered, as `graft run` runs without --fuel; issue
 * 11 was a compiler crash only unmetered code reached). The two runs must
 * produce the same events, bit for bit and down to the trap backtraces,
 * and each must match binaryen's. The unmetered run, which has no fuel,
 * is made only when the metered one finished within its fuel.
 *
 * Exit status: 0 match (or ran), 1 divergence (from binaryen, or between
 * the metered and the unmetered run), 2 skipped (out of fuel or
 * a reference host limit was hit), 3 the module failed to load or link
 * (also a divergence: binaryen only emits valid modules). The last line on
 * stdout is always "fuzz-exec: STATUS calls=N values=N traps=N nan=N".
 *
 * The byte generator is splitmix64, so a seed names the same bytes on
 * every machine; the length is 1 KiB to 17 KiB, chosen by the seed. */
#include "fuzzexec.h"

#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int write_bytes(const char *seed_text)
{
    uint64_t state = strtoull(seed_text, NULL, 10);
    size_t len = 1024 + (size_t)(splitmix64(&state) % 16384);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = splitmix64(&state);
        size_t n = len - i < 8 ? len - i : 8;
        if (fwrite(&w, 1, n, stdout) != n) return 3;
    }
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static void print_events(const fx_events *ev)
{
    for (size_t i = 0; i < ev->count; i++) {
        const fx_event *e = &ev->items[i];
        switch (e->kind) {
        case FX_CALL: printf("call %s\n", e->name); break;
        case FX_TRAP: printf("trap %s\n", e->message); break;
        case FX_INST_TRAP: printf("instantiation trap %s\n", e->message); break;
        case FX_LOG:
        case FX_RESULT:
            printf(e->kind == FX_LOG ? "log" : "result");
            for (uint32_t k = 0; k < e->nvals; k++) {
                printf(" ");
                fx_print_val(stdout, &e->vals[k]);
            }
            printf("\n");
            break;
        }
    }
}

static int run(const char *module_path, const char *ref_path)
{
    size_t len, rlen;
    char *bytes = read_all(module_path, &len);
    if (!bytes) {
        fprintf(stderr, "graft-fuzz-exec: cannot read %s\n", module_path);
        return 3;
    }
    char *ref = ref_path ? read_all(ref_path, &rlen) : NULL;
    if (ref_path && !ref) {
        fprintf(stderr, "graft-fuzz-exec: cannot read %s\n", ref_path);
        free(bytes);
        return 3;
    }
    fx_events ev = {0};
    char why[512] = "";
    fx_counts c = {0};
    fx_events uev = {0};
    fx_status st = fx_run((const uint8_t *)bytes, len, false, &ev, why, sizeof why);
    if (st == FX_DONE) {
        st = fx_run((const uint8_t *)bytes, len, true, &uev, why, sizeof why);
        if (st != FX_DONE) {
            printf("unmetered: %s\n", why);
            st = FX_FAILED;
        } else if (fx_events_differ(&ev, &uev, stdout)) {
            printf("DIVERGE: the metered and the unmetered run differ\n");
            st = FX_DIVERGE;
        }
    } else {
        printf("%s\n", why);
    }
    int rc = (int)st;
    if (st == FX_DONE && ref) {
        rc = fx_compare(&ev, ref, &c);
        fx_counts uc = {0};
        if (rc == 0) rc = fx_compare(&uev, ref, &uc);
    } else if (st == FX_DONE) {
        print_events(&ev);
    }
    static const char *const names[] = {"match", "DIVERGE", "skip", "FAILED"};
    printf("fuzz-exec: %s calls=%u values=%u traps=%u nan=%u\n", names[rc], c.calls, c.values,
           c.traps, c.nan_norm);
    fx_events_free(&ev);
    fx_events_free(&uev);
    free(ref);
    free(bytes);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--bytes") == 0) return write_bytes(argv[2]);
    if (argc == 2 || argc == 3) return run(argv[1], argc == 3 ? argv[2] : NULL);
    fprintf(stderr, "usage: graft-fuzz-exec --bytes SEED | MODULE.wasm [BINARYEN_OUTPUT]\n");
    return 3;
}
