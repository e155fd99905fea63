import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { cropResize } from './image-io';
import { objectCrop } from './object-crop';
import type { RenderedSample } from './render/render-sample';
import { resizeLinear } from './resize-linear';

const image = (width: number, height: number, f: (x: number, y: number, c: number) => number) =>
  Uint8Array.from({ length: width * height * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    return f(p % width, Math.floor(p / width), i % 3);
  });

describe('resizeLinear', () => {
  it('leaves an image of the target size as it is, and a flat image flat', () => {
    const noise = image(17, 17, (x, y, c) => (x * 31 + y * 17 + c * 101) % 256);
    expect(resizeLinear(noise, 17, 17, 3, 17)).toEqual(noise);
    const flat = resizeLinear(new Uint8Array(300 * 200 * 3).fill(93), 300, 200, 3, 64);
    expect(new Set(flat)).toEqual(new Set([93]));
  });

  it('averages every source pixel when it shrinks (no aliasing), where sampling would lose them', () => {
    // One bright column in four: point sampling between pixels 4o+1 and 4o+2 would see none of it.
    const stripes = image(256, 8, (x) => (x % 4 === 0 ? 255 : 0));
    const out = resizeLinear(stripes, 256, 8, 3, 64);
    // Inside, each output's triangle (8 source pixels wide) holds a quarter of bright weight;
    // at the two edges the taps outside the image are dropped and the others renormalised.
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const v = out[(y * 64 + x) * 3]!;
        if (x > 0 && x < 63)
          expect(v).toBe(64); // 255 / 4, rounded
        else expect(v).toBe(x === 0 ? 73 : 46); // 255 · 1 / 3.5 and 255 · 0.625 / 3.5
      }
  });

  it('reads RGBA (a canvas) as it reads RGB, and keeps each channel apart', () => {
    const rgb = image(50, 30, (x, y, c) => (c === 0 ? x * 5 : c === 1 ? y * 8 : 200));
    const rgba = new Uint8Array(50 * 30 * 4);
    for (let p = 0; p < 50 * 30; p++) rgba.set([...rgb.subarray(p * 3, p * 3 + 3), p % 256], p * 4);
    const a = resizeLinear(rgb, 50, 30, 3, 20);
    expect(resizeLinear(rgba, 50, 30, 4, 20)).toEqual(a);
    for (let p = 0; p < 400; p++) expect(a[p * 3 + 2]).toBe(200);
    // Red follows x only: the same in every row.
    for (let y = 1; y < 20; y++) for (let x = 0; x < 20; x++) expect(a[(y * 20 + x) * 3]).toBe(a[x * 3]);
  });

  it('enlarges exactly as the object crops do (bilinear, half-pixel centres)', () => {
    // A scene of 40 × 30 pixels of noise, taken whole (no box) and enlarged to 64 × 64 by objectCrop.
    const [w, h] = [40, 30];
    const rgb = image(w, h, (x, y, c) => (x * 97 + y * 57 + c * 31 + ((x * y) % 7) * 19) % 256);
    const sample = {
      width: w,
      height: h,
      rgb,
      labels: new Uint8Array(w * h),
      annotation: { parts: {} },
    } as unknown as RenderedSample;
    const crop = objectCrop(sample, 64).rgb;
    const ours = resizeLinear(rgb, w, h, 3, 64);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - crop[i]!));
    // objectCrop keeps its weights in float32: a value on a half may round the other way.
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('shrinks like sharp’s linear resize (which makes CUB’s crops) on a smooth photo, not on noise', async () => {
    const [w, h] = [173, 121];
    const smooth = image(w, h, (x, y, c) =>
      Math.round(127 + 100 * Math.sin(x / 23 + c) * Math.cos(y / 17 - c / 2)),
    );
    const noise = image(w, h, (x, y, c) => (x * 97 + y * 57 + c * 31 + ((x * y) % 7) * 19) % 256);
    const worst = async (rgb: Uint8Array) => {
      const ours = resizeLinear(rgb, w, h, 3, 64);
      const theirs = (
        await cropResize({ width: w, height: h, rgb }, { left: 0, top: 0, width: w, height: h }, 64)
      ).rgb;
      let most = 0;
      for (let i = 0; i < ours.length; i++) most = Math.max(most, Math.abs(ours[i]! - theirs[i]!));
      return most;
    };
    expect(await worst(smooth)).toBeLessThanOrEqual(2);
    // Both filters are linear and widened, but not the same: on noise they part by many levels.
    expect(await worst(noise)).toBeGreaterThan(4);
  });

  it('refuses a size that is not a resize', () => {
    for (const size of [0, -1, 2.5, Number.NaN])
      expect(() => resizeLinear(new Uint8Array(12), 2, 2, 3, size)).toThrow(RangeError);
  });

  it('runs from its own source text alone, as the hub page runs it, with the same bytes', () => {
    const photo = image(97, 61, (x, y, c) => (x * 7 + y * 13 + c * 50) % 256);
    const page = runInNewContext(`(${resizeLinear.toString()})`, {}) as typeof resizeLinear;
    expect(Array.from(page(photo, 97, 61, 3, 32))).toEqual(Array.from(resizeLinear(photo, 97, 61, 3, 32)));
  });
});
