import { describe, expect, it } from 'vitest';
import { objectCrop } from './object-crop';
import { PART_NAMES, partLabel } from './parts';
import { SampleRenderer } from './render/render-sample';

describe('objectCrop', () => {
  const renderer = new SampleRenderer(64);

  it('fills the crop with the object: box, label map, part centres and areas move with it', () => {
    const sample = renderer.render('cat', 'crop-test:1');
    const crop = objectCrop(sample, 48);
    expect([crop.width, crop.height, crop.rgb.length, crop.labels.length]).toEqual([
      48,
      48,
      48 * 48 * 3,
      48 * 48,
    ]);
    expect(crop.annotation.box).toEqual([0, 0, 48, 48]);
    // The object's share of the image grows (it was a part of the scene, now it spans the crop).
    const share = (labels: Uint8Array) => labels.filter((v) => v > 0).length / labels.length;
    expect(share(crop.labels)).toBeGreaterThan(2 * share(sample.labels));
    let visible = 0;
    for (const name of PART_NAMES) {
      const part = crop.annotation.parts[name];
      if (!part?.visible) continue;
      visible++;
      const [x, y] = part.centre!;
      expect(crop.labels[Math.floor(y) * 48 + Math.floor(x)]).toBe(partLabel(name));
      expect(part.area).toBe(crop.labels.filter((v) => v === partLabel(name)).length);
      // The centre moved by the crop's affine map (to the pixel grid).
      const [ox, oy] = sample.annotation.parts[name]!.centre!;
      const [bx, by, bx1, by1] = sample.annotation.box!;
      expect(Math.abs(x - ((ox - bx) / (bx1 - bx)) * 48)).toBeLessThan(2.5);
      expect(Math.abs(y - ((oy - by) / (by1 - by)) * 48)).toBeLessThan(2.5);
    }
    expect(visible).toBeGreaterThan(2);
  });

  it('resizes a negative whole, and a uniform image stays uniform', () => {
    const background = renderer.render('background', 'crop-test:2');
    const crop = objectCrop(background, 32);
    expect(crop.annotation.box).toBeNull();
    expect(crop.labels.every((v) => v === 0)).toBe(true);
    const flat = { ...background, rgb: new Uint8Array(background.rgb.length).fill(77) };
    expect(objectCrop(flat, 32).rgb.every((v) => v === 77)).toBe(true);
  });
});
