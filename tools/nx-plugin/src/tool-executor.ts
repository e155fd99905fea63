import { isAbsolute, resolve } from 'node:path';

/** The part of an executor's schema.json the helpers read. */
export interface ExecutorSchema {
  readonly properties: Readonly<
    Record<
      string,
      {
        /**
         * `string`, `number` or `boolean`; `["string", "number"]` for a text option such as a
         * comma-separated list, which nx parses as a number when it is one (`--samples 100`).
         */
        readonly type: string | readonly string[];
        readonly description: string;
        readonly default?: unknown;
        readonly enum?: readonly unknown[];
        readonly format?: string;
      }
    >
  >;
  readonly additionalProperties?: boolean;
}

/** What nx hands an executor besides its options (the parts used here). */
export interface ToolExecutorContext {
  readonly root: string;
}

/**
 * An nx executor around a tools workflow (`runPaperTable`, `runZooTrain`, …) that takes one
 * options object. nx has already validated the options against schema.json and filled in its
 * defaults; the workflow fills in the rest from its own defaults. Options the schema marks
 * `"format": "path"` are resolved against the workspace root, as the run-commands targets
 * they replace did (a registry given as `oci://…` is left alone).
 */
export function toolExecutor<Options extends object>(
  run: (options: Partial<Options>) => Promise<void>,
  schema: ExecutorSchema,
) {
  return async function executor(
    options: Partial<Options>,
    context: ToolExecutorContext,
  ): Promise<{ success: boolean }> {
    const resolved: Record<string, unknown> = { ...options };
    for (const [key, property] of Object.entries(schema.properties)) {
      if (Array.isArray(property.type) && typeof resolved[key] === 'number')
        resolved[key] = String(resolved[key]);
      const value = resolved[key];
      if (
        property.format === 'path' &&
        typeof value === 'string' &&
        !value.includes('://') &&
        !isAbsolute(value)
      )
        resolved[key] = resolve(context.root, value);
    }
    try {
      await run(resolved as Partial<Options>);
      return { success: true };
    } catch (error) {
      // The message only: the wasm runtime's exception hook would print its whole minified source.
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      return { success: false };
    }
  };
}

/**
 * How a schema.json disagrees with the typed defaults of the options it describes: the same
 * property names, each default's type as declared, schema defaults equal to the workflow's,
 * defaults inside their enums, no unknown options accepted. Empty when they agree. A property
 * without a schema default must say its default in its description (computed paths, lists of
 * cases) or have none. A `"format": "path"` default is relative to the workspace root (the
 * targets name their outputs with it), the workflow's is absolute.
 */
export function schemaViolations(
  schema: ExecutorSchema,
  defaults: Readonly<Record<string, unknown>>,
  root: string,
): string[] {
  const out: string[] = [];
  const declared = Object.keys(schema.properties).sort();
  const typed = Object.keys(defaults).sort();
  for (const key of typed) if (!declared.includes(key)) out.push(`${key}: an option the schema lacks`);
  for (const key of declared) if (!typed.includes(key)) out.push(`${key}: not an option of the workflow`);
  if (schema.additionalProperties !== false) out.push('additionalProperties must be false');
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!property.description) out.push(`${key}: no description`);
    const value = defaults[key];
    const types: readonly string[] = Array.isArray(property.type) ? property.type : [property.type];
    if (value !== undefined && typeof value !== types[0])
      out.push(`${key}: schema type ${property.type}, default ${JSON.stringify(value)}`);
    const schemaDefault =
      property.format === 'path' && typeof property.default === 'string'
        ? resolve(root, property.default)
        : property.default;
    if ('default' in property && schemaDefault !== value)
      out.push(`${key}: schema default ${JSON.stringify(schemaDefault)} ≠ ${JSON.stringify(value)}`);
    if (!('default' in property) && value !== undefined && !/Default:/.test(property.description))
      out.push(`${key}: has a default (${JSON.stringify(value)}) the schema neither gives nor describes`);
    if (property.enum && value !== undefined && !property.enum.includes(value))
      out.push(`${key}: default ${JSON.stringify(value)} is not one of ${property.enum.join(', ')}`);
  }
  return out;
}
