/**
 * Loads the WebAssembly SIMD (128-bit, f32x4) kernels for the ALS inner loops and for one query
 * against many rows (row-scorer.ts: the norm probe's scan, the deploy's exact top k), and
 * instantiates them on a shared memory. The kernels' source is the text in kernels.wat (layouts
 * and accumulator choices are explained there); wabt assembles it once per process, and the ALS
 * worker threads are handed the compiled module (pool.ts) instead of assembling it again.
 *
 * The build must copy kernels.wat next to the compiled wasm.js: it is read relative to this file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

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

const SOURCE = fileURLToPath(new URL('./kernels.wat', import.meta.url));
/** The post-MVP features kernels.wat uses: v128 (simd), a shared memory (threads). */
const FEATURES = { simd: true, threads: true };

/**
 * Runs in a helper thread: wabt only loads asynchronously, instantiateKernels is synchronous (the
 * engine and the row scorer call it from constructors), and a top-level await here would break
 * worker.ts, which runs from source through tsx's CommonJS hook. Posts the binary or the error.
 */
const ASSEMBLER = `
const { workerData } = require('node:worker_threads');
const { wabtPath, file, text, features, done, port } = workerData;
Promise.resolve()
  .then(() => require(wabtPath)())
  .then((wabt) => {
    const module = wabt.parseWat(file, text, features);
    try {
      module.resolveNames();
      module.validate(features);
      port.postMessage({ bytes: module.toBinary({}).buffer });
    } finally {
      module.destroy();
    }
  })
  .catch((err) => port.postMessage({ error: String(err && err.message ? err.message : err) }))
  .finally(() => {
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
  });
`;

/** kernels.wat as a wasm binary, assembled by wabt in a helper thread this thread waits for. */
function assembleKernels(): Uint8Array {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  let worker: Worker | null = null;
  try {
    worker = new Worker(ASSEMBLER, {
      eval: true,
      execArgv: [],
      workerData: {
        wabtPath: createRequire(import.meta.url).resolve('wabt'),
        file: SOURCE,
        text: readFileSync(SOURCE, 'utf8'),
        features: FEATURES,
        done,
        port: port2,
      },
      transferList: [port2],
    });
    worker.unref();
    if (Atomics.wait(done, 0, 0, 60_000) === 'timed-out') throw new Error('timed out');
    const reply = receiveMessageOnPort(port1)?.message as { bytes?: Uint8Array; error?: string } | undefined;
    if (!reply?.bytes) throw new Error(reply?.error ?? 'the assembler thread sent nothing');
    return reply.bytes;
  } catch (err) {
    throw new Error(`wasm: assembling ${SOURCE}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    port1.close();
    void worker?.terminate();
  }
}

let compiled: KernelModule | null = null;

/** The compiled kernels, assembled on first use in this thread unless handed over (useKernelModule). */
export function kernelModule(): KernelModule {
  compiled ??= new WA.Module(assembleKernels());
  return compiled;
}

/** Adopts kernels compiled by another thread (worker threads get them from the pool), so they skip wabt. */
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
