// Query side: request parsing, ES query builders, live-model resolution, popular cache, seen-items
// lookup, served-list log and the recommendation service that ties them together.
export * from './types.ts';
export {
  CONTROL_PARAMS,
  checkFilterFields,
  checkModelId,
  checkPathId,
  createParamsParser,
  paramsError,
  paramsSchema,
  type Endpoint,
  type ParamStyle,
  type ParamsParser,
} from './params.ts';
export { excludeClause, filterClauses, filtersKey, withDefaultTerm } from './filters.ts';
export {
  MAX_NUM_CANDIDATES,
  VECTOR_FIELDS,
  decodeScore,
  numCandidates,
  popularSearchBody,
  vectorSearchBody,
  type SearchBody,
  type Space,
  type VectorSearchInput,
  type PopularSearchInput,
} from './search-body.ts';
export { esErrorType, esStatus, isEsUnavailable, isIndexNotFound } from '../infra/es-errors.ts';
export { PopularItems, type PopularOptions } from './popular.ts';
export { ServedLog, type ServedLogOptions, type ServedRecord } from './served-log.ts';
export { RecommendationService, type CallContext, type ServiceDeps } from './service.ts';
