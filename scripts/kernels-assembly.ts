// The one way kernels.wat becomes a binary: wabt with the post-MVP features the kernels use
// (v128 SIMD, a shared memory). Used by `npm run build:kernels` and by the test that checks the
// committed kernels.wasm is exactly this assembly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import wabtInit from 'wabt';
import { PROJECT_ROOT } from '../src/config/index.ts';

export const KERNELS_WAT = path.join(PROJECT_ROOT, 'src/als/kernels.wat');
export const KERNELS_WASM = path.join(PROJECT_ROOT, 'src/als/kernels.wasm');
const FEATURES = { simd: true, threads: true };

export async function assembleKernels(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(KERNELS_WAT, readFileSync(KERNELS_WAT, 'utf8'), FEATURES);
  try {
    module.resolveNames();
    // wabt's types omit validate's features argument; without it a shared memory is refused
    (module.validate as (features: object) => void)(FEATURES);
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
