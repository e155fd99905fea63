import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { weightsLayout, type StreamedWeight } from '@transplant/core';
import { MODULE_FILES } from '../module-folder';
import { fixtureManifest } from './module-fixture';

export interface TensorShape {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * The weights of VGG-16 (ImageNet, Keras layout): 13 conv layers and 3 dense layers, 32
 * tensors, 138,357,544 float32 values = 553,430,176 bytes of data. The largest tensor, fc1's
 * kernel, is 25088 × 4096 (411 MB).
 */
export const VGG16_SHAPES: readonly TensorShape[] = (() => {
  const convs = [
    [3, 64],
    [64, 64],
    [64, 128],
    [128, 128],
    [128, 256],
    [256, 256],
    [256, 256],
    [256, 512],
    [512, 512],
    [512, 512],
    [512, 512],
    [512, 512],
    [512, 512],
  ] as const;
  const dense = [
    ['fc1', 25088, 4096],
    ['fc2', 4096, 4096],
    ['predictions', 4096, 1000],
  ] as const;
  return [
    ...convs.flatMap(([cin, cout], i) => [
      { name: `conv${i + 1}/kernel`, shape: [3, 3, cin, cout] },
      { name: `conv${i + 1}/bias`, shape: [cout] },
    ]),
    ...dense.flatMap(([name, cin, cout]) => [
      { name: `${name}/kernel`, shape: [cin, cout] },
      { name: `${name}/bias`, shape: [cout] },
    ]),
  ];
})();

/** A module of about `mb` MiB of float32 weights: four tensors of equal size. */
export function scaledShapes(mb: number): TensorShape[] {
  const rows = Math.max(1, Math.round((mb * 1024 * 1024) / 4 / 4 / 1024));
  return Array.from({ length: 4 }, (_, i) => ({ name: `dense${i + 1}/kernel`, shape: [rows, 1024] }));
}

const PIECE_VALUES = 256 * 1024;

/** Seeded values in [-0.05, 0.05) (xorshift32 per tensor), generated a piece at a time. */
function seededTensor(t: TensorShape, seed: number): StreamedWeight {
  const count = t.shape.reduce((a, b) => a * b, 1);
  return {
    name: t.name,
    dtype: 'float32',
    shape: t.shape,
    *data() {
      let x = (seed * 2654435761 + t.name.length * 40503 + count) >>> 0 || 1;
      const piece = new Float32Array(PIECE_VALUES);
      for (let at = 0; at < count; at += PIECE_VALUES) {
        const n = Math.min(PIECE_VALUES, count - at);
        for (let i = 0; i < n; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          piece[i] = ((x >>> 0) / 4294967296 - 0.5) * 0.1;
        }
        yield new Uint8Array(piece.buffer, 0, n * 4);
      }
    },
  };
}

/**
 * Writes a module folder (`manifest.json` + `weights.bin`) with random weights of the given
 * shapes, streamed: memory stays O(piece) whatever the size. For tests and benchmarks of big
 * modules; the files are always generated, never committed.
 */
export function writeBigModule(
  dir: string,
  options: { name: string; version: string; shapes: readonly TensorShape[]; seed?: number },
): { manifest: Record<string, unknown>; size: number; digest: string } {
  const tensors = options.shapes.map((t) => seededTensor(t, options.seed ?? 1));
  const layout = weightsLayout(tensors, { generatedBy: 'transplant/test' });
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, MODULE_FILES.weights), 'w');
  try {
    for (const piece of layout.pieces()) {
      for (let at = 0; at < piece.byteLength;) at += writeSync(fd, piece, at);
    }
  } finally {
    closeSync(fd);
  }
  const parameters = options.shapes.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  const manifest = fixtureManifest(
    { name: options.name, version: options.version },
    { digest: layout.digest, size: layout.size, tensors: options.shapes.length, parameters },
  );
  writeFileSync(join(dir, MODULE_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, size: layout.size, digest: layout.digest };
}
