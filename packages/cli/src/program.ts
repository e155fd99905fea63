import { Command, CommanderError } from 'commander';
import { isTransplantError, type Environment } from '@transplant/core';
import { CLI_TOKENS } from './cli-module';
import { collectDoctorReport, formatDoctorReport, type DoctorDeps } from './commands/doctor';
import { buildContainer } from './container';
import { TRANSPLANT_VERSION } from './version';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Environment;
}

interface GlobalOptions {
  backend?: string;
  registry?: string;
  json?: boolean;
}

function buildProgram(io: CliIo): Command {
  const program = new Command('transplant')
    .description('Compose one generic CNN from small pre-trained modules, and explain what they learned.')
    .version(TRANSPLANT_VERSION)
    .option('--backend <id>', 'tensor back end: tensorflow | wasm | cpu (default: the first that works; env TRANSPLANT_BACKEND)')
    .option('--registry <location>', 'module registry: a folder or oci://host/namespace (env TRANSPLANT_REGISTRY)')
    .option('--json', 'print machine-readable JSON instead of text')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('doctor')
    .description('print the tensor back end in use, the kernels Transplant registered, versions and the registry location')
    .action(async () => {
      const options = program.opts<GlobalOptions>();
      const container = buildContainer(io.env);
      const report = await collectDoctorReport(container.get<DoctorDeps>(CLI_TOKENS.DoctorDeps), options);
      io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
    });
  return program;
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (isTransplantError(error)) {
      const json = program.opts<GlobalOptions>().json;
      io.stderr(json ? `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n` : `error ${error.message}\n`);
      return error.code === 'E_USAGE' ? 2 : 1;
    }
    throw error;
  }
}
