// The norm probe's dot products in WebAssembly SIMD (the ALS kernels' rowdots). The probe scan
// runs on every bounded exact or ann request, over up to PROBE_SIZE × dims floats; in scalar JS it
// was ~22 % of the API's CPU per request (node --cpu-prof, 1M ALS model). Rows are copied once per
// probe into wasm memory, padded to whole groups of 8 floats with zeros (which add nothing to a dot).

import { createSharedMemory, instantiateKernels, type WasmKernels } from '../als/wasm.ts';

/** Rows scored per kernel call: the scan stops early, so at most this many dot products are spare. */
export const SCAN_BLOCK = 128;

export class ProbeScanner {
  private readonly kernels: WasmKernels;
  private readonly rowBytes: number;
  private readonly queryAt: number;
  private readonly scoresAt: number;
  private readonly query: Float32Array;
  /** the last block's scores (a view into wasm memory, overwritten by the next call) */
  readonly scores: Float32Array;

  constructor(
    vectors: Float32Array,
    readonly rows: number,
    readonly dims: number,
  ) {
    const padded = Math.ceil(dims / 8) * 8;
    this.rowBytes = padded * 4;
    this.queryAt = rows * this.rowBytes;
    this.scoresAt = this.queryAt + this.rowBytes;
    const memory = createSharedMemory(this.scoresAt + SCAN_BLOCK * 4);
    this.kernels = instantiateKernels(memory);
    const heap = new Float32Array(memory.buffer);
    if (padded === dims) heap.set(vectors.subarray(0, rows * dims));
    else for (let r = 0; r < rows; r++) heap.set(vectors.subarray(r * dims, (r + 1) * dims), r * padded);
    this.query = new Float32Array(memory.buffer, this.queryAt, padded);
    this.scores = new Float32Array(memory.buffer, this.scoresAt, SCAN_BLOCK);
  }

  /** Sets the query vector the next blocks are scored against. */
  setQuery(q: ArrayLike<number>): void {
    for (let d = 0; d < this.dims; d++) this.query[d] = q[d]!;
  }

  /** Scores rows [from, from + count) (count ≤ SCAN_BLOCK) into `scores[0 … count)`. */
  score(from: number, count: number): Float32Array {
    this.kernels.rowdots(count, this.rowBytes, from * this.rowBytes, this.queryAt, this.scoresAt);
    return this.scores;
  }
}
