import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATEGORY_VS_REST_SEED_NAMES, SyntheticSet } from '@transplant/data';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { devChoice, runZooEvaluation, type VersionScore } from './zoo-evaluation';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('the zoo evaluation run', () => {
  it('a run without --final scores every version on dev and renders no final-test image; --final then reads the final test of the dev choice only', async () => {
    const results = await mkdtemp(join(tmpdir(), 'zoo-eval-'));
    dirs.push(results);
    const quiet = vi.spyOn(process.stderr, 'write').mockReturnValue(true);
    const out = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
    // Every synthetic image the run renders, by its seed name (`zoo-7:<split name>:<category>:<key>`).
    const rendered = vi.spyOn(SyntheticSet.prototype, 'render');
    const split = (seed: string) => seed.split(':')[1];
    try {
      // --final before any dev scores is refused: the final test is read only for dev's choice.
      await expect(runZooEvaluation({ networks: 'cat-cls', results, final: true })).rejects.toMatchObject({
        code: 'E_INVALID_ARGUMENT',
      });
      expect(rendered).not.toHaveBeenCalled();

      await runZooEvaluation({ networks: 'cat-cls', results });
      const devSeeds = rendered.mock.calls.map(([ref]) => ref.seed);
      rendered.mockClear();
      expect(devSeeds.length).toBeGreaterThan(0);
      expect(new Set(devSeeds.map(split))).toEqual(new Set([CATEGORY_VS_REST_SEED_NAMES.dev]));
      const dev = JSON.parse(await readFile(join(results, 'zoo-evaluation.json'), 'utf8')) as {
        dev: VersionScore[];
        final: unknown[];
      };
      expect(dev.final).toEqual([]);
      expect(dev.dev.length).toBeGreaterThan(1);
      expect(dev.dev.every((s) => s.split === 'dev' && s.images === 400)).toBe(true);
      // One render per held-out image and version: nothing else was drawn.
      expect(devSeeds.length).toBe(400 * dev.dev.length);
      expect(await readFile(join(results, 'zoo-evaluation.md'), 'utf8')).not.toContain('Final test');

      // The final run: the final stream, for the one version dev chose, 400 images.
      await runZooEvaluation({ networks: 'cat-cls', results, final: true });
      const finalSeeds = rendered.mock.calls.map(([ref]) => ref.seed);
      expect(new Set(finalSeeds.map(split))).toEqual(new Set([CATEGORY_VS_REST_SEED_NAMES.test]));
      expect(finalSeeds.length).toBe(400);
      const final = JSON.parse(await readFile(join(results, 'zoo-evaluation.json'), 'utf8')) as {
        dev: VersionScore[];
        final: { version: string; split: string }[];
      };
      expect(final.final.map((s) => s.split)).toEqual(['test']);
      expect(final.final[0]!.version).toBe(devChoice(final.dev, 'cat-cls')!.version);
      expect(await readFile(join(results, 'zoo-evaluation.md'), 'utf8')).toContain('Final test');
    } finally {
      rendered.mockRestore();
      quiet.mockRestore();
      out.mockRestore();
    }
  }, 120_000);
});
