import 'reflect-metadata';
import { instanceToPlain, plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { TransplantError } from '../errors';
import type { ModulePlugin } from './module-plugin';

function flatten(errors: readonly ValidationError[], parent = ''): { path: string; message: string }[] {
  return errors.flatMap((error) => {
    const path = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    return [
      ...Object.values(error.constraints ?? {}).map((message) => ({ path, message })),
      ...flatten(error.children ?? [], path),
    ];
  });
}

/**
 * Validates a plugin's options (unknown fields refused, every violation with its path) and
 * fills the defaults. Returns plain JSON, as it is stored in a manifest, so that the options
 * of a published module and of a freshly built one compare equal.
 */
export function parsePluginOptions<O extends object>(plugin: ModulePlugin<O>, raw: unknown): O {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new TransplantError(
      'E_OPTIONS_INVALID',
      `${plugin.family}@${plugin.version}: options must be a JSON object`,
      {
        operation: 'parseOptions',
        module: plugin.family,
      },
    );
  }
  const instance = plainToInstance(plugin.optionsSchema, raw ?? {});
  const violations = flatten(
    validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }),
  );
  if (violations.length === 0) violations.push(...(plugin.optionViolations?.(instance) ?? []));
  if (violations.length > 0) {
    throw new TransplantError(
      'E_OPTIONS_INVALID',
      `${plugin.family}@${plugin.version}: ${violations.map((v) => `${v.path || '(root)'}: ${v.message}`).join('; ')}`,
      {
        operation: 'parseOptions',
        module: plugin.family,
        details: violations,
      },
    );
  }
  return instanceToPlain(instance) as O;
}
