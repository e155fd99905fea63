import { readFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { TransplantError, sha256Digest, writeFileWhole } from '@transplant/core';
import type { GraphLayerState, LayerGeometry, LayerParams } from './em';
import { GRAPH_FORMAT, type ExplanatoryGraph, type GraphLayer } from './graph';
import { GRAPH_VIEW_RULES, type GraphViewRule } from './options';

/** Bumped when the file layout changes; readers refuse newer versions. */
export const GRAPH_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

const ARRAYS = { f64: Float64Array, f32: Float32Array, i32: Int32Array } as const;
type ArrayTag = keyof typeof ARRAYS;
type NumericArray = Float64Array | Float32Array | Int32Array;

const bytesOf = (a: NumericArray) => ({
  tag: (a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : 'i32') as ArrayTag,
  bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
});

const corrupt = (message: string) =>
  new TransplantError(
    'E_ARTIFACT_CORRUPT',
    `explanatory graph: ${message}; mine it again with \`transplant graph mine\``,
    { operation: 'graph' },
  );

function arrayOf(value: unknown, what: string): NumericArray {
  const v = value as { tag?: unknown; bytes?: unknown } | null;
  if (!v || typeof v.tag !== 'string' || !Object.hasOwn(ARRAYS, v.tag) || !(v.bytes instanceof Uint8Array))
    throw corrupt(`${what} is not an array`);
  const ctor = ARRAYS[v.tag as ArrayTag];
  if (v.bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw corrupt(`${what} has a partial element`);
  // Copied into a fresh, aligned buffer: decoded bytes may sit at any offset.
  const out = new ctor(v.bytes.byteLength / ctor.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(v.bytes);
  return out;
}

/** The graph as bytes: a header (format, version, digest) around a MessagePack body. */
export function encodeGraph(graph: ExplanatoryGraph): Uint8Array {
  const body = packr.pack({
    subject: graph.subject,
    imageSize: graph.imageSize,
    mining: graph.mining,
    views: {
      rule: graph.views.rule,
      ...(graph.views.template ? { template: bytesOf(graph.views.template) } : {}),
    },
    layers: graph.layers.map((l) => ({
      name: l.name,
      params: l.state.params,
      geometry: l.state.geometry,
      filters: l.state.filters,
      scoreScale: l.state.scoreScale,
      anchor: bytesOf(l.state.anchor),
      sigma: bytesOf(l.state.sigma),
      parents: bytesOf(l.state.parents),
      meanPos: bytesOf(l.state.meanPos),
      normaliser: bytesOf(l.normaliser),
    })),
  });
  return packr.pack({
    format: GRAPH_FORMAT,
    formatVersion: GRAPH_FORMAT_VERSION,
    digest: sha256Digest(body),
    body,
  });
}

/** Reads `encodeGraph`'s bytes; a damaged file is `E_ARTIFACT_CORRUPT`, another file `E_ARTIFACT_FOREIGN`, a newer one `E_ARTIFACT_VERSION`. */
export function decodeGraph(bytes: Uint8Array): ExplanatoryGraph {
  let envelope: Record<string, unknown>;
  try {
    envelope = packr.unpack(bytes) as Record<string, unknown>;
  } catch {
    throw corrupt('the file is not readable MessagePack');
  }
  if (typeof envelope !== 'object' || envelope === null || envelope['format'] !== GRAPH_FORMAT) {
    throw new TransplantError(
      'E_ARTIFACT_FOREIGN',
      `not an explanatory graph (no "${GRAPH_FORMAT}" header)`,
      { operation: 'graph' },
    );
  }
  const version = envelope['formatVersion'];
  if (typeof version !== 'number' || version > GRAPH_FORMAT_VERSION) {
    throw new TransplantError(
      'E_ARTIFACT_VERSION',
      `graph file version ${String(version)}; this build reads up to ${GRAPH_FORMAT_VERSION}: upgrade transplant`,
      { operation: 'graph' },
    );
  }
  const body = envelope['body'];
  if (!(body instanceof Uint8Array) || sha256Digest(body) !== envelope['digest'])
    throw corrupt('the content does not match the digest recorded in the file');
  const raw = packr.unpack(body) as {
    subject: ExplanatoryGraph['subject'];
    imageSize: number;
    mining: ExplanatoryGraph['mining'];
    views: { rule: GraphViewRule; template?: unknown };
    layers: Record<string, unknown>[];
  };
  if (!raw.views || !GRAPH_VIEW_RULES.includes(raw.views.rule)) throw corrupt('the view rule is missing');
  const views = {
    rule: raw.views.rule,
    ...(raw.views.template !== undefined
      ? { template: arrayOf(raw.views.template, 'the view template') as Float32Array }
      : {}),
  };
  const layers: GraphLayer[] = raw.layers.map((l, i) => {
    const what = `layer ${i}`;
    const params = l['params'] as LayerParams;
    const geometry = l['geometry'] as LayerGeometry;
    const filters = l['filters'] as number;
    const nodes = filters * params.nodesPerFilter;
    const state: GraphLayerState = {
      params,
      geometry,
      filters,
      scoreScale: l['scoreScale'] as number,
      anchor: arrayOf(l['anchor'], `${what} anchors`) as Float64Array,
      sigma: arrayOf(l['sigma'], `${what} sigmas`) as Float64Array,
      parents: arrayOf(l['parents'], `${what} parents`) as Int32Array,
      meanPos: arrayOf(l['meanPos'], `${what} mean positions`) as Float64Array,
    };
    const normaliser = arrayOf(l['normaliser'], `${what} normaliser`) as Float32Array;
    if (
      state.anchor.length !== nodes * 2 ||
      state.sigma.length !== nodes ||
      state.parents.length !== nodes * params.parents ||
      state.meanPos.length !== nodes * 2 ||
      normaliser.length !== geometry.h * geometry.w * filters
    ) {
      throw corrupt(`${what}'s arrays do not match its ${nodes} nodes`);
    }
    return { name: l['name'] as string, state, normaliser };
  });
  return {
    format: GRAPH_FORMAT,
    subject: raw.subject,
    imageSize: raw.imageSize,
    mining: raw.mining,
    views,
    layers,
  };
}

/** Writes the graph atomically: the file is complete or absent, never half-written. */
export async function saveGraph(graph: ExplanatoryGraph, path: string): Promise<string> {
  const bytes = encodeGraph(graph);
  await writeFileWhole(path, bytes, 'graph');
  return sha256Digest(bytes);
}

export async function loadGraph(path: string): Promise<ExplanatoryGraph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `cannot read the graph file ${path}; mine one with \`transplant graph mine --out ${path}\``,
      { operation: 'graph', cause: error },
    );
  }
  return decodeGraph(bytes);
}
