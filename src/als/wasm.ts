/**
 * Loads the WebAssembly SIMD (128-bit, f32x4) kernels for the ALS inner loops and for one query
 * against many rows (row-scorer.ts: the norm probe's scan, the deploy's exact top k), and
 * instantiates them on a shared memory. The kernels' source is the text in kernels.wat (layouts
 * and accumulator choices are explained there); kernels.wasm is its assembly by wabt
 * (scripts/assemble-kernels.ts), committed so that no process loads an assembler. It is compiled
 * once per thread, and the ALS worker threads are handed the compiled module (pool.ts).
 *
 * The build copies kernels.wasm next to the compiled wasm.js: it is read relative to this file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WasmKernels {
  wsum(
    n: number,
    rowBytes: number,
    Y: number,
    idx: number,
    w: number,
    v: number,
    out: number,
    a0: number,
    b0: number,
    g0: number,
  ): void;
  symv(n: number, rowBytes: number, M: number, v: number, out: number): void;
  syrk(n: number, kp: number, rowBytes: number, Y: number, idx: number, w: number, A: number): void;
  loss(n: number, rowBytes: number, Y: number, idx: number, w: number, x: number): number;
  dot64(pa: number, pb: number, n: number): number;
  cholesky(A: number, n: number): number;
  rowdots(n: number, rowBytes: number, X: number, q: number, out: number): void;
}

/** The compiled kernels (a WebAssembly.Module): can be posted to worker threads. */
export type KernelModule = object;

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM/wasm types). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => KernelModule;
  Instance: new (module: KernelModule, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
/** The maximum kernels.wat declares for the imported memory (4 GiB). */
const MAX_PAGES = 65536;

/** The assembled kernels.wat (npm run build:kernels; a unit test keeps the two in step). */
const BINARY = fileURLToPath(new URL('./kernels.wasm', import.meta.url));

let compiled: KernelModule | null = null;

/** The compiled kernels, compiled on first use in this thread unless handed over (useKernelModule). */
export function kernelModule(): KernelModule {
  compiled ??= new WA.Module(readFileSync(BINARY));
  return compiled;
}

/** Adopts kernels compiled by another thread (worker threads get them from the pool). */
export function useKernelModule(module: KernelModule): void {
  compiled = module;
}

/** A shared wasm memory of at least `bytes` bytes (can be posted to worker threads). */
export function createSharedMemory(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > MAX_PAGES) throw new RangeError(`ALS: needs ${bytes} bytes of wasm memory, more than 4 GiB`);
  return new WA.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Instantiates the kernels on a shared memory. */
export function instantiateKernels(memory: WasmMemory): WasmKernels {
  const instance = new WA.Instance(kernelModule(), { env: { mem: memory } });
  return instance.exports as WasmKernels;
}
