#!/usr/bin/env bash
# install.sh BUILD SRC - `cmake --install` into a temporary prefix, then
# build a small embedder against it through pkg-config, once with the
# shared and once with the static library, and run both. Also checks that
# the shared library exports only graft_ symbols.
set -uo pipefail
B="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if cmake --install "$B" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then ok; else bad "cmake --install"; cat "$tmp/install.log"; fi
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
[ -f "$PKG_CONFIG_PATH/graft.pc" ] && ok || bad "graft.pc not installed"
[ -f "$tmp/prefix/include/graft.h" ] && ok || bad "graft.h not installed"

# A sanitized build installs sanitized libraries: the embedder must match.
SAN=""
grep -q '^GRAFT_SANITIZE:BOOL=ON' "$B/CMakeCache.txt" && SAN="-fsanitize=address,undefined"

cat > "$tmp/use.c" <<'C'
#include <graft.h>
#include <stdio.h>
/* (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) */
static const uint8_t add[] = {0,0x61,0x73,0x6d,1,0,0,0,1,7,1,0x60,2,0x7f,0x7f,1,0x7f,3,2,1,0,
    7,7,1,3,'a','d','d',0,0,0x0a,9,1,7,0,0x20,0,0x20,1,0x6a,0x0b};
int main(void)
{
    graft_env *env; graft_module *m; graft_store *s; graft_instance *inst;
    if (graft_env_new(NULL, &env) || graft_module_load(env, add, sizeof add, &m) ||
        graft_store_new(env, NULL, &s) || graft_instance_new(s, m, &inst)) return 1;
    graft_val a[2] = {{GRAFT_I32, {.i32 = 40}}, {GRAFT_I32, {.i32 = 2}}}, r;
    if (graft_call(graft_instance_func(inst, "add"), a, 2, &r, 1)) return 1;
    printf("%s %d\n", GRAFT_VERSION_STRING, r.of.i32);
    graft_store_free(s); graft_module_free(m); graft_env_free(env);
    return 0;
}
C
if cc $SAN "$tmp/use.c" $(pkg-config --cflags --libs graft) -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/use_shared" 2>"$tmp/cc.log"; then ok; else bad "build against the shared library"; cat "$tmp/cc.log"; fi
out=$("$tmp/use_shared" 2>&1); [ "$out" = "0.1.0 42" ] && ok || bad "shared: got '$out'"
if cc $SAN "$tmp/use.c" $(pkg-config --cflags graft) "$tmp/prefix/lib/libgraft.a" $(pkg-config --libs-only-other --static graft) -lm -o "$tmp/use_static" 2>"$tmp/cc.log"; then ok; else bad "build against the static library"; cat "$tmp/cc.log"; fi
out=$("$tmp/use_static" 2>&1); [ "$out" = "0.1.0 42" ] && ok || bad "static: got '$out'"
leaks=$(nm -D --defined-only "$tmp/prefix/lib/libgraft.so" | awk '{print $3}' | grep -v '^graft_' || true)
[ -z "$leaks" ] && ok || bad "libgraft.so exports non-graft_ symbols: $leaks"
internal=$(nm -D --defined-only "$tmp/prefix/lib/libgraft.so" | awk '{print $3}' | grep '^graft__' || true)
[ -z "$internal" ] && ok || bad "libgraft.so exports internal symbols: $internal"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
