import { dirname, isAbsolute, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { TransplantError, readFolderFile } from '@transplant/core';
import { readJsModuleLiteral } from './js-module-literal';
import { assertJsonValue } from './json-value';

/** One weight as stored in the weight files, under its manifest name, dequantised. */
export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  /** float32 (quantised weights are dequantised on read) or int32 (graph constants: shapes, axes). */
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

/** A model.json and its weights, read from disk. */
export interface LayersModelFiles {
  readonly source: string;
  readonly modelJson: unknown;
  readonly weights: readonly NamedArray[];
  /**
   * The weights as stored (manifest entries with their quantisation, the groups' bytes in
   * order): what stock tfjs is given when an import is checked, so that the check also covers
   * our decoding.
   */
  readonly stored: { readonly specs: tf.io.WeightsManifestEntry[]; readonly data: ArrayBuffer };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(source: string, detail: string): TransplantError {
  return new TransplantError('E_IMPORT_MODEL', `${source}: ${detail}`, {
    module: source,
    operation: 'readWeights',
  });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** The most elements one weight may declare (2^28 float32 = 1 GiB): larger is refused unread. */
export const MAX_WEIGHT_ELEMENTS = 2 ** 28;
/** The largest rank a weight may declare. */
const MAX_RANK = 8;

/** Bytes per stored element: the quantised dtype when there is one, else the dtype. */
const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

interface CheckedSpec {
  readonly spec: tf.io.WeightsManifestEntry;
  readonly elements: number;
  readonly bytes: number;
}

/** A manifest entry whose name, shape, dtype and quantisation are sound; its stored size. */
function checkSpec(raw: unknown, group: number, source: string): CheckedSpec {
  if (!isObject(raw) || typeof raw['name'] !== 'string' || !Array.isArray(raw['shape']))
    throw invalid(source, `weightsManifest[${group}] holds a weight that is not {name, shape, dtype}`);
  const name = raw['name'];
  const shape = raw['shape'] as unknown[];
  if (shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    throw invalid(
      source,
      `weight ${name} has shape ${JSON.stringify(shape)}; sizes are ≤ ${MAX_RANK} non-negative integers`,
    );
  const elements = (shape as number[]).reduce((n, d) => n * d, 1);
  if (elements > MAX_WEIGHT_ELEMENTS)
    throw invalid(
      source,
      `weight ${name} declares ${elements} elements, more than the ${MAX_WEIGHT_ELEMENTS} allowed`,
    );
  const dtype = raw['dtype'] ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32')
    throw invalid(
      source,
      `weight ${name} is ${String(dtype)}; only float32 and int32 weights can be imported`,
    );
  const q = raw['quantization'];
  let stored: string = dtype;
  if (q !== undefined) {
    if (!isObject(q) || !['uint8', 'uint16', 'float16'].includes(String(q['dtype'])))
      throw invalid(source, `weight ${name} has a quantization other than uint8, uint16 or float16`);
    if (
      q['dtype'] === 'float16'
        ? dtype !== 'float32'
        : !(Number.isFinite(q['scale']) && Number.isFinite(q['min']))
    )
      throw invalid(
        source,
        `weight ${name}: its ${String(q['dtype'])} quantization lacks a finite scale and min, or is not of a float32 weight`,
      );
    stored = String(q['dtype']);
  }
  return {
    spec: { ...(raw as object), name, shape: shape as number[], dtype } as tf.io.WeightsManifestEntry,
    elements,
    bytes: elements * STORED_BYTES[stored]!,
  };
}

/** An IEEE 754 half-precision value as a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * A weight's values from its stored bytes (little-endian, as tfjs writes them): float32 and
 * int32 as they are; uint8 / uint16 quantised values as min + q × scale; float16 widened.
 */
function decodeValues(bytes: ArrayBuffer, spec: tf.io.WeightsManifestEntry): Float32Array | Int32Array {
  const q = spec.quantization;
  if (!q) return spec.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  if (q.dtype === 'float16') {
    const halves = new Uint16Array(bytes);
    const out = new Float32Array(halves.length);
    for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
    return out;
  }
  const stored = q.dtype === 'uint8' ? new Uint8Array(bytes) : new Uint16Array(bytes);
  const out = spec.dtype === 'int32' ? new Int32Array(stored.length) : new Float32Array(stored.length);
  // As tfjs does: int32 weights round to the nearest integer, float32 ones keep the product.
  if (out instanceof Int32Array)
    for (let i = 0; i < stored.length; i++) out[i] = Math.round(q.min! + stored[i]! * q.scale!);
  else for (let i = 0; i < stored.length; i++) out[i] = q.min! + stored[i]! * q.scale!;
  return out;
}

/**
 * The weights of a `weightsManifest` (groups of `{paths, weights: [{name, shape, dtype,
 * quantization?}]}`; a group's files are consecutive shards of one buffer). float32 and int32
 * weights, uint8 / uint16 / float16 quantisation dequantised to float32.
 * Shapes are checked, and each group's bytes must be exactly what its manifest describes,
 * before anything is decoded: a hostile or truncated file costs no memory.
 */
export function decodeWeightsManifest(
  manifest: unknown,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): NamedArray[] {
  if (!Array.isArray(manifest)) throw invalid(source, 'no weightsManifest list');
  assertJsonValue(manifest, source, 'the weightsManifest', 'readWeights');
  return manifest.flatMap((group: unknown, g) => {
    if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights']))
      throw invalid(source, `weightsManifest[${g}] is not {paths, weights}`);
    const specs = (group['weights'] as unknown[]).map((w) => checkSpec(w, g, source));
    const parts = (group['paths'] as unknown[]).map((path) => {
      const file = files.get(String(path));
      if (!file) throw invalid(source, `weight file ${String(path)} is missing`);
      return file;
    });
    const described = specs.reduce((n, s) => n + s.bytes, 0);
    const held = parts.reduce((n, p) => n + p.byteLength, 0);
    if (held !== described)
      throw invalid(
        source,
        `the weight files of group ${g} hold ${held} bytes, the manifest describes ${described}`,
      );
    const bytes = concat(parts);
    let offset = 0;
    return specs.map(({ spec, bytes: length }): NamedArray => {
      const slice = (bytes.buffer as ArrayBuffer).slice(
        bytes.byteOffset + offset,
        bytes.byteOffset + offset + length,
      );
      offset += length;
      const data = decodeValues(slice, spec);
      return { name: spec.name, shape: spec.shape, dtype: spec.dtype as 'float32' | 'int32', data };
    });
  });
}

/** The most bytes a model.json (or its JavaScript module) may hold; refused unread. */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/**
 * A file of the model's folder, checked before it is read: inside the folder once links are
 * resolved, a regular file (not a FIFO, device or folder), at most `maxBytes`; else E_IMPORT_MODEL.
 * Undefined when there is no such file.
 */
function readInFolder(
  file: string,
  model: string,
  maxBytes: number,
  limitIs?: string,
): Promise<Uint8Array | undefined> {
  return readFolderFile(file, {
    folder: dirname(model),
    maxBytes,
    ...(limitIs ? { limitIs } : {}),
    refuse: (detail, cause) =>
      new TransplantError('E_IMPORT_MODEL', `${detail}`, { module: model, operation: 'readModel', cause }),
  });
}

const isJsModule = (path: string): boolean => /\.(c|m)?js$/.test(path);

/**
 * A weight shard named in the manifest: the file itself, or — for models shipped as JavaScript
 * modules — `<name>.min.js` / `<name>.js` exporting the shard as a base64 string.
 */
async function readShard(dir: string, name: string, model: string, limit: number): Promise<Uint8Array> {
  if (name.includes('..') || isAbsolute(name))
    throw invalid(model, `weight file ${name} is outside the model's folder`);
  const candidates = [name, `${name}.min.js`, `${name}.js`];
  for (const candidate of candidates) {
    // Refused before reading: a shard larger than its group's manifest describes (base64 in a
    // JS wrapper: 4/3 of it plus the wrapper), a link out of the folder, a FIFO or a device.
    const js = candidate !== name || isJsModule(name);
    const most = js ? Math.ceil((limit * 4) / 3) + 65_536 : limit;
    const path = join(dir, candidate);
    const bytes = await readInFolder(path, model, most, 'its manifest group describes');
    if (bytes === undefined) continue;
    if (!js) return bytes;
    const text = readJsModuleLiteral(Buffer.from(bytes).toString('utf8'), path);
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
      throw invalid(model, `${candidate} does not export a base64 string`);
    return new Uint8Array(Buffer.from(text, 'base64'));
  }
  throw invalid(model, `weight file ${name} is missing (looked for ${candidates.join(', ')})`);
}

/**
 * Reads a TensorFlow.js model — model.json (LayersModel or GraphModel) and the weight files its
 * manifest names, relative to it — or the same model wrapped as JavaScript modules (a `.js`
 * model file exporting the model JSON, shards exporting base64 strings), read without running them.
 */
export async function readModelFiles(path: string): Promise<LayersModelFiles> {
  const bytes = await readInFolder(path, path, MAX_MODEL_JSON_BYTES);
  if (bytes === undefined)
    throw new TransplantError('E_IMPORT_MODEL', `${path} cannot be read: there is no such file`, {
      module: path,
      operation: 'readModel',
    });
  let modelJson: unknown;
  if (isJsModule(path)) modelJson = readJsModuleLiteral(Buffer.from(bytes).toString('utf8'), path);
  else {
    try {
      modelJson = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new TransplantError('E_IMPORT_MODEL', `${path} is not JSON`, {
        module: path,
        operation: 'readModel',
        cause,
      });
    }
  }
  assertJsonValue(modelJson, path, 'the model', 'readModel');
  const manifest = isObject(modelJson) ? modelJson['weightsManifest'] : undefined;
  const paths = Array.isArray(manifest)
    ? manifest.flatMap((g: unknown) =>
        isObject(g) && Array.isArray(g['paths']) ? (g['paths'] as unknown[]).map(String) : [],
      )
    : [];
  // Each group's stored size, from its checked entries, bounds what its files may hold.
  const limits = new Map<string, number>();
  if (Array.isArray(manifest))
    manifest.forEach((g: unknown, i) => {
      if (!isObject(g) || !Array.isArray(g['paths']) || !Array.isArray(g['weights'])) return;
      const bytes = (g['weights'] as unknown[]).reduce((n: number, w) => n + checkSpec(w, i, path).bytes, 0);
      for (const p of g['paths'] as unknown[]) limits.set(String(p), bytes);
    });
  const files = new Map<string, Uint8Array>();
  for (const p of new Set(paths)) files.set(p, await readShard(dirname(path), p, path, limits.get(p) ?? 0));
  const weights = decodeWeightsManifest(manifest, files, path);
  const groups = manifest as { paths: unknown[]; weights: tf.io.WeightsManifestEntry[] }[];
  const data = concat(groups.flatMap((g) => g.paths.map((p) => files.get(String(p))!)));
  return {
    source: path,
    modelJson,
    weights,
    stored: { specs: groups.flatMap((g) => g.weights), data: data.buffer as ArrayBuffer },
  };
}

/**
 * Module-local names (`<layer>/<weight>`) for manifest names: Keras writes `conv1/kernel`, at
 * times with a model or scope prefix (`model/conv1/kernel`) or a `:0` suffix. The layer is the
 * last path segment before the weight's own name that names a layer of the model.
 */
export function localWeightNames(
  weights: readonly NamedArray[],
  layers: ReadonlySet<string>,
  source: string,
): (NamedArray & { layer: string })[] {
  const unmatched: string[] = [];
  const out = weights.flatMap((w) => {
    const segments = w.name.replace(/:\d+$/, '').split('/');
    const index = segments.slice(0, -1).findLastIndex((s) => layers.has(s));
    if (index < 0) {
      unmatched.push(w.name);
      return [];
    }
    return [
      { ...w, layer: segments[index]!, name: `${segments[index]}/${segments.slice(index + 1).join('/')}` },
    ];
  });
  if (unmatched.length > 0)
    throw invalid(source, `weights ${unmatched.join(', ')} belong to no layer of the model`);
  const names = out.map((w) => w.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw invalid(source, `weights ${[...new Set(twice)].join(', ')} appear twice`);
  return out;
}
