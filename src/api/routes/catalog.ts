import { Router, type RequestHandler } from 'express';
import { checkMetadata, type ItemMetadata, type UserMetadata } from '../../catalog/metadata.ts';
import type { MetadataRepository, UpsertReport } from '../../repositories/metadata.ts';
import type { ApiOptions } from '../options.ts';
import { endpoint, jsonBody, noQueryParams } from '../middleware.ts';
import { batchOf } from './events.ts';

/**
 * PUT /v1/items, PUT /v1/users: a document or an array of ≤ maxBatch. All-or-nothing validation
 * (400, nothing written); then bulk upsert — 200 with the report, or 422 with the report when the
 * cluster refused some documents (e.g. an attribute whose type conflicts with its mapping).
 */
export function catalogRoutes(
  metadata: MetadataRepository,
  options: ApiOptions,
  authThenBody: RequestHandler[],
): Router {
  const r = Router();
  for (const kind of ['items', 'users'] as const) {
    r.put(`/v1/${kind}`, endpoint(`put_${kind}`), ...authThenBody, async (req, res) => {
      noQueryParams(req);
      const list = batchOf(jsonBody(req), kind, options.maxBatch);
      const errors = checkMetadata(kind, list, options.filterFields);
      if (errors.length) {
        const first = errors[0]!;
        res.status(400).json({
          errors,
          error: {
            code: `invalid_${kind}`,
            message: `${errors.length} of ${list.length} ${kind} are invalid, nothing was written (first: ${first.field} ${first.message})`,
            field: `${kind}[${first.index}].${first.field}`,
          },
        });
        return;
      }
      const report: UpsertReport =
        kind === 'items'
          ? await metadata.upsertItems(list as ItemMetadata[])
          : await metadata.upsertUsers(list as UserMetadata[]);
      if (report.errors.length) {
        const first = report.errors[0]!;
        res.status(422).json({
          ...report,
          error: {
            code: 'not_stored',
            message: `${report.errors.length} documents were refused by the cluster`,
            field: `${kind}[${first.index}]${first.field ? `.${first.field}` : ''}`,
          },
        });
        return;
      }
      res.json(report);
    });
  }
  return r;
}
