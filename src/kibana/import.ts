import { loadSavedObjects, toNdjson } from './saved-objects.ts';
import type { SavedObject } from './types.ts';

export interface ImportOptions {
  /** Kibana base URL, e.g. http://localhost:5601 (a base path such as /kibana is kept) */
  kibanaUrl: string;
  /** index prefix (RECSYS_INDEX_PREFIX) written into the data view titles; default '' */
  prefix?: string;
  /** Kibana/ES API key (the base64 "id:api_key" form), sent as `Authorization: ApiKey …` */
  apiKey?: string;
  username?: string;
  password?: string;
  /** Kibana space; omitted or 'default' = the default space */
  spaceId?: string;
  /** replace objects with the same ids (default true) */
  overwrite?: boolean;
  /** objects to send instead of kibana/recsys.ndjson (already prefixed) */
  objects?: SavedObject[];
  /** request timeout in ms (default 30 s) */
  timeoutMs?: number;
}

/** Kibana's answer to POST /api/saved_objects/_import. */
export interface ImportSummary {
  success: boolean;
  successCount: number;
  successResults?: Array<{
    type: string;
    id: string;
    meta?: { title?: string };
    overwrite?: boolean;
    destinationId?: string;
  }>;
  errors?: Array<{
    type: string;
    id: string;
    title?: string;
    meta?: { title?: string };
    error: { type: string; [k: string]: unknown };
  }>;
  warnings?: unknown[];
}

export class KibanaImportError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'KibanaImportError';
  }
}

/** URL of the import API for a space (spaces live under /s/<id>/ except the default one). */
export function importUrl(kibanaUrl: string, spaceId?: string, overwrite = true): string {
  const base = kibanaUrl.replace(/\/+$/, '');
  const space = spaceId && spaceId !== 'default' ? `/s/${encodeURIComponent(spaceId)}` : '';
  return `${base}${space}/api/saved_objects/_import?overwrite=${overwrite}`;
}

export function authHeader(
  opts: Pick<ImportOptions, 'apiKey' | 'username' | 'password'>,
): string | undefined {
  if (opts.apiKey) return `ApiKey ${opts.apiKey}`;
  if (opts.username)
    return `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/**
 * Posts the saved objects as multipart/form-data (`file` = NDJSON) to Kibana's import API with
 * `kbn-xsrf: true`. Returns Kibana's summary; a 2xx with `success: false` (per-object errors such as
 * missing references) is returned, not thrown — check `summary.success`. Non-2xx and network errors throw
 * KibanaImportError with Kibana's message.
 */
export async function importSavedObjects(opts: ImportOptions): Promise<ImportSummary> {
  const objects = opts.objects ?? loadSavedObjects(opts.prefix ?? '');
  const url = importUrl(opts.kibanaUrl, opts.spaceId, opts.overwrite ?? true);
  const form = new FormData();
  form.append('file', new Blob([toNdjson(objects)], { type: 'application/ndjson' }), 'recsys.ndjson');
  const headers: Record<string, string> = { 'kbn-xsrf': 'true' };
  const auth = authHeader(opts);
  if (auth) headers['authorization'] = auth;

  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: form,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new KibanaImportError(
      `cannot reach Kibana at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { message?: string; error?: string };
      if (body.message) detail = body.error ? `${body.error}: ${body.message}` : body.message;
    } catch {
      // not JSON: keep the raw text
    }
    throw new KibanaImportError(
      `Kibana import failed: HTTP ${res.status} ${res.statusText} from ${url}: ${detail}`,
      res.status,
      text,
    );
  }
  try {
    return JSON.parse(text) as ImportSummary;
  } catch {
    throw new KibanaImportError(
      `Kibana import answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      res.status,
      text,
    );
  }
}
