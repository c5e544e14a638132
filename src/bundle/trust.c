/* trust.c - the device's decision on a bundle (docs/ota.md, "Verification
 * order") and the bundle's manifest (docs/bundle-format.md, "The signed
 * manifest").
 *
 * The manifest is split in two: the bundle-only keys (`security_floor`,
 * `expires`, `payload`) are checked here and removed, and the rest goes to
 * the agent's manifest parser unchanged, so a bundle's manifest means what
 * the same manifest beside a wasm file means. Nothing is parsed before the
 * signature over it has been checked. */
#include "trust.h"

#include <jansson.h>

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trust_key_id_hex(const uint8_t id[BUNDLE_KEY_ID_LEN], char out[2 * BUNDLE_KEY_ID_LEN + 1])
{
    sodium_bin2hex(out, 2 * BUNDLE_KEY_ID_LEN + 1, id, BUNDLE_KEY_ID_LEN);   /* as bundle_sha256_hex */
}

/* ---- the signed manifest ---------------------------------------------- */

/* `payload`: what the payload bytes are and what they decode to. Only
 * "plain" is read today; "zstd" and "delta" (with `base_sha256`) are the
 * next issue's, and are refused by name so an older reader never guesses. */
static bool parse_payload(mjson_ctx *c, json_t *root, bundle_manifest *bm)
{
    static const char *const keys[] = { "encoding", "size", "decoded_size", "base_sha256", NULL };
    json_t *p = json_object_get(root, "payload");
    if (!p) return mjson_fail(c, "missing key \"payload\" (required in a bundle's manifest)");
    size_t old = mjson_push_key(c, "payload");
    if (!mjson_object(c, p, keys)) return false;
    if (!mjson_req_string(c, p, "encoding", bm->encoding, sizeof bm->encoding)) return false;
    if (strcmp(bm->encoding, "plain") != 0) {
        mjson_push_key(c, "encoding");
        return mjson_fail(c, "\"%s\" is not an encoding this reader knows (only \"plain\")", bm->encoding);
    }
    if (json_object_get(p, "base_sha256")) {
        mjson_push_key(c, "base_sha256");
        return mjson_fail(c, "only a \"delta\" payload has a base");
    }
    static const char *const sizes[] = { "size", "decoded_size" };
    uint64_t *outs[] = { &bm->payload_size, &bm->decoded_size };
    for (size_t i = 0; i < 2; i++) {
        if (!json_object_get(p, sizes[i])) return mjson_fail(c, "missing key \"%s\"", sizes[i]);
        if (!mjson_opt_uint(c, p, sizes[i], BUNDLE_PAYLOAD_MAX, outs[i])) return false;
    }
    if (bm->decoded_size != bm->payload_size) {
        mjson_push_key(c, "decoded_size");
        return mjson_fail(c, "expected %" PRIu64 " (a plain payload is the wasm itself)", bm->payload_size);
    }
    mjson_pop(c, old);
    return true;
}

/* security_floor, expires and payload from root; false with the error. */
static bool parse_bundle_keys(mjson_ctx *c, json_t *root, bundle_manifest *bm)
{
    if (!json_object_get(root, "security_floor"))
        return mjson_fail(c, "missing key \"security_floor\" (required in a bundle's manifest)");
    if (!mjson_req_string(c, root, "security_floor", bm->security_floor, sizeof bm->security_floor)) return false;
    const char *why;
    if (!semver_parse(bm->security_floor, &bm->floor, &why)) {
        mjson_push_key(c, "security_floor");
        return mjson_fail(c, "\"%s\" is not a semantic version: %s", bm->security_floor, why);
    }
    if (json_object_get(root, "expires")) {
        uint64_t e = 0;
        if (!mjson_opt_uint(c, root, "expires", (uint64_t)BUNDLE_EXPIRES_MAX, &e)) return false;
        bm->has_expires = true;
        bm->expires = (int64_t)e;
    }
    return parse_payload(c, root, bm);
}

