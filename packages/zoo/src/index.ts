/**
 * @transplant/zoo — the model zoo as a package: the workspace's committed `registry/` folder,
 * which this package's build copies into `dist/registry` (git keeps one copy; the tarball
 * carries the other). Read-only: the installed CLI's default registry reads through to it and
 * publishes elsewhere (docs/install.md).
 */
import { fileURLToPath } from 'node:url';

/** The zoo's folder registry: `dist/registry` of this package, the same from `src/` and `dist/`. */
export const ZOO_REGISTRY: string = fileURLToPath(new URL('../dist/registry', import.meta.url));
