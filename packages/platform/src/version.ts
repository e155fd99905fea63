import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const TRANSPLANT_VERSION: string = pkg.version;
export const GENERATED_BY = `transplant/${TRANSPLANT_VERSION}`;
