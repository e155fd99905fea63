import semver from 'semver';
import { linkId, parseGenericRecord, type GenericRecord, type LinkSpec } from '@transplant/composer';
import { TransplantError, isTransplantError, type ModuleManifest } from '@transplant/core';
import type { ModuleIndex, Registry, Resolved } from '@transplant/registry';

/** One version of a module as the hub shows it: the index entry and its (verified) manifest. */
export interface HubVersion {
  readonly version: string;
  readonly yanked: boolean;
  readonly publishedAt: string;
  readonly manifestDigest: string;
  readonly weightsDigest: string;
  readonly weightsSize: number;
  readonly attachments: readonly { kind: string; digest: string; size: number; attachedAt: string }[];
  readonly manifest: ModuleManifest;
}

/** A module or network in the list: its latest version (else its highest) and its key metric. */
export interface HubEntry {
  readonly name: string;
  readonly kind: string;
  readonly task?: string;
  readonly category?: string;
  readonly family: string;
  /** The `latest` dist-tag; undefined when every version is yanked or a prerelease. */
  readonly latest?: string;
  /** The version the card shows by default: latest, else the highest published. */
  readonly shown: string;
  readonly yanked: number;
  readonly versions: readonly HubVersion[];
  /** The version {@link shown} names (one of {@link versions}). */
  readonly current: HubVersion;
  readonly metric?: { readonly name: string; readonly value: number; readonly on: string };
  /** A network with a generic record (the category × task matrix). */
  readonly generic: boolean;
  /**
   * A transplanted network: not generic, and a link of it joins its category and task modules
   * through an adapter (what `transplant` publishes as `<category>-<task>-via-<source>`, or a
   * network composed by hand the same way). Read from the manifest, not the name.
   */
  readonly via: boolean;
}

/** A module whose index or manifest could not be read: the list shows it, its card says why. */
export interface BrokenEntry {
  readonly name: string;
  readonly broken: { readonly code: string; readonly message: string };
}

/** How many modules are read at once. */
export const CATALOG_CONCURRENCY = 8;

/** Everything the pages read: the entries by name, and who depends on whom. */
export interface Catalog {
  readonly entries: readonly HubEntry[];
  readonly byName: ReadonlyMap<string, HubEntry>;
  /** Modules that could not be read (each page but theirs still works). */
  readonly broken: ReadonlyMap<string, BrokenEntry>;
  /** name → the `name@version`s whose manifests depend on it. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

/**
 * Reads the registry into a catalog. Manifests are content-addressed and immutable, so they are
 * cached by digest across reads; indexes are read each time (yanks show up at once).
 */
export class CatalogReader {
  private readonly manifests = new Map<string, ModuleManifest>();

  constructor(private readonly registry: Registry) {}

  async read(): Promise<Catalog> {
    // Names only: Registry.list() reads every index, and one damaged index would reject it.
    const names = await this.registry.store.listNames();
    const entries: HubEntry[] = [];
    const broken = new Map<string, BrokenEntry>();
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++] as string;
        try {
          entries.push(await this.entry(name));
        } catch (error) {
          // A name without an index (removed meanwhile, or a stray folder) is no module.
          if (isTransplantError(error, 'E_MODULE_NOT_FOUND')) continue;
          broken.set(name, { name, broken: brokenOf(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATALOG_CONCURRENCY, names.length) }, worker));
    entries.sort(
      (a, b) => Number(b.kind === 'network') - Number(a.kind === 'network') || a.name.localeCompare(b.name),
    );
    const dependents = new Map<string, string[]>();
    for (const e of entries)
      for (const v of e.versions)
        for (const d of v.manifest.dependencies) {
          const list = dependents.get(d.name) ?? [];
          list.push(`${e.name}@${v.version}`);
          dependents.set(d.name, list);
        }
    return {
      entries,
      byName: new Map(entries.map((e) => [e.name, e])),
      broken: new Map([...broken].sort(([a], [b]) => a.localeCompare(b))),
      dependents,
    };
  }

  private async entry(name: string): Promise<HubEntry> {
    const index = await this.registry.index(name);
    const versions = await this.versions(index);
    const latest = index.distTags['latest'];
    const shown = latest ?? semver.rsort(versions.map((v) => v.version))[0];
    const current = versions.find((v) => v.version === shown);
    if (shown === undefined || !current)
      throw new TransplantError(
        'E_REGISTRY_CORRUPT',
        shown === undefined
          ? `the index of ${name} lists no version`
          : `the index of ${name} tags latest ${shown}, which it does not list`,
        { operation: 'hub', module: name },
      );
    const manifest = current.manifest;
    const metric = manifest.card.metrics[0];
    return {
      name,
      kind: manifest.kind,
      ...(manifest.task ? { task: manifest.task } : {}),
      ...(manifest.category ? { category: manifest.category } : {}),
      family: `${manifest.family.name}@${manifest.family.version}`,
      ...(latest ? { latest } : {}),
      shown,
      yanked: versions.filter((v) => v.yanked).length,
      versions,
      current,
      ...(metric ? { metric: { name: metric.name, value: metric.value, on: metric.on } } : {}),
      generic: manifest.kind === 'network' && manifest.options['generic'] !== undefined,
      via:
        manifest.kind === 'network' &&
        manifest.options['generic'] === undefined &&
        Array.isArray(manifest.options['links']) &&
        (manifest.options['links'] as unknown[]).some(
          (l) =>
            typeof l === 'object' && l !== null && typeof (l as { adapter?: unknown }).adapter === 'string',
        ),
    };
  }

