// A consumer group member that does not stay dead. kafkajs restarts a consumer after retriable
// failures only; after a non-retriable one (a refused produce, a bug) it disconnects for good and
// the group silently empties. This wrapper restarts it with a capped backoff, and keeps its state
// where /metrics and the logs can see it: running or restarting, restarts, last error, last commit.

import type { Consumer, ConsumerConfig, ConsumerRunConfig, Kafka } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isTransientKafkaError } from './kafka-log.ts';
import type { Logger } from './logger.ts';
import { backoffDelay } from './retry.ts';

export type ConsumerState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface ConsumerStatus {
  groupId: string;
  topic: string;
  state: ConsumerState;
  restarts: number;
  lastError?: string;
  lastCommitAt?: number;
}

export interface SupervisedConsumerOptions {
  name: string;
  groupId: string;
  topic: string;
  fromBeginning?: boolean;
  consumer: Omit<ConsumerConfig, 'groupId'>;
  run: ConsumerRunConfig;
  /** called with the wall ms of every fetch round (kafkajs's fetch instrumentation event: request + decode) */
  onFetch?: (ms: number) => void;
  /** backoff between restarts */
  restartInitialMs?: number;
  restartMaxMs?: number;
}

export interface ConsumerMetrics {
  up: Gauge<'group'>;
  restarts: Counter<'group'>;
  /** group → time of the last commit; the age gauge is computed from it when scraped */
  lastCommit: Map<string, number>;
}

const metricsByRegistry = new WeakMap<Registry, ConsumerMetrics>();

/** The consumer metrics of one registry (created once; several consumers share them by label). */
export function consumerMetrics(registry: Registry): ConsumerMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    const r = { registers: [registry] };
    const lastCommit = new Map<string, number>();
    m = {
      up: new Gauge({
        name: 'recsys_consumer_up',
        help: '1 while the consumer group member runs, 0 while it restarts or is stopped',
        labelNames: ['group'],
        ...r,
      }),
      restarts: new Counter({
        name: 'recsys_consumer_restarts_total',
        help: 'Consumer restarts after a crash',
        labelNames: ['group'],
        ...r,
      }),
      lastCommit,
    };
    new Gauge({
      name: 'recsys_consumer_last_commit_age_seconds',
      help: 'Seconds since this member last committed offsets (grows while it is stuck)',
      labelNames: ['group'],
      ...r,
      collect() {
        for (const [group, at] of lastCommit) this.set({ group }, (Date.now() - at) / 1000);
      },
    });
    metricsByRegistry.set(registry, m);
  }
  return m;
}

export class SupervisedConsumer {
  private consumer?: Consumer;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private readonly status: ConsumerStatus;
  private readonly log: Logger;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: SupervisedConsumerOptions,
    log: Logger,
    private readonly metrics?: ConsumerMetrics,
  ) {
    this.log = log.child({ consumer: opts.name, groupId: opts.groupId });
    this.status = { groupId: opts.groupId, topic: opts.topic, state: 'starting', restarts: 0 };
  }

  snapshot(): ConsumerStatus {
    return { ...this.status };
  }

  /** Connects, subscribes and runs; a failure here is thrown (bad configuration should stop the start). */
  async start(): Promise<void> {
    await this.launch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.setState('stopped');
    await this.consumer?.disconnect();
  }

  private async launch(): Promise<void> {
    const c = this.kafka.consumer({ ...this.opts.consumer, groupId: this.opts.groupId });
    this.consumer = c;
    c.on(c.events.COMMIT_OFFSETS, () => {
      this.status.lastCommitAt = Date.now();
      this.metrics?.lastCommit.set(this.opts.groupId, this.status.lastCommitAt);
    });
    c.on(c.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.status.lastError = `${error.name}: ${error.message}`.slice(0, 500);
      // a forming group's retried errors ("coordinator is loading") are expected on a fresh broker;
      // they still count as restarts in the metrics and /health, but are no error-level news
      const transient = restart && isTransientKafkaError(error.message);
      this.log[transient ? 'debug' : 'error'](
        { err: this.status.lastError, kafkajsRestarts: restart },
        'consumer crashed',
      );
      // kafkajs restarts by itself after retriable failures; every other crash is ours to restart
      if (restart) this.countRestart();
      else if (!this.stopping) this.scheduleRestart();
    });
    c.on(c.events.GROUP_JOIN, () => this.setState('running'));
    const onFetch = this.opts.onFetch;
    if (onFetch) c.on(c.events.FETCH, (event) => onFetch(event.payload.duration));
    await c.connect();
    await c.subscribe({ topic: this.opts.topic, fromBeginning: this.opts.fromBeginning ?? false });
    await c.run(this.opts.run);
    this.setState('running');
  }

  private scheduleRestart(): void {
    this.setState('restarting');
    const delay = backoffDelay(Math.min(this.status.restarts, 10), {
      initialMs: this.opts.restartInitialMs ?? 1_000,
      maxMs: this.opts.restartMaxMs ?? 60_000,
    });
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.countRestart();
      this.consumer?.disconnect().catch(() => undefined);
      this.launch().catch((e: Error) => {
        this.status.lastError = `${e.name}: ${e.message}`.slice(0, 500);
        this.log.error({ err: this.status.lastError }, 'consumer restart failed; trying again');
        this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  private countRestart(): void {
    this.status.restarts++;
    this.metrics?.restarts.inc({ group: this.opts.groupId });
    this.log.warn({ restarts: this.status.restarts }, 'consumer restarting');
  }

  private setState(state: ConsumerState): void {
    this.status.state = state;
    this.metrics?.up.set({ group: this.opts.groupId }, state === 'running' ? 1 : 0);
  }
}
