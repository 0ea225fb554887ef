import type { Dataset } from './generate.ts';

export interface ServedList {
  recommendation_id: string;
  model_id: string;
  source: string;
  items: Array<{
    item_id: string;
    score?: number;
    name?: string;
    category?: string;
    price?: number;
    source?: string;
  }>;
}

/** Users worth showing: active ones with different main interests. */
export function pickShowcaseUsers(data: Dataset, n = 3): string[] {
  const perUser = new Map<string, Map<string, number>>();
  const category = new Map(data.items.map((i) => [i.item_id, i.category]));
  for (const e of data.events) {
    const m = perUser.get(e.user_id) ?? new Map<string, number>();
    const c = category.get(e.item_id) ?? '?';
    m.set(c, (m.get(c) ?? 0) + 1);
    perUser.set(e.user_id, m);
  }
  const ranked = [...perUser.entries()]
    .map(([u, m]) => ({
      u,
      total: [...m.values()].reduce((a, b) => a + b, 0),
      top: [...m.entries()].sort((a, b) => b[1] - a[1])[0]![0],
    }))
    .filter((r) => r.total >= 20 && r.total <= 400)
    .sort((a, b) => b.total - a.total);
  const picked: string[] = [];
  const cats = new Set<string>();
  for (const r of ranked) {
    if (cats.has(r.top)) continue;
    cats.add(r.top);
    picked.push(r.u);
    if (picked.length === n) break;
  }
  return picked;
}

/** "What they did": events by category and the last items touched, as printable lines. */
export function describeUser(data: Dataset, userId: string): string[] {
  const items = new Map(data.items.map((i) => [i.item_id, i]));
  const events = data.events.filter((e) => e.user_id === userId);
  const byCat = new Map<string, number>();
  const byType = new Map<string, number>();
  for (const e of events) {
    const c = items.get(e.item_id)?.category ?? '?';
    byCat.set(c, (byCat.get(c) ?? 0) + 1);
    byType.set(e.event_type, (byType.get(e.event_type) ?? 0) + 1);
  }
  const cats = [...byCat.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([c, n]) => `${c} ${Math.round((100 * n) / events.length)}%`);
  const purchases = events
    .filter((e) => e.event_type === 'purchase')
    .slice(-3)
    .map((e) => items.get(e.item_id)?.name ?? e.item_id);
  return [
    `${events.length} events (${[...byType.entries()].map(([t, n]) => `${n} ${t}`).join(', ')})`,
    `interests: ${cats.join(', ')}`,
    `recently bought: ${purchases.join('; ') || '-'}`,
  ];
}

export function describeList(list: ServedList): string[] {
  return list.items.map(
    (it, i) =>
      `${String(i + 1).padStart(2)}. ${(it.name ?? it.item_id).padEnd(48).slice(0, 48)} ${(it.category ?? '').padEnd(12)} ${it.price !== undefined ? `$${it.price.toFixed(2)}`.padStart(9) : ''}  ${it.source === 'popular' ? '(popular)' : `score ${it.score?.toFixed(3) ?? '-'}`}`,
  );
}
