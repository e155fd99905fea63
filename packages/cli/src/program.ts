import { availableParallelism } from 'node:os';
import { Argument, Command, CommanderError, Help, Option } from 'commander';
import type { ContainerModule } from 'inversify';
import type { Environment } from '@transplant/core';
import type { PlatformServices } from '@transplant/platform';
import { TRANSPLANT_VERSION } from '@transplant/platform/options';
import { CATEGORY_IDS } from '@transplant/data/options';
import type { CommandContext } from './commands/command-context';
import { importCommand } from './commands/import';
import { networkCommands } from './commands/networks';
import { transplantCommand } from './commands/transplant';
import { genericCommands } from './commands/generic';
import { explainCommand } from './commands/explain';
import { graphCommands } from './commands/graph';
import { aogCommands } from './commands/aog';
import { interpretCommands } from './commands/interpret';
import { registryCommand } from './commands/registry';
import { hubCommand } from './commands/hub';
import { visualizeCommand } from './commands/visualize';
import { checkOptionValues, commandPath, integer, usage } from './commands/parse-options';
import {
  COMPLETION_DESCRIPTION,
  COMPLETION_INSTALL,
  COMPLETION_SHELLS,
  completionScript,
} from './completion';
import { addExamples } from './examples';
import { formatFailure, isDebug } from './failure';
import { createProgress, paint, useColor, type Progress } from './progress';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Environment;
  /** Is stderr a terminal? Then progress is a bar redrawn in place, and errors may be coloured. */
  readonly isTTY?: boolean;
  /** The terminal's width, to cut a progress bar to. */
  readonly columns?: number;
}

export interface CliOptions {
  /** Loaded into the invocation's container after the platform's modules: extra contributions or rebindings. */
  readonly modules?: readonly ContainerModule[];
}

interface GlobalOptions {
  backend?: string;
  registry?: string;
  json?: boolean;
  create?: boolean;
}

/**
 * The program's services: `load()` makes them (the platform's container: plugins, registry
 * clients, back-end selection) before a command's action runs; `get()` hands them to the action.
 * Nothing heavy loads for `--help`, `--version` or a usage error.
 */
interface LazyServices {
  readonly load: () => Promise<void>;
  readonly get: () => PlatformServices;
}

/** Commands that need no platform services: they run without loading plugins or tensor code. */
const WITHOUT_SERVICES: ReadonlySet<string> = new Set(['completion']);

/** The program's version flags: only as the whole command line (see {@link runCli}). */
const VERSION_FLAGS = ['--version', '-V'];

/** What {@link runCli} needs of the program it built: how to end a progress bar a failure interrupted. */
interface Live {
  abort?: () => void;
}

