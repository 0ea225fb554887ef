// `npm run build:kernels`: assembles src/als/kernels.wat (the kernels' source, the file to read and
// review) into src/als/kernels.wasm, which the runtime loads. The binary is committed so that no
// process pays for an assembler at start (wabt's module is large and loads asynchronously); a unit
// test (test/unit/kernels-wasm.test.ts) fails when the two disagree.
import { writeFileSync } from 'node:fs';
import { assembleKernels, KERNELS_WASM } from './kernels-assembly.ts';

const bytes = await assembleKernels();
writeFileSync(KERNELS_WASM, bytes);
console.log(`${KERNELS_WASM}: ${bytes.length} bytes`);
