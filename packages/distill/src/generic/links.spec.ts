import { describe, expect, it } from 'vitest';
import { formatGenericChange } from '../generic-view';
import { growthImages, linkImages } from './links';
import type { LinkOutcome } from './network';

const bridged: LinkOutcome = {
  link: 'cat-seg-features → bird-cls-head',
  status: 'learned',
  method: 'bd',
  annotatedImages: 0,
  knownNegatives: 200,
  calibration: { mode: 'label-free', scale: 0.5, offset: 0.6, images: 200, annotated: 0, present: 98 },
  metric: { name: 'error-rate', value: 0.1 },
};
const labelled: LinkOutcome = {
  ...bridged,
  link: 'cow-seg-features → bird-cls-head',
  annotatedImages: 200,
  calibration: { mode: 'labelled', scale: 0.5, offset: -0.6, images: 200, annotated: 200, present: 100 },
};
const ol: LinkOutcome = {
  link: 'cow-cls-features → bird-seg-head',
  status: 'learned',
  method: 'ol',
  annotatedImages: 4,
  knownNegatives: 200,
};
const skipped: LinkOutcome = { link: 'x → y', status: 'skipped', reason: 'no teacher' };

describe("a generic change's image counts", () => {
  it("names each learned link's annotated images on its adapter's card", () => {
    expect(linkImages(bridged, {})).toBe(
      '0 annotated images (0 unlabelled target images, a label-free calibration on 200 unlabelled images); 200 negatives known by construction',
    );
    expect(linkImages(labelled, {})).toMatch(/^200 annotated images \(.*200 labelled calibration images\)/);
    expect(linkImages(ol, { samples: 4 })).toBe(
      '4 annotated images (4 annotated samples); 200 negatives known by construction',
    );
  });

  it("sums the learned links' annotated images on the generic network's card and in the text", () => {
    expect(growthImages([bridged, labelled, ol, skipped])).toBe(
      '3 learned links, 204 annotated images in all; 200 negatives known by construction per link',
    );
    expect(growthImages([bridged, skipped])).toContain('1 learned links, 0 annotated images in all');
    const text = formatGenericChange({
      name: 'animals',
      version: '1.1.0',
      links: [bridged, labelled],
      guarded: [],
      wallSeconds: 1,
    });
    expect(text).toContain(
      'cat-seg-features → bird-cls-head: learned (bd) error-rate 0.1000, 0 annotated images, 200 negatives known by construction, label-free calibration',
    );
    expect(text).toContain(
      'cow-seg-features → bird-cls-head: learned (bd) error-rate 0.1000, 200 annotated images',
    );
  });
});