function buildProgram(io: CliIo, services: LazyServices, live: Live = {}): Command {
  // Not commander's .version(): its --version is a program option, read anywhere on the line, so
  // `compose --version 1.0.0` printed the version and published nothing. Shown in the help only.
  const version = new Option('-V, --version', 'print the version and exit');
  let formatting = false;
  const program: Command = new Command('transplant')
    .description('Compose one generic CNN from small pre-trained modules, and explain what they learned.')
    .configureHelp({
      formatHelp(this: Help, command: Command, helper: Help) {
        formatting = true;
        try {
          return Help.prototype.formatHelp.call(this, command, helper);
        } finally {
          formatting = false;
        }
      },
      // Listed in the program's help only: commander's "did you mean" draws on the same list.
      visibleOptions(this: Help, command: Command) {
        const shown = Help.prototype.visibleOptions.call(this, command);
        return formatting && command === program ? [version, ...shown] : shown;
      },
    })
    .option(
      '--backend <id>',
      'tensor back end: tensorflow | wasm+onednn | wasm | cpu (default: the first that works; env TRANSPLANT_BACKEND)',
    )
    .option(
      '--registry <location>',
      'module registry: a folder or oci://host/namespace (env TRANSPLANT_REGISTRY)',
    )
    .option(
      '--create',
      'let a command that publishes create the registry folder when it does not exist (without it: E_REGISTRY_NOT_FOUND)',
    )
    .option('--json', 'print machine-readable JSON instead of text')
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // Commander's own usage errors (unknown option, missing argument) as the one coded E_USAGE line.
      outputError: (message) => {
        const error = usage(message.replace(/^error: /, '').trim(), 'transplant');
        io.stderr(
          formatFailure(error, { json: program.opts<GlobalOptions>().json === true, debug: false }).text,
        );
      },
    })
    // Before any command's work: no empty option values, a known back end, output paths that can
    // be written and input images that decode (commands/parse-options.ts, checkOptionValues).
    .hook('preAction', async (_program, command) => {
      await checkOptionValues(command);
      if (!WITHOUT_SERVICES.has(commandPath(command))) await services.load();
    });

  program
    .command('doctor')
    .description(
      'print the tensor back end in use, the kernels Transplant registered, versions and the registry location',
    )
    .action(async () => {
      const { collectDoctorReport, formatDoctorReport } = await import('./commands/doctor');
      const options = program.opts<GlobalOptions>();
      const deps = { selector: services.get().backendSelector, env: io.env, cpus: availableParallelism() };
      const report = await collectDoctorReport(deps, options);
      io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
    });
  // While a progress bar is drawn, other lines go above it (the bar is drawn again below them).
  let bar: Progress | undefined;
  live.abort = () => bar?.abort();
  const commands: CommandContext = {
    services: services.get,
    globals: () => program.opts<GlobalOptions>(),
    env: io.env,
    out: (value, text) => print({ program, io }, value, text),
    err: (text) => (bar ? bar.note(text.replace(/\n$/, '')) : io.stderr(text)),
    progress: (options) => {
      const shown = createProgress(io, options);
      bar = shown;
      const end = () => {
        if (bar === shown) bar = undefined;
      };
      return {
        update: shown.update,
        note: shown.note,
        done: (summary) => {
          shown.done(summary);
          end();
        },
        abort: () => {
          shown.abort();
          end();
        },
      };
    },
  };
  registryCommand(program, commands);

  importCommand(program, commands);
  transplantCommand(program, commands);
  genericCommands(program, commands);
  interpretCommands(program, commands);
  graphCommands(program, commands);
  aogCommands(program, commands);
  explainCommand(program, commands);
  visualizeCommand(program, commands);
  networkCommands(program, commands);
  hubCommand(program, commands);

  const data = program
    .command('data')
    .description('the synthetic part-annotated image set and CUB-layout data');
  data
    .command('preview')
    .description('write a PNG contact sheet of synthetic images with part masks and centres')
    .requiredOption('--category <id>', `a category (${[...CATEGORY_IDS, 'background'].join(', ')})`)
    .option('--n <count>', 'how many images', '16')
    .option('--size <pixels>', 'image side', '64')
    .option('--seed <seed>', 'data set seed', '1')
    .option('--split <split>', 'train | dev | test', 'train')
    .option('--out <file>', 'PNG to write (default data-preview-<category>.png)')
    .action(
      async (options: {
        category: string;
        n: string;
        size: string;
        seed: string;
        split: string;
        out?: string;
      }) => {
        const { previewSyntheticSet } = await import('@transplant/data');
        const result = await previewSyntheticSet({
          ...options,
          // The count's range is the library's check (E_INVALID_ARGUMENT); the side's, here.
          n: integer(options.n, 'n', 0, 'data preview'),
          size: side(options.size, 'data preview'),
        });
        print({ program, io }, result, `wrote ${result.images} images to ${result.path}`);
      },
    );
  data
    .command('inspect')
    .description('load a CUB-200-2011 layout folder, count images, classes and parts, write a contact sheet')
    .requiredOption('--cub <path>', 'the folder holding images.txt, classes.txt, parts/, …')
    .option('--n <count>', 'images on the contact sheet', '16')
    .option('--size <pixels>', 'crop side on the sheet', '96')
    .option('--out <file>', 'PNG to write', 'data-inspect.png')
    .action(async (options: { cub: string; n: string; size: string; out?: string }) => {
      const { formatInspectReport, inspectCub } = await import('@transplant/data');
      const report = await inspectCub({
        cub: options.cub,
        n: integer(options.n, 'n', 1, 'data inspect'),
        size: side(options.size, 'data inspect'),
        out: options.out,
      });
      print({ program, io }, report, formatInspectReport(report));
    });
  program
    .command('completion')
    .description(COMPLETION_DESCRIPTION)
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(COMPLETION_SHELLS))
    .addHelpText('after', COMPLETION_INSTALL)
    .action((shell: (typeof COMPLETION_SHELLS)[number]) => io.stdout(completionScript(program, shell)));
  addExamples(program);
  return program;
}

