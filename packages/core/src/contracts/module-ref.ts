import semver from 'semver';
import { TransplantError } from '../errors';
import { isModuleName } from './names';

declare const moduleRefBrand: unique symbol;

/**
 * A parsed module reference, `NAME[@SELECTOR]`. The selector is an exact version
 * (`1.2.0`), a semver range (`^1.2`, `>=1 <2`) or a dist-tag (`latest`, `stable`); no
 * selector means `latest`. Only `parseModuleRef` makes one, so a `ModuleRef` is always valid.
 */
export type ModuleRef = {
  readonly name: string;
  readonly selector:
    | { readonly type: 'version'; readonly version: string }
    | { readonly type: 'range'; readonly range: string }
    | { readonly type: 'tag'; readonly tag: string };
  readonly [moduleRefBrand]: true;
};

const TAG_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Whether `text` is exactly one semver version, build metadata included (`semver.valid` drops it). */
export function isExactVersion(text: string): boolean {
  const parsed = semver.parse(text);
  return (
    parsed !== null &&
    `${parsed.version}${parsed.build.length > 0 ? `+${parsed.build.join('.')}` : ''}` === text
  );
}

function invalid(raw: string, why: string): TransplantError {
  return new TransplantError('E_MODULE_REF_INVALID', `"${raw}": ${why}`, { operation: 'parseModuleRef' });
}

export function parseModuleRef(raw: string): ModuleRef {
  const text = raw.trim();
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const rest = at < 0 ? 'latest' : text.slice(at + 1).trim();
  if (!isModuleName(name)) throw invalid(raw, `"${name}" is not a module name`);
  if (rest === '') throw invalid(raw, 'nothing after "@"');
  let selector: ModuleRef['selector'];
  if (isExactVersion(rest)) {
    selector = { type: 'version', version: rest };
  } else if (TAG_PATTERN.test(rest) && semver.validRange(rest) === null) {
    selector = { type: 'tag', tag: rest };
  } else if (semver.validRange(rest) !== null) {
    selector = { type: 'range', range: rest };
  } else {
    throw invalid(raw, `"${rest}" is neither a version, a semver range nor a dist-tag`);
  }
  return { name, selector } as ModuleRef;
}

export function formatModuleRef(ref: ModuleRef): string {
  const { selector } = ref;
  switch (selector.type) {
    case 'version':
      return `${ref.name}@${selector.version}`;
    case 'range':
      return `${ref.name}@${selector.range}`;
    case 'tag':
      return `${ref.name}@${selector.tag}`;
    default: {
      const unreachable: never = selector;
      return unreachable;
    }
  }
}

/** Picks the highest of `versions` that the reference accepts (tags are resolved by the registry). */
export function matchVersion(ref: ModuleRef, versions: readonly string[]): string | undefined {
  const { selector } = ref;
  switch (selector.type) {
    case 'version':
      return versions.includes(selector.version) ? selector.version : undefined;
    case 'range':
      return semver.maxSatisfying([...versions], selector.range) ?? undefined;
    case 'tag':
      return undefined;
    default: {
      const unreachable: never = selector;
      return unreachable;
    }
  }
}
