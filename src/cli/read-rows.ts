import { createReadStream } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';

export interface Row {
  line: number;
  value?: unknown;
  error?: string;
  /** the start of a row refused before parsing (too long, too wide): what a rejects file shows */
  excerpt?: string;
}

/** A row (a JSON line, or a CSV record) longer than this is refused before it is parsed. */
export const MAX_ROW_BYTES = 256 * 1024;
/** A CSV header or record with more columns than this is refused. */
export const MAX_COLUMNS = 1000;
/** How much of a refused row a rejects file carries. */
export const EXCERPT_CHARS = 200;

export interface RowLimits {
  maxRowBytes: number;
  maxColumns: number;
}
const LIMITS: RowLimits = { maxRowBytes: MAX_ROW_BYTES, maxColumns: MAX_COLUMNS };

/** The start of a text, for a message or a rejects file (never the whole of a hostile row). */
export function excerpt(text: string, chars = EXCERPT_CHARS): string {
  return text.length <= chars ? text : `${text.slice(0, chars)}…`;
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

interface Line {
  line: number;
  text: string;
  /** the line was longer than the bound: `text` is only its start */
  truncated: boolean;
}

/**
 * The file's lines, each held to `maxBytes`: the rest of a longer line is skipped as it streams
 * by, never buffered, so one hostile line costs its bound, not its size.
 */
async function* boundedLines(file: string, maxBytes: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let held = 0;
  let truncated = false;
  let line = 0;
  const take = (): Line => {
    const text = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
    const out = { line: ++line, text, truncated };
    parts = [];
    held = 0;
    truncated = false;
    return out;
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const room = maxBytes - held;
      if (end - start > room) truncated = true;
      const keep = chunk.subarray(start, start + Math.max(0, Math.min(end - start, room)));
      if (keep.length) {
        parts.push(Buffer.from(keep));
        held += keep.length;
      }
      if (nl < 0) break;
      yield take();
      start = nl + 1;
    }
  }
  if (held || truncated) yield take();
}

const tooLong = (l: Line, maxBytes: number): Row => ({
  line: l.line,
  error: `row longer than ${maxBytes} bytes (refused before parsing)`,
  excerpt: excerpt(l.text),
});

/** Streams JSON Lines (.jsonl/.ndjson/.json) or CSV (header row) records with their line numbers. */
export async function* readRows(file: string, limits: RowLimits = LIMITS): AsyncGenerator<Row> {
  const lines = boundedLines(file, limits.maxRowBytes);
  if (/\.csv$/i.test(file)) return yield* csvRows(lines, limits);
  for await (const l of lines) {
    if (l.truncated) {
      yield tooLong(l, limits.maxRowBytes);
      continue;
    }
    if (!l.text.trim()) continue;
    try {
      yield { line: l.line, value: JSON.parse(l.text) };
    } catch (e) {
      yield { line: l.line, error: `not JSON: ${(e as Error).message}`, excerpt: excerpt(l.text) };
    }
  }
}

const quotes = (s: string) => s.split('"').length - 1;

/**
 * CSV with a header row. A quoted field may span lines: physical lines are joined while a quote
 * is open, the record held to the same byte bound; the header and every record to maxColumns.
 */
async function* csvRows(lines: AsyncGenerator<Line>, limits: RowLimits): AsyncGenerator<Row> {
  let header: string[] | undefined;
  let pending: { text: string; quotes: number } | undefined;
  const csvOptions = { trim: true, relax_quotes: false } as const;
  for await (const l of lines) {
    if (l.truncated) {
      pending = undefined;
      yield tooLong(l, limits.maxRowBytes);
      continue;
    }
    const text = pending ? `${pending.text}\n${l.text}` : l.text;
    const open = (pending?.quotes ?? 0) + quotes(l.text);
    if (open % 2 === 1) {
      if (Buffer.byteLength(text) > limits.maxRowBytes) {
        pending = undefined;
        yield tooLong({ ...l, text }, limits.maxRowBytes);
      } else pending = { text, quotes: open };
      continue;
    }
    pending = undefined;
    if (!text.trim()) continue;
    // a record's columns are its delimiters + 1 at most: counted before anything is parsed
    if (countFields(text) > limits.maxColumns) {
      if (!header) throw new Error(`the CSV header has more than ${limits.maxColumns} columns`);
      yield { line: l.line, error: `more than ${limits.maxColumns} columns`, excerpt: excerpt(text) };
      continue;
    }
    let cells: string[];
    try {
      cells = (parseCsv(text, csvOptions) as string[][])[0] ?? [];
    } catch (e) {
      yield { line: l.line, error: `not CSV: ${(e as Error).message}`, excerpt: excerpt(text) };
      continue;
    }
    if (!header) {
      header = cells;
      continue;
    }
    if (cells.length !== header.length) {
      yield {
        line: l.line,
        error: `${cells.length} columns where the header has ${header.length}`,
        excerpt: excerpt(text),
      };
      continue;
    }
    try {
      yield { line: l.line, value: coerceCsv(Object.fromEntries(header.map((h, i) => [h, cells[i]!]))) };
    } catch (e) {
      yield { line: l.line, error: (e as Error).message, excerpt: excerpt(text) };
    }
  }
  if (pending)
    yield { line: -1, error: 'the file ends inside a quoted field', excerpt: excerpt(pending.text) };
}

/** Fields of one CSV record, commas inside quotes not counted (without building them). */
function countFields(text: string): number {
  let n = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) n++;
  }
  return n;
}
