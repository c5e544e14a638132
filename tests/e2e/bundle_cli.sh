#!/usr/bin/env bash
# bundle_cli.sh BUILD_DIR SOURCE_DIR - end-to-end tests of `graft bundle`
# (docs/cli.md, "graft bundle"): keygen writes a 0600 secret key and its
# .pub, pack signs a manifest and a wasm, verify accepts the bundle with
# the right key and module and refuses it (status 1, the reason on
# stdout) with the wrong key, a key scoped to another module, the wrong
# module, after expiry, and when tampered with or truncated; inspect
# prints the header and refuses what does not parse. Keys are generated
# here. Prints "N passed, N failed".
. "$(dirname "$0")/harness.bash" "$@"

command -v wat2wasm >/dev/null || abort "wat2wasm not found (Debian package wabt)"
B=(bundle)

echo '(module (func (export "on_init") (result i32) (i32.const 0)))' > "$WORK/m.wat"
wat2wasm "$WORK/m.wat" -o "$WORK/m.wasm" || abort "wat2wasm failed"
cat > "$WORK/m.json" <<'JSON'
{ "manifest_version": 1, "name": "alarm", "version": "1.2.0", "host_api": "iot_v1",
  "security_floor": "1.0.0", "expires": 4102444800 }
JSON

# ---- keygen ---------------------------------------------------------------------
run keygen "$GRAFT" "${B[@]}" keygen --out "$WORK/k"
check_rc keygen 0
check_grep keygen out '^[0-9a-f]{16}$'
KEY_ID=$(cat "$WORK/keygen.out")
check_eq "keygen: secret key mode" "$(stat -c %a "$WORK/k")" 600
grep -Eq '^graft-bundle-public-key-v1 [0-9a-f]{64}$' "$WORK/k.pub" && pass || fail "keygen: k.pub" "$(cat "$WORK/k.pub")"
grep -Eq '^graft-bundle-secret-key-v1 [0-9a-f]{128}$' "$WORK/k" && pass || fail "keygen: k has the wrong form"
run keygen_again "$GRAFT" "${B[@]}" keygen --out "$WORK/k"
check_rc keygen_again 2          # never replaces a key
run keygen_other "$GRAFT" "${B[@]}" keygen --out "$WORK/other"
check_rc keygen_other 0

# ---- pack -----------------------------------------------------------------------
run pack "$GRAFT" "${B[@]}" pack --key "$WORK/k" --manifest "$WORK/m.json" --wasm "$WORK/m.wasm" -o "$WORK/b.gbundle"
check_rc pack 0
[ -s "$WORK/b.gbundle" ] && pass || fail "pack: no bundle written"
head -c 8 "$WORK/b.gbundle" | grep -q '^GRFTBNDL$' && pass || fail "pack: no magic"

printf '{ "manifest_version": 1, "name": "alarm", "version": "1.2.0", "host_api": "iot_v1" }' > "$WORK/nofloor.json"
run pack_nofloor "$GRAFT" "${B[@]}" pack --key "$WORK/k" --manifest "$WORK/nofloor.json" --wasm "$WORK/m.wasm" -o "$WORK/x"
check_rc pack_nofloor 2
check_grep pack_nofloor err 'missing key "security_floor"'
run pack_pubkey "$GRAFT" "${B[@]}" pack --key "$WORK/k.pub" --manifest "$WORK/m.json" --wasm "$WORK/m.wasm" -o "$WORK/x"
check_rc pack_pubkey 2
check_grep pack_pubkey err 'not a key file'
run pack_usage "$GRAFT" "${B[@]}" pack --key "$WORK/k" --wasm "$WORK/m.wasm"
check_rc pack_usage 2

