import { fileURLToPath } from 'node:url';

/**
 * This package's folder. Computed in a module directly under src/ so that it is the same from the
 * sources and from the build, whose bundles sit directly under dist/.
 */
export const CLI_PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
