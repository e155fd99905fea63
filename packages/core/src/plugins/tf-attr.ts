/** A TF node attribute after normalisation: `{i}`, `{f}`, `{b}`, `{s}` (base64), `{type}`, `{list}`. */
export type TfAttrValue = number | string | boolean | number[] | string[];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const decodeBase64 = (s: unknown): string => Buffer.from(String(s), 'base64').toString('utf8');

/**
 * A TF NodeDef attribute (as model.json holds it) as a plain value, or undefined for the kinds
 * no op reads here (shapes, tensors, functions). Integers arrive as strings in the JSON (int64).
 * Shared by the GraphModel importer (composer) and the graph module plugin.
 */
export function normaliseTfAttr(raw: unknown): TfAttrValue | undefined {
  if (!isObject(raw)) return undefined;
  if ('i' in raw) return Number(raw['i']);
  if ('f' in raw) return Number(raw['f']);
  if ('b' in raw) return Boolean(raw['b']);
  if ('s' in raw) return decodeBase64(raw['s']);
  if ('type' in raw) return String(raw['type']);
  if (isObject(raw['list'])) {
    const list = raw['list'];
    if (Array.isArray(list['i'])) return (list['i'] as unknown[]).map(Number);
    if (Array.isArray(list['f'])) return (list['f'] as unknown[]).map(Number);
    if (Array.isArray(list['s'])) return (list['s'] as unknown[]).map(decodeBase64);
    if (Array.isArray(list['type'])) return (list['type'] as unknown[]).map(String);
    return [];
  }
  return undefined;
}