# ---- verify ---------------------------------------------------------------------
run ok "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" --module alarm "$WORK/b.gbundle"
check_rc ok 0
check_grep ok out "^accepted: alarm 1.2.0 \\(key $KEY_ID, floor 1.0.0, wasm $(sha256sum "$WORK/m.wasm" | cut -c1-64)\\)$"
run ok_two_keys "$GRAFT" "${B[@]}" verify --trust "$WORK/other.pub" --trust "$WORK/k.pub:alarm,sensor" "$WORK/b.gbundle"
check_rc ok_two_keys 0
run unknown "$GRAFT" "${B[@]}" verify --trust "$WORK/other.pub" "$WORK/b.gbundle"
check_rc unknown 1
check_out unknown "refused: unknown key $KEY_ID"
run scope "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub:sensor" "$WORK/b.gbundle"
check_rc scope 1
check_grep scope out '^refused: key not allowed for this module: '
run wrong_module "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" --module fan "$WORK/b.gbundle"
check_rc wrong_module 1
check_grep wrong_module out '^refused: not for this module: '
run expired "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" --now 4102444800 "$WORK/b.gbundle"
check_rc expired 1
check_grep expired out '^refused: expired: '
run not_yet "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" --now 4102444799 "$WORK/b.gbundle"
check_rc not_yet 0
run verify_usage "$GRAFT" "${B[@]}" verify "$WORK/b.gbundle"
check_rc verify_usage 2
run verify_missing "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" "$WORK/nonexistent"
check_rc verify_missing 2

# Tampered: one bit in the manifest, the signature, the payload, the header.
SIZE=$(stat -c %s "$WORK/b.gbundle")
flip() {  # flip FILE OFFSET OUT
  python3 - "$1" "$2" "$3" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[int(sys.argv[2])] ^= 1
open(sys.argv[3], 'wb').write(b)
PY
}
flip "$WORK/b.gbundle" 70 "$WORK/t_manifest"
flip "$WORK/b.gbundle" $((SIZE - $(stat -c %s "$WORK/m.wasm") - 1)) "$WORK/t_signature"
flip "$WORK/b.gbundle" $((SIZE - 1)) "$WORK/t_payload"
flip "$WORK/b.gbundle" 8 "$WORK/t_version"
flip "$WORK/b.gbundle" 13 "$WORK/t_flags"
for t in manifest:'bad signature' signature:'bad signature' payload:'hash mismatch' \
         version:'unsupported format version 0' flags:'malformed bundle: byte 12: unknown flags'; do
  run "t_${t%%:*}" "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" "$WORK/t_${t%%:*}"
  check_rc "t_${t%%:*}" 1
  check_grep "t_${t%%:*}" out "^refused: ${t#*:}"
done

# Truncated: a sample of prefixes, and one byte appended.
for n in 0 1 7 8 63 64 100 $((SIZE - 65)) $((SIZE - 1)); do
  head -c "$n" "$WORK/b.gbundle" > "$WORK/cut$n"
  run "cut$n" "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" "$WORK/cut$n"
  check_rc "cut$n" 1
  check_grep "cut$n" out "^refused: truncated at byte $n( |$)"
done
{ cat "$WORK/b.gbundle"; printf 'x'; } > "$WORK/long"
run long "$GRAFT" "${B[@]}" verify --trust "$WORK/k.pub" "$WORK/long"
check_rc long 1
check_grep long out '^refused: malformed bundle: 1 bytes after the payload'

# ---- inspect ----------------------------------------------------------------------
run inspect "$GRAFT" "${B[@]}" inspect "$WORK/b.gbundle"
check_rc inspect 0
check_grep inspect out '^format version:  1$'
check_grep inspect out "^key id:          $KEY_ID$"
check_grep inspect out "^payload:         $(stat -c %s "$WORK/m.wasm") bytes, sha256 $(sha256sum "$WORK/m.wasm" | cut -c1-64)$"
check_grep inspect out '"security_floor": "1.0.0"'
check_grep inspect out '"encoding": "plain"'
run inspect_cut "$GRAFT" "${B[@]}" inspect "$WORK/cut100"
check_rc inspect_cut 1
check_grep inspect_cut out 'truncated at byte 100'
run inspect_usage "$GRAFT" "${B[@]}" inspect
check_rc inspect_usage 2
run unknown_sub "$GRAFT" "${B[@]}" frobnicate
check_rc unknown_sub 2

finish