bundle_status bundle_manifest_parse(const char *json, size_t len, const char *origin, bundle_manifest *out,
                                    bundle_error *err)
{
    char msg[sizeof ((bundle_error *)0)->msg - 16];
    mjson_ctx c = { .origin = origin ? origin : "<manifest>", .err = msg, .err_cap = sizeof msg };
    memset(out, 0, sizeof *out);
    msg[0] = '\0';
    json_t *root = mjson_load(&c, json, len);
    json_t *rest = NULL;
    char *text = NULL;
    bool ok = false;
    if (!root) goto done;
    if (!json_is_object(root)) {
        mjson_fail(&c, "expected an object");
        goto done;
    }
    /* The agent's parser refuses unknown keys, so it gets the manifest
     * without the bundle's own (a shallow copy: the values are shared). */
    rest = json_copy(root);
    if (!rest) goto out_of_memory;
    json_object_del(rest, "security_floor");
    json_object_del(rest, "expires");
    json_object_del(rest, "payload");
    text = json_dumps(rest, JSON_COMPACT);
    if (!text) goto out_of_memory;
    if (!manifest_parse_string(text, strlen(text), c.origin, &out->m, msg, sizeof msg)) goto done;
    if (!out->m.wasm_sha256[0]) {
        mjson_fail(&c, "missing key \"wasm_sha256\" (required in a bundle's manifest)");
        goto done;
    }
    if (!parse_bundle_keys(&c, root, out)) goto done;
    if (semver_compare(&out->floor, &out->m.semver) > 0) {
        mjson_push_key(&c, "security_floor");
        mjson_fail(&c, "%s is above the version %s (the bundle could never be installed)", out->security_floor,
                   out->m.version);
        goto done;
    }
    ok = true;
    goto done;
out_of_memory:
    snprintf(msg, sizeof msg, "%s: out of memory", c.origin);
done:
    free(text);
    json_decref(rest);
    json_decref(root);
    if (ok) return bundle_fail(err, BUNDLE_OK, "%s", "");
    bundle_manifest_free(out);
    return bundle_fail(err, BUNDLE_BAD_MANIFEST, "bad manifest: %s", msg);
}

void bundle_manifest_free(bundle_manifest *bm)
{
    if (!bm) return;
    manifest_free(&bm->m);
    memset(bm, 0, sizeof *bm);
}

/* ---- the decision ----------------------------------------------------- */

static const trust_key *find_key(const trust_store *store, const uint8_t id[BUNDLE_KEY_ID_LEN])
{
    for (size_t i = 0; store && i < store->count; i++)
        if (memcmp(store->keys[i].id, id, BUNDLE_KEY_ID_LEN) == 0) return &store->keys[i];
    return NULL;
}

static bool key_may_sign(const trust_key *k, const char *name)
{
    if (k->any_module) return true;
    for (size_t i = 0; i < k->scope_count; i++)
        if (k->scopes[i] && strcmp(k->scopes[i], name) == 0) return true;
    return false;
}

