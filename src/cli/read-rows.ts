import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { parse } from 'csv-parse';

export interface Row {
  line: number;
  value?: unknown;
  error?: string;
}

/** Coerces CSV cells: numbers, booleans, `a|b` lists for `tags`; everything else stays a string. */
function coerceCsv(record: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === '') continue;
    if (k === 'tags') out[k] = v.split('|').filter(Boolean);
    else if (v === 'true' || v === 'false') out[k] = v === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(v) && !k.endsWith('_id')) out[k] = Number(v);
    else if (k === 'context') out[k] = JSON.parse(v);
    else out[k] = v;
  }
  return out;
}

/** Streams JSON Lines (.jsonl/.ndjson/.json) or CSV (header row) records with their line numbers. */
export async function* readRows(file: string): AsyncGenerator<Row> {
  if (/\.csv$/i.test(file)) {
    const parser = createReadStream(file).pipe(
      parse({ columns: true, skip_empty_lines: true, trim: true, info: true }),
    );
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      try {
        yield { line: info.lines, value: coerceCsv(record) };
      } catch (e) {
        yield { line: info.lines, error: (e as Error).message };
      }
    }
    return;
  }
  const rl = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    try {
      yield { line, value: JSON.parse(text) };
    } catch (e) {
      yield { line, error: `not JSON: ${(e as Error).message}` };
    }
  }
}
