import { fileURLToPath } from 'node:url';
import { killAndResume, runScript, type KillAt, type KillResumeOptions } from '@transplant/core/testing';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** `transplant ARGS` as a process (see `runScript`). */
export const runCli = (args: readonly string[], env: Readonly<Record<string, string>>, kill?: KillAt) =>
  runScript(MAIN, args, env, kill);

/** `killAndResume` for a CLI command: `args` follow `--registry DIR --json`. */
export const killAndResumeCli = (
  options: Omit<KillResumeOptions, 'script' | 'argv'> & { readonly args: readonly string[] },
) => {
  const { args, ...rest } = options;
  return killAndResume({
    ...rest,
    script: MAIN,
    argv: (registry) => ['--registry', registry, '--json', ...args],
  });
};
