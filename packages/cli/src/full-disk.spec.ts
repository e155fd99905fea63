import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { publishTinySpecifics } from './testing/tiny-classifiers';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const run = promisify(execFile);
let dir: string;
let template: string;

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-full-disk-'));
  template = join(dir, 'template');
  await publishTinySpecifics(template, ['bird', 'cat'], 'cpu');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/**
 * Runs a scenario in a private mount namespace (as root, or as root mapped in a user
 * namespace) with a 1 MiB tmpfs at `<case>/disk`, filled up but for `freeKiB`. The script's
 * outputs go to files beside the disk, which outlive the namespace (and so the tmpfs).
 */
async function onFullDisk(name: string, freeKiB: number, body: string): Promise<Record<string, string>> {
  const base = join(dir, name);
  await mkdir(join(base, 'disk'), { recursive: true });
  const cli = `node --import tsx ${JSON.stringify(MAIN)}`;
  const script = `
set -u
cd ${JSON.stringify(process.cwd())}
mount -t tmpfs -o size=1m tmpfs ${JSON.stringify(join(base, 'disk'))}
DISK=${JSON.stringify(join(base, 'disk'))}; OUT=${JSON.stringify(base)}
CLI() { ${cli} "$@"; }
fill() {
  head -c ${freeKiB * 1024} /dev/zero > "$DISK/.reserve"
  cat /dev/zero > "$DISK/.filler" 2>/dev/null
  rm -f "$DISK/.reserve"
}
${body}
`;
  await writeFile(join(base, 'scenario.sh'), script);
  await run('unshare', ['--mount', '--map-root-user', 'bash', join(base, 'scenario.sh')], {
    env: { ...process.env, TRANSPLANT_THREADS: '1', TRANSPLANT_RUNS_DIR: join(base, 'runs') },
    timeout: 300_000,
  });
  const read = async (file: string) => readFile(join(base, file), 'utf8').catch(() => '');
  const names = ['code', 'stderr', 'verify', 'before', 'after', 'again', 'again-code'];
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await read(n)] as const)));
}

/** Every file of the registry but its scratch folder, with its digest: the state a failed publish must leave. */
const HASHES = `(cd "$DISK/registry" && find . -type f -not -path './tmp/*' -exec sha256sum {} + | sort)`;
const TRANSPLANT = `transplant --from bird-cls --to cat-seg --steps 10`;

describe('a full disk', () => {
  it.each([0, 4, 8, 12])(
    'during publish (%i KiB free) is E_DISK_FULL; the registry keeps every byte it had and verifies clean; with space again the rerun finishes',
    async (freeKiB) => {
      const out = await onFullDisk(
        `publish-${freeKiB}`,
        freeKiB,
        `
cp -r ${JSON.stringify(template)} "$DISK/registry"
fill
${HASHES} > "$OUT/before"
CLI --registry "$DISK/registry" ${TRANSPLANT} --reports "$OUT/reports" > /dev/null 2> "$OUT/stderr"; echo $? > "$OUT/code"
CLI --registry "$DISK/registry" --json registry verify > "$OUT/verify" 2>&1
${HASHES} > "$OUT/after"
rm -f "$DISK/.filler"
CLI --registry "$DISK/registry" --json ${TRANSPLANT} --reports "$OUT/reports" > "$OUT/again" 2>&1; echo $? > "$OUT/again-code"
`,
      );
      expect(out['code']!.trim()).toBe('1');
      expect(out['stderr']).toMatch(/^error E_DISK_FULL: the disk is full/m);
      expect(out['stderr']).not.toMatch(/\n\s+at /);
      expect(JSON.parse(out['verify']!).problems).toEqual([]);
      // What was there stays byte for byte; at most whole new modules (an adapter without its network) or unreferenced blobs were added.
      const before = out['before']!.trim().split('\n');
      const after = new Set(out['after']!.trim().split('\n'));
      for (const line of before) expect(after).toContain(line);
      // Freed, the same command resumes (training is not redone) and publishes.
      expect(out['again-code']!.trim(), out['again']).toBe('0');
      expect(out['again']).toMatch(/^resuming at step 10\/10 /m);
      expect(JSON.parse(out['again']!.slice(out['again']!.indexOf('{'))).version).toBe('1.0.0');
    },
    300_000,
  );

  it.each([0, 8, 16])(
    'where the run keeps its checkpoints (%i KiB free) is E_DISK_FULL, and leaves no temporary file there',
    async (freeKiB) => {
      const out = await onFullDisk(
        `runs-${freeKiB}`,
        freeKiB,
        `
cp -r ${JSON.stringify(template)} "$OUT/registry"
mkdir -p "$DISK/runs"
fill
TRANSPLANT_RUNS_DIR="$DISK/runs" CLI --registry "$OUT/registry" ${TRANSPLANT} --reports "$OUT/reports" > /dev/null 2> "$OUT/stderr"; echo $? > "$OUT/code"
(cd "$DISK/runs" && find . -name '*.tmp' -o -name '.lock.*') > "$OUT/after"
`,
      );
      expect(out['code']!.trim()).toBe('1');
      expect(out['stderr']).toMatch(/^error E_DISK_FULL: .*\(checkpoint\)/m);
      expect(out['after']!.trim()).toBe('');
    },
    300_000,
  );

  it('while the report is written is E_DISK_FULL, leaves no partial report file, and the registry verifies clean', async () => {
    const out = await onFullDisk(
      'report',
      0,
      `
cp -r ${JSON.stringify(template)} "$OUT/registry"
mkdir -p "$DISK/reports"
fill
CLI --registry "$OUT/registry" ${TRANSPLANT} --reports "$DISK/reports" > /dev/null 2> "$OUT/stderr"; echo $? > "$OUT/code"
CLI --registry "$OUT/registry" --json registry verify > "$OUT/verify" 2>&1
ls -A "$DISK/reports" > "$OUT/after"
`,
    );
    expect(out['code']!.trim()).toBe('1');
    expect(out['stderr']).toMatch(/^error E_DISK_FULL: .*\(report\)/m);
    expect(JSON.parse(out['verify']!).problems).toEqual([]);
    expect(out['after']!.trim()).toBe('');
  }, 300_000);
});
