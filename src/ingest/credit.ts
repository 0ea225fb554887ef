// The pure rules of attribution: what kind of action an event is, where its item sat in the list,
// whether it earns the list credit, and the one _id every action on (list, item, kind) competes
// for. The ingest's Attributor (./attribution.ts) gathers their inputs per consumed batch.

import { createHash } from 'node:crypto';
import type { ReadTag } from '../events/recommendation-id.ts';
import type { ServedList } from '../repositories/served-lists.ts';

export type ActionKind = 'click' | 'conversion' | 'action';

/** Which attribution kind an action on a served list counts as. */
export function attributionKind(eventType: string): ActionKind {
  if (eventType === 'click' || eventType === 'page_view') return 'click';
  if (eventType === 'add_to_cart' || eventType === 'purchase') return 'conversion';
  return 'action';
}

/** 1-based place of the item in the served list; null (and in_list false) when it was not in it. */
export function positionIn(
  items: readonly string[],
  itemId: string,
): { position: number | null; in_list: boolean } {
  const i = items.indexOf(itemId);
  return i < 0 ? { position: null, in_list: false } : { position: i + 1, in_list: true };
}

/** Why an action carrying a recommendation_id earned no credit. */
export type UnattributedReason =
  'invalid_id' | 'other_user' | 'before_serve' | 'outside_window' | 'list_not_found';

export interface CreditRules {
  /** how long after the serve time an action still counts */
  windowMs: number;
  /** how far before the serve time an action may be stamped (client clocks behind the API's) */
  skewMs: number;
}

export interface CreditInput {
  user: string;
  /** the action's time, epoch ms */
  at: number;
  /** the verified id, and which secret verified it (0: the current one) */
  tag?: ReadTag;
  secretIndex?: number;
  /** the served record, when it is stored */
  list?: Pick<ServedList, 'timestamp' | 'user_id'>;
  /** the user an anonymous id was merged into */
  mergedInto?: (anonId: string) => string | undefined;
}

export type CreditVerdict = { credit: true } | { credit: false; reason: UnattributedReason };

/** The user a list was served to, as far as the id and its record tell (undefined: nobody in particular). */
export function servedUser(
  tag: ReadTag | undefined,
  list: Pick<ServedList, 'user_id'> | undefined,
): string | undefined {
  if (tag?.binding === 'user') return tag.userId;
  if (tag?.binding === 'none') return undefined;
  return list?.user_id;
}

/** Whether an action earns its list credit (the first-per-(list, item, kind) rule is the store's: creditId). */
export function creditVerdict(a: CreditInput, rules: CreditRules): CreditVerdict {
  const { tag, list } = a;
  if (!tag && !list) return { credit: false, reason: 'invalid_id' };
  const needsList = !tag || tag.binding === 'legacy' || (a.secretIndex ?? 0) > 0;
  if (needsList && !list) return { credit: false, reason: 'list_not_found' };
  const owner = servedUser(tag, list);
  if (owner !== undefined && owner !== a.user && a.mergedInto?.(owner) !== a.user)
    return { credit: false, reason: 'other_user' };
  const servedAt = tag ? tag.servedAt : Date.parse(list!.timestamp);
  if (a.at < servedAt - rules.skewMs) return { credit: false, reason: 'before_serve' };
  if (a.at > servedAt + rules.windowMs) return { credit: false, reason: 'outside_window' };
  return { credit: true };
}

/** The _id of the one credit record of (list, item, kind): fixed length, whatever the ids' lengths. */
export function creditId(recommendationId: string, itemId: string, kind: ActionKind): string {
  // NUL is in no id: the parts stay apart ('ab' + 'c' is not 'a' + 'bc')
  const h = createHash('sha256').update([recommendationId, itemId, kind].join('\u0000'));
  return `credit-${h.digest('base64url')}`;
}
