// Export a user: everything the platform holds about them as one JSON document, produced in pieces
// so a history of millions of events streams at the pace the client reads it, in constant memory.
// Events come last and are read by point-in-time scan, bucket after bucket.

import type { PrivacyContext } from './plan.ts';

/** The export's JSON text, in chunks; the counts at the end say how many of each it held. */
export async function* exportUser(
  ctx: PrivacyContext,
  userId: string,
  now = new Date(),
): AsyncGenerator<string> {
  const { repos, names } = ctx;
  const pd = repos.personalData;
  const counts = { events: 0, served_lists: 0, attributions: 0, vectors: 0 };
  const live = (await repos.modelIndices.aliasedModelIds()).at(-1) ?? null;
  const metadata = (await pd.get(names.userMetadata, userId).catch(() => undefined)) ?? null;
  const usersIndices = await pd.indices(names.usersPattern);
  const vectors = (await pd.findById(usersIndices, userId)).map((h) => ({
    model_id: h.source['model_id'] ?? h.index.slice(names.usersIndex('').length),
    live: h.index === (live ? names.usersIndex(live) : ''),
    factor: h.source['factor'] ?? null,
    recent_items: h.source['recent_items'] ?? [],
    source: h.source['source'] ?? null,
    updated_at: h.source['updated_at'] ?? null,
  }));
  counts.vectors = vectors.length;
  const merges = await repos.privacyJobs.mergedFrom(userId);

  yield `{"user_id":${JSON.stringify(userId)},"exported_at":${JSON.stringify(now.toISOString())},`;
  yield `"live_model_id":${JSON.stringify(live)},"metadata":${JSON.stringify(metadata)},`;
  yield `"vectors":${JSON.stringify(vectors)},"merges":${JSON.stringify(merges)},`;

  await pd.refresh([names.recommendationsPattern, names.eventsPattern]);
  const recs: Record<'served_lists' | 'attributions', string[]> = { served_lists: [], attributions: [] };
  // served lists and attributions share an index family; each goes to its own array
  yield `"served_lists":[`;
  let first = true;
  for await (const hits of pd.matching(names.recommendationsPattern, 'user_id', userId))
    for (const h of hits) {
      if (h.source['kind'] !== 'served') {
        recs.attributions.push(JSON.stringify({ index: h.index, ...h.source }));
        continue;
      }
      counts.served_lists++;
      yield `${first ? '' : ','}${JSON.stringify({ index: h.index, ...h.source })}`;
      first = false;
    }
  counts.attributions = recs.attributions.length;
  yield `],"attributions":[${recs.attributions.join(',')}],"events":[`;
  first = true;
  for await (const hits of pd.matching(names.eventsPattern, 'user_id', userId)) {
    counts.events += hits.length;
    yield `${first ? '' : ','}${hits.map((h) => JSON.stringify({ index: h.index, ...h.source })).join(',')}`;
    first = false;
  }
  yield `],"counts":${JSON.stringify(counts)}}\n`;
}
