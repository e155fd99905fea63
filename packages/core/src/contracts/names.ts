/**
 * Module names: lower-case letters and digits in dash-separated words, 2–64 characters, e.g.
 * `cat-cls`, `bird-vgg16`, `adapter-cat-cls`. No dots, slashes or `@`, so a name can never
 * be read as a path, a scope or a version.
 */
export const MODULE_NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const MODULE_NAME_MAX_LENGTH = 64;

export function isModuleName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 2 &&
    value.length <= MODULE_NAME_MAX_LENGTH &&
    MODULE_NAME_PATTERN.test(value)
  );
}

/** `sha256:` followed by 64 lower-case hex digits: the form every digest is written in. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
