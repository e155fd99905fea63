import { resolve } from 'node:path';
import { runCli } from '@transplant/cli';

/** The options of `nx run registry:publish`; schema.json is checked against this by a test. */
export interface PublishExecutorOptions {
  readonly module: string;
  readonly registry?: string;
  readonly json?: boolean;
}

export const PUBLISH_OPTION_KEYS = [
  'module',
  'registry',
  'json',
] as const satisfies readonly (keyof PublishExecutorOptions)[];

interface ExecutorContext {
  readonly root: string;
}

/** Runs `transplant registry publish` in-process; nx prints what it prints. */
export default async function publishExecutor(
  options: PublishExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  const argv = [
    ...(options.json ? ['--json'] : []),
    ...(options.registry ? ['--registry', options.registry] : []),
    'registry',
    'publish',
    resolve(context.root, options.module),
  ];
  const code = await runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
  return { success: code === 0 };
}