  private async versions(index: ModuleIndex): Promise<HubVersion[]> {
    const out: HubVersion[] = [];
    for (const [version, entry] of Object.entries(index.versions)) {
      let manifest = this.manifests.get(entry.manifestDigest);
      if (!manifest) {
        const resolved: Resolved = { name: index.name, version, entry, fromLockfile: false };
        manifest = (await this.registry.manifest(resolved)).manifest;
        this.manifests.set(entry.manifestDigest, manifest);
      }
      out.push({
        version,
        yanked: entry.yanked,
        publishedAt: entry.publishedAt,
        manifestDigest: entry.manifestDigest,
        weightsDigest: entry.weightsDigest,
        weightsSize: entry.weightsSize,
        attachments: Object.entries(entry.attachments ?? {}).map(([kind, a]) => ({ kind, ...a })),
        manifest,
      });
    }
    return out.sort((a, b) => semver.rcompare(a.version, b.version));
  }
}

/** An error as one line: its code (E_INTERNAL when it has none) and its message without the code again. */
function brokenOf(error: unknown): BrokenEntry['broken'] {
  const code =
    error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'E_INTERNAL';
  const text = error instanceof Error ? error.message : String(error);
  const message = (text.startsWith(`${code}: `) ? text.slice(code.length + 2) : text).split('\n')[0] ?? '';
  return { code, message: message.replace(/\/\/[^/\s@]*@/g, '//').slice(0, 500) };
}

/** Nodes and edges of the lineage graph, as Cytoscape reads them. */
export interface Lineage {
  readonly nodes: readonly {
    data: { id: string; label: string; kind: string; via?: boolean; generic?: boolean };
  }[];
  readonly edges: readonly { data: { id: string; source: string; target: string; label: string } }[];
}

/**
 * Who is built from whom, over the versions the list shows: a network → the category, task and
 * adapter modules it composes; an adapter → the category and task modules it pins.
 */
export function lineageOf(catalog: Catalog): Lineage {
  const nodes = catalog.entries.map((e) => ({
    data: {
      id: e.name,
      label: `${e.name}@${e.shown}`,
      kind: e.kind,
      ...(e.via ? { via: true } : {}),
      ...(e.generic ? { generic: true } : {}),
    },
  }));
  const edges: Lineage['edges'][number][] = [];
  for (const e of catalog.entries) {
    const manifest = e.current.manifest;
    for (const d of manifest.dependencies) {
      if (!catalog.byName.has(d.name)) continue;
      const label =
        e.kind === 'adapter' ? `pins ${d.pinned?.version ?? d.range}` : (d.pinned?.version ?? d.range);
      edges.push({ data: { id: `${e.name}->${d.name}`, source: e.name, target: d.name, label } });
    }
  }
  return { nodes, edges };
}

/** The category × task matrix of a generic network, from its manifest alone (no weights read). */
export interface HubMatrix {
  readonly name: string;
  readonly version: string;
  readonly categories: readonly string[];
  readonly tasks: readonly string[];
  readonly cells: readonly {
    readonly category: string;
    readonly task: string;
    readonly adapter?: string;
    readonly metric?: { readonly name: string; readonly value: number };
    readonly guard?: string;
  }[];
  readonly guard: GenericRecord['guard'];
  readonly sources: GenericRecord['sources'];
}

export function matrixOf(manifest: ModuleManifest): HubMatrix | undefined {
  const record = parseGenericRecord(manifest.options, `${manifest.name}@${manifest.version}`);
  if (!record) return undefined;
  const links = (manifest.options['links'] ?? []) as LinkSpec[];
  const unique = (values: string[]) => [...new Set(values)];
  return {
    name: manifest.name,
    version: manifest.version,
    categories: unique(links.map((l) => l.category)),
    tasks: unique(links.map((l) => l.task)),
    cells: links.map((l) => {
      const id = linkId(l);
      return {
        category: l.category,
        task: l.task,
        ...(l.adapter ? { adapter: l.adapter } : {}),
        ...(record.metrics[id] ? { metric: record.metrics[id] } : {}),
        ...(record.guard.outputs[id] ? { guard: record.guard.outputs[id] } : {}),
      };
    }),
    guard: record.guard,
    sources: record.sources,
  };
}
