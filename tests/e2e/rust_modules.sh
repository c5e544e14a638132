#!/usr/bin/env bash
# rust_modules.sh BUILD_DIR SOURCE_DIR - the Rust example modules
# (examples/modules/rust: moving_average, unit_converter):
#  1. builds them from source (examples/modules/build.sh into
#     BUILD/examples/modules, incremental);
#  2. `graft validate` accepts each; `graft inspect` shows that each imports
#     only iot_v1 functions and exports exactly memory, on_start,
#     graft_alloc, on_message and health, with one page of initial memory;
#     the manifest beside it names the module and asks for iot_v1;
#  3. runs each on known readings and compares what it publishes with
#     values computed here, independently, in awk.
# Step 3 drives the modules through a stand-in for the agent written in
# JavaScript (Node's WebAssembly): it plays iot_v1 (log, publish) and the
# delivery protocol of docs/host-api.md (graft_alloc, write topic and
# payload, on_message). graftd's own host API (src/hostapi) has no runner
# for single modules yet; when it has, this step should run through it.
# Without node, step 3 cannot run and the test fails.
. "$(dirname "$0")/harness.bash" "$@"

MODS="$BUILD/examples/modules"
if ! bash "$SRC/examples/modules/build.sh" "$MODS" > "$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  abort "examples/modules/build.sh failed (log above)"
fi

MODULES="moving_average unit_converter"
for m in $MODULES; do
  wasm="$MODS/$m.wasm"
  [ -f "$wasm" ] || { fail "$m: no $wasm after the build"; continue; }
  run "$m.validate" "$GRAFT" validate "$wasm"
  check_rc "graft validate $m" 0
  check_out "$m.validate" ok

  run "$m.inspect" "$GRAFT" inspect "$wasm"
  check_rc "graft inspect $m" 0
  imports=$(awk '/^imports:/ { f = 1; next } /^[a-z]/ { f = 0 } f { print $2 }' "$WORK/$m.inspect.out" |
            sed 's/:$//' | sort -u)
  others=$(printf '%s\n' "$imports" | grep -v '^iot_v1\.[a-z_]*$' | grep -v '^$' || true)
  check_eq "$m imports only iot_v1 functions" "$others" ""
  exports=$(awk '/^exports:/ { f = 1; next } /^[a-z]/ { f = 0 } f' "$WORK/$m.inspect.out" |
            sed -n 's/^  [a-z]*\[[0-9]*\] "\([^"]*\)".*/\1/p' | sort | tr '\n' ' ')
  check_grep "$m.inspect" out '^imports: [1-9]'
  check_eq "$m exports" "$exports" "graft_alloc health memory on_message on_start "
  check_grep "$m.inspect" out '^  memory\[0\] "memory": min 1 pages'
  size=$(wc -c < "$wasm")
  if [ "$size" -le 16384 ]; then pass; else fail "$m.wasm is $size bytes (expected at most 16 KiB)"; fi

  manifest="$MODS/$m.json"
  if [ -f "$manifest" ]; then
    pass
    grep -q "\"name\": *\"$m\"" "$manifest" && grep -q '"host_api": *"iot_v1"' "$manifest" &&
      grep -q '"manifest_version": *1' "$manifest" && pass ||
      fail "$m.json: expected manifest_version 1, name \"$m\" and host_api iot_v1"
  else
    fail "$m: no manifest $manifest beside the module"
  fi
done

if ! command -v node > /dev/null; then
  fail "node not found: step 3 (running the modules on known readings) needs Node.js"
  finish
fi

# ---- step 3: known readings in, published readings out -------------------
# Input lines: topic timestamp_ns value unit quality. Timestamps stay below
# 2^53 so awk's doubles hold them exactly.
awk 'BEGIN {
  for (i = 0; i < 40; i++) {
    ts = 1000000 + i * 1000
    q = (i % 11 == 5) ? 1 : (i % 13 == 9) ? 2 : 0
    printf "sensors/t1 %d %.6f 1 %d\n", ts, 20 + i * 0.37 - (i % 3) * 1.1, q
    printf "sensors/p1 %d %.3f 3 0\n", ts + 1, 101325 + i * 13.5 - (i % 4) * 40.25
    if (i % 2 == 0) printf "sensors/w1 %d %.4f 8 %d\n", ts + 2, 3.5 + i / 7, (i % 6 == 0)
    if (i % 5 == 0) printf "sensors/l1 %d %.1f 6 0\n", ts + 3, 300 + i
    if (i == 20) printf "sensors/t1 %d %.6f 2 0\n", ts + 4, 55.5   # a unit change
  }
}' > "$WORK/input.txt"

