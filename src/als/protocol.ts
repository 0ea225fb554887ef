import type { AlsSolver } from '../types/index.ts';
import type { AlsLayout } from './engine.ts';
import type { KernelModule, WasmMemory } from './wasm.ts';

/** Messages between the trainer (pool.ts) and worker.ts. All data lives in the shared memory. */
export interface InitMessage {
  type: 'init';
  /** the trainer's compiled kernels, so that workers do not assemble them again */
  kernels: KernelModule;
  memory: WasmMemory;
  layout: AlsLayout;
  slot: number;
}

export interface SolveMessage {
  type: 'solve';
  id: number;
  /** which factor matrix is being solved for */
  side: 'users' | 'items';
  solver: AlsSolver;
  cgSteps: number;
  start: number;
  end: number;
}

export interface LossMessage {
  type: 'loss';
  id: number;
  start: number;
  end: number;
}

export type WorkerRequest = InitMessage | SolveMessage | LossMessage;

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; data?: number; norm?: number }
  | { type: 'error'; id: number; message: string };
