import type { AppContext } from '../../src/app/context.ts';

/** Every document of every index of the prefix whose id or source mentions `needle`. */
export async function mentions(ctx: AppContext, needle: string): Promise<string[]> {
  await ctx.es.indices.refresh({ index: `${ctx.names.prefix}*` });
  const found: string[] = [];
  const indices = (await ctx.es.cat.indices({
    index: `${ctx.names.prefix}*`,
    h: ['index'],
    format: 'json',
  })) as Array<{
    index: string;
  }>;
  for (const { index } of indices) {
    let after: unknown[] | undefined;
    for (;;) {
      const r = await ctx.es.search<Record<string, unknown>>({
        index,
        size: 5_000,
        sort: ['_doc'],
        ...(after ? { search_after: after as never } : {}),
      });
      for (const h of r.hits.hits)
        if (h._id!.includes(needle) || JSON.stringify(h._source).includes(needle))
          found.push(`${index}/${h._id}`);
      if (r.hits.hits.length < 5_000) break;
      after = r.hits.hits.at(-1)!.sort;
    }
  }
  return found;
}
