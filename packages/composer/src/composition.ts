import { TransplantError, isModuleName } from '@transplant/core';
import type { LinkSpec } from './link-ports';

/** The family recorded in a network manifest: the composition format itself. */
export const COMPOSITION_FAMILY = { name: 'composition', version: '1.0.0' } as const;

/** A network manifest's options: its links, by module name (the dependencies pin the versions). */
export interface CompositionOptions {
  readonly links: readonly LinkSpec[];
}

/** Reads a network manifest's options; unknown fields and malformed links are refused. */
export function parseComposition(options: Record<string, unknown>, module: string): LinkSpec[] {
  const fail = (detail: string) => new TransplantError('E_COMPOSITION_INVALID', detail, { module, operation: 'load' });
  const extra = Object.keys(options).filter((k) => k !== 'links');
  if (extra.length > 0) throw fail(`unknown option(s) ${extra.join(', ')}`);
  if (!Array.isArray(options['links']) || options['links'].length === 0) throw fail('options.links must be a non-empty array');
  return options['links'].map((raw: unknown, i) => {
    const link = raw as Record<string, unknown>;
    const keys = typeof raw === 'object' && raw !== null ? Object.keys(link) : [];
    const names = ['category', 'task', 'adapter'].filter((k) => k in link);
    const ok = keys.every((k) => names.includes(k)) && isModuleName(link['category']) && isModuleName(link['task']) && (link['adapter'] === undefined || isModuleName(link['adapter']));
    if (!ok) throw fail(`options.links[${i}] must be { category, task, adapter? } of module names`);
    return { category: link['category'] as string, task: link['task'] as string, ...(link['adapter'] ? { adapter: link['adapter'] as string } : {}) };
  });
}
