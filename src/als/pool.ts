import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InitMessage, LossMessage, SolveMessage, WorkerReply } from './protocol.ts';
import { kernelModule } from './wasm.ts';

type Task = Omit<SolveMessage, 'id'> | Omit<LossMessage, 'id'>;
type Done = Extract<WorkerReply, { type: 'done' }>;

/**
 * Starts worker.ts/worker.js. From dist/ (compiled) the sibling worker.js is loaded directly.
 * From source (tsx CLI, vitest) Node 20 cannot apply ESM loader hooks inside worker threads, so
 * the worker is started from a tiny CommonJS bootstrap that registers tsx's require hook and
 * then requires worker.ts.
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const require = createRequire(here);
    const tsxCjs = require.resolve('tsx/cjs/api');
    const file = fileURLToPath(new URL('./worker.ts', here));
    const boot = `require(${JSON.stringify(tsxCjs)}).register();\nrequire(${JSON.stringify(file)});`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL('./worker.js', here));
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (d: Done) => void; reject: (e: Error) => void }>;
}

/** A fixed set of ALS workers sharing factor and CSR buffers. */
export class AlsWorkerPool {
  private nextId = 1;
  private closed = false;

  private constructor(private readonly slots: Slot[]) {}

  get size(): number {
    return this.slots.length;
  }

  static async create(
    n: number,
    init: Omit<InitMessage, 'type' | 'slot' | 'kernels'>,
  ): Promise<AlsWorkerPool> {
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let w = 0; w < n; w++) {
      const worker = spawnWorker();
      const slot: Slot = { worker, pending: new Map() };
      slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const failAll = (err: Error): void => {
            reject(err);
            for (const p of slot.pending.values()) p.reject(err);
            slot.pending.clear();
          };
          worker.on('message', (msg: WorkerReply) => {
            if (msg.type === 'ready') return resolve();
            const p = slot.pending.get(msg.id);
            if (!p) return;
            slot.pending.delete(msg.id);
            if (msg.type === 'error') p.reject(new Error(`ALS worker: ${msg.message}`));
            else p.resolve(msg);
          });
          worker.on('error', (err) => failAll(err));
          worker.on('exit', (code) => failAll(new Error(`ALS worker exited with code ${code}`)));
        }),
      );
      worker.postMessage({ type: 'init', ...init, kernels: kernelModule(), slot: w } satisfies InitMessage);
    }
    const pool = new AlsWorkerPool(slots);
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Runs tasks[w] on worker w (tasks.length ≤ size) and waits for all of them. */
  run(tasks: Task[]): Promise<Done[]> {
    if (this.closed) return Promise.reject(new Error('ALS worker pool is closed'));
    return Promise.all(
      tasks.map((task, w) => {
        const slot = this.slots[w];
        if (!slot) throw new Error('more tasks than workers');
        const id = this.nextId++;
        return new Promise<Done>((resolve, reject) => {
          slot.pending.set(id, { resolve, reject });
          slot.worker.postMessage({ ...task, id });
        });
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map((s) => {
        s.worker.removeAllListeners('exit');
        return s.worker.terminate();
      }),
    );
  }
}
