import type { Registry } from './registry';

/** A registry entry with the held-out metrics of its latest version's card. */
export type ListedModule = Awaited<ReturnType<Registry['list']>>[number] & {
  metrics: { name: string; value: number }[];
};

/**
 * Every network and module in the registry with the metrics of its latest version: networks
 * first (they are what people run), then the modules they are built from, each by name.
 */
export async function listWithMetrics(registry: Registry): Promise<ListedModule[]> {
  const modules: ListedModule[] = [];
  for (const m of await registry.list()) {
    const card = m.latest ? (await registry.manifest(`${m.name}@${m.latest}`)).manifest.card : undefined;
    modules.push({ ...m, metrics: (card?.metrics ?? []).map((x) => ({ name: x.name, value: x.value })) });
  }
  return modules.sort(
    (a, b) => Number(b.kind === 'network') - Number(a.kind === 'network') || a.name.localeCompare(b.name),
  );
}
