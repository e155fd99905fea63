import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequentialFixture, writeModelFiles } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { commandTree, runCli } from '../program';
import { generateCases, leafCommands, slotsOf, type BaselineTable, type Fixtures } from './cases';
import { fixturePaths, publishTinyZoo, writeFixtures, writeTinyCub } from './fixtures';

/**
 * The generated bad-input suite (issue 24): every option and argument of every command, given
 * bad values of its kind (cases.ts), must end in one coded error line, exit 1 or 2, leave no file
 * behind and the registry byte for byte as it was. "No file behind" is every file under one
 * temporary root: the registries, the fixtures, the working folder every case runs in (relative
 * outputs land there; transplant's --reports points there) and the long runs' state folder.
 * "Unreadable" is a path below a plain file (ENOTDIR): the tests run as root, whom a mode of 000
 * does not stop.
 */

const root = await mkdtemp(join(tmpdir(), 'transplant-bad-input-'));
/** A copy of `root` as the cases must leave it, to put back what a failed case changed. */
const pristine = await mkdtemp(join(tmpdir(), 'transplant-bad-input-pristine-'));
const registry = join(root, 'registry');
const otherRegistry = join(root, 'other-registry');
const cwd = join(root, 'cwd');
const f: Fixtures = fixturePaths(join(root, 'fixtures'));
const model = join(root, 'fixtures', 'model');
const modules = join(root, 'fixtures', 'modules');
const cub = join(root, 'fixtures', 'cub');
const graph = join(root, 'fixtures', 'cat.egraph');
const aog = join(root, 'fixtures', 'cat.aog');
const out = (name: string) => join(cwd, name);

/** Valid values for every leaf command: what a case keeps while it spoils one slot. */
const baselines: BaselineTable = {
  doctor: { args: [], options: {} },
  'registry init': { args: [], options: {} },
  'registry publish': { args: [join(modules, 'dog-cls-imported-features')], options: {} },
  'registry resolve': { args: ['cat-cls@1.0.0'], options: { '--lockfile': out('lock.json') } },
  'registry list': { args: [], options: {} },
  hub: { args: [], options: { '--port': '0', '--host': '127.0.0.1' } },
  'registry info': { args: ['cat-cls'], options: {} },
  'registry yank': { args: ['cat-cls@1.0.0'], options: {} },
  'registry unyank': { args: ['cat-cls@1.0.0'], options: {} },
  'registry verify': { args: [], options: {} },
  'registry gc': { args: [], options: { '--grace-ms': '3600000' } },
  'registry push': { args: ['cat-cls'], options: { '--to': otherRegistry } },
  'registry pull': { args: ['cat-cls'], options: { '--from': otherRegistry } },
  import: {
    args: [],
    options: {
      '--model': join(model, 'model.json'),
      '--split': 'p1',
      '--category': 'dog',
      '--task': 'cls',
      '--out': out('imported'),
    },
  },
  transplant: {
    args: [],
    options: { '--from': 'cat-cls', '--to': 'cat-seg', '--steps': '1', '--reports': out('reports') },
  },
  'generic create': { args: [], options: { '--name': 'pets', '--from': 'cat-cls,cat-seg' } },
  'generic show': { args: ['animals'], options: {} },
  'generic run': {
    args: ['animals'],
    options: { '--category': 'cat-cls-features', '--task': 'cat-cls-head', '--image': f.image },
  },
  'add-category': { args: [], options: { '--generic': 'animals', '--from': 'dog-cls', '--steps': '1' } },
  'add-task': { args: [], options: { '--generic': 'animals', '--from': 'dog-cls', '--steps': '1' } },
  'remove-category': { args: [], options: { '--generic': 'animals', '--category': 'cat-seg-features' } },
  'interpret metrics': {
    args: [],
    options: { '--net': 'cat-cls', '--layer': 'block2_conv1', '--images': '4' },
  },
  'graph mine': {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--out': out('mined.egraph'),
      '--images': '2',
      '--negatives': '2',
      '--iterations': '1',
    },
  },
  'graph nodes': {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--graph': graph,
      '--nodes': '0:0',
      '--png': out('nodes.png'),
      '--images': '1',
      '--columns': '1',
    },
  },
  'graph inspect': { args: [], options: { '--graph': graph } },
  'graph localize': {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--graph': graph,
      '--shots': '1',
      '--pool': '2',
      '--test': '2',
      '--draws': '1',
    },
  },
  'aog learn': {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--graph': graph,
      '--shots': '1',
      '--pool': '2',
      '--top': '1',
      '--out': out('learned.aog'),
    },
  },
  'aog inspect': { args: [], options: { '--aog': aog } },
  'aog localize': {
    args: [],
    options: { '--net': 'cat-cls', '--graph': graph, '--aog': aog, '--image': f.image },
  },
  explain: {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--steps': '1',
      '--filters': '1',
      '--pool': '4',
      '--images': '2',
      '--test': '2',
      '--out': out('explain'),
    },
  },
  visualize: {
    args: [],
    options: {
      '--net': 'cat-cls',
      '--layer': 'block2_conv1',
      '--filter': '0',
      '--steps': '1',
      '--out': out('visualize'),
    },
  },
  predict: { args: [], options: { '--net': 'cat-cls', '--image': f.image } },
  compose: { args: [], options: { '--name': 'composed', '--link': 'cat-cls-features:cat-cls-head' } },
  export: { args: [], options: { '--net': 'cat-cls', '--out': out('export') } },
  plugins: { args: [], options: {} },
  completion: { args: ['bash'], options: {} },
  'data preview': {
    args: [],
    options: { '--category': 'cat', '--n': '1', '--size': '16', '--out': out('preview.png') },
  },
  'data inspect': {
    args: [],
    options: { '--cub': cub, '--n': '1', '--size': '16', '--out': out('sheet.png') },
  },
};

