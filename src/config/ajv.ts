import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** One place that builds ajv instances the same way (formats on, all errors collected). */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, ...options });
  addFormats(ajv);
  // ids become Elasticsearch _ids, whose limit is in bytes: see types/ids.ts
  ajv.addKeyword({
    keyword: 'maxUtf8Bytes',
    type: 'string',
    schemaType: 'number',
    error: { message: (cxt) => `must be at most ${String(cxt.schema)} bytes in UTF-8` },
    validate: (max: number, data: string) => Buffer.byteLength(data, 'utf8') <= max,
  });
  return ajv;
}

/**
 * The one mapping from an ajv error to the field a client wrote: the dotted instance path, plus the
 * property that is missing, unexpected or badly named.
 */
export function ajvErrorField(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  const key =
    e.keyword === 'required'
      ? p['missingProperty']
      : e.keyword === 'additionalProperties'
        ? p['additionalProperty']
        : e.keyword === 'propertyNames'
          ? p['propertyName']
          : undefined;
  if (key === undefined) return base;
  return base ? `${base}.${String(key)}` : String(key);
}