/* Steps 5 to 9 of docs/ota.md over an authenticated, parsed manifest. */
static bundle_status check_manifest(const trust_key *key, const trust_state *st, const trust_request *req,
                                    const bundle_view *v, const bundle_manifest *bm, bundle_error *err)
{
    const manifest *m = &bm->m;
    char id[2 * BUNDLE_KEY_ID_LEN + 1];
    trust_key_id_hex(key->id, id);
    if (!key_may_sign(key, m->name))
        return bundle_fail(err, BUNDLE_KEY_NOT_ALLOWED, "key not allowed for this module: key %s may not sign \"%s\"",
                           id, m->name);
    if (req->module && strcmp(req->module, m->name) != 0)
        return bundle_fail(err, BUNDLE_WRONG_MODULE, "not for this module: the bundle is \"%s\", expected \"%s\"",
                           m->name, req->module);
    if (v->payload_len != bm->payload_size)
        return bundle_fail(err, BUNDLE_HASH_MISMATCH, "hash mismatch: the payload is %zu bytes, the manifest says %" PRIu64,
                           v->payload_len, bm->payload_size);
    char hex[2 * BUNDLE_SHA256_LEN + 1];
    bundle_sha256_hex(v->payload, v->payload_len, hex);
    if (strcmp(hex, m->wasm_sha256) != 0)
        return bundle_fail(err, BUNDLE_HASH_MISMATCH, "hash mismatch: the payload's SHA-256 is %s, the manifest says %s",
                           hex, m->wasm_sha256);
    if (st && st->has_floor && semver_compare(&m->semver, &st->floor) < 0)
        return bundle_fail(err, BUNDLE_BELOW_FLOOR,
                           "below the security floor: version %s, the floor is %" PRIu64 ".%" PRIu64 ".%" PRIu64 "%s%s",
                           m->version, st->floor.major, st->floor.minor, st->floor.patch, st->floor.pre[0] ? "-" : "",
                           st->floor.pre);
    if (st && st->has_running) {
        int c = semver_compare(&m->semver, &st->running);
        if (c < 0 && !req->rollback)
            return bundle_fail(err, BUNDLE_OLDER,
                               "older than the running version: %s < %" PRIu64 ".%" PRIu64 ".%" PRIu64 "%s%s",
                               m->version, st->running.major, st->running.minor, st->running.patch,
                               st->running.pre[0] ? "-" : "", st->running.pre);
        if (c == 0 && strcmp(st->running_sha256, m->wasm_sha256) != 0)
            return bundle_fail(err, BUNDLE_SAME_VERSION_OTHER_HASH,
                               "same version with a different hash: %s runs as %.16s..., the bundle has %.16s...",
                               m->version, st->running_sha256, m->wasm_sha256);
    }
    /* The trusted time never goes back, even when the wall clock reads
     * 1970 before a sync [ota.md "the trusted clock"]. */
    int64_t now = req->now;
    if (st && st->newest_time_seen > now) now = st->newest_time_seen;
    if (bm->has_expires && now >= bm->expires)
        return bundle_fail(err, BUNDLE_EXPIRED, "expired: at %" PRId64 " (Unix seconds), the trusted time is %" PRId64,
                           bm->expires, now);
    return BUNDLE_OK;
}

bundle_status trust_check(const trust_store *store, const trust_state *state, const trust_request *req,
                          const uint8_t *bytes, size_t len, bundle_manifest *out, bundle_view *out_view,
                          bundle_error *err)
{
    bundle_view v;
    if (!out || !req) return bundle_fail(err, BUNDLE_ERR_ARGUMENT, "invalid argument");
    memset(out, 0, sizeof *out);
    bundle_status s = bundle_parse(bytes, len, &v, err);
    if (s != BUNDLE_OK) return s;
    char id[2 * BUNDLE_KEY_ID_LEN + 1];
    trust_key_id_hex(v.header.key_id, id);
    const trust_key *key = find_key(store, v.header.key_id);
    if (!key) return bundle_fail(err, BUNDLE_UNKNOWN_KEY, "unknown key %s", id);
    if (key->revoked) return bundle_fail(err, BUNDLE_REVOKED_KEY, "revoked key %s", id);
    s = bundle_verify_signature(&v, key->public_key, err);
    if (s != BUNDLE_OK) return s;
    s = bundle_manifest_parse(v.manifest, v.manifest_len, "manifest", out, err);
    if (s != BUNDLE_OK) return s;
    s = check_manifest(key, state, req, &v, out, err);
    if (s != BUNDLE_OK) {
        bundle_manifest_free(out);
        return s;
    }
    if (out_view) *out_view = v;
    return bundle_fail(err, BUNDLE_OK, "%s", "");
}
