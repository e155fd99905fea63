import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TransplantError } from '@transplant/core';

/** One float32 weight as stored in the weight files, under its manifest name. */
export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A model.json and its weights, read from disk. */
export interface LayersModelFiles {
  readonly source: string;
  readonly modelJson: unknown;
  readonly weights: readonly NamedArray[];
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

/**
 * The weights of a `weightsManifest` (groups of `{paths, weights: [{name, shape, dtype}]}`; a
 * group's files are consecutive shards of one buffer). Only unquantised float32 weights are
 * accepted; a buffer of the wrong length is refused, never half-read.
 */
export function decodeWeightsManifest(
  manifest: unknown,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): NamedArray[] {
  if (!Array.isArray(manifest)) throw invalid(source, 'no weightsManifest list');
  return manifest.flatMap((group: unknown, g) => {
    if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights']))
      throw invalid(source, `weightsManifest[${g}] is not {paths, weights}`);
    const bytes = concat(
      (group['paths'] as unknown[]).map((path) => {
        const file = files.get(String(path));
        if (!file) throw invalid(source, `weight file ${String(path)} is missing`);
        return file;
      }),
    );
    let offset = 0;
    const out = (group['weights'] as unknown[]).map((spec): NamedArray => {
      if (!isObject(spec) || typeof spec['name'] !== 'string' || !Array.isArray(spec['shape']))
        throw invalid(source, `weightsManifest[${g}] holds a weight that is not {name, shape, dtype}`);
      if (spec['quantization'] !== undefined || (spec['dtype'] ?? 'float32') !== 'float32')
        throw invalid(
          source,
          `weight ${spec['name']} is ${spec['quantization'] ? 'quantized' : String(spec['dtype'])}; only float32 weights can be imported`,
        );
      const shape = spec['shape'] as number[];
      const length = shape.reduce((n, d) => n * d, 1) * 4;
      if (offset + length > bytes.byteLength)
        throw invalid(source, `the weight files of group ${g} end before weight ${spec['name']}`);
      const data = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + length),
      );
      offset += length;
      return { name: spec['name'], shape, data };
    });
    if (offset !== bytes.byteLength)
      throw invalid(
        source,
        `the weight files of group ${g} hold ${bytes.byteLength} bytes, the manifest describes ${offset}`,
      );
    return out;
  });
}

/** Reads a model.json and the weight files its manifest names (paths relative to it). */
export async function readLayersModel(path: string): Promise<LayersModelFiles> {
  const read = async (file: string) => {
    try {
      return new Uint8Array(await readFile(file));
    } catch (cause) {
      throw new TransplantError('E_IMPORT_MODEL', `${file} cannot be read`, {
        module: path,
        operation: 'readModel',
        cause,
      });
    }
  };
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(Buffer.from(await read(path)).toString('utf8'));
  } catch (cause) {
    if (cause instanceof TransplantError) throw cause;
    throw new TransplantError('E_IMPORT_MODEL', `${path} is not JSON`, {
      module: path,
      operation: 'readModel',
      cause,
    });
  }
  const manifest = isObject(modelJson) ? modelJson['weightsManifest'] : undefined;
  const paths = Array.isArray(manifest)
    ? manifest.flatMap((g: unknown) =>
        isObject(g) && Array.isArray(g['paths']) ? (g['paths'] as unknown[]).map(String) : [],
      )
    : [];
  const files = new Map<string, Uint8Array>();
  for (const p of new Set(paths)) files.set(p, await read(join(dirname(path), p)));
  return { source: path, modelJson, weights: decodeWeightsManifest(manifest, files, path) };
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
