/* cmd_bundle.c - `graft bundle keygen|pack|verify|inspect`: signed module
 * bundles from the command line (docs/cli.md, "graft bundle";
 * docs/bundle-format.md). The format and the trust decision are
 * src/bundle's pure functions; this file only moves bytes between files
 * and them.
 *
 * Key files are one line of text: "graft-bundle-secret-key-v1 HEX" (the
 * 64-byte libsodium secret key, mode 0600) and "graft-bundle-public-key-v1
 * HEX" (the 32-byte Ed25519 public key), so they survive copy and paste
 * and say what they are.
 *
 * Exit statuses: 0 done (verify: accepted), 1 verify refused the bundle
 * or inspect could not parse it, 2 usage or unreadable file, 126 the
 * crypto library failed. */
#include "bundle.h"
#include "cli.h"
#include "trust.h"

#include <jansson.h>
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECRET_TAG "graft-bundle-secret-key-v1 "
#define PUBLIC_TAG "graft-bundle-public-key-v1 "
#define MAX_TRUST 16

/* ---- files ----------------------------------------------------------------- */

/* Write len bytes to path (created with mode, never over an existing file
 * when exclusive). False after printing why. */
static bool write_file(const char *path, const void *bytes, size_t len, mode_t mode, bool exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), mode);
    if (fd < 0) {
        cli_error("cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    const uint8_t *p = bytes;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            cli_error("cannot write '%s': %s", path, strerror(errno));
            close(fd);
            return false;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0) {
        cli_error("cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    return true;
}

/* Read a key file: TAG then 2*len hex digits and an optional newline. */
static bool read_key(const char *path, const char *tag, uint8_t *out, size_t len)
{
    uint8_t *text;
    size_t n;
    if (!cli_read_file(path, &text, &n)) return false;
    size_t tl = strlen(tag);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
    size_t bin_len = 0;
    bool ok = n == tl + 2 * len && memcmp(text, tag, tl) == 0 &&
              sodium_hex2bin(out, len, (const char *)text + tl, 2 * len, NULL, &bin_len, NULL) == 0 &&
              bin_len == len;
    sodium_memzero(text, n);
    free(text);
    if (!ok) cli_error("'%s': not a key file (expected one line \"%sHEX\" of %zu hex digits)", path, tag, 2 * len);
    return ok;
}

/* ---- keygen -------------------------------------------------------------- */

typedef struct keygen_opts {
    const char *out;   /* --out: the secret key's path; the public key gets .pub */
} keygen_opts;

static bool set_keygen_out(void *o, const char *v) { ((keygen_opts *)o)->out = v; return true; }

static const cli_option keygen_table[] = {
    {"--out", "KEY", "secret key file (mode 0600); the public key goes to KEY.pub", set_keygen_out},
};

static int cmd_keygen(int argc, char **argv)
{
    keygen_opts o = { 0 };
    int i = 0;
    if (!cli_parse_options(keygen_table, 1, &o, argc, argv, &i)) return CLI_EXIT_USAGE;
    if (!o.out || i != argc) {
        cli_error("usage: graft bundle keygen --out KEY");
        return CLI_EXIT_USAGE;
    }
    uint8_t pk[BUNDLE_PUBLIC_KEY_LEN], sk[BUNDLE_SECRET_KEY_LEN];
    bundle_error e;
    if (bundle_keygen(pk, sk, &e) != BUNDLE_OK) {
        cli_error("%s", e.msg);
        return CLI_EXIT_CANNOT_RUN;
    }
    char line[sizeof SECRET_TAG + 2 * BUNDLE_SECRET_KEY_LEN + 2];
    char pub_path[4096];
    int rc = CLI_EXIT_USAGE;
    if (snprintf(pub_path, sizeof pub_path, "%s.pub", o.out) >= (int)sizeof pub_path) {
        cli_error("'%s': path too long", o.out);
        goto wipe;
    }
    memcpy(line, SECRET_TAG, strlen(SECRET_TAG));
    sodium_bin2hex(line + strlen(SECRET_TAG), 2 * BUNDLE_SECRET_KEY_LEN + 1, sk, sizeof sk);
    strcat(line, "\n");
    /* Exclusive: keygen never replaces a key that may have signed bundles. */
    if (!write_file(o.out, line, strlen(line), 0600, true)) goto wipe;
    snprintf(line, sizeof line, "%s", PUBLIC_TAG);
    sodium_bin2hex(line + strlen(PUBLIC_TAG), 2 * BUNDLE_PUBLIC_KEY_LEN + 1, pk, sizeof pk);
    strcat(line, "\n");
    if (!write_file(pub_path, line, strlen(line), 0644, true)) {
        unlink(o.out);
        goto wipe;
    }
    uint8_t id[BUNDLE_KEY_ID_LEN];
    char id_hex[2 * BUNDLE_KEY_ID_LEN + 1];
    bundle_key_id(pk, id);
    trust_key_id_hex(id, id_hex);
    printf("%s\n", id_hex);
    rc = CLI_EXIT_OK;
wipe:
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(line, sizeof line);
    return rc;
}

/* ---- pack -------------------------------------------------------------- */

typedef struct pack_opts {
    const char *key, *manifest, *wasm, *out;
} pack_opts;

static bool set_pack_key(void *o, const char *v) { ((pack_opts *)o)->key = v; return true; }
static bool set_pack_manifest(void *o, const char *v) { ((pack_opts *)o)->manifest = v; return true; }
static bool set_pack_wasm(void *o, const char *v) { ((pack_opts *)o)->wasm = v; return true; }
static bool set_pack_out(void *o, const char *v) { ((pack_opts *)o)->out = v; return true; }

static const cli_option pack_table[] = {
    {"--key", "KEY", "secret key file from `graft bundle keygen`", set_pack_key},
    {"--manifest", "M.json", "the module's manifest, with security_floor (docs/manifest.md)", set_pack_manifest},
    {"--wasm", "W.wasm", "the module", set_pack_wasm},
    {"-o", "B.gbundle", "the bundle to write", set_pack_out},
};

/* The manifest as signed: the author's, with wasm_sha256 and payload
 * filled in from the wasm. NULL after printing why; free() the result. */
static char *signed_manifest(const char *path, const uint8_t *wasm, size_t wasm_len)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        cli_error("%s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    char hex[2 * BUNDLE_SHA256_LEN + 1];
    bundle_sha256_hex(wasm, wasm_len, hex);
    char *text = NULL;
    json_t *given = json_is_object(root) ? json_object_get(root, "wasm_sha256") : NULL;
    if (given && (!json_is_string(given) || strcmp(json_string_value(given), hex) != 0)) {
        cli_error("%s: wasm_sha256 is not the SHA-256 of the wasm (%s)", path, hex);
        goto done;
    }
    if (json_is_object(root) && json_object_get(root, "payload")) {
        cli_error("%s: payload: written by `graft bundle pack`, not by the author", path);
        goto done;
    }
    if (json_is_object(root)) {
        json_object_set_new(root, "wasm_sha256", json_string(hex));
        json_object_set_new(root, "payload", json_pack("{s:s, s:I, s:I}", "encoding", "plain", "size",
                                                       (json_int_t)wasm_len, "decoded_size", (json_int_t)wasm_len));
    }
    text = json_dumps(root, JSON_INDENT(2));
done:
    json_decref(root);
    return text;
}

static int cmd_pack(int argc, char **argv)
{
    pack_opts o = { 0 };
    int i = 0;
    if (!cli_parse_options(pack_table, 4, &o, argc, argv, &i)) return CLI_EXIT_USAGE;
    if (!o.key || !o.manifest || !o.wasm || !o.out || i != argc) {
        cli_error("usage: graft bundle pack --key KEY --manifest M.json --wasm W.wasm -o B.gbundle");
        return CLI_EXIT_USAGE;
    }
    uint8_t sk[BUNDLE_SECRET_KEY_LEN];
    uint8_t *wasm = NULL, *out = NULL;
    char *json = NULL;
    size_t wasm_len = 0, out_len = 0;
    int rc = CLI_EXIT_USAGE;
    if (sodium_init() < 0) return CLI_EXIT_CANNOT_RUN;
    if (!read_key(o.key, SECRET_TAG, sk, sizeof sk)) goto done;
    if (!cli_read_file(o.wasm, &wasm, &wasm_len)) goto done;
    if (!(json = signed_manifest(o.manifest, wasm, wasm_len))) goto done;
    /* Check what the device will check, so a bad manifest fails here. */
    bundle_manifest bm;
    bundle_error e;
    if (bundle_manifest_parse(json, strlen(json), o.manifest, &bm, &e) != BUNDLE_OK) {
        cli_error("%s", e.msg);
        goto done;
    }
    bundle_manifest_free(&bm);
    size_t cap = bundle_packed_len(strlen(json), wasm_len);
    if (!cap) {
        cli_error("manifest of %zu bytes (at most %u) or wasm of %zu bytes (at most %u)", strlen(json),
                  BUNDLE_MANIFEST_MAX, wasm_len, BUNDLE_PAYLOAD_MAX);
        goto done;
    }
    out = malloc(cap);
    if (!out || bundle_pack(json, strlen(json), wasm, wasm_len, sk, out, cap, &out_len, &e) != BUNDLE_OK) {
        cli_error("%s", out ? e.msg : "out of memory");
        rc = CLI_EXIT_CANNOT_RUN;
        goto done;
    }
    if (!write_file(o.out, out, out_len, 0644, false)) goto done;
    rc = CLI_EXIT_OK;
done:
    sodium_memzero(sk, sizeof sk);
    free(json);
    free(wasm);
    free(out);
    return rc;
}

/* ---- verify ------------------------------------------------------------ */

typedef struct verify_opts {
    const char *trust[MAX_TRUST];   /* --trust FILE[:MODULE,...] */
    size_t ntrust;
    const char *module;             /* --module NAME */
    int64_t now;                    /* --now SECONDS; -1: the wall clock */
} verify_opts;

static bool set_verify_trust(void *o, const char *v)
{
    verify_opts *vo = o;
    if (vo->ntrust == MAX_TRUST) {
        cli_error("at most %d --trust keys", MAX_TRUST);
        return false;
    }
    vo->trust[vo->ntrust++] = v;
    return true;
}
static bool set_verify_module(void *o, const char *v) { ((verify_opts *)o)->module = v; return true; }
static bool set_verify_now(void *o, const char *v)
{
    char *end;
    errno = 0;
    long long t = strtoll(v, &end, 10);
    if (errno || *end || end == v || t < 0) {
        cli_error("--now: expected Unix seconds, not '%s'", v);
        return false;
    }
    ((verify_opts *)o)->now = t;
    return true;
}

static const cli_option verify_table[] = {
    {"--trust", "PUBKEY[:MODULE,...]", "a trusted public key, optionally only for these manifest names (repeatable)",
     set_verify_trust},
    {"--module", "NAME", "the manifest name the bundle must have", set_verify_module},
    {"--now", "SECONDS", "the time to check expiry against (default: the clock)", set_verify_now},
};

/* Fill key k from "FILE[:MODULE,...]"; scopes (a copy of the list) points
 * into *scope_text, which the caller frees. */
static bool load_trust(const char *arg, trust_key *k, char **scope_text, const char **scopes, size_t max_scopes)
{
    const char *colon = strrchr(arg, ':');
    char path[4096];
    size_t plen = colon ? (size_t)(colon - arg) : strlen(arg);
    if (plen >= sizeof path) {
        cli_error("'%s': path too long", arg);
        return false;
    }
    memcpy(path, arg, plen);
    path[plen] = '\0';
    memset(k, 0, sizeof *k);
    if (!read_key(path, PUBLIC_TAG, k->public_key, sizeof k->public_key)) return false;
    bundle_key_id(k->public_key, k->id);
    if (!colon) {
        k->any_module = true;
        return true;
    }
    *scope_text = strdup(colon + 1);
    if (!*scope_text) return false;
    for (char *save = NULL, *t = strtok_r(*scope_text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (k->scope_count == max_scopes) {
            cli_error("'%s': at most %zu module names per key", arg, max_scopes);
            return false;
        }
        scopes[k->scope_count++] = t;
    }
    k->scopes = scopes;
    return true;
}

static int cmd_verify(int argc, char **argv)
{
    enum { MAX_SCOPES = 32 };
    verify_opts o = { .now = -1 };
    int i = 0;
    if (!cli_parse_options(verify_table, 3, &o, argc, argv, &i)) return CLI_EXIT_USAGE;
    if (!o.ntrust || i != argc - 1) {
        cli_error("usage: graft bundle verify --trust PUBKEY[:MODULE,...]... [--module NAME] [--now SECONDS] B.gbundle");
        return CLI_EXIT_USAGE;
    }
    trust_key keys[MAX_TRUST];
    char *scope_text[MAX_TRUST] = { 0 };
    static const char *scopes[MAX_TRUST][MAX_SCOPES];
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = CLI_EXIT_USAGE;
    if (sodium_init() < 0) return CLI_EXIT_CANNOT_RUN;
    for (size_t k = 0; k < o.ntrust; k++)
        if (!load_trust(o.trust[k], &keys[k], &scope_text[k], scopes[k], MAX_SCOPES)) goto done;
    if (!cli_read_file(argv[i], &bytes, &len)) goto done;
    trust_store store = { keys, o.ntrust };
    trust_state state = { 0 };   /* a fresh device: no floor, nothing running */
    trust_request req = { .module = o.module, .now = o.now >= 0 ? o.now : (int64_t)time(NULL) };
    bundle_manifest bm;
    bundle_view v;
    bundle_error e;
    bundle_status s = trust_check(&store, &state, &req, bytes, len, &bm, &v, &e);
    if (s == BUNDLE_OK) {
        char id[2 * BUNDLE_KEY_ID_LEN + 1];
        trust_key_id_hex(v.header.key_id, id);
        printf("accepted: %s %s (key %s, floor %s, wasm %s)\n", bm.m.name, bm.m.version, id, bm.security_floor,
               bm.m.wasm_sha256);
        rc = CLI_EXIT_OK;
    } else if (s == BUNDLE_ERR_CRYPTO || s == BUNDLE_ERR_ARGUMENT) {
        cli_error("%s", e.msg);
        rc = CLI_EXIT_CANNOT_RUN;
    } else {
        printf("refused: %s\n", e.msg);
        rc = CLI_EXIT_INVALID;
    }
    bundle_manifest_free(&bm);
done:
    for (size_t k = 0; k < MAX_TRUST; k++) free(scope_text[k]);
    free(bytes);
    return rc;
}

/* ---- inspect ----------------------------------------------------------- */

static int cmd_inspect(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-') {
        cli_error("usage: graft bundle inspect B.gbundle");
        return CLI_EXIT_USAGE;
    }
    uint8_t *bytes;
    size_t len;
    if (!cli_read_file(argv[0], &bytes, &len)) return CLI_EXIT_USAGE;
    bundle_view v;
    bundle_error e;
    if (bundle_parse(bytes, len, &v, &e) != BUNDLE_OK) {
        printf("%s: %s\n", argv[0], e.msg);
        free(bytes);
        return CLI_EXIT_INVALID;
    }
    char id[2 * BUNDLE_KEY_ID_LEN + 1], hex[2 * BUNDLE_SHA256_LEN + 1];
    trust_key_id_hex(v.header.key_id, id);
    bundle_sha256_hex(v.payload, v.payload_len, hex);
    printf("format version:  %u\n", v.header.format_version);
    printf("flags:           0x%08x\n", (unsigned)v.header.flags);
    printf("key id:          %s\n", id);
    printf("manifest:        %zu bytes\n", v.manifest_len);
    printf("native objects:  %zu bytes\n", v.natives_len);
    printf("payload:         %zu bytes, sha256 %s\n", v.payload_len, hex);
    printf("total:           %zu bytes\n", len);
    /* Not verified: inspect has no trust store. Printed as the bytes are. */
    printf("manifest (unverified):\n%.*s\n", (int)v.manifest_len, v.manifest);
    free(bytes);
    return CLI_EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage:\n"
               "  graft bundle keygen --out KEY\n"
               "  graft bundle pack --key KEY --manifest M.json --wasm W.wasm -o B.gbundle\n"
               "  graft bundle verify --trust PUBKEY[:MODULE,...]... [--module NAME] [--now SECONDS] B.gbundle\n"
               "  graft bundle inspect B.gbundle\n"
               "exit statuses: 0 ok (verify: accepted), 1 verify refused or inspect cannot parse,\n"
               "2 usage error or unreadable file, 126 the crypto library failed. See docs/cli.md.\n");
}

int cli_cmd_bundle(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "keygen")) return cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(sub, "pack")) return cmd_pack(argc - 1, argv + 1);
    if (!strcmp(sub, "verify")) return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(sub, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(sub, "help") || !strcmp(sub, "--help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_error("unknown bundle command '%s'", sub);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
