/**
 * Resizes an 8-bit image to `size` × `size` (the whole frame, anisotropically) with a linear
 * (triangle) filter on half-pixel centres, widened by the shrink factor when shrinking so that
 * every source pixel counts (anti-aliased, as image libraries' "linear" resampling is); the
 * result is rounded to 8-bit RGB.
 *
 * This one function is what a photo goes through before a network sees it, in Node
 * (`predictImage`) and in the hub's run page: the page runs this very source
 * (`resizeLinear.toString()`), so both give the same bytes for the same decoded pixels. It
 * must therefore stay self-contained — no imports, no helpers outside its body — and use only
 * operations whose result JavaScript fixes exactly (`+`, `-`, `*`, `/` on doubles, and
 * `Math.floor`, `ceil`, `round`, `min`, `max`): no `Math.exp` or `sin`, whose last bit engines
 * may choose.
 *
 * `pixels` holds `width × height` pixels of `channels` bytes each (3: RGB, 4: RGBA as a
 * canvas's ImageData gives; only the first three are read).
 */
export function resizeLinear(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  size: number,
): Uint8Array {
  if (!Number.isInteger(size) || size < 1 || !(width >= 1) || !(height >= 1))
    throw new RangeError(`resizeLinear: ${width} × ${height} → ${size} is not a resize of an image`);
  // Per axis and output index: the first source index and the normalised weights of the taps
  // from it. (A loop, not a helper function: a bundler that keeps names would wrap a nested
  // function in a call to its own helper, which the page does not have.)
  const axes: { start: Int32Array; count: Int32Array; weights: Float64Array; most: number }[] = [];
  for (const inSize of [width, height]) {
    const scale = inSize / size;
    const widen = scale > 1 ? scale : 1;
    // The triangle spans 2·widen source pixels: at most ⌈2·widen⌉ + 1 of them (one more for rounding).
    const most = Math.ceil(2 * widen) + 2;
    const start = new Int32Array(size);
    const count = new Int32Array(size);
    const weights = new Float64Array(size * most);
    for (let o = 0; o < size; o++) {
      const centre = (o + 0.5) * scale;
      const lo = Math.max(0, Math.floor(centre - widen));
      const hi = Math.min(inSize, Math.ceil(centre + widen));
      if (hi - lo > most) throw new RangeError(`resizeLinear: ${hi - lo} taps where ${most} fit`);
      let sum = 0;
      let n = 0;
      for (let i = lo; i < hi; i++, n++) {
        const d = (i + 0.5 - centre) / widen;
        const w = d < 0 ? 1 + d : 1 - d;
        weights[o * most + n] = w > 0 ? w : 0;
        sum += weights[o * most + n]!;
      }
      if (sum <= 0) {
        // Every tap on the triangle's feet: the nearest pixel.
        start[o] = Math.min(inSize - 1, Math.max(0, Math.floor(centre)));
        count[o] = 1;
        weights[o * most] = 1;
        continue;
      }
      for (let k = 0; k < n; k++) weights[o * most + k] = weights[o * most + k]! / sum;
      start[o] = lo;
      count[o] = n;
    }
    axes.push({ start, count, weights, most });
  }
  const [across, down] = axes as [(typeof axes)[0], (typeof axes)[0]];
  // Rows first: height × size × 3, kept in full precision until the end.
  const rows = new Float64Array(height * size * 3);
  for (let y = 0; y < height; y++)
    for (let o = 0; o < size; o++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < across.count[o]!; k++) {
        const w = across.weights[o * across.most + k]!;
        const at = (y * width + across.start[o]! + k) * channels;
        r += w * pixels[at]!;
        g += w * pixels[at + 1]!;
        b += w * pixels[at + 2]!;
      }
      const to = (y * size + o) * 3;
      rows[to] = r;
      rows[to + 1] = g;
      rows[to + 2] = b;
    }
  const out = new Uint8Array(size * size * 3);
  for (let o = 0; o < size; o++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < down.count[o]!; k++)
          v += down.weights[o * down.most + k]! * rows[((down.start[o]! + k) * size + x) * 3 + c]!;
        out[(o * size + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
  return out;
}
