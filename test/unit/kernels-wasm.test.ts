import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleKernels, KERNELS_WASM } from '../../scripts/kernels-assembly.ts';

describe('the committed kernels binary', () => {
  it('is exactly wabt’s assembly of kernels.wat (after editing the .wat: npm run build:kernels)', async () => {
    const committed = readFileSync(KERNELS_WASM);
    const assembled = await assembleKernels();
    expect(Buffer.from(assembled).equals(committed), 'kernels.wasm is stale: run npm run build:kernels').toBe(
      true,
    );
  });
});
