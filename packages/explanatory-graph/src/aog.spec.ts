import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '@transplant/core';
import { Rng } from '@transplant/data';
import { assertAogFits, learnAog, localizeWithAog, type PartShots } from './aog';
import { AOG_FORMAT_VERSION, decodeAog, encodeAog } from './aog-artifact';
import { formatAogParse, formatAogSummary, summariseAog } from './aog-summary';
import { encodeGraph } from './artifact';
import { initLayer, layerParams } from './em';
import { GRAPH_FORMAT, type ExplanatoryGraph, type GraphInference } from './graph';
import type { Point } from './localize';

/** A one-layer graph of 2 filters × 2 nodes on an 8 × 8 map of 4-pixel cells (σ = 1.2 cells = 4.8 px). */
function tinyGraph(seed = 'aog'): ExplanatoryGraph {
  const rng = new Rng(seed);
  const params = layerParams(8, 2 / 64, { top: true });
  const state = initLayer({
    params,
    geometry: { scale: 4, offset: 2, h: 8, w: 8 },
    filters: 2,
    random: () => rng.next(),
  });
  return {
    format: GRAPH_FORMAT,
    subject: { network: 'cat-cls@1.0.0', link: { category: 'c', task: 't' }, module: 'c' },
    imageSize: 64,
    views: { rule: 'align' },
    layers: [{ name: 'c:block2_conv1', state, normaliser: new Float32Array(8 * 8 * 2).fill(1) }],
    mining: { images: 1, negatives: 1, data: 'planted', seed, layerMs: [0], featureMs: 0, createdAt: 'now' },
  };
}

/**
 * Planted nodes, part centre t per image, sign −1 in mirrored images: node 0 sits at
 * t − (sign·5, 2) in every image (canonical displacement dx 5, dy 2), score 1; node 1 wanders,
 * score 0.5; node 2 sits at t − (sign·(−3), 4), fires (score 3) only in mirrored images; node 3 never fires.
 */
function planted(parts: Point[], flips: number[]): GraphInference {
  const n = parts.length;
  const pos = new Float64Array(n * 4 * 2);
  const peak = new Float64Array(n * 4);
  parts.forEach(([x, y], i) => {
    const sign = flips[i] ? -1 : 1;
    const at = (v: number, px: number, py: number, s: number) => {
      pos[(i * 4 + v) * 2] = py;
      pos[(i * 4 + v) * 2 + 1] = px;
      peak[i * 4 + v] = s;
    };
    at(0, x - sign * 5, y - 2, 1);
    at(1, 7 + 11 * i, 50 - 9 * i, 0.5);
    at(2, x + sign * 3, y - 4, flips[i] ? 3 : 0);
    at(3, 30, 30, 0);
  });
  return {
    n,
    flips: Uint8Array.from(flips),
    layers: [{ nodes: 4, pos, peak, total: peak }],
    baselines: {} as GraphInference['baselines'],
  };
}

const parts: Point[] = [
  [30, 30],
  [40, 20],
  [25, 35],
  [33, 33],
  [20, 40],
];
const flips = [0, 0, 1, 0, 1];
const head = (shots: number[]): PartShots => ({ part: 'head', shots, targets: parts });

