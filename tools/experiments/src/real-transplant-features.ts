import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  PluginRegistry,
  disposeModule,
  importGraphModel,
  readModelFiles,
  type ModuleInstance,
} from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { CatsAndDogsSplit, type PhotoClass, type PhotoRef } from '@transplant/data';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';
import type { Split } from '@transplant/data';

/**
 * The frozen real backbone of the real-photo transplant (docs/real-transplant.md): CenterNet's
 * MobileNetV3 backbone and feature pyramid from `@vladmandic/human`, cut where its heads start
 * (128×128×128 at stride 4 for a 512×512 input), and its per-class heat-map head kept for two
 * COCO classes (cat, dog) — the seg → cls bridge the issue proposed as the teacher, measured here.
 */
export const BACKBONE = {
  package: '@vladmandic/human',
  file: 'models/centernet.json',
  split: 'tower_0/CenternetHead/Relu_2',
  output: 'tower_0/CenternetHead/centernet_cls_output/BiasAdd',
  /** COCO-80 channels (0-based) of the heat map: cat, dog. */
  channels: { cat: 15, dog: 16 } satisfies Record<PhotoClass, number>,
  side: 512,
} as const;

/**
 * The adapter's fixed first stage: a 16×16 average pool (no weights), 128×128 → 8×8, the zoo
 * task modules' input size. Because it is fixed and linear, and the teacher reads the same
 * pooled map, features are cached after it (docs/real-transplant.md: why that is exact for BD).
 */
export const POOL = 16;
export const FEATURE_SHAPE = [8, 8, 128] as const;
const FEATURE_VALUES = FEATURE_SHAPE[0] * FEATURE_SHAPE[1] * FEATURE_SHAPE[2];
/** Photos per cache chunk: a killed run loses at most one chunk. */
const CHUNK = 50;
const BATCH = 4;

export interface BridgeScores {
  /** Per photo, per class (cat, dog): the bridge's presence score, log-mean-exp of the heat-map logits. */
  readonly presence: Record<PhotoClass, number[]>;
  /** Per photo, per class: the heat map's largest probability (CenterNet detects at ≥ 0.3). */
  readonly peak: Record<PhotoClass, number[]>;
}

export interface SplitFeatures {
  readonly split: Split;
  readonly refs: readonly PhotoRef[];
  /** [n, 8, 8, 128], photo after photo, in `refs` order. */
  readonly values: Float32Array;
  readonly bridge?: BridgeScores;
}

interface ChunkMeta {
  readonly backbone: string;
  readonly refs: readonly PhotoRef[];
  readonly bridge?: BridgeScores;
}