const cases = generateCases(f, baselines);
const DEFAULT_GLOBALS: Readonly<Record<string, string | true>> = {
  '--backend': 'cpu',
  '--registry': registry,
};

async function run(argv: readonly string[], globals: Readonly<Record<string, string | true>> = {}) {
  let stdout = '';
  let stderr = '';
  const global = Object.entries({ ...DEFAULT_GLOBALS, ...globals }).map(([k, v]) =>
    v === true ? k : `${k}=${v}`,
  );
  const code = await runCli([...global, ...argv], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    // Long runs keep their checkpoints here: inside the snapshot, so one left behind is seen.
    env: { TRANSPLANT_RUNS_DIR: join(root, 'runs') },
  });
  return { code, stdout, stderr };
}

/** Every file under the temporary root (registries, fixtures, working folder): path → sha256. */
async function snapshot(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        files[`${relative(root, path)}/`] = 'dir';
        await walk(path);
      } else {
        files[relative(root, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      }
    }
  };
  await walk(root);
  return files;
}

let before: Record<string, string>;

/** Puts `root` back as {@link before} (after a case that left something), so the next case starts clean. */
async function restore(now: Record<string, string>): Promise<void> {
  const extra = Object.keys(now)
    .filter((p) => !(p in before))
    .sort((a, b) => b.length - a.length);
  for (const p of extra) await rm(join(root, p), { recursive: true, force: true });
  for (const [p, digest] of Object.entries(before)) {
    if (digest === 'dir') await mkdir(join(root, p), { recursive: true });
    else if (now[p] !== digest) {
      await mkdir(dirname(join(root, p)), { recursive: true });
      await copyFile(join(pristine, p), join(root, p));
    }
  }
}
const startDir = process.cwd();

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  await publishTinyZoo(registry);
  await writeFixtures(f);
  await writeTinyCub(cub);
  await writeModelFiles(sequentialFixture(), model);
  await mkdir(cwd);
  // The state folder of long runs exists, as it does after the first one: a case must leave no run in it.
  await mkdir(join(root, 'runs'));
  process.chdir(cwd);
  const setup = [
    await run(['registry', 'init'], { '--registry': otherRegistry }),
    await run(['registry', 'push', 'cat-cls', '--to', otherRegistry]),
    await run([
      ...['import', '--model', join(model, 'model.json'), '--out', modules],
      ...'--split p1 --category dog --task cls --no-check'.split(' '),
    ]),
    await run('generic create --name animals --from cat-cls,cat-seg'.split(' ')),
    await run([
      ...['graph', 'mine', '--out', graph],
      ...'--net cat-cls --images 2 --negatives 2 --iterations 1'.split(' '),
    ]),
    await run([
      ...['aog', 'learn', '--graph', graph, '--out', aog],
      ...'--net cat-cls --shots 1 --pool 4'.split(' '),
    ]),
  ];
  for (const s of setup) expect(s, s.stderr).toMatchObject({ code: 0 });
  before = await snapshot();
  await cp(root, pristine, { recursive: true });
}, 120_000);

afterAll(async () => {
  process.chdir(startDir);
  await rm(root, { recursive: true, force: true });
  await rm(pristine, { recursive: true, force: true });
});

const CODED_LINE = /^error (E_[A-Z_]+): [^\n]*\n$/;

/** A --json failure, `{"error":{code,message}}` on one line, as the text line it stands for. */
function jsonLine(stderr: string): string {
  if (!/^[^\n]*\n$/.test(stderr)) return stderr;
  const parsed = JSON.parse(stderr) as { error?: { code?: unknown; message?: unknown } };
  const { code, message } = parsed.error ?? {};
  return typeof message === 'string' && typeof code === 'string' && message.startsWith(`${code}: `)
    ? `error ${message}\n`
    : stderr;
}

describe(`bad input: ${cases.length} generated cases over every command and option`, () => {
  it('covers every option and argument of every command, and every global option', () => {
    const program = commandTree();
    const covered = new Set(cases.map((c) => `${c.command} ${c.slot}`));
    const slots = leafCommands(program).flatMap(({ path, command }) =>
      slotsOf(path, command).map((s) => `${path} ${s.name}`),
    );
    const globals = program.options.map((o) => `(global) ${o.long}`);
    expect(slots.length).toBeGreaterThan(100);
    expect([...slots, ...globals].filter((s) => !covered.has(s))).toEqual([]);
    expect(Object.keys(baselines).sort()).toEqual(
      leafCommands(program)
        .map((l) => l.path)
        .sort(),
    );
  });

  for (const command of [...new Set(cases.map((c) => c.command))]) {
    describe(command, () => {
      for (const c of cases.filter((x) => x.command === command)) {
        it(`${c.slot}: ${c.label}`, async () => {
          const result = await run(c.argv, { ...c.globals, ...(c.json ? { '--json': true } : {}) });
          const after = await snapshot();
          if (JSON.stringify(after) !== JSON.stringify(before)) await restore(after);
          const shown = `transplant ${c.argv.join(' ')}\n${result.stderr}${result.stdout}`;
          if (c.accepted) {
            expect(result.code, shown).toBe(0);
          } else {
            expect([1, 2], shown).toContain(result.code);
            expect(result.stdout, shown).toBe('');
            const line = c.json ? jsonLine(result.stderr) : result.stderr;
            expect(line, shown).toMatch(CODED_LINE);
            expect(CODED_LINE.exec(line)?.[1], shown).not.toBe('E_INTERNAL');
            if (c.message) expect(line, shown).toMatch(c.message);
          }
          expect(after, shown).toEqual(before);
        });
      }
    });
  }
});
