import { TransplantError, isModuleName } from '@transplant/core';
import type { LinkSpec } from './link-ports';

/** The family recorded in a network manifest: the composition format itself. */
export const COMPOSITION_FAMILY = { name: 'composition', version: '1.0.0' } as const;

/** A network manifest's options: its links, by module name (the dependencies pin the versions). */
export interface CompositionOptions {
  readonly links: readonly LinkSpec[];
  readonly generic?: GenericRecord;
}

/**
 * What a generic network records beside its links: where each category module came from
 * (the specific network, for teachers), every link's held-out metric, and the no-forgetting
 * guard — the digest of every link's outputs on a seeded probe set, on the back end named.
 */
export interface GenericRecord {
  readonly sources: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, { readonly name: string; readonly value: number }>>;
  readonly guard: {
    readonly probe: { readonly seed: string; readonly count: number };
    readonly backend: string;
    readonly outputs: Readonly<Record<string, string>>;
  };
}

function parseGeneric(raw: unknown, fail: (detail: string) => TransplantError): GenericRecord {
  const r = raw as Record<string, unknown> | null;
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const guard = isRecord(r) ? r['guard'] : undefined;
  const probe = isRecord(guard) ? guard['probe'] : undefined;
  const ok =
    isRecord(r) &&
    isRecord(r['sources']) &&
    Object.values(r['sources']).every((v) => typeof v === 'string') &&
    isRecord(r['metrics']) &&
    Object.values(r['metrics']).every(
      (m) => isRecord(m) && typeof m['name'] === 'string' && typeof m['value'] === 'number',
    ) &&
    isRecord(guard) &&
    typeof guard['backend'] === 'string' &&
    isRecord(guard['outputs']) &&
    Object.values(guard['outputs']).every((d) => typeof d === 'string') &&
    isRecord(probe) &&
    typeof probe['seed'] === 'string' &&
    Number.isInteger(probe['count']);
  if (!ok)
    throw fail(
      'options.generic must be { sources, metrics, guard: { probe: { seed, count }, backend, outputs } }',
    );
  return r as unknown as GenericRecord;
}

/** The generic record of a network manifest's options, if it has one (validated). */
export function parseGenericRecord(
  options: Record<string, unknown>,
  module: string,
): GenericRecord | undefined {
  if (options['generic'] === undefined) return undefined;
  return parseGeneric(
    options['generic'],
    (detail) => new TransplantError('E_COMPOSITION_INVALID', detail, { module, operation: 'load' }),
  );
}

/** Reads a network manifest's options; unknown fields and malformed links are refused. */
export function parseComposition(options: Record<string, unknown>, module: string): LinkSpec[] {
  const fail = (detail: string) =>
    new TransplantError('E_COMPOSITION_INVALID', detail, { module, operation: 'load' });
  const extra = Object.keys(options).filter((k) => k !== 'links' && k !== 'generic');
  if (options['generic'] !== undefined) parseGeneric(options['generic'], fail);
  if (extra.length > 0) throw fail(`unknown option(s) ${extra.join(', ')}`);
  if (!Array.isArray(options['links']) || options['links'].length === 0)
    throw fail('options.links must be a non-empty array');
  return options['links'].map((raw: unknown, i) => {
    const link = raw as Record<string, unknown>;
    const keys = typeof raw === 'object' && raw !== null ? Object.keys(link) : [];
    const names = ['category', 'task', 'adapter'].filter((k) => k in link);
    const ok =
      keys.every((k) => names.includes(k)) &&
      isModuleName(link['category']) &&
      isModuleName(link['task']) &&
      (link['adapter'] === undefined || isModuleName(link['adapter']));
    if (!ok) throw fail(`options.links[${i}] must be { category, task, adapter? } of module names`);
    return {
      category: link['category'] as string,
      task: link['task'] as string,
      ...(link['adapter'] ? { adapter: link['adapter'] as string } : {}),
    };
  });
}