describe('And-Or graph of parts', () => {
  const graph = tinyGraph();
  const inference = planted(parts, flips);

  it('splits the shots by view; per template keeps the nodes by weight with their mean displacement', () => {
    const aog = learnAog(graph, inference, { parts: [head([0, 1, 2])], top: 2 });
    const [asMined, mirrored] = aog.parts[0]!.templates;
    expect(asMined).toMatchObject({ view: 0, source: 'shots', shots: [0, 1] });
    expect(mirrored).toMatchObject({ view: 1, source: 'shots', shots: [2] });
    // As mined: node 2 is silent, node 0 rigid; its spread is the graph's σ (4.8 px) shrunk with the shots' 0.
    const rigid = asMined!.nodes[0]!;
    const variance = 4.8 ** 2 / 3;
    expect(rigid).toMatchObject({ layer: 0, node: 0, unit: { layer: 'c:block2_conv1', filter: 0 } });
    expect(rigid.dx).toBeCloseTo(5, 12);
    expect(rigid.dy).toBeCloseTo(2, 12);
    expect(rigid.spread).toBeCloseTo(Math.sqrt(variance), 12);
    expect(rigid.weight).toBeCloseTo(1 / (variance + 16), 12);
    expect(asMined!.nodes.map((v) => v.node)).toEqual([0, 1]);
    // Mirrored (one shot): every node has the graph's σ, so the weight follows the score: node 2 first.
    expect(mirrored!.nodes.map((v) => v.node)).toEqual([2, 0]);
    expect(mirrored!.nodes[0]).toMatchObject({ dx: -3, dy: 4, unit: { filter: 1 } });
    expect(mirrored!.nodes[0]!.weight).toBeCloseTo(3 / (4.8 ** 2 / 2 + 16), 12);
  });

  it('a view without shots gets a copy of the other template; the parse then makes no OR choice', () => {
    const aog = learnAog(graph, inference, { parts: [head([0])], top: 1 });
    const [asMined, mirrored] = aog.parts[0]!.templates;
    expect(asMined).toMatchObject({ source: 'shots', shots: [0] });
    expect(mirrored).toMatchObject({ view: 1, source: 'mirror', shots: [0], nodes: asMined!.nodes });
    // Test image 4 is mirrored: the image's own view turns node 0's displacement and finds the part exactly.
    const parse = localizeWithAog(aog, inference, 4).parts[0]!;
    expect(parse.point[0]).toBeCloseTo(20, 12);
    expect(parse.point[1]).toBeCloseTo(40, 12);
    // The copy scores exactly as the original: a tie, not a choice of template 0.
    expect(parse.scores[0]).toBe(parse.scores[1]);
    expect(parse).toMatchObject({ template: null, source: null, tie: 'copy' });
    expect(localizeWithAog(aog, inference, 3).parts[0]).toMatchObject({ template: null, tie: 'copy' });
    expect(formatAogParse(localizeWithAog(aog, inference, 4))).toMatch(
      /head: \(20\.0, 40\.0\) px by no OR choice: the templates tie \(one is a copy of the other\)/,
    );
    expect(formatAogSummary(summariseAog(aog))).toMatch(
      /template mirrored: no shot of its own: a copy of the other template/,
    );
  });

  it('two learned templates that score the same make no OR choice either (template 0 gives the point)', () => {
    const aog = learnAog(graph, inference, { parts: [head([0, 2])], top: 1 });
    expect(aog.parts[0]!.templates.map((t) => t.source)).toEqual(['shots', 'shots']);
    // Node 2 fires in image 4 with node 0's score (1): the two templates' scores are equal.
    const peak = Float64Array.from(inference.layers[0]!.peak);
    peak[4 * 4 + 2] = 1;
    const even: GraphInference = { ...inference, layers: [{ ...inference.layers[0]!, peak }] };
    const parse = localizeWithAog(aog, even, 4).parts[0]!;
    expect(parse.scores).toEqual([1, 1]);
    expect(parse).toMatchObject({ template: null, source: null, tie: 'equal scores' });
    expect(parse.votes).toEqual([expect.objectContaining({ layer: 0, node: 0 })]);
    expect(parse.point[0]).toBeCloseTo(20, 12);
    // With the planted scores (3 against 1) the same AOG chooses.
    expect(localizeWithAog(aog, inference, 4).parts[0]).toMatchObject({ template: 1, tie: null });
  });

  it('the best parse takes the template with the most weighted evidence (the OR choice) and reports its votes', () => {
    const aog = learnAog(graph, inference, { parts: [head([0, 2])], top: 1 });
    // Mirrored image 4: node 2 (score 3) outscores node 0 (score 1): the mirrored template wins.
    const mirroredParse = localizeWithAog(aog, inference, 4).parts[0]!;
    expect(mirroredParse).toMatchObject({ part: 'head', template: 1, source: 'shots', tie: null });
    expect(mirroredParse.score).toBeCloseTo(3, 12);
    expect(mirroredParse.scores[0]).toBeCloseTo(1, 12);
    expect(mirroredParse.scores[1]).toBeCloseTo(3, 12);
    expect(mirroredParse.votes).toEqual([
      expect.objectContaining({ layer: 0, node: 2, position: [17, 36], vote: [20, 40] }),
    ]);
    // Image 3 as mined: node 2 is silent, the template of view 0 wins with node 0.
    const plain = localizeWithAog(aog, inference, 3);
    expect(plain.flip).toBe(0);
    expect(plain.parts[0]).toMatchObject({ template: 0, scores: [1, 0], point: [33, 33] });
  });

  it('refuses shots without annotation, empty parts, and an AOG of another graph (E_AOG_MISMATCH)', () => {
    const noHead = parts.map((p, i) => (i === 1 ? null : p));
    expect(() =>
      learnAog(graph, inference, { parts: [{ part: 'head', shots: [1], targets: noHead }] }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('shot image 1'),
      }),
    );
    expect(() => learnAog(graph, inference, { parts: [head([])] })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }),
    );
    // Node 3 never fires: a part seen only by it cannot be learned.
    const silent = planted(parts, flips);
    silent.layers[0]!.peak.fill(0);
    expect(() => learnAog(graph, silent, { parts: [head([0])] })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('no graph node fires'),
      }),
    );
    const aog = learnAog(graph, inference, { parts: [head([0])] });
    expect(() => assertAogFits(aog, graph)).not.toThrow();
    expect(() => assertAogFits(aog, tinyGraph('another'))).toThrow(
      expect.objectContaining({ code: 'E_AOG_MISMATCH' }),
    );
    const other = { ...inference, layers: [{ ...inference.layers[0]!, nodes: 3 }] };
    expect(() => localizeWithAog(aog, other, 0)).toThrow(expect.objectContaining({ code: 'E_AOG_MISMATCH' }));
  });
});

