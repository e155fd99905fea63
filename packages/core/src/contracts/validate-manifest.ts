import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { TransplantError } from '../errors';
import { MODULE_KINDS } from './module-kinds';
import { ModuleManifestDto, type ModuleManifest } from './manifest.dto';
import { portViolations, type PortRole } from './ports';

export interface Violation {
  /** Where, as a property path: `ports.input.channels`, `dependencies[1].pinned.digest`. */
  readonly path: string;
  readonly message: string;
}

function join(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

function flatten(errors: readonly ValidationError[], parent = ''): Violation[] {
  return errors.flatMap((error) => {
    const path = join(parent, error.property);
    const own = Object.values(error.constraints ?? {}).map((message) => ({ path, message }));
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

const OUTPUT_ROLES: Record<keyof typeof MODULE_KINDS, readonly PortRole[]> = {
  category: ['feature-map'],
  task: ['logits', 'mask-logits'],
  adapter: ['feature-map'],
  network: ['logits', 'mask-logits'],
};

/** Rules that tie fields together, which decorators cannot say. */
function crossFieldViolations(m: ModuleManifestDto): Violation[] {
  const out: Violation[] = [];
  const inputRole = MODULE_KINDS[m.kind].inputRole;
  if (m.ports.input.role !== inputRole) {
    out.push({ path: 'ports.input.role', message: `a ${m.kind} module takes a ${inputRole} input` });
  }
  if (!OUTPUT_ROLES[m.kind].includes(m.ports.output.role)) {
    out.push({
      path: 'ports.output.role',
      message: `a ${m.kind} module outputs ${OUTPUT_ROLES[m.kind].join(' or ')}`,
    });
  }
  out.push(
    ...portViolations(m.ports.input, 'ports.input'),
    ...portViolations(m.ports.output, 'ports.output'),
  );
  if (m.kind === 'task' && m.task === undefined)
    out.push({ path: 'task', message: 'a task module names its task' });
  if (m.kind === 'category' && m.category === undefined) {
    out.push({ path: 'category', message: 'a category module names its category' });
  }
  if (m.kind === 'network' && !m.dependencies.some((d) => d.kind === 'category')) {
    out.push({ path: 'dependencies', message: 'a network depends on at least one category module' });
  }
  if (m.kind === 'network') {
    m.dependencies.forEach((d, i) => {
      if (d.pinned === undefined)
        out.push({
          path: `dependencies[${i}].pinned`,
          message: 'a network pins every module by version and digest',
        });
    });
  }
  if (m.kind === 'adapter') {
    for (const kind of ['category', 'task'] as const) {
      const deps = m.dependencies.filter((d) => d.kind === kind);
      if (deps.length !== 1) {
        out.push({ path: 'dependencies', message: `an adapter depends on exactly one ${kind} module` });
      }
      deps.forEach((d) => {
        if (d.pinned === undefined) {
          const i = m.dependencies.indexOf(d);
          out.push({
            path: `dependencies[${i}].pinned`,
            message: `an adapter pins the exact ${kind} module it was trained on`,
          });
        }
      });
    }
  }
  return out;
}

/** Limits checked before validation walks a manifest (recursively, so depth must be bounded). */
export const MANIFEST_LIMITS = { depth: 32, values: 100_000 } as const;

/**
 * Why a value is too deep or too large to be a manifest, or holds a "__proto__" key (which
 * class-transformer would turn into a prototype), checked without recursion; undefined if none.
 */
function oversizedJson(input: unknown): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value: input, depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (++values > MANIFEST_LIMITS.values) return `more than ${MANIFEST_LIMITS.values} values`;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MANIFEST_LIMITS.depth) return `nested more than ${MANIFEST_LIMITS.depth} deep`;
    if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return 'a "__proto__" key is not allowed';
    const children = Array.isArray(value) ? value : Object.values(value);
    if (values + stack.length + children.length > MANIFEST_LIMITS.values) {
      return `more than ${MANIFEST_LIMITS.values} values`;
    }
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

/**
 * Validates a manifest read from anywhere (JSON, a registry, a user). Unknown fields are
 * refused; every violation is reported with its path, not only the first.
 */
export function validateManifest(input: unknown, module?: string): ModuleManifest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TransplantError('E_MANIFEST_INVALID', 'a manifest is a JSON object', {
      module,
      operation: 'validateManifest',
      details: [{ path: '', message: 'must be an object' }],
    });
  }
  const oversized = oversizedJson(input);
  if (oversized !== undefined) {
    throw new TransplantError('E_MANIFEST_INVALID', oversized, {
      module,
      operation: 'validateManifest',
      details: [{ path: '', message: oversized }],
    });
  }
  const instance = plainToInstance(ModuleManifestDto, input);
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  const violations = flatten(errors);
  if (violations.length === 0) violations.push(...crossFieldViolations(instance));
  if (violations.length > 0) {
    const name = module ?? (typeof instance.name === 'string' ? instance.name : undefined);
    throw new TransplantError(
      'E_MANIFEST_INVALID',
      violations.map((v) => `${v.path || '(root)'}: ${v.message}`).join('; '),
      { module: name, operation: 'validateManifest', details: violations },
    );
  }
  return instance;
}
