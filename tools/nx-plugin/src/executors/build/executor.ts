import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

/** The options of a project's `build` target; schema.json is checked against this by a test. */
export interface BuildExecutorOptions {
  readonly outputPath?: string;
  readonly entryPoints?: readonly string[];
  readonly declarations?: boolean;
  /** Folders copied into the output: `from` relative to the workspace root, `to` to the output folder. */
  readonly assets?: readonly {
    readonly from: string;
    readonly to: string;
    /** Copy only the files git tracks under `from` (a checkout's local additions stay out). */
    readonly tracked?: boolean;
  }[];
}

export const BUILD_OPTION_KEYS = [
  'outputPath',
  'entryPoints',
  'declarations',
  'assets',
] as const satisfies readonly (keyof BuildExecutorOptions)[];

interface ExecutorContext {
  readonly root: string;
  readonly projectName?: string;
  readonly projectsConfigurations?: { readonly projects: Record<string, { readonly root: string }> };
}

/** The condition under which workspace packages export their TypeScript sources. */
export const SOURCE_CONDITION = '@transplant/source';

interface PackageJson {
  readonly name: string;
  readonly exports?: Record<string, unknown>;
}

/**
 * The bundles to write, `{ "testing/index": "src/testing/index.ts" }`: every export that names a
 * source under SOURCE_CONDITION and its compiled file under `default`, plus `extra`. An export's
 * compiled path must mirror its source path (tsc writes the declarations that way).
 */
export function entryPointsOf(
  pkg: PackageJson,
  outputPath: string,
  extra: readonly string[],
): Record<string, string> {
  const entries: Record<string, string> = {};
  const add = (source: string, compiled: string | undefined) => {
    const name = source.replace(/^(\.\/)?src\//, '').replace(/\.ts$/, '');
    const expected = `./${join(outputPath, `${name}.js`)}`;
    if (compiled !== undefined && compiled !== expected)
      throw new Error(`${pkg.name}: export of ${source} is ${compiled}, the build writes ${expected}`);
    entries[name] = source;
  };
  for (const [key, value] of Object.entries(pkg.exports ?? {})) {
    if (typeof value !== 'object' || value === null) continue;
    const conditions = value as Record<string, unknown>;
    const source = conditions[SOURCE_CONDITION];
    if (typeof source !== 'string') continue;
    const compiled = conditions['default'];
    if (typeof compiled !== 'string') throw new Error(`${pkg.name}: export ${key} has no default condition`);
    add(source, compiled);
  }
  for (const source of extra) add(source, undefined);
  if (Object.keys(entries).length === 0) throw new Error(`${pkg.name}: nothing to build`);
  return entries;
}

/**
 * Makes the relative specifiers of emitted declarations (`from './ports'`, tsc keeps them as the
 * sources spell them) explicit, `./ports.js` or `./ports/index.js`, so that consumers resolving
 * as Node does (moduleResolution node16/nodenext) find them too.
 */
export async function fixDeclarationSpecifiers(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const text = await readFile(file, 'utf8');
    const fixed = text.replace(
      /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*)\2/g,
      (whole, lead: string, quote: string, specifier: string) => {
        if (/\.(js|mjs|cjs|json)$/.test(specifier)) return whole;
        const base = resolve(dirname(file), specifier);
        if (existsSync(`${base}.d.ts`)) return `${lead}${quote}${specifier}.js${quote}`;
        if (existsSync(join(base, 'index.d.ts'))) return `${lead}${quote}${specifier}/index.js${quote}`;
        return whole;
      },
    );
    if (fixed !== text) await writeFile(file, fixed);
  }
}

/**
 * Builds one package: an ESM bundle per entry point with esbuild (the package's own modules
 * inlined, every package import left as an import; decorators compiled as the package's
 * tsconfig says, so nothing at run time depends on a tsconfig), then its declarations with tsc
 * against the dependencies' built declarations (the `^build` targets).
 */
