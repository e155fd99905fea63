import { readFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { TransplantError, scanMsgpack, sha256Digest, writeFileWhole } from '@transplant/core';
import { AOG_FORMAT, type AndOrGraph, type AogNode, type AogPart, type AogTemplate } from './aog';

/** Bumped when the file layout changes; readers refuse newer versions. */
export const AOG_FORMAT_VERSION = 1;

/** The deepest nesting an AOG file holds (body → parts → templates → nodes → unit), with room to grow. */
const MAX_DEPTH = 16;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

const corrupt = (message: string) =>
  new TransplantError(
    'E_ARTIFACT_CORRUPT',
    `And-Or graph: ${message}; learn it again with \`transplant aog learn\``,
    { operation: 'aog' },
  );

/** A MessagePack value, its structure checked (`scanMsgpack`) before it is decoded. */
function unpack(bytes: Uint8Array, what: string): unknown {
  const problem = scanMsgpack(bytes, { maxDepth: MAX_DEPTH });
  if (problem !== undefined) throw corrupt(`the ${what} is not sound MessagePack: ${problem}`);
  try {
    return packr.unpack(bytes);
  } catch {
    throw corrupt(`the ${what} is not readable MessagePack`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const index = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

function readSubject(v: unknown): AndOrGraph['subject'] {
  if (
    !isRecord(v) ||
    typeof v['network'] !== 'string' ||
    typeof v['module'] !== 'string' ||
    !isRecord(v['link']) ||
    typeof v['link']['category'] !== 'string' ||
    typeof v['link']['task'] !== 'string' ||
    !optionalString(v['version']) ||
    !optionalString(v['digest'])
  )
    throw corrupt('the subject record is malformed (network, module, link, version, digest)');
  return v as unknown as AndOrGraph['subject'];
}

function readLearning(v: unknown): AndOrGraph['learning'] {
  if (
    !isRecord(v) ||
    !index(v['top']) ||
    v['top'] < 1 ||
    typeof v['data'] !== 'string' ||
    typeof v['createdAt'] !== 'string' ||
    !optionalString(v['seed'])
  )
    throw corrupt('the learning record is malformed (top, data, seed, createdAt)');
  return v as unknown as AndOrGraph['learning'];
}

/** The AOG as bytes: a header (format, version, digest) around a MessagePack body. */
export function encodeAog(aog: AndOrGraph): Uint8Array {
  const body = packr.pack({
    subject: aog.subject,
    graph: aog.graph,
    imageSize: aog.imageSize,
    parts: aog.parts,
    learning: aog.learning,
  });
  return packr.pack({
    format: AOG_FORMAT,
    formatVersion: AOG_FORMAT_VERSION,
    digest: sha256Digest(body),
    body,
  });
}

function readNode(v: unknown, graph: AndOrGraph['graph'], what: string): AogNode {
  if (!isRecord(v) || !isRecord(v['unit'])) throw corrupt(`${what} is not a node`);
  const { layer, node, dy, dx, spread, weight } = v;
  const unit = v['unit'];
  if (!index(layer) || layer >= graph.nodes.length || !index(node) || node >= graph.nodes[layer]!)
    throw corrupt(`${what} names no node of the graph`);
  if (![dy, dx, spread, weight].every(finite) || typeof unit['layer'] !== 'string' || !index(unit['filter']))
    throw corrupt(`${what} has a missing or non-finite field`);
  // Without the graph the filter is only bounded: ⌊node / nodes per filter⌋ ≤ node (assertAogFits checks it exactly).
  if (unit['layer'] !== graph.layers[layer] || unit['filter'] > node)
    throw corrupt(
      `${what}: its unit (${unit['layer']} filter ${String(unit['filter'])}) cannot be node ${node} of graph layer ${layer} (${graph.layers[layer]})`,
    );
  return {
    layer,
    node,
    unit: { layer: unit['layer'], filter: unit['filter'] },
    dy: dy as number,
    dx: dx as number,
    spread: spread as number,
    weight: weight as number,
  };
}

/** Reads `encodeAog`'s bytes; a damaged file is `E_ARTIFACT_CORRUPT`, another file `E_ARTIFACT_FOREIGN`, a newer one `E_ARTIFACT_VERSION`. */
export function decodeAog(bytes: Uint8Array): AndOrGraph {
  const envelope = unpack(bytes, 'file');
  if (!isRecord(envelope) || envelope['format'] !== AOG_FORMAT)
    throw new TransplantError('E_ARTIFACT_FOREIGN', `not an And-Or graph (no "${AOG_FORMAT}" header)`, {
      operation: 'aog',
    });
  const version = envelope['formatVersion'];
  if (!Number.isInteger(version) || (version as number) < 1)
    throw corrupt(`the format version ${String(version)} is not a positive integer`);
  if ((version as number) > AOG_FORMAT_VERSION)
    throw new TransplantError(
      'E_ARTIFACT_VERSION',
      `AOG file version ${String(version)}; this build reads up to ${AOG_FORMAT_VERSION}: upgrade transplant`,
      { operation: 'aog' },
    );
  const body = envelope['body'];
  if (!(body instanceof Uint8Array) || sha256Digest(body) !== envelope['digest'])
    throw corrupt('the content does not match the digest recorded in the file');
  const raw = unpack(body, 'body');
  if (!isRecord(raw) || !isRecord(raw['graph']) || !isRecord(raw['subject']) || !isRecord(raw['learning']))
    throw corrupt('the body lacks the subject, graph or learning record');
  const subject = readSubject(raw['subject']);
  const learning = readLearning(raw['learning']);
  const g = raw['graph'];
  const nodes = g['nodes'];
  const layers = g['layers'];
  if (
    typeof g['digest'] !== 'string' ||
    !Array.isArray(nodes) ||
    !nodes.every(index) ||
    !Array.isArray(layers) ||
    layers.length !== nodes.length ||
    !layers.every((l) => typeof l === 'string')
  )
    throw corrupt('the graph record is malformed');
  const graph = { digest: g['digest'], nodes: nodes as number[], layers: layers as string[] };
  if (!index(raw['imageSize']) || !Array.isArray(raw['parts']) || raw['parts'].length === 0)
    throw corrupt('the image size or parts are missing');
  const parts = (raw['parts'] as unknown[]).map((p, pi): AogPart => {
    if (!isRecord(p) || typeof p['part'] !== 'string' || !Array.isArray(p['templates']))
      throw corrupt(`part ${pi} is malformed`);
    // Exactly one template per view, in view order: the OR is over the two views.
    const views = (p['templates'] as unknown[]).map((t) => (isRecord(t) ? t['view'] : undefined));
    if (views.length !== 2 || views[0] !== 0 || views[1] !== 1)
      throw corrupt(
        `part ${p['part']} has templates of views [${views.map(String).join(', ')}], not exactly [0, 1]`,
      );
    const templates = (p['templates'] as unknown[]).map((t, ti): AogTemplate => {
      const what = `part ${String(p['part'])} template ${ti}`;
      if (
        !isRecord(t) ||
        (t['view'] !== 0 && t['view'] !== 1) ||
        (t['source'] !== 'shots' && t['source'] !== 'mirror') ||
        !Array.isArray(t['shots']) ||
        !t['shots'].every(index) ||
        !Array.isArray(t['nodes'])
      )
        throw corrupt(`${what} is malformed`);
      if (t['nodes'].length === 0) throw corrupt(`${what} has no node`);
      return {
        view: t['view'],
        source: t['source'],
        shots: t['shots'] as number[],
        nodes: (t['nodes'] as unknown[]).map((n, ni) => readNode(n, graph, `${what} node ${ni}`)),
      };
    });
    return { part: p['part'], templates };
  });
  return {
    format: AOG_FORMAT,
    subject,
    graph,
    imageSize: raw['imageSize'],
    parts,
    learning,
  };
}

/** Writes the AOG atomically (complete or absent); returns the file's digest. */
export async function saveAog(aog: AndOrGraph, path: string): Promise<string> {
  const bytes = encodeAog(aog);
  await writeFileWhole(path, bytes, 'aog');
  return sha256Digest(bytes);
}

export async function loadAog(path: string): Promise<AndOrGraph> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `cannot read the AOG file ${path}; learn one with \`transplant aog learn --out ${path}\``,
      { operation: 'aog', cause: error },
    );
  }
  return decodeAog(bytes);
}