# The stand-in agent: node drive.js MODULE.wasm INPUT prints one line per
# publish (topic timestamp value unit quality, value with 17 digits), then
# "status" lines for the events it sends on purpose to be rejected, and
# "pages N" for the memory size after all the messages.
cat > "$WORK/drive.js" <<'JS'
const fs = require("fs");
const [wasmPath, inputPath] = process.argv.slice(2);
let mem;
const out = [];
const td = new TextDecoder(), te = new TextEncoder();
const iot = {
  log: (level, p, n) => { td.decode(new Uint8Array(mem.buffer, p, n)); return 0; },
  publish: (tp, tl, pp, pl) => {
    const topic = td.decode(new Uint8Array(mem.buffer, tp, tl));
    if (pl !== 24) { out.push(`bad-payload ${topic} ${pl}`); return 0; }
    const v = new DataView(mem.buffer, pp, 24);
    out.push(`${topic} ${v.getBigInt64(0, true)} ${v.getFloat64(8, true).toPrecision(17)} ` +
             `${v.getUint32(16, true)} ${v.getUint32(20, true)}`);
    return 0;
  },
};
const bad = () => { throw new Error("unexpected import call"); };
const imports = { iot_v1: new Proxy(iot, { get: (t, k) => t[k] || bad }) };
const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(wasmPath)), imports);
const x = instance.exports;
mem = x.memory;
if (x.on_start() !== 0) throw new Error("on_start failed");
function deliver(topic, payload) {
  const t = te.encode(topic);
  const p = x.graft_alloc(t.length + payload.length);
  if (p === 0) throw new Error("graft_alloc returned 0");
  new Uint8Array(mem.buffer, p, t.length).set(t);
  new Uint8Array(mem.buffer, p + t.length, payload.length).set(payload);
  return x.on_message(p, t.length, p + t.length, payload.length);
}
function reading(ts, value, unit, quality) {
  const b = new Uint8Array(24), v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(ts), true); v.setFloat64(8, value, true);
  v.setUint32(16, unit, true); v.setUint32(20, quality, true);
  return b;
}
for (const line of fs.readFileSync(inputPath, "utf8").split("\n")) {
  if (!line) continue;
  const [topic, ts, value, unit, quality] = line.split(" ");
  const rc = deliver(topic, reading(ts, Number(value), Number(unit), Number(quality)));
  if (rc !== 0) out.push(`status ${topic} ${rc}`);
}
const statuses = [];
statuses.push(`status short-payload ${deliver("sensors/t1", new Uint8Array(23))}`);
statuses.push(`status not-a-sensor ${deliver("other/t1", reading(1, 1, 1, 0))}`);
// steady state: many more deliveries must not grow the memory
const before = mem.buffer.byteLength;
for (let i = 0; i < 5000; i++) deliver("sensors/l9", reading(i, i, 6, 0));
const grown = mem.buffer.byteLength - before;
process.stdout.write(out.filter(l => !l.startsWith("sensors/l9") && !l.includes("/l9")).join("\n") +
                     "\n" + statuses.join("\n") + `\ngrown ${grown}\npages ${mem.buffer.byteLength / 65536}\n`);
JS

# Expected outputs, computed from the input alone.
awk '{
  name = substr($1, 9); ts = $2; v = $3 + 0; unit = $4; q = $5
  if (q == 2) next                                 # bad readings are ignored
  if (filled[name] > 0 && unit != u[name]) { filled[name] = 0; since[name] = 0; n[name] = 0 }
  u[name] = unit
  w[name, n[name] % 8] = v; wq[name, n[name] % 8] = q; n[name]++
  if (filled[name] < 8) filled[name]++
  if (++since[name] < 4) next
  since[name] = 0; sum = 0; worst = 0
  for (k = n[name] - filled[name]; k < n[name]; k++) {
    sum += w[name, k % 8]; if (wq[name, k % 8] > worst) worst = wq[name, k % 8]
  }
  printf "avg/%s %d %.17g %d %d\n", name, ts, sum / filled[name], unit, worst
}' "$WORK/input.txt" > "$WORK/moving_average.expected"
awk '{
  name = substr($1, 9); ts = $2; v = $3 + 0; unit = $4; q = $5
  if (unit == 1) { printf "conv/%s/degF %d %.17g 0 %d\n", name, ts, v * 1.8 + 32, q
                   printf "conv/%s/K %d %.17g 0 %d\n", name, ts, v + 273.15, q }
  if (unit == 3) printf "conv/%s/hPa %d %.17g 0 %d\n", name, ts, v * 0.01, q
  if (unit == 8) printf "conv/%s/km_h %d %.17g 0 %d\n", name, ts, v * 3.6, q
  if (unit == 9) printf "conv/%s/kW %d %.17g 0 %d\n", name, ts, v * 0.001, q
}' "$WORK/input.txt" > "$WORK/unit_converter.expected"

# compare NAME: the published lines against the expected ones, values
# within a relative 1e-12.
compare() {
  local m=$1 diffs
  grep -v -e '^status ' -e '^grown ' -e '^pages ' "$WORK/$m.run.out" > "$WORK/$m.got"
  local got want
  got=$(wc -l < "$WORK/$m.got"); want=$(wc -l < "$WORK/$m.expected")
  check_eq "$m: number of publishes" "$got" "$want"
  [ "$want" -gt 3 ] && pass || fail "$m: expected more than 3 publishes from the test input"
  diffs=$(paste -d' ' "$WORK/$m.got" "$WORK/$m.expected" | awk '{
    d = $3 - $8; if (d < 0) d = -d; e = $8 < 0 ? -$8 : $8; if (e < 1) e = 1
    if ($1 != $6 || $2 != $7 || $4 != $9 || $5 != $10 || d > 1e-12 * e)
      printf "line %d: got %s %s %s %s %s, expected %s %s %s %s %s\n", NR, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
  }' | head -n 5)
  check_eq "$m: published readings" "$diffs" ""
}

for m in $MODULES; do
  run "$m.run" node "$WORK/drive.js" "$MODS/$m.wasm" "$WORK/input.txt"
  check_rc "$m on the test readings" 0
  if [ "$RC" -ne 0 ]; then head -c 1000 "$WORK/$m.run.err" >&2; continue; fi
  compare "$m"
  check_grep "$m.run" out '^status short-payload -4$'
  check_grep "$m.run" out '^status not-a-sensor -4$'
  check_grep "$m.run" out '^grown 0$'
  check_grep "$m.run" out '^pages 1$'
  # no event of the test input itself was rejected
  if grep -q '^status sensors/' "$WORK/$m.run.out"; then
    fail "$m rejected input readings" "$(grep '^status sensors/' "$WORK/$m.run.out" | head -n 3)"
  else
    pass
  fi
done

finish
