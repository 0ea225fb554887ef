// The recommendation id the API hands out is self-describing and signed, so that an action carrying
// it is credited to the model (and A/B arm) that served it without looking anything up: the served
// record travels API → Kafka → ingest → Elasticsearch and may well arrive after the click.
//
//   r1~<model_id>~<experiment_id>~<arm>~<base64url(servedAt 6 B | nonce 6 B | HMAC-SHA256 12 B)>
//
// '~' is URL-safe (RFC 3986 unreserved) and in none of the field patterns, so splitting is
// unambiguous; empty experiment/arm mean "none". The MAC covers every field (the text before the
// tail, plus serve time and nonce), so no field can be changed without the secret. The nonce makes
// two lists of one model in one millisecond distinct. Model ids stay readable in the id on purpose
// (support can tell from a log line which model served a list).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MODEL_ID_PATTERN } from '../types/ids.ts';

export interface RecommendationTag {
  modelId: string;
  /** epoch ms */
  servedAt: number;
  experimentId?: string;
  arm?: string;
}

/** The served-record schema's token limit (and well under Elasticsearch's 512-byte _id). */
export const MAX_RECOMMENDATION_ID_CHARS = 128;

/** Experiment ids and arm names as the id can carry them (no '~', lower case, ≤ 32). */
export const TAG_TOKEN_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

const VERSION = 'r1';
const SEP = '~';
const NONCE_BYTES = 6;
const MAC_BYTES = 12;
const TAIL_CHARS = Math.ceil(((6 + NONCE_BYTES + MAC_BYTES) * 4) / 3);
/** Characters left for model id + experiment id + arm (90): the fixed parts take the rest. */
export const TAG_BUDGET_CHARS = MAX_RECOMMENDATION_ID_CHARS - VERSION.length - 4 * SEP.length - TAIL_CHARS;
const MAX_SERVED_AT = 2 ** 48 - 1;

/** Whether a tag can be encoded within the id's length (an experiment checks its ids against its model ids with this). */
export function fitsRecommendationId(
  tag: Pick<RecommendationTag, 'modelId' | 'experimentId' | 'arm'>,
): boolean {
  return tag.modelId.length + (tag.experimentId?.length ?? 0) + (tag.arm?.length ?? 0) <= TAG_BUDGET_CHARS;
}

function tagProblem(tag: RecommendationTag): string | undefined {
  if (!MODEL_ID_PATTERN.test(tag.modelId))
    return `model id ${JSON.stringify(tag.modelId)} does not match ${MODEL_ID_PATTERN}`;
  if (!Number.isInteger(tag.servedAt) || tag.servedAt < 0 || tag.servedAt > MAX_SERVED_AT)
    return `servedAt ${tag.servedAt} is not an epoch-ms integer`;
  for (const [name, v] of [
    ['experiment id', tag.experimentId],
    ['arm', tag.arm],
  ] as const) {
    if (v !== undefined && !TAG_TOKEN_PATTERN.test(v))
      return `${name} ${JSON.stringify(v)} does not match ${TAG_TOKEN_PATTERN}`;
  }
  if ((tag.arm === undefined) !== (tag.experimentId === undefined))
    return 'experiment id and arm go together';
  if (!fitsRecommendationId(tag))
    return `model id + experiment id + arm exceed ${TAG_BUDGET_CHARS} characters`;
  return undefined;
}

function mac(secret: string, head: string, fixed: Buffer): Buffer {
  return createHmac('sha256', secret)
    .update(head)
    .update('\u0000')
    .update(fixed)
    .digest()
    .subarray(0, MAC_BYTES);
}

/** A new id for one served list. Throws RangeError for a tag it cannot carry (a programming error: callers pass checked ids). */
export function mintRecommendationId(tag: RecommendationTag, secret: string): string {
  const problem = tagProblem(tag);
  if (problem) throw new RangeError(`cannot mint a recommendation id: ${problem}`);
  const head = [VERSION, tag.modelId, tag.experimentId ?? '', tag.arm ?? ''].join(SEP);
  const fixed = Buffer.alloc(6 + NONCE_BYTES);
  fixed.writeUIntBE(tag.servedAt, 0, 6);
  randomBytes(NONCE_BYTES).copy(fixed, 6);
  return `${head}${SEP}${Buffer.concat([fixed, mac(secret, head, fixed)]).toString('base64url')}`;
}

/** The tag of an id this system minted with this secret; undefined for anything else (foreign, forged, malformed). */
export function readRecommendationId(id: string, secret: string): RecommendationTag | undefined {
  if (typeof id !== 'string' || id.length > MAX_RECOMMENDATION_ID_CHARS) return undefined;
  const parts = id.split(SEP);
  if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
  const [, modelId, experimentId, arm, tail] = parts as [string, string, string, string, string];
  if (tail.length !== TAIL_CHARS || !/^[A-Za-z0-9_-]+$/.test(tail)) return undefined;
  const bytes = Buffer.from(tail, 'base64url');
  if (bytes.length !== 6 + NONCE_BYTES + MAC_BYTES) return undefined;
  const fixed = bytes.subarray(0, 6 + NONCE_BYTES);
  const head = id.slice(0, id.length - TAIL_CHARS - SEP.length);
  if (!timingSafeEqual(bytes.subarray(6 + NONCE_BYTES), mac(secret, head, fixed))) return undefined;
  const tag: RecommendationTag = {
    modelId,
    servedAt: fixed.readUIntBE(0, 6),
    ...(experimentId ? { experimentId } : {}),
    ...(arm ? { arm } : {}),
  };
  // a valid MAC over fields we would not mint (another version's rules) is still not ours
  return tagProblem(tag) ? undefined : tag;
}