export async function buildPackage(
  projectRoot: string,
  workspaceRoot: string,
  options: BuildExecutorOptions = {},
): Promise<{ readonly entries: Record<string, string> }> {
  const outputPath = options.outputPath ?? 'dist';
  const out = resolve(projectRoot, outputPath);
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as PackageJson;
  const entries = entryPointsOf(pkg, outputPath, options.entryPoints ?? []);
  await rm(out, { recursive: true, force: true });
  await build({
    absWorkingDir: projectRoot,
    entryPoints: entries,
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Class and function names stay as written: messages, error names and DI tokens use them.
    keepNames: true,
    tsconfig: join(projectRoot, 'tsconfig.json'),
    logLevel: 'warning',
  });
  if (options.declarations ?? true) await emitDeclarations(projectRoot, workspaceRoot, entries, out);
  for (const asset of options.assets ?? []) {
    const to = resolve(out, asset.to);
    if (relative(out, to).startsWith('..') || to === out)
      throw new Error(`${pkg.name}: asset ${asset.from} must go to a folder inside ${outputPath}`);
    const files = asset.tracked ? await trackedFiles(workspaceRoot, asset.from) : undefined;
    if (files === undefined)
      await cp(resolve(workspaceRoot, asset.from), to, { recursive: true, errorOnExist: true, force: false });
    else
      for (const file of files)
        await cp(resolve(workspaceRoot, file), join(to, relative(asset.from, file)), {
          errorOnExist: true,
          force: false,
        });
  }
  return { entries };
}

/**
 * The files git tracks under `from` (relative to the workspace root), as they are on disk; in
 * a folder that is no git checkout (an unpacked source archive), undefined: everything is copied.
 */
export async function trackedFiles(workspaceRoot: string, from: string): Promise<string[] | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('git', ['ls-files', '-z', '--', from], {
      cwd: workspaceRoot,
      maxBuffer: 64 * 2 ** 20,
    }));
  } catch {
    return undefined;
  }
  // Tracked but deleted in the checkout: nothing to copy.
  return stdout.split('\0').filter((file) => file !== '' && existsSync(resolve(workspaceRoot, file)));
}

async function emitDeclarations(
  projectRoot: string,
  workspaceRoot: string,
  entries: Record<string, string>,
  out: string,
): Promise<void> {
  // Inside the workspace, so that tsc finds node_modules/@types as it does for the sources.
  const cache = join(workspaceRoot, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const scratch = await mkdtemp(join(cache, 'transplant-build-'));
  try {
    const config = join(scratch, 'tsconfig.json');
    await writeFile(
      config,
      JSON.stringify({
        extends: join(projectRoot, 'tsconfig.json'),
        compilerOptions: {
          noEmit: false,
          declaration: true,
          emitDeclarationOnly: true,
          rootDir: join(projectRoot, 'src'),
          outDir: out,
          // The dependencies as their consumers see them: their built declarations.
          customConditions: [],
        },
        files: Object.values(entries).map((source) => join(projectRoot, source)),
        include: [],
      }),
    );
    const tsc = createRequire(join(workspaceRoot, 'package.json')).resolve('typescript/bin/tsc');
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', config], {
        cwd: projectRoot,
        maxBuffer: 64 * 2 ** 20,
      });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `tsc could not emit the declarations of ${relative(workspaceRoot, projectRoot)}:\n${stdout}${stderr}`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await fixDeclarationSpecifiers(out);
}

/** The `build` target of a workspace package (`nx run core:build`; `npm run build` builds them all). */
export default async function buildExecutor(
  options: BuildExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  const project = context.projectName
    ? context.projectsConfigurations?.projects[context.projectName]
    : undefined;
  if (!project) throw new Error('the build executor needs its project');
  const projectRoot = resolve(context.root, project.root);
  try {
    const { entries } = await buildPackage(projectRoot, context.root, options);
    const names = Object.keys(entries).map((name) => `${name}.js`);
    process.stdout.write(
      `built ${relative(context.root, projectRoot).split(sep).join('/')}: ${names.join(', ')}\n`,
    );
    return { success: true };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return { success: false };
  }
}
