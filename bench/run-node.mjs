// run-node.mjs MODULE.wasm [ARGS...] - run a WASI command module in V8
// through Node's node:wasi, as bench/run measures it (whole process, start-up
// included). Run with `node --no-warnings` to silence the WASI notice.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, exit } from 'node:process';

const [path, ...rest] = argv.slice(2);
if (!path) {
  console.error('usage: node --no-warnings run-node.mjs MODULE.wasm [ARGS...]');
  exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [path, ...rest], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
