// kernels.wat, assembled by wabt, against the hand-assembled module of wasm.ts: the same memory
// import, exports and signatures, the same local types, the same instruction bytes in every
// function body, and bit-identical results on random inputs. Only the type section may differ
// (wabt shares one type between functions of the same signature; the hand assembler did not) and
// the encoding of the locals (wabt groups runs of one type).

import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { uniformSource } from '../../src/random/rng.ts';
import { handAssembledKernels, type WasmKernels } from '../../src/als/wasm.ts';

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

async function assembleWat(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const text = readFileSync(new URL('../../src/als/kernels.wat', import.meta.url), 'utf8');
  const module = wabt.parseWat('kernels.wat', text, { simd: true, threads: true });
  module.resolveNames();
  (module.validate as unknown as (features: object) => void)({ simd: true, threads: true });
  const bytes = module.toBinary({}).buffer;
  module.destroy();
  return bytes;
}

interface Parsed {
  sections: number[];
  types: string[];
  funcTypes: number[];
  imports: number[];
  exports: string[];
  bodies: Array<{ locals: number[]; code: number[] }>;
}

/** The sections of a wasm binary that can differ between two encodings of the same module. */
function parse(b: Uint8Array): Parsed {
  let p = 8;
  const uleb = (): number => {
    let r = 0;
    let shift = 0;
    let x: number;
    do {
      x = b[p++]!;
      r |= (x & 0x7f) << shift;
      shift += 7;
    } while (x & 0x80);
    return r >>> 0;
  };
  const bytes = (n: number): number[] => [...b.subarray(p, (p += n))];
  const out: Parsed = { sections: [], types: [], funcTypes: [], imports: [], exports: [], bodies: [] };
  while (p < b.length) {
    const id = b[p++]!;
    const size = uleb();
    const end = p + size;
    out.sections.push(id);
    if (id === 1) {
      for (let i = uleb(); i > 0; i--) {
        p++; // 0x60
        const params = bytes(uleb());
        const results = bytes(uleb());
        out.types.push(`${params.join(',')} -> ${results.join(',')}`);
      }
    } else if (id === 2) out.imports = bytes(size);
    else if (id === 3) for (let i = uleb(); i > 0; i--) out.funcTypes.push(uleb());
    else if (id === 7) {
      for (let i = uleb(); i > 0; i--) {
        const name = new TextDecoder().decode(Uint8Array.from(bytes(uleb())));
        const kind = b[p++]!;
        out.exports.push(`${name}:${kind}:${uleb()}`);
      }
    } else if (id === 10) {
      for (let i = uleb(); i > 0; i--) {
        const bodyEnd = uleb() + p;
        const locals: number[] = [];
        for (let g = uleb(); g > 0; g--) {
          const count = uleb();
          const type = b[p++]!;
          for (let k = 0; k < count; k++) locals.push(type);
        }
        out.bodies.push({ locals, code: bytes(bodyEnd - p) });
      }
    }
    p = end;
  }
  return out;
}

describe('kernels.wat against the hand-assembled kernels', () => {
  it('encodes the same functions instruction for instruction', async () => {
    const old = parse(handAssembledKernels());
    const wat = parse(await assembleWat());
    expect(wat.sections).toEqual(old.sections);
    expect(wat.imports).toEqual(old.imports);
    expect(wat.exports).toEqual(old.exports);
    expect(wat.bodies.length).toBe(old.bodies.length);
    for (let f = 0; f < old.bodies.length; f++) {
      const name = old.exports[f];
      expect(wat.types[wat.funcTypes[f]!], name).toBe(old.types[old.funcTypes[f]!]);
      expect(wat.bodies[f]!.locals, name).toEqual(old.bodies[f]!.locals);
      expect(wat.bodies[f]!.code, name).toEqual(old.bodies[f]!.code);
    }
  });

  it('computes bit-identical results', async () => {
    const pages = 2;
    const memOld = new WA.Memory({ initial: pages, maximum: pages, shared: true });
    const memNew = new WA.Memory({ initial: pages, maximum: pages, shared: true });
    const kOld = new WA.Instance(new WA.Module(handAssembledKernels()), { env: { mem: memOld } })
      .exports as WasmKernels;
    const kNew = new WA.Instance(new WA.Module(await assembleWat()), { env: { mem: memNew } })
      .exports as WasmKernels;
    const bOld = new Uint8Array(memOld.buffer);
    const bNew = new Uint8Array(memNew.buffer);
    const sync = (): void => bNew.set(bOld);
    const sameMemory = (label: string): void => {
      const at = bOld.findIndex((v, i) => v !== bNew[i]);
      expect(at, label).toBe(-1);
    };
    const rand = uniformSource(42);
    const f32 = new Float32Array(memOld.buffer);
    const i32 = new Int32Array(memOld.buffer);
    for (const kp of [8, 16, 64]) {
      const rowBytes = kp * 4;
      for (const n of [0, 1, 3, 4, 7, 50]) {
        for (let i = 0; i < f32.length; i++) f32[i] = rand() * 2 - 1;
        const [idx, w, Y] = [1024, 2048, 4096];
        const v = Y + 200 * rowBytes;
        const out = v + rowBytes;
        const A = out + rowBytes;
        for (let j = 0; j < n; j++) {
          i32[(idx >> 2) + j] = Math.floor(rand() * 200);
          f32[(w >> 2) + j] = rand() * 5;
        }
        sync();
        const label = `kp=${kp} n=${n}`;
        for (const [a0, b0, g0] of [
          [1, 1, -1],
          [0, 0, 1],
          [1, 1, 0],
        ] as const) {
          kOld.wsum(n, rowBytes, Y, idx, w, v, out, a0, b0, g0);
          kNew.wsum(n, rowBytes, Y, idx, w, v, out, a0, b0, g0);
          sameMemory(`wsum ${label} ${a0} ${b0} ${g0}`);
        }
        kOld.symv(kp, rowBytes, Y, v, out);
        kNew.symv(kp, rowBytes, Y, v, out);
        sameMemory(`symv ${label}`);
        kOld.syrk(n, kp, rowBytes, Y, idx, w, A);
        kNew.syrk(n, kp, rowBytes, Y, idx, w, A);
        sameMemory(`syrk ${label}`);
        expect(Object.is(kNew.loss(n, rowBytes, Y, idx, w, v), kOld.loss(n, rowBytes, Y, idx, w, v))).toBe(
          true,
        );
        kOld.rowdots(n, rowBytes, Y, v, A);
        kNew.rowdots(n, rowBytes, Y, v, A);
        sameMemory(`rowdots ${label}`);
        expect(Object.is(kNew.dot64(Y, Y + 8000, n), kOld.dot64(Y, Y + 8000, n))).toBe(true);
      }
    }
    for (const n of [1, 2, 5, 17, 64]) {
      const m = new Float64Array(memOld.buffer, 16, n * n);
      const B = Array.from({ length: n * n }, () => rand());
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = i === j ? 0.5 : 0;
          for (let p = 0; p < n; p++) s += B[i * n + p]! * B[j * n + p]!;
          m[i * n + j] = s;
        }
      sync();
      expect(kNew.cholesky(16, n)).toBe(kOld.cholesky(16, n));
      sameMemory(`cholesky n=${n}`);
      m.fill(0);
      for (let i = 0; i < n; i++) m[i * n + i] = -1;
      sync();
      expect(kNew.cholesky(16, n)).toBe(kOld.cholesky(16, n));
    }
  });
});