describe('AOG file format', () => {
  const graph = tinyGraph();
  const aog = learnAog(graph, planted(parts, flips), {
    parts: [head([0, 2]), { ...head([1]), part: 'torso' }],
  });
  const packr = new Packr({
    useRecords: false,
    moreTypes: false,
    mapsAsObjects: true,
    variableMapSize: true,
  });
  const envelope = packr.unpack(encodeAog(aog)) as Record<string, unknown>;

  it('reads back what it wrote', () => {
    const again = decodeAog(encodeAog(aog));
    expect(again).toEqual(aog);
    expect(encodeAog(again)).toEqual(encodeAog(aog));
  });

  it('refuses unusable content under a valid digest (E_ARTIFACT_CORRUPT), each check on its own', () => {
    type Body = {
      subject: Record<string, unknown>;
      learning: Record<string, unknown>;
      parts: {
        templates: { view: number; nodes: { node: number; unit: { layer: string; filter: number } }[] }[];
      }[];
    };
    const code = (bytes: Uint8Array) => {
      try {
        decodeAog(bytes);
        return 'read';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    const withBody = (change: (b: Body) => void) => {
      const raw = packr.unpack(envelope['body'] as Uint8Array) as Body;
      change(raw);
      const body = packr.pack(raw);
      return code(packr.pack({ ...envelope, body, digest: sha256Digest(body) }));
    };
    expect(withBody((b) => void b)).toBe('read');
    // Templates: exactly views [0, 1], each with a node.
    expect(withBody((b) => b.parts[0]!.templates.pop())).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => b.parts[0]!.templates.push({ ...b.parts[0]!.templates[0]! }))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
    expect(withBody((b) => (b.parts[0]!.templates[1]!.view = 0))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => b.parts[0]!.templates.reverse())).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.parts[0]!.templates[1]!.nodes = []))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.parts = []))).toBe('E_ARTIFACT_CORRUPT');
    // Units: the graph layer's name, a filter no larger than the node index.
    expect(withBody((b) => (b.parts[0]!.templates[0]!.nodes[0]!.unit.layer = 'c:other'))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
    expect(
      withBody((b) => {
        const n = b.parts[0]!.templates[0]!.nodes[0]!;
        n.unit.filter = n.node + 1;
      }),
    ).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.parts[0]!.templates[0]!.nodes[0]!.unit.filter = 0.5))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
    // Subject and learning records, typed.
    expect(withBody((b) => (b.subject['network'] = 7))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.subject['link'] = 'c'))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.subject['version'] = 1))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.learning['top'] = 0))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.learning['data'] = null))).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => delete b.learning['createdAt'])).toBe('E_ARTIFACT_CORRUPT');
    expect(withBody((b) => (b.learning['seed'] = 3))).toBe('E_ARTIFACT_CORRUPT');
    // The format version: an integer ≥ 1.
    for (const formatVersion of [0, -1, 0.5, '1', null])
      expect(code(packr.pack({ ...envelope, formatVersion }))).toBe('E_ARTIFACT_CORRUPT');
  });

  it("with the graph at hand, a unit that is not the node's filter is refused (E_ARTIFACT_CORRUPT)", () => {
    expect(() => assertAogFits(aog, graph)).not.toThrow();
    // 2 nodes per filter: node 2 is filter 1; a file calling it filter 0 passes decoding but not the graph.
    const [t0, t1] = aog.parts[0]!.templates;
    const wrong = t1!.nodes.map((n) => (n.node === 2 ? { ...n, unit: { ...n.unit, filter: 0 } } : n));
    expect(t1!.nodes.some((n) => n.node === 2)).toBe(true);
    const bad = {
      ...aog,
      parts: [{ ...aog.parts[0]!, templates: [t0!, { ...t1!, nodes: wrong }] }, aog.parts[1]!],
    };
    expect(decodeAog(encodeAog(bad)).parts[0]!.templates[1]!.nodes).toEqual(wrong);
    expect(() => assertAogFits(bad, graph)).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_CORRUPT' }));
  });

  it('refuses corrupt, foreign, newer and hostile bytes with coded errors', () => {
    const code = (bytes: Uint8Array) => {
      try {
        decodeAog(bytes);
        return 'read';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    const body = Uint8Array.from(envelope['body'] as Uint8Array);
    body[body.length - 3]! ^= 0xff;
    expect(code(packr.pack({ ...envelope, body }))).toBe('E_ARTIFACT_CORRUPT');
    expect(code(encodeAog(aog).subarray(0, 40))).toBe('E_ARTIFACT_CORRUPT');
    expect(code(encodeGraph(graph))).toBe('E_ARTIFACT_FOREIGN');
    expect(code(new TextEncoder().encode('{"format":"transplant-aog/1"}'))).toBe('E_ARTIFACT_CORRUPT');
    expect(code(packr.pack({ ...envelope, formatVersion: AOG_FORMAT_VERSION + 1 }))).toBe(
      'E_ARTIFACT_VERSION',
    );
    // A node index past the graph's nodes, under a valid digest: refused, not read.
    const raw = packr.unpack(envelope['body'] as Uint8Array) as {
      parts: { templates: { nodes: { node: number }[] }[] }[];
    };
    raw.parts[0]!.templates[0]!.nodes[0]!.node = 99;
    const bad = packr.pack(raw);
    expect(code(packr.pack({ ...envelope, body: bad, digest: sha256Digest(bad) }))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
    // Hostile: an array declaring 2³² − 1 elements with nothing behind it, and nesting 10⁵ deep.
    expect(code(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toBe('E_ARTIFACT_CORRUPT');
    const deep = new Uint8Array(100_001).fill(0x91);
    deep[100_000] = 0xc0;
    const started = performance.now();
    expect(code(deep)).toBe('E_ARTIFACT_CORRUPT');
    expect(performance.now() - started).toBeLessThan(1000);
    // The same hostile value inside an envelope with its digest.
    const hostile = Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]);
    expect(code(packr.pack({ ...envelope, body: hostile, digest: sha256Digest(hostile) }))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
  });
});
