import { describe, expect, it } from 'vitest';
import type { TransplantResult } from './transplant';
import { formatTransplant, transplantSummary } from './transplant-summary';

/** A bridged transplant's result as `transplant` returns it, with the calibration given. */
const result = (calibration: TransplantResult['calibration'], annotatedImages: number): TransplantResult => ({
  network: 'cat-cls-via-bird',
  version: undefined,
  adapter: 'cat-cls-via-bird-adapter',
  student: { category: 'cat-seg-features', task: 'bird-cls-head', taskId: 'cls' },
  teacher: 'task bridge seg → cls on cat-seg',
  method: 'bd',
  samples: 0,
  annotatedImages,
  knownNegatives: 200,
  probe: 'ones',
  metric: { name: 'error-rate', value: 0.1 },
  evaluation: { split: 'dev', images: [] },
  curve: [],
  losses: [0.5, 0.25],
  stepMilliseconds: 10,
  wallSeconds: 1,
  data: 'synthetic',
  ...(calibration ? { calibration } : {}),
});

describe('a transplant summary', () => {
  it('states the annotated images and the negatives known by construction, and the calibration mode', () => {
    const free = result(
      { mode: 'label-free', scale: 0.5, offset: 0.7, images: 200, annotated: 0, present: 104 },
      0,
    );
    const text = formatTransplant(free, 'r.md');
    expect(text).toContain(
      'images: 0 annotated images (0 unlabelled target images, a label-free calibration on 200 unlabelled images); 200 negatives known by construction',
    );
    expect(text).toContain(
      "calibration: label-free calibration on 200 unlabelled images, 104 of them the category by the teacher's own mask: logit = 0.500 · score + 0.700",
    );
    const labelled = result(
      { mode: 'labelled', scale: 0.5, offset: -0.6, images: 200, annotated: 200, present: 100 },
      200,
    );
    expect(formatTransplant(labelled, 'r.md')).toContain(
      'images: 200 annotated images (0 unlabelled target images, 200 labelled calibration images); 200 negatives known by construction',
    );
    expect(transplantSummary(labelled, 'r.md')).toMatchObject({
      annotatedImages: 200,
      knownNegatives: 200,
      calibration: { mode: 'labelled', annotated: 200 },
      finalLoss: 0.25,
    });
  });
});