/** The backbone's model.json in the workspace's node_modules (a devDependency, installed by `npm ci`). */
export function backbonePath(root: string): string {
  const path = join(root, 'node_modules', BACKBONE.package, BACKBONE.file);
  if (!existsSync(path))
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${path} is missing: the real-photo transplant needs the ${BACKBONE.package} devDependency (run npm ci)`,
      { operation: 'realTransplant' },
    );
  return path;
}

/** The backbone's identity: the digest of its model.json and weight files (a cache of another model is stale). */
async function backboneDigest(path: string): Promise<string> {
  const files = await readModelFiles(path);
  const hash = createHash('sha256').update(JSON.stringify(files.modelJson));
  hash.update(new Uint8Array(files.stored.data));
  return `sha256:${hash.digest('hex')}`;
}

/** A photo as the backbone's input: 32×32 → 512×512 (bilinear, full frame), values 0–1. */
export function photoBatch(split: CatsAndDogsSplit, refs: readonly PhotoRef[], side: number): tf.Tensor4D {
  return tf.tidy(() => {
    const small = tf.stack(
      refs.map((r) => tf.tensor3d(split.image(r).rgb, [32, 32, 3], 'int32').toFloat().div(255)),
    ) as tf.Tensor4D;
    return tf.image.resizeBilinear(small, [side, side]);
  });
}

/**
 * f(I), pooled, for every photo of a split (and the CenterNet bridge's scores where `bridge`),
 * computed once and cached in chunks under `dir`; a rerun reads the chunks it has and computes
 * the rest. Progress goes to `progress`.
 */
export async function splitFeatures(options: {
  readonly root: string;
  readonly dir: string;
  readonly photos: CatsAndDogsSplit;
  readonly split: Split;
  readonly bridge: boolean;
  readonly progress?: (line: string) => void;
}): Promise<SplitFeatures> {
  const { photos, split, dir } = options;
  const refs = photos.refs(split);
  const path = backbonePath(options.root);
  const digest = await backboneDigest(path);
  await mkdir(dir, { recursive: true });
  const values = new Float32Array(refs.length * FEATURE_VALUES);
  const bridge: BridgeScores | undefined = options.bridge
    ? { presence: { cat: [], dog: [] }, peak: { cat: [], dog: [] } }
    : undefined;
  let modules: { category: ModuleInstance; task: ModuleInstance } | undefined;
  const started = performance.now();
  let computed = 0;
  try {
    for (let start = 0; start < refs.length; start += CHUNK) {
      const chunkRefs = refs.slice(start, start + CHUNK);
      const file = join(dir, `${split}-${String(start / CHUNK).padStart(3, '0')}`);
      const cached = await readChunk(file, digest, chunkRefs, options.bridge);
      if (cached) {
        values.set(cached.values, start * FEATURE_VALUES);
        if (bridge && cached.meta.bridge) append(bridge, cached.meta.bridge);
        continue;
      }
      modules ??= await loadBackbone(path);
      const chunk = new Float32Array(chunkRefs.length * FEATURE_VALUES);
      const scores: BridgeScores | undefined = options.bridge
        ? { presence: { cat: [], dog: [] }, peak: { cat: [], dog: [] } }
        : undefined;
      for (let i = 0; i < chunkRefs.length; i += BATCH) {
        const batchRefs = chunkRefs.slice(i, i + BATCH);
        const images = photoBatch(photos, batchRefs, BACKBONE.side);
        const x = modules.category.model.predict(images) as tf.Tensor4D;
        images.dispose();
        const pooled = tf.tidy(() => tf.avgPool(x, POOL, POOL, 'valid'));
        chunk.set(await pooled.data(), i * FEATURE_VALUES);
        pooled.dispose();
        if (scores) {
          const [presence, peak] = tf.tidy(() => {
            const logits = modules!.task.model.predict(x) as tf.Tensor4D;
            const flat = tf.reshape(logits, [logits.shape[0], -1, 2]);
            return [
              tf.sub(tf.logSumExp(flat, 1), Math.log(flat.shape[1]!)).arraySync() as number[][],
              tf.sigmoid(tf.max(flat, 1)).arraySync() as number[][],
            ];
          });
          presence.forEach(([c, d]) => (scores.presence.cat.push(c!), scores.presence.dog.push(d!)));
          peak.forEach(([c, d]) => (scores.peak.cat.push(c!), scores.peak.dog.push(d!)));
        }
        x.dispose();
        computed += batchRefs.length;
        const done = start + i + batchRefs.length;
        const perPhoto = (performance.now() - started) / 1000 / computed;
        if (done % 20 === 0 || done === refs.length)
          options.progress?.(
            `${split}: ${done}/${refs.length} photos through the backbone (${perPhoto.toFixed(2)} s/photo, ~${Math.ceil(((refs.length - done) * perPhoto) / 60)} min left)`,
          );
      }
      await writeChunk(file, chunk, {
        backbone: digest,
        refs: chunkRefs,
        ...(scores ? { bridge: scores } : {}),
      });
      values.set(chunk, start * FEATURE_VALUES);
      if (bridge && scores) append(bridge, scores);
    }
  } finally {
    if (modules) [modules.category, modules.task].forEach(disposeModule);
  }
  return { split, refs, values, ...(bridge ? { bridge } : {}) };
}

function append(to: BridgeScores, from: BridgeScores): void {
  for (const cls of ['cat', 'dog'] as const) {
    to.presence[cls].push(...from.presence[cls]);
    to.peak[cls].push(...from.peak[cls]);
  }
}

async function loadBackbone(path: string): Promise<{ category: ModuleInstance; task: ModuleInstance }> {
  const imported = await importGraphModel(new PluginRegistry([graphCategory, graphCls, graphSeg]), {
    model: await readModelFiles(path),
    split: BACKBONE.split,
    output: BACKBONE.output,
    category: 'animal',
    task: 'seg',
    name: 'centernet',
    inputRange: [0, 255],
    channels: [BACKBONE.channels.cat, BACKBONE.channels.dog],
  });
  imported.original.dispose();
  return { category: imported.category, task: imported.task };
}

async function readChunk(
  file: string,
  digest: string,
  refs: readonly PhotoRef[],
  bridge: boolean,
): Promise<{ values: Float32Array; meta: ChunkMeta } | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${file}.json`, 'utf8')) as ChunkMeta;
    const same =
      meta.backbone === digest &&
      meta.refs.length === refs.length &&
      meta.refs.every((r, i) => r.cls === refs[i]!.cls && r.index === refs[i]!.index) &&
      (!bridge || meta.bridge !== undefined);
    if (!same) return undefined;
    const bytes = await readFile(`${file}.f32`);
    if (bytes.byteLength !== refs.length * FEATURE_VALUES * 4) return undefined;
    return { values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice(), meta };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Values first, then the metadata, each renamed into place: a chunk whose .json exists is whole. */
async function writeChunk(file: string, values: Float32Array, meta: ChunkMeta): Promise<void> {
  await writeFile(`${file}.f32.partial`, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  await rename(`${file}.f32.partial`, `${file}.f32`);
  await writeFile(`${file}.json.partial`, JSON.stringify(meta));
  await rename(`${file}.json.partial`, `${file}.json`);
}

/** The photos of a split as a tensor [n, 8, 8, 128] (the caller disposes it). */
export function featureTensor(features: SplitFeatures, indices?: readonly number[]): tf.Tensor4D {
  const pick = indices ?? features.refs.map((_, i) => i);
  const out = new Float32Array(pick.length * FEATURE_VALUES);
  pick.forEach((p, i) => {
    if (p < 0 || p >= features.refs.length)
      throw new TransplantError('E_INVALID_ARGUMENT', `photo ${p} is outside the ${features.split} split`, {
        operation: 'realTransplant',
      });
    out.set(features.values.subarray(p * FEATURE_VALUES, (p + 1) * FEATURE_VALUES), i * FEATURE_VALUES);
  });
  return tf.tensor4d(out, [pick.length, ...FEATURE_SHAPE]);
}
