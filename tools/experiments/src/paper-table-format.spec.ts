import { describe, expect, it } from 'vitest';
import { formatPaperTables, type Cell } from './paper-table-format';

const cell = (category: string, method: Cell['method'], samples: number, error: number): Cell => ({
  mode: 'inserted',
  category,
  from: `${category}-cls`,
  layers: 1,
  samples,
  method,
  error,
  seconds: 1,
});

describe('paper table', () => {
  it('writes our errors in %, their average when every category is in, and the paper average beside them', () => {
    const text = formatPaperTables(
      [cell('cat', 'bd', 0, 0.02), cell('dog', 'bd', 0, 0.04), cell('cat', 'ol', 10, 0.3)],
      ['cat', 'dog'],
      [10, 0],
    );
    expect(text).toContain('| 0 | BD | 2.00 | 4.00 | 3.00 | 1.75 |');
    expect(text).toContain('| 10 | OL | 30.00 | … | … | 38.76 |');
    expect(text).toContain('(networks: cat-cls@1.0.0, dog-cls@1.0.0)');
    expect(text).not.toContain('KD');
    expect(text).not.toContain('3 conv');
  });

  it('states the steps per cell of each table, from the cells themselves', () => {
    const long = { ...cell('cat', 'bd', 0, 0.02), mode: 'transplanted' as const, steps: 1000 };
    const text = formatPaperTables([cell('cat', 'bd', 0, 0.02), long], ['cat'], [0]);
    expect(text).toContain('inserted into the category’s own network: 1 conv + ReLU, 300 steps per cell');
    expect(text).toContain('### Real transplants: 1 conv + ReLU, 1000 steps per cell');
  });

  it('names the exact networks of real transplants, the target and the donor of the task module', () => {
    const t = (category: string, from: string, to: string): Cell => ({
      mode: 'transplanted',
      category,
      from: from.split('@')[0]!,
      networks: { from, to },
      layers: 3,
      samples: 0,
      method: 'bd',
      error: 0.1,
      seconds: 1,
    });
    const text = formatPaperTables(
      [t('cat', 'dog-cls@1.1.0', 'cat-cls@1.1.0'), t('cow', 'horse-cls@1.0.0', 'cow-cls@1.0.0')],
      ['cat', 'cow'],
      [0],
    );
    expect(text).toContain(
      '### Real transplants: 3 conv + ReLU, 300 steps per cell (target ← task module from: cat-cls@1.1.0 ← dog-cls@1.1.0, cow-cls@1.0.0 ← horse-cls@1.0.0)',
    );
    expect(text).toContain('| 0 | BD | 10.00 | 10.00 | 10.00 |');
  });
});
