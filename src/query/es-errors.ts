export { esErrorType, esStatus, isEsUnavailable, isIndexNotFound } from '../infra/es-errors.ts';
