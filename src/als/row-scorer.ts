// Dot products of one query against many float32 rows in WebAssembly SIMD (the rowdots kernel):
// the norm probe's scan in the API's request path (model/norm-probe.ts), where the scalar JS loop
// cost ~22 % of the API's CPU per request, and the deploy's exact top k over the whole catalogue
// (deploy/ann-tuning.ts exactTopK). Rows are copied into wasm memory padded to whole groups of 8
// floats with zeros, which add nothing to a dot product.

import { createSharedMemory, instantiateKernels, type WasmKernels } from './wasm.ts';

export class RowScorer {
  private readonly kernels: WasmKernels;
  private readonly heap: Float32Array;
  private readonly padded: number;
  private readonly rowBytes: number;
  private readonly queryAt: number;
  private readonly scoresAt: number;
  private readonly query: Float32Array;
  private readonly scores: Float32Array;

  /** Room for `capacity` rows of `dims` floats. */
  constructor(
    readonly capacity: number,
    readonly dims: number,
  ) {
    this.padded = Math.ceil(dims / 8) * 8;
    this.rowBytes = this.padded * 4;
    this.queryAt = capacity * this.rowBytes;
    this.scoresAt = this.queryAt + this.rowBytes;
    const memory = createSharedMemory(this.scoresAt + capacity * 4);
    this.kernels = instantiateKernels(memory);
    this.heap = new Float32Array(memory.buffer);
    this.query = new Float32Array(memory.buffer, this.queryAt, this.padded);
    this.scores = new Float32Array(memory.buffer, this.scoresAt, capacity);
  }

  /** Copies `rows` rows (row-major, dims floats each) into rows [0, rows). */
  load(vectors: Float32Array, rows: number): this {
    if (rows > this.capacity) throw new RangeError(`RowScorer: ${rows} rows, room for ${this.capacity}`);
    const { dims, padded } = this;
    if (padded === dims) this.heap.set(vectors.subarray(0, rows * dims));
    else for (let r = 0; r < rows; r++) this.heap.set(vectors.subarray(r * dims, (r + 1) * dims), r * padded);
    return this;
  }

  /** Sets the query vector the next calls score against. */
  setQuery(q: ArrayLike<number>): void {
    for (let d = 0; d < this.dims; d++) this.query[d] = q[d]!;
  }

  /** Scores rows [from, from + count) into the returned view's [0, count); the next call overwrites it. */
  score(from: number, count: number): Float32Array {
    this.kernels.rowdots(count, this.rowBytes, from * this.rowBytes, this.queryAt, this.scoresAt);
    return this.scores;
  }
}
