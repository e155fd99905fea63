import { formatFailure, isDebug } from './failure';
import { runCli, type CliOptions } from './program';

/**
 * Runs the CLI as this process (what `main.ts` does): its output on stdout/stderr, its exit code
 * as the process's. A failure outside the command's awaited work — a stray rejected promise, a
 * throw in a timer or callback — ends like any other: one coded line (`{"error":…}` with --json),
 * exit 1 or 2, the stack only with TRANSPLANT_DEBUG=1; never Node's report of an uncaught error.
 */
export async function runCliProcess(argv: readonly string[], options: CliOptions = {}): Promise<void> {
  const uncaught = (error: unknown): void => {
    const failure = formatFailure(error, { json: argv.includes('--json'), debug: isDebug(process.env) });
    process.stderr.write(failure.text);
    process.exit(failure.exitCode);
  };
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  // A reader that stops early (`transplant --help | head`) closes the pipe: that ends the output, not the command with an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') uncaught(error);
  });
  process.exitCode = await runCli(
    argv,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      isTTY: process.stderr.isTTY === true,
      ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
    },
    options,
  );
}
