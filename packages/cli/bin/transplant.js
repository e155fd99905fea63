#!/usr/bin/env node
// Runs the compiled CLI (dist/, written by `npm run build` or `nx run cli:build`): plain
// JavaScript, no TypeScript compiler at run time, the same from any working directory.
// From the sources without a build: `npm run transplant -- ARGS` in the workspace.
import { register } from 'node:module';

// Inside the workspace, nx tasks and tests run with --conditions=@transplant/source (packages
// resolve to their TypeScript sources); the compiled CLI must still import compiled packages.
const SOURCE = '@transplant/source';
if (`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes(SOURCE))
  register(
    `data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: context.conditions.filter((c) => c !== ${JSON.stringify(SOURCE)}) });`,
  );

const main = new URL('../dist/main.js', import.meta.url);
try {
  await import(main.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(main.pathname)) throw error;
  process.stderr.write(
    'error the transplant CLI is not built (no dist/main.js): run `npm run build` in the workspace\n',
  );
  process.exit(1);
}
