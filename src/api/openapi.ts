// OpenAPI 3.1 document generated from the very JSON schemas the API validates with (request
// parameters from the filter whitelist, events, metadata), so documentation and validation cannot
// drift apart.

import { itemDisplaySchema } from '../catalog/item-fields.ts';
import { EVENT_SCHEMA } from '../events/schema.ts';
import { itemMetadataSchema, USER_METADATA_SCHEMA } from '../catalog/metadata.ts';
import type { ApiOptions } from './options.ts';
import type { RecommendationParsers } from './routes/recommendations.ts';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const errorResponse = (description: string) => json(ref('Error'), description);

function queryParameters(schema: Json): Json[] {
  const props = schema['properties'] as Record<string, Json>;
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: 'query',
      required: false,
      description,
      schema: rest,
      ...(rest['type'] === 'array' ? { style: 'form', explode: true } : {}),
    };
  });
}

const pathParam = (name: string, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', minLength: 1, maxLength: 256 },
});

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description:
            'stable machine-readable code, e.g. invalid_parameter, unknown_parameter, filter_not_allowed',
        },
        message: { type: 'string' },
        field: { type: 'string', description: 'the parameter or body field at fault' },
      },
    },
  },
};

const ITEM_SCHEMA: Json = {
  type: 'object',
  required: ['item_id', 'score', 'source'],
  properties: {
    item_id: { type: 'string' },
    score: { type: 'number', description: 'see score_type of the response; popularity for popular items' },
    source: { enum: ['personal', 'popular'] },
    ...itemDisplaySchema(),
  },
};

const RESPONSE_SCHEMA: Json = {
  type: 'object',
  required: ['recommendation_id', 'request_id', 'model_id', 'mode', 'source', 'score_type', 'items'],
  properties: {
    recommendation_id: {
      type: 'string',
      maxLength: 128,
      description:
        'opaque and signed (it names the model, A/B arm and serve time); send it back with events (recommendation_id) to attribute clicks and conversions',
    },
    request_id: { type: 'string' },
    model_id: {
      type: 'string',
      description: "the model that served the list (an experiment's candidate for its treatment arm)",
    },
    experiment_id: {
      type: 'string',
      description: 'the running A/B experiment, on user recommendations while one runs',
    },
    arm: {
      enum: ['treatment', 'control'],
      description: "the user's arm: deterministic by a hash of the experiment's salt and the user id",
    },
    user_id: { type: 'string' },
    item_id: { type: 'string' },
    mode: { enum: ['exact', 'ann', 'lsh'], description: 'the mode asked for (or [serving] default_mode)' },
    search: {
      enum: ['exact', 'ann', 'lsh'],
      description:
        'the vector search that ran for the personal items (absent when there were none to search for): exact where an ann request was answered by the norm-bounded exact search (fewer vectors scored than the graph visits, recall 1) or the model has no graph for that space',
    },
    source: {
      enum: ['personal', 'popular', 'mixed'],
      description: 'mixed = personal items backfilled with popular ones',
    },
    score_type: {
      enum: ['dot', 'cosine', 'rrf', 'popularity'],
      description:
        'dot: user·item inner product; cosine: item-item cosine; rrf (with q): reciprocal rank fusion Σ 1/(k + rank) of the knn list (among text matches) and the BM25 list; popularity',
    },
    reason: { enum: ['unknown_user', 'no_user_factor', 'item_has_no_factor', 'degraded'] },
    degraded: {
      const: true,
      description:
        'present when Elasticsearch did not answer within the request budget or is down: the list is the cached popular list (header x-recsys-degraded too)',
    },
    items: { type: 'array', items: ref('RecommendedItem') },
  },
};

