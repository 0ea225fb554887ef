import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus } from '../infra/es-errors.ts';

/**
 * Points `items` and `user-factors` at one model's indices in a single _aliases call, so every
 * search sees either the old pair or the new pair, never a mix.
 */
export async function swapAliases(es: Client, names: Names, modelId: string): Promise<void> {
  const current = await aliasedIndices(es, names);
  const actions: Array<Record<string, { index: string; alias: string }>> = [];
  for (const index of current.items) actions.push({ remove: { index, alias: names.itemsAlias } });
  for (const index of current.users) actions.push({ remove: { index, alias: names.usersAlias } });
  actions.push({ add: { index: names.itemsIndex(modelId), alias: names.itemsAlias } });
  actions.push({ add: { index: names.usersIndex(modelId), alias: names.usersAlias } });
  await es.indices.updateAliases({ actions });
}

export async function aliasedIndices(es: Client, names: Names): Promise<{ items: string[]; users: string[] }> {
  const get = async (name: string) => {
    try {
      return Object.keys(await es.indices.getAlias({ name }));
    } catch (e) {
      if (esStatus(e) === 404) return [];
      throw e;
    }
  };
  return { items: await get(names.itemsAlias), users: await get(names.usersAlias) };
}

/** Model versions that have both of their indices on the cluster, newest first by index creation. */
export async function deployedVersions(es: Client, names: Names): Promise<string[]> {
  const rows = await es.cat.indices({ index: names.itemsPattern, h: ['index', 'creation.date'], format: 'json', expand_wildcards: 'open' }).catch(() => []);
  const users = new Set(
    ((await es.cat.indices({ index: names.usersPattern, h: ['index'], format: 'json' }).catch(() => [])) as Array<{ index?: string }>).map((r) => r.index),
  );
  return (rows as Array<{ index?: string; 'creation.date'?: string }>)
    .map((r) => ({ id: r.index!.slice(names.itemsIndex('').length), created: Number(r['creation.date']) }))
    .filter((r) => users.has(names.usersIndex(r.id)))
    .sort((a, b) => b.created - a.created)
    .map((r) => r.id);
}
