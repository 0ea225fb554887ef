/**
 * ALS worker thread: solves a contiguous range of rows in place in the shared wasm memory.
 * Loaded by pool.ts — as compiled worker.js from dist/, or through tsx's CommonJS hook when
 * running from source (tsx CLI, vitest). Keep it free of import.meta / top-level await so the
 * CommonJS path works.
 */
import { parentPort } from 'node:worker_threads';
import { AlsEngine } from './engine.ts';
import type { WorkerReply, WorkerRequest } from './protocol.ts';
import { useKernelModule } from './wasm.ts';

let engine: AlsEngine | null = null;

function reply(msg: WorkerReply): void {
  parentPort!.postMessage(msg);
}

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'init') {
    useKernelModule(msg.kernels);
    engine = new AlsEngine(msg.memory, msg.layout, msg.slot);
    reply({ type: 'ready' });
    return;
  }
  try {
    if (!engine) throw new Error('worker not initialised');
    if (msg.type === 'solve') {
      engine.solveRows(msg.side, msg.solver, msg.cgSteps, msg.start, msg.end);
      reply({ type: 'done', id: msg.id });
    } else {
      const parts = engine.lossRows(msg.start, msg.end);
      reply({ type: 'done', id: msg.id, data: parts.data, norm: parts.norm });
    }
  } catch (err) {
    reply({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
});