const EXPERIMENT_SCHEMA: Json = {
  type: 'object',
  required: ['experiment_id', 'candidate_model_id', 'treatment_share', 'salt', 'status', 'created_at'],
  properties: {
    experiment_id: { type: 'string' },
    candidate_model_id: { type: 'string', description: 'serves the treatment arm' },
    control_model_id: {
      type: 'string',
      description: 'the live model when the experiment started (control is whatever is live)',
    },
    treatment_share: { type: 'number' },
    salt: {
      type: 'string',
      description: 'arm = treatment when SHA-256(salt:user_id) as a fraction < treatment_share',
    },
    status: { enum: ['running', 'stopped', 'promoted'] },
    created_at: { type: 'string', format: 'date-time' },
    stopped_at: { type: 'string', format: 'date-time' },
    promoted_at: { type: 'string', format: 'date-time' },
  },
};

const EVENTS_RESPONSE: Json = {
  type: 'object',
  required: ['accepted', 'ids', 'errors'],
  properties: {
    accepted: { type: 'integer' },
    ids: {
      type: 'array',
      items: { type: 'string' },
      description:
        'event_id of each accepted event, in request order; an event sent without one gets a hash of its body, so sending it again is stored once',
    },
    delivery: {
      enum: ['acknowledged', 'pending'],
      description:
        'acknowledged: the broker has the events; pending: the write budget ran out while the send was under way (they may still be stored, under these ids; a retry is harmless)',
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { index: { type: 'integer' }, field: { type: 'string' }, message: { type: 'string' } },
      },
    },
    error: ERROR_SCHEMA['properties'] as Json,
  },
};

