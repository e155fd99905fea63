import { describe, expect, it } from 'vitest';
import { chooseSettings } from './paper-table';
import {
  formatPaperTables,
  formatTuning,
  type Cell,
  type PaperTableFile,
  type TuningRun,
} from './paper-table-format';
import { packOutcomes } from './stats';

/** 400 images of which the first `wrong` are misclassified. */
const outcomes = (wrong: number) => packOutcomes(Array.from({ length: 400 }, (_, i) => (i < wrong ? 1 : 0)));

const cell = (
  category: string,
  method: Cell['method'],
  samples: number,
  seed: number,
  wrong: number,
  mode: Cell['mode'] = 'inserted',
): Cell => ({
  mode,
  category,
  from: `${category}-cls`,
  networks: { from: `${category}-cls@1.0.0`, to: `${category}-cls@1.0.0` },
  layers: 1,
  samples,
  method,
  seed,
  settings: { init: 'he-normal', steps: 300, learningRate: 1e-3 },
  error: wrong / 400,
  wrong: outcomes(wrong),
  images: 400,
  seconds: 1,
});

const file = (cells: Cell[], split: PaperTableFile['split'] = 'test'): PaperTableFile => ({
  backend: 'cpu',
  machine: 'test machine',
  split,
  cells,
  teachers: ['cat', 'dog'].flatMap((category) =>
    [1, 2, 3].map((seed) => ({
      category,
      seed,
      network: `${category}-cls@1.0.0`,
      error: 0.01,
      wrong: outcomes(4),
      images: 400,
    })),
  ),
});

describe('paper table', () => {
  it('writes the mean over seeds with its interval, the teacher row, the average only when every category has every seed', () => {
    const cells = [1, 2, 3].flatMap((seed) => [
      cell('cat', 'bd', 0, seed, 8),
      cell('dog', 'bd', 0, seed, 16),
      cell('cat', 'ol', 10, seed, 120),
    ]);
    const text = formatPaperTables(file(cells), ['cat', 'dog'], [10, 0]);
    expect(text).toContain('Split: **final test**');
    expect(text).toMatch(/| – | teacher | 1\.00 \[0\.50, 1\.\d\d\] \| 1\.00 \[/);
    expect(text).toMatch(
      /\| 0 \| BD \| 2\.00 \[\d\.\d\d, \d\.\d\d\] \| 4\.00 \[\d\.\d\d, \d\.\d\d\] \| 3\.00 \[/,
    );
    expect(text).toMatch(/\| 10 \| OL \| 30\.00 \[\d\d\.\d\d, \d\d\.\d\d\] \| … \| … \| 38\.76 \|/);
    expect(text).toContain('3 seeds × 400 images');
    expect(text).not.toContain('KD');
  });

  it('says a dev run is not the final test', () => {
    const text = formatPaperTables(file([cell('cat', 'bd', 0, 1, 8)], 'dev'), ['cat'], [0]);
    expect(text).toContain('Split: **dev (not the final test)**');
  });

  it('resolves BD against OL when their intervals of the difference exclude 0, and only then', () => {
    const rows = (olWrong: number) =>
      [1, 2, 3].flatMap((seed) => [
        cell('cat', 'bd', 10, seed, 10),
        cell('dog', 'bd', 10, seed, 10),
        cell('cat', 'ol', 10, seed, olWrong),
        cell('dog', 'ol', 10, seed, olWrong),
      ]);
    expect(formatPaperTables(file(rows(60)), ['cat', 'dog'], [10])).toMatch(
      /\| inserted \| 1 \| 10 \| BD − OL \| -12\.50 \[-\d+\.\d\d, -\d+\.\d\d\] \| BD lower \|/,
    );
    expect(formatPaperTables(file(rows(10)), ['cat', 'dog'], [10])).toMatch(
      /\| BD − OL \| \+0\.00 \[0\.00, 0\.00\] \| not resolved \|/,
    );
  });

  it('names the exact networks of real transplants, the target and the donor of the task module', () => {
    const t = {
      ...cell('cat', 'bd', 0, 1, 40, 'transplanted'),
      networks: { from: 'dog-cls@1.1.0', to: 'cat-cls@1.1.0' },
    };
    const text = formatPaperTables(file([t]), ['cat'], [0]);
    expect(text).toContain('### Real transplants: 1 conv + ReLU (BD he-normal, 300 steps)');
    expect(text).toContain('Target ← task module from: cat-cls@1.1.0 ← dog-cls@1.1.0.');
  });
});

describe('the tuning grid', () => {
  const run = (method: TuningRun['method'], init: TuningRun['init'], errors: number[]): TuningRun => ({
    mode: 'transplanted',
    category: 'cat',
    layers: 1,
    samples: 10,
    method,
    seed: 1,
    init,
    learningRate: 1e-3,
    steps: [300, 1000],
    errors,
    seconds: 1,
  });

  it('chooses per mode and method the lowest mean dev error; a tie goes to fewer steps', () => {
    const runs = [
      run('ol', 'he-normal', [0.3, 0.2]),
      run('ol', 'identity', [0.15, 0.25]),
      run('bd', 'he-normal', [0.05, 0.05]),
      run('bd', 'identity', [0.06, 0.02]),
      run('kd', 'he-normal', [0.1, 0.1]),
    ];
    const chosen = chooseSettings(runs);
    expect(chosen.transplanted).toEqual({
      ol: { init: 'identity', steps: 300, learningRate: 1e-3 },
      bd: { init: 'identity', steps: 1000, learningRate: 1e-3 },
      kd: { init: 'he-normal', steps: 300, learningRate: 1e-3 },
    });
    const text = formatTuning({ backend: 'cpu', machine: 'm', split: 'dev', runs, chosen });
    expect(text).toContain(
      '| transplanted | OL | identity | 0.001 | **300: 15.00**, 1000: 25.00 (1 runs) | 300 steps |',
    );
  });

  it('treats the learning rate as a grid dimension: each (start, rate) is a point, averaged over its runs', () => {
    const at = (lr: number, errors: number[], category: TuningRun['category'] = 'cat'): TuningRun => ({
      ...run('ol', 'identity', errors),
      learningRate: lr,
      category,
    });
    // 0.003 wins on average over both categories although it loses on cat.
    const chosen = chooseSettings([
      at(1e-3, [0.2, 0.3]),
      at(1e-3, [0.4, 0.5], 'horse'),
      at(3e-3, [0.25, 0.3]),
      at(3e-3, [0.1, 0.5], 'horse'),
    ]);
    expect(chosen.transplanted!.ol).toEqual({ init: 'identity', steps: 300, learningRate: 3e-3 });
    // A tie goes to the smaller rate.
    expect(chooseSettings([at(3e-3, [0.2, 0.3]), at(1e-3, [0.2, 0.3])]).transplanted!.ol).toEqual({
      init: 'identity',
      steps: 300,
      learningRate: 1e-3,
    });
  });
});
