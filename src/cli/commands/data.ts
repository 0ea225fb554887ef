import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateDataset, itemMetadata, userMetadata } from '../../demo/generate.ts';
import { acceptEvents } from '../../ingest/accept.ts';
import { EventProducer } from '../../ingest/producer.ts';
import { createContext } from '../../app/context.ts';
import { progressBar } from '../progress.ts';
import { excerpt, readRows, type Row } from '../read-rows.ts';

/** A rejected row up to this size (as JSON) is written whole to the rejects file, a longer one as its start. */
const REJECT_ROW_CHARS = 4096;

function writeJsonl(file: string, rows: Iterable<unknown>): number {
  const out = createWriteStream(file);
  let n = 0;
  for (const r of rows) {
    out.write(typeof r === 'string' ? `${r}\n` : `${JSON.stringify(r)}\n`);
    n++;
  }
  out.end();
  return n;
}

export function registerDataCommands(program: Command): void {
  program
    .command('generate')
    .description('write a seeded, realistic sample (items, users, events, malformed) as JSON Lines')
    .option('--users <n>', 'users', '3000')
    .option('--items <n>', 'items', '1500')
    .option('--events <n>', 'approximate valid events', '200000')
    .option('--days <n>', 'days of history, ending now', '42')
    .option('--seed <n>', 'seed', '2026')
    .option('--malformed <fraction>', 'fraction of malformed messages', '0.01')
    .option('--out <dir>', 'output folder', 'sample-data')
    .action((o: Record<string, string>) => {
      const days = Number(o['days']);
      const data = generateDataset({
        users: Number(o['users']),
        items: Number(o['items']),
        events: Number(o['events']),
        days,
        seed: Number(o['seed']),
        malformedFraction: Number(o['malformed']),
        startDate: new Date(Date.now() - days * 86_400_000),
      });
      const dir = path.resolve(o['out']!);
      mkdirSync(dir, { recursive: true });
      const counts = {
        'items.jsonl': writeJsonl(path.join(dir, 'items.jsonl'), data.items.map(itemMetadata)),
        'users.jsonl': writeJsonl(path.join(dir, 'users.jsonl'), data.users.map(userMetadata)),
        'events.jsonl': writeJsonl(path.join(dir, 'events.jsonl'), data.events),
        'malformed.jsonl': writeJsonl(
          path.join(dir, 'malformed.jsonl'),
          data.malformed.map((m) => m.raw),
        ),
      };
      for (const [f, n] of Object.entries(counts)) console.log(`${path.join(dir, f)}: ${n}`);
    });

  program
    .command('import <kind> <file>')
    .description(
      'import items | users | events from JSON Lines or CSV; rejected rows go to a file with reasons',
    )
    .option('--rejects <file>', 'where rejected rows are written', '')
    .option('--batch <n>', 'rows per request', '1000')
    .action(async (kind: string, file: string, o: { rejects: string; batch: string }) => {
      if (!['items', 'users', 'events'].includes(kind))
        throw new Error(`kind must be items, users or events (got ${kind})`);
      const ctx = createContext();
      const rejectsFile = o.rejects || `${file}.rejected.jsonl`;
      const rejects = createWriteStream(rejectsFile);
      const producer = new EventProducer(ctx.kafka, ctx.names.topics.events);
      const batchSize = Number(o.batch);
      let accepted = 0;
      let rejected = 0;
      let seen = 0;
      const bar = progressBar(kind, 0);
      const reject = (row: Row, reason: string) => {
        rejected++;
        // a row as given when it is small; else its start: a hostile row is not copied whole
        const json = row.value === undefined ? undefined : JSON.stringify(row.value);
        const shown =
          json !== undefined && json.length <= REJECT_ROW_CHARS
            ? { row: row.value }
            : { row: null, excerpt: row.excerpt ?? (json === undefined ? undefined : excerpt(json)) };
        rejects.write(`${JSON.stringify({ line: row.line, reason: excerpt(reason), ...shown })}\n`);
      };
      const flush = async (rows: Row[]) => {
        const good = rows.filter((r) => (r.error ? (reject(r, r.error), false) : true));
        if (kind === 'events') {
          const r = acceptEvents(
            good.map((g) => g.value),
            ctx.config.events,
          );
          for (const e of r.errors) reject(good[e.index]!, `${e.field} ${e.message}`);
          await producer.send(r.accepted);
          accepted += r.accepted.length;
        } else {
          const rows = good.map((g) => g.value as Record<string, unknown>);
          const r =
            kind === 'items'
              ? await ctx.repos.metadata.upsertItems(rows)
              : await ctx.repos.metadata.upsertUsers(rows);
          for (const e of r.errors) reject(good[e.index]!, `${e.field ?? ''} ${e.message}`.trim());
          accepted += r.upserted;
        }
        seen += rows.length;
        bar.update(seen, `${accepted} accepted, ${rejected} rejected`);
      };
      try {
        let batch: Row[] = [];
        for await (const row of readRows(file)) {
          batch.push(row);
          if (batch.length >= batchSize) {
            await flush(batch);
            batch = [];
          }
        }
        if (batch.length) await flush(batch);
        bar.stop();
        console.log(
          `${kind}: ${accepted} accepted, ${rejected} rejected${rejected ? ` (reasons in ${rejectsFile})` : ''}`,
        );
      } finally {
        rejects.end();
        await producer.disconnect();
        await ctx.close();
      }
    });
}
