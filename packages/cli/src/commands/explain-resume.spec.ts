import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { killAndResumeCli as killAndResume } from '../testing/cli-process';
import { publishTinyClassifiers } from '../testing/tiny-classifiers';

let dir: string;
let template: string;
let copies = 0;

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-explain-resume-'));
  template = join(dir, 'template');
  await publishTinyClassifiers(template, [{ name: 'bird-cls', category: 'bird', headConvs: [6] }]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const fresh = async () => {
  const copy = join(dir, `registry-${copies++}`);
  await cp(template, copy, { recursive: true });
  return copy;
};

describe('explain killed with SIGKILL at random points', () => {
  it('resumes the explainer from its checkpoint to the uninterrupted explanation, bit for bit', async () => {
    const out = join(dir, 'report');
    const outcome = await killAndResume({
      args: [
        'explain',
        '--net',
        'bird-cls',
        '--steps',
        '400',
        '--pool',
        '32',
        '--images',
        '6',
        '--test',
        '6',
        '--filters',
        '4',
        '--out',
        out,
      ],
      // Its progress lines are rare (every 250 steps): kill at random points of the whole run.
      window: [0.2, 0.95],
      kills: 10,
      seed: 5,
      freshRegistry: fresh,
      afterKill: async () => undefined,
    });
    expect(outcome.kills).toBeGreaterThanOrEqual(10);
    expect(outcome.resumedAt.filter((step) => step > 0).length).toBeGreaterThan(0);
    for (const run of outcome.finished.filter((r) => r.code === 0)) expect(run.runFolders).toEqual([]);
    const reference = JSON.parse(outcome.reference.stdout);
    for (const run of outcome.finished) expect(JSON.parse(run.stdout)).toEqual(reference);
    expect((await readdir(out)).sort()).toEqual(['groups.png', 'report.html', 'report.md']);
  }, 900_000);
});