/**
 * The command tree exactly as {@link runCli} builds it (every command, option and argument), for
 * code that walks the definitions, e.g. the generated bad-input suite, shell completion and the
 * examples' check. Its option checks run before an action as in {@link runCli}, but it loads no
 * services: an action that needs them throws (give a command an action of your own to parse).
 */
export function commandTree(): Command {
  return buildProgram(
    { stdout: () => undefined, stderr: () => undefined, env: {} },
    {
      load: async () => undefined,
      get: () => {
        throw new Error('commandTree() builds the definitions only; run commands with runCli');
      },
    },
  );
}

/** An image side in pixels (`--size`): 16…1024, E_USAGE otherwise. */
function side(value: string, operation: string): number {
  const size = integer(value, 'size', 16, operation);
  if (size > 1024) throw usage(`--size must be at most 1024 pixels, not ${size}`, operation);
  return size;
}

function print(
  { program, io }: { readonly program: Command; readonly io: CliIo },
  value: unknown,
  text: string,
): void {
  io.stdout(program.opts<GlobalOptions>().json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/**
 * Runs the CLI on `argv` (without `node` and the script) and returns the exit code. This is the
 * CLI's composition root: one container per invocation, made just before the command's action
 * (the platform, its plugins and the tensor library load only then: `--help`, `--version` and
 * usage errors never load them) and reported like any other failure when a binding is wrong;
 * commands get the services, never the container.
 */
export async function runCli(argv: readonly string[], io: CliIo, options: CliOptions = {}): Promise<number> {
  let program: Command | undefined;
  const live: Live = {};
  const json = () => program?.opts<GlobalOptions>().json === true || argv.includes('--json');
  try {
    const alone = argv.filter((arg) => arg !== '--json');
    if (alone.length === 1 && VERSION_FLAGS.includes(alone[0]!)) {
      io.stdout(json() ? `${JSON.stringify({ version: TRANSPLANT_VERSION })}\n` : `${TRANSPLANT_VERSION}\n`);
      return 0;
    }
    let services: PlatformServices | undefined;
    program = buildProgram(
      io,
      {
        load: async () => {
          if (services) return;
          const { PLATFORM_TOKENS, createPlatformContainer } = await import('@transplant/platform');
          const container = createPlatformContainer({ env: io.env, modules: options.modules ?? [] });
          services = container.get<PlatformServices>(PLATFORM_TOKENS.Services);
        },
        get: () => {
          if (!services) throw new Error('a command ran before the program loaded its services');
          return services;
        },
      },
      live,
    );
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    live.abort?.();
    // Everything else, coded or not (a plain Error, a thrown `undefined`), ends in one coded line.
    const failure = formatFailure(error, { json: json(), debug: isDebug(io.env) });
    // On a terminal (and without NO_COLOR) the line's first word is red; never in JSON.
    io.stderr(
      !json() && useColor(io)
        ? failure.text.replace(/^error /, `${paint(true, 'red', 'error')} `)
        : failure.text,
    );
    return failure.exitCode;
  }
}