const UPSERT_REPORT: Json = {
  type: 'object',
  properties: {
    documents: { type: 'integer' },
    metadata: {
      type: 'object',
      properties: {
        index: { type: 'string' },
        created: { type: 'integer' },
        updated: { type: 'integer' },
        failed: { type: 'integer' },
      },
    },
    live: {
      type: ['object', 'null'],
      description: 'propagation to the live items index (items only)',
      properties: {
        index: { type: 'string' },
        modelId: { type: 'string' },
        created: { type: 'integer' },
        updated: { type: 'integer' },
        failed: { type: 'integer' },
      },
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          id: { type: 'string' },
          target: { type: 'string' },
          field: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
};

function batchBody(itemRef: Json, max: number): Json {
  return { oneOf: [itemRef, { type: 'array', items: itemRef, minItems: 1, maxItems: max }] };
}

export function buildOpenApi(parsers: RecommendationParsers, options: ApiOptions): Json {
  const { $id: _id, ...event } = EVENT_SCHEMA as Json;
  const secured = [{ ApiKey: [] }];
  const authErrors = {
    '401': errorResponse('missing x-api-key'),
    '403': errorResponse('API key not accepted'),
  };
  const privacyJob: Json = {
    type: 'object',
    properties: {
      job_id: { type: 'string' },
      operation: { enum: ['forget_user', 'remove_item', 'merge_user'] },
      subject: { type: 'string', description: 'SHA-256 of the id (the id itself is never stored)' },
      status: { enum: ['running', 'done', 'failed'] },
      runs: { type: 'integer' },
      stores: {
        type: 'object',
        description: 'per store: status (pending|done), counts, parts done (event buckets)',
      },
      status_url: { type: 'string' },
    },
  };
  const recResponses = {
    '200': json(ref('RecommendationResponse'), 'the list'),
    '400': errorResponse('invalid or unknown parameter (field names it)'),
    '409': errorResponse('lsh requested but the live model has no LSH tables'),
    '503': errorResponse('no live model, or Elasticsearch unavailable'),
  };
  const f = options.filterFields;
  return {
    openapi: '3.1.0',
    info: {
      title: 'seed-recsys API',
      version: '1',
      description: [
        'Recommendations served from Elasticsearch dense vectors (ALS factors).',
        `Filters (GET query string and POST body use the same flat names): keyword fields ${f.keyword.join(', ')} (repeat the parameter / send an array for any-of);`,
        `boolean fields ${f.boolean.join(', ')}; numeric ranges ${f.range.map((r) => `${r}_min/${r}_max`).join(', ')} (inclusive).`,
        `With q (user recommendations), every item matches the text: the nearest ${options.hybrid.candidates} items among the text matches and the best ${options.hybrid.candidates} by BM25(${options.hybrid.fields.join(', ')}) are fused by rank, score = Σ 1/(${options.hybrid.rrfK} + rank) (score_type rrf), so text relevance and the user's taste weigh the same whatever their scales.`,
        'Every served list is logged with its recommendation_id; send it back on events to attribute clicks.',
      ].join(' '),
    },
    components: {
      securitySchemes: { ApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: {
        Error: ERROR_SCHEMA,
        RecommendedItem: ITEM_SCHEMA,
        RecommendationResponse: RESPONSE_SCHEMA,
        RecommendationRequest: parsers.user.schema('body'),
        Event: event,
        EventsResponse: EVENTS_RESPONSE,
        ItemMetadata: itemMetadataSchema(options.filterFields) as unknown as Json,
        UserMetadata: USER_METADATA_SCHEMA as unknown as Json,
        UpsertReport: UPSERT_REPORT,
        Experiment: EXPERIMENT_SCHEMA,
      },
    },
    paths: {
      '/v1/users/{user_id}/recommendations': {
        get: {
          summary: 'Items for a user',
          parameters: [pathParam('user_id', 'user id'), ...queryParameters(parsers.user.schema('query'))],
          responses: recResponses,
        },
        post: {
          summary: 'Items for a user (parameters as a JSON body, typed: no coercion)',
          parameters: [pathParam('user_id', 'user id')],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: ref('RecommendationRequest') } },
          },
          responses: recResponses,
        },
      },
      '/v1/items/{item_id}/similar': {
        get: {
          summary: 'Items similar to an item (cosine of the item factors)',
          parameters: [pathParam('item_id', 'item id'), ...queryParameters(parsers.similar.schema('query'))],
          responses: { ...recResponses, '404': errorResponse('item not in the live catalogue') },
        },
      },
      '/v1/events': {
        post: {
          summary: `Record events (one or an array of up to ${options.maxBatch})`,
          security: secured,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: batchBody(ref('Event'), options.maxBatch) } },
          },
          responses: {
            '202': json(ref('EventsResponse'), 'valid events accepted; invalid ones listed by index'),
            '400': json(ref('EventsResponse'), 'no valid event, empty or too large batch'),
            ...authErrors,
            '413': errorResponse(`body larger than ${options.bodyLimit}`),
            '503': errorResponse(
              'the send to the event stream failed (body carries the ids; a retry is harmless)',
            ),
          },
        },
      },
      '/v1/items': {
        put: {
          summary: 'Upsert item metadata (catalogue and live index)',
          security: secured,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: batchBody(ref('ItemMetadata'), options.maxBatch) } },
          },
          responses: {
            '200': json(ref('UpsertReport'), 'stored'),
            '400': errorResponse('invalid documents, nothing written'),
            ...authErrors,
            '422': json(ref('UpsertReport'), 'some documents refused by the cluster'),
          },
        },
      },
      '/v1/users': {
        put: {
          summary: 'Upsert user metadata',
          security: secured,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: batchBody(ref('UserMetadata'), options.maxBatch) } },
          },
          responses: {
            '200': json(ref('UpsertReport'), 'stored'),
            '400': errorResponse('invalid documents, nothing written'),
            ...authErrors,
            '422': json(ref('UpsertReport'), 'some documents refused by the cluster'),
          },
        },
      },
      '/v1/models': {
        get: {
          summary: 'Model registry, newest first',
          security: secured,
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
          ],
          responses: {
            '200': json(
              {
                type: 'object',
                properties: {
                  live_model_id: { type: ['string', 'null'] },
                  models: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        model_id: { type: 'string' },
                        report_url: { type: 'string', description: 'GET this for the run report (HTML)' },
                      },
                    },
                  },
                },
              },
              'models',
            ),
            ...authErrors,
          },
        },
      },
      '/v1/models/{model_id}/report': {
        get: {
          summary:
            'The run report: one self-contained HTML page with inline SVG charts (loss, metrics vs popularity vs the previous live model, coverage, popularity bias, tuning landscape)',
          security: secured,
          parameters: [pathParam('model_id', 'model id')],
          responses: {
            '200': { description: 'the report', content: { 'text/html': { schema: { type: 'string' } } } },
            ...authErrors,
            '404': errorResponse('unknown model'),
          },
        },
      },
      '/v1/models/{model_id}/activate': {
        post: {
          summary: 'Make a deployed model live (rollback / roll forward)',
          security: secured,
          parameters: [pathParam('model_id', 'model id')],
          responses: {
            '200': json(
              { type: 'object', properties: { model_id: { type: 'string' }, status: { const: 'live' } } },
              'activated',
            ),
            ...authErrors,
            '404': errorResponse('unknown model'),
            '409': errorResponse('model failed or has no deployed indices'),
          },
        },
      },
      '/v1/models/{model_id}/stage': {
        post: {
          summary:
            'Deploy a trained model (kept factors) without going live, as the candidate of an experiment; poll /v1/train/{model_id} until status staged',
          security: secured,
          parameters: [pathParam('model_id', 'model id')],
          responses: {
            '202': json(
              {
                type: 'object',
                properties: {
                  model_id: { type: 'string' },
                  status: { const: 'deploying' },
                  status_url: { type: 'string' },
                },
              },
              'deploying',
            ),
            ...authErrors,
            '404': errorResponse('unknown model'),
            '409': errorResponse('already deployed, being trained or deployed, or no kept factors'),
          },
        },
      },
      '/v1/train': {
        post: {
          summary: 'Start a training run',
          security: secured,
          responses: {
            '202': json(
              { type: 'object', properties: { run_id: { type: 'string' }, status_url: { type: 'string' } } },
              'started',
            ),
            ...authErrors,
            '409': errorResponse('a run is already in progress'),
          },
        },
      },
      '/v1/train/{run_id}': {
        get: {
          summary: 'A training run (its models document)',
          security: secured,
          parameters: [pathParam('run_id', 'run id = model id')],
          responses: {
            '200': json(
              {
                type: 'object',
                properties: {
                  model_id: { type: 'string' },
                  report_url: { type: 'string', description: 'GET this for the run report (HTML)' },
                },
              },
              'the run',
            ),
            ...authErrors,
            '404': errorResponse('unknown run'),
          },
        },
      },
      '/v1/users/{user_id}': {
        delete: {
          summary:
            'Forget a user in every store (events, dedup ledger, users indices, served lists, metadata, artefacts) and tombstone them for ingest and training; idempotent, resumable: ask again to resume. Poll status_url',
          security: secured,
          parameters: [pathParam('user_id', 'user id')],
          responses: { '202': json(privacyJob, 'the forget job'), ...authErrors },
        },
      },
      '/v1/users/{user_id}/export': {
        get: {
          summary:
            'Everything held about a user as one JSON document (metadata, vectors per model, served lists, attributions, events), streamed',
          security: secured,
          parameters: [pathParam('user_id', 'user id')],
          responses: {
            '200': json({ type: 'object' }, 'the export; counts at the end'),
            ...authErrors,
          },
        },
      },
      '/v1/users/{user_id}/merge': {
        post: {
          summary:
            "Merge an anonymous id into the user (its events, served lists and attributions re-keyed, the user's vector folded in again, the anonymous id forgotten). Poll status_url",
          security: secured,
          parameters: [pathParam('user_id', 'user id')],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['anonymous_id'],
                  additionalProperties: false,
                  properties: { anonymous_id: { type: 'string' } },
                },
              },
            },
          },
          responses: { '202': json(privacyJob, 'the merge job'), ...authErrors },
        },
      },
      '/v1/items/{item_id}': {
        delete: {
          summary:
            'Remove an item from the catalogue and every items index now, and from training; its events too with events=true (then 202, poll status_url)',
          security: secured,
          parameters: [
            pathParam('item_id', 'item id'),
            {
              name: 'events',
              in: 'query',
              required: false,
              schema: { type: 'boolean', default: false },
              description: "also delete the item's events (they are the users' history: kept by default)",
            },
          ],
          responses: {
            '200': json(privacyJob, 'removed'),
            '202': json(privacyJob, 'removing (events=true)'),
            ...authErrors,
          },
        },
      },
      '/v1/privacy/jobs/{job_id}': {
        get: {
          summary: 'A privacy job: status, per-store progress and counts',
          security: secured,
          parameters: [pathParam('job_id', 'job id')],
          responses: {
            '200': json(privacyJob, 'the job'),
            ...authErrors,
            '404': errorResponse('unknown job'),
          },
        },
      },
      '/v1/experiments': {
        post: {
          summary:
            'Start an A/B experiment: a staged candidate serves treatment_share of users (by a hash of the experiment salt and user id), the live model the rest',
          security: secured,
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['candidate_model_id', 'treatment_share'],
                  properties: {
                    candidate_model_id: { type: 'string' },
                    treatment_share: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
                  },
                },
              },
            },
          },
          responses: {
            '201': json(ref('Experiment'), 'started'),
            '400': errorResponse('invalid share or model id, unknown field'),
            ...authErrors,
            '409': errorResponse(
              'candidate not deployed (stage it: recsys deploy <id> --stage), is the live model, or another experiment is running',
            ),
          },
        },
        get: {
          summary: 'Experiments, newest first',
          security: secured,
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
          ],
          responses: {
            '200': json(
              { type: 'object', properties: { experiments: { type: 'array', items: ref('Experiment') } } },
              'experiments',
            ),
            ...authErrors,
          },
        },
      },
      '/v1/experiments/{experiment_id}': {
        get: {
          summary:
            'An experiment with per-arm impressions, clicks, conversions, CTR and conversion rate (Wilson 95 % intervals) and a two-proportion z-test verdict; unit: one served list',
          security: secured,
          parameters: [pathParam('experiment_id', 'experiment id')],
          responses: {
            '200': json(
              { allOf: [ref('Experiment'), { type: 'object', properties: { results: { type: 'object' } } }] },
              'the experiment and its results',
            ),
            ...authErrors,
            '404': errorResponse('unknown experiment'),
          },
        },
      },
      '/v1/experiments/{experiment_id}/stop': {
        post: {
          summary: 'Stop a running experiment: everyone gets the live model again',
          security: secured,
          parameters: [pathParam('experiment_id', 'experiment id')],
          responses: {
            '200': json(ref('Experiment'), 'stopped'),
            ...authErrors,
            '404': errorResponse('unknown experiment'),
            '409': errorResponse('not running'),
          },
        },
      },
      '/v1/experiments/{experiment_id}/promote': {
        post: {
          summary: 'Make the candidate live (the usual atomic alias swap) and end the experiment',
          security: secured,
          parameters: [pathParam('experiment_id', 'experiment id')],
          responses: {
            '200': json(ref('Experiment'), 'promoted'),
            ...authErrors,
            '404': errorResponse('unknown experiment'),
            '409': errorResponse('not running, or the candidate can no longer be activated'),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Elasticsearch, Kafka and live model',
          responses: {
            '200': json({ type: 'object' }, 'Elasticsearch and Kafka reachable'),
            '503': json({ type: 'object' }, 'a dependency is down'),
          },
        },
      },
      '/live': {
        get: {
          summary: 'Liveness: the process serves HTTP (asks no backend)',
          responses: { '200': json({ type: 'object' }, 'alive') },
        },
      },
      '/ready': {
        get: {
          summary:
            'Readiness: Elasticsearch and Kafka answer and a live model is resolved (within [serving] health_deadline_ms)',
          responses: {
            '200': json({ type: 'object' }, 'ready'),
            '503': json({ type: 'object' }, 'not ready; `missing` names what (Retry-After)'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition format' } },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
  };
}
