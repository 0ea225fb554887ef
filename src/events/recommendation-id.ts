// The recommendation id the API hands out is self-describing and signed, so that an action carrying
// it is credited to the model (and A/B arm) that served it without looking anything up: the served
// record travels API → Kafka → ingest → Elasticsearch and may well arrive after the click.
//
//   r2~<model_id>~<experiment_id>~<arm>~<base64url(servedAt 6 B | nonce 6 B | HMAC-SHA256 12 B)>
//
// '~' is URL-safe (RFC 3986 unreserved) and in none of the field patterns, so splitting is
// unambiguous; empty experiment/arm mean "none". The MAC covers every field (the text before the
// tail, plus serve time and nonce), so no field can be changed without the secret. The nonce makes
// two lists of one model in one millisecond distinct. Model ids stay readable in the id on purpose
// (support can tell from a log line which model served a list).
//
// An r2 id is bound to the user the list was served to: the MAC also covers the user id, which the
// id does not carry (it would leak the user to every log line, and eat the length budget). So the
// reader names the users it wants to check (the acting user; the served record's user) and the id
// verifies only for the right one, or for "nobody" when the list was served without a user. r1 ids
// (minted before the binding, same layout) still verify, as bound to no one: the ingest credits
// them only on their served record, which names the user.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MODEL_ID_PATTERN } from '../types/ids.ts';

export interface RecommendationTag {
  modelId: string;
  /** epoch ms */
  servedAt: number;
  experimentId?: string;
  arm?: string;
  /** the user the list was served to (none: a list served without a user, e.g. similar items) */
  userId?: string;
}

/**
 * What a verified id says about its user: `user` (bound to `userId`), `none` (served without a
 * user), `legacy` (an r1 id, minted before ids were bound: the served record must say).
 */
export type IdBinding = 'user' | 'none' | 'legacy';

export type ReadTag = RecommendationTag & { binding: IdBinding };

/** The served-record schema's token limit (and well under Elasticsearch's 512-byte _id). */
export const MAX_RECOMMENDATION_ID_CHARS = 128;

/** Experiment ids and arm names as the id can carry them (no '~', lower case, ≤ 32). */
export const TAG_TOKEN_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

const VERSION = 'r2';
const LEGACY_VERSION = 'r1';
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

function tagProblem(tag: Omit<RecommendationTag, 'userId'>): string | undefined {
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

/**
 * user undefined: the r1 MAC (no user); '' : an r2 list served without a user (ids are never
 * empty). `fixed` has a fixed length, so the user needs no separator after it.
 */
function mac(secret: string, head: string, fixed: Buffer, user: string | undefined): Buffer {
  const h = createHmac('sha256', secret).update(head).update('\u0000').update(fixed);
  if (user !== undefined) h.update(user);
  return h.digest().subarray(0, MAC_BYTES);
}

/** A new id for one served list. Throws RangeError for a tag it cannot carry (a programming error: callers pass checked ids). */
export function mintRecommendationId(tag: RecommendationTag, secret: string): string {
  const problem = tagProblem(tag);
  if (problem) throw new RangeError(`cannot mint a recommendation id: ${problem}`);
  const head = [VERSION, tag.modelId, tag.experimentId ?? '', tag.arm ?? ''].join(SEP);
  const fixed = Buffer.alloc(6 + NONCE_BYTES);
  fixed.writeUIntBE(tag.servedAt, 0, 6);
  randomBytes(NONCE_BYTES).copy(fixed, 6);
  const sig = mac(secret, head, fixed, tag.userId ?? '');
  return `${head}${SEP}${Buffer.concat([fixed, sig]).toString('base64url')}`;
}

interface Parsed {
  version: string;
  head: string;
  modelId: string;
  experimentId: string;
  arm: string;
  fixed: Buffer;
  sig: Buffer;
}

function parse(id: string): Parsed | undefined {
  if (typeof id !== 'string' || id.length > MAX_RECOMMENDATION_ID_CHARS) return undefined;
  const parts = id.split(SEP);
  if (parts.length !== 5 || (parts[0] !== VERSION && parts[0] !== LEGACY_VERSION)) return undefined;
  const [version, modelId, experimentId, arm, tail] = parts as [string, string, string, string, string];
  if (tail.length !== TAIL_CHARS || !/^[A-Za-z0-9_-]+$/.test(tail)) return undefined;
  const bytes = Buffer.from(tail, 'base64url');
  if (bytes.length !== 6 + NONCE_BYTES + MAC_BYTES) return undefined;
  const head = id.slice(0, id.length - TAIL_CHARS - SEP.length);
  return {
    version,
    head,
    modelId,
    experimentId,
    arm,
    fixed: bytes.subarray(0, 6 + NONCE_BYTES),
    sig: bytes.subarray(6 + NONCE_BYTES),
  };
}

/**
 * The serve time an id claims, unverified: only to know where its served record would be (a
 * forged time finds nothing there). Undefined when it is not shaped like one of our ids.
 */
export function claimedServedAt(id: string): number | undefined {
  return parse(id)?.fixed.readUIntBE(0, 6);
}

/**
 * The tag of an id this system minted with this secret; undefined for anything else (foreign,
 * forged, malformed, or bound to a user not among `users`). An r2 id verifies for the first of
 * `users` it was served to, else as served to nobody when it was; an r1 id whatever the users.
 */
export function readRecommendationId(
  id: string,
  secret: string,
  users: readonly string[] = [],
): ReadTag | undefined {
  const p = parse(id);
  if (!p) return undefined;
  const verifies = (user: string | undefined) => timingSafeEqual(p.sig, mac(secret, p.head, p.fixed, user));
  let binding: IdBinding;
  let userId: string | undefined;
  if (p.version === LEGACY_VERSION) {
    if (!verifies(undefined)) return undefined;
    binding = 'legacy';
  } else {
    userId = users.find((u) => u !== '' && verifies(u));
    if (userId !== undefined) binding = 'user';
    else if (verifies('')) binding = 'none';
    else return undefined;
  }
  const tag: ReadTag = {
    modelId: p.modelId,
    servedAt: p.fixed.readUIntBE(0, 6),
    ...(p.experimentId ? { experimentId: p.experimentId } : {}),
    ...(p.arm ? { arm: p.arm } : {}),
    ...(userId !== undefined ? { userId } : {}),
    binding,
  };
  // a valid MAC over fields we would not mint (another version's rules) is still not ours
  return tagProblem(tag) ? undefined : tag;
}
