import { mkdirSync, writeFileSync } from 'node:fs';
import { describeMachine } from '@transplant/core';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { isCategoryId } from '@transplant/data';
import {
  LayerEStep,
  emptyRecords,
  mineGraph,
  nodeCount,
  referenceEStep,
  type EvidenceMaps,
  type Prior,
} from '@transplant/explanatory-graph';
import { backgroundImages, partImages } from '@transplant/interpretable';

/**
 * Explanatory-graph mining time (docs/methods.md §3.5), per image and per layer, on a zoo network:
 * the whole mining run, and the E-step alone against its direct transcription with one
 * JavaScript object per cell and candidate (`referenceEStep`, the peer) on the same state,
 * prior and maps. Writes tools/bench/results/graph-mining.json.
 */
/** Options of `nx run bench:graph` (its schema.json holds the same names, types and defaults). */
export interface GraphBenchOptions {
  readonly net: string;
  readonly images: number;
  readonly iterations: number;
  /** The peer is slow: it runs on this many images. */
  readonly peerImages: number;
  /** Write tools/bench/results/graph-mining.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const GRAPH_BENCH_DEFAULTS: GraphBenchOptions = {
  net: 'bird-cls',
  images: 100,
  iterations: 10,
  peerImages: 4,
  write: true,
};

export async function runGraphBench(options: Partial<GraphBenchOptions> = {}): Promise<void> {
  const values = { ...GRAPH_BENCH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({ requested: 'wasm', env: process.env });
  const composer = new Composer(await platform.openRegistry(EMBEDDED_REGISTRY), platform.plugins);
  const { network, manifest } = await composer.load(values.net);
  const link = network.links[0]!;
  const category = network.module(link.category).category ?? '';
  if (!isCategoryId(category)) throw new Error(`${values.net} names no synthetic category`);
  const size = network.module(link.category).ports.input.shape[1]!;
  const n = Number(values.images);
  const iterations = Number(values.iterations);
  const images = partImages(category, { count: n, size, crop: true, seed: 'bench-graph' });
  const negatives = backgroundImages(category, { count: 50, size, seed: 'bench-graph-neg' });

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`mining ${values.net} on ${n} images, ${iterations} EM iterations per layer…`);
  const t0 = performance.now();
  const { graph } = mineGraph({ network, link }, { images, negatives, iterations });
  const totalMs = performance.now() - t0;

  // The E-step alone, ours vs the peer, on the mined state with a prior like the mining's.
  const peerImages = Math.min(Number(values.peerImages), n);
  const layers = graph.layers.map((layer, l) => {
    const s = layer.state;
    const v = nodeCount(s);
    const { h, w } = s.geometry;
    const c = s.filters;
    const maps: EvidenceMaps = {
      values: Float32Array.from({ length: peerImages * c * h * w }, (_, j) => ((j * 2654435761) % 97) / 97),
      n: peerImages,
      c,
      h,
      w,
    };
    const prior: Prior = {
      shift: new Float64Array(peerImages * v * 2),
      std: new Float64Array(peerImages * v).fill(s.params.initialStd),
      logLambda: new Float64Array(peerImages * v),
    };
    const estep = new LayerEStep(s);
    const records = emptyRecords(peerImages, v);
    const acc = new Float64Array(v * 5);
    for (let i = 0; i < peerImages; i++)
      estep.run({ maps, image: i, prior, priorIndex: i, out: records, outIndex: i, acc }); // warm-up
    const repeats = 20;
    const ta = performance.now();
    for (let r = 0; r < repeats; r++)
      for (let i = 0; i < peerImages; i++)
        estep.run({ maps, image: i, prior, priorIndex: i, out: records, outIndex: i, acc });
    const oursMs = (performance.now() - ta) / (repeats * peerImages);
    referenceEStep(s, { maps, image: 0, prior, priorIndex: 0 }); // warm-up
    const tb = performance.now();
    for (let i = 0; i < peerImages; i++) referenceEStep(s, { maps, image: i, prior, priorIndex: i });
    const peerMs = (performance.now() - tb) / peerImages;
    return {
      layer: layer.name,
      map: `${h}×${w}`,
      filters: c,
      nodes: v,
      miningMs: graph.mining.layerMs[l]!,
      miningMsPerImageIteration: graph.mining.layerMs[l]! / (n * iterations),
      eStepMsPerImage: oursMs,
      peerEStepMsPerImage: peerMs,
      speedup: peerMs / oursMs,
    };
  });
  network.dispose();

  const result = {
    measuredAt: new Date().toISOString(),
    machine: {
      ...describeMachine(),
      backend: selection.id,
    },
    network: `${manifest.name}@${manifest.version}`,
    images: n,
    iterations,
    totalMs,
    featureMs: graph.mining.featureMs,
    msPerImage: totalMs / n,
    layers,
  };
  const lines = [
    `explanatory-graph mining, ${result.network}, ${n} images × ${iterations} EM iterations per layer (${selection.id}; ${result.machine.cpu}, node ${process.version})`,
    `  total ${(totalMs / 1000).toFixed(1)} s = ${result.msPerImage.toFixed(1)} ms per image (feature maps, both views and negatives: ${(result.featureMs / 1000).toFixed(1)} s)`,
    ...layers.map(
      (l) =>
        `  ${l.layer} ${l.map}×${l.filters}, ${l.nodes} nodes: EM ${(l.miningMs / 1000).toFixed(1)} s = ${l.miningMsPerImageIteration.toFixed(2)} ms per image and iteration; E-step ${l.eStepMsPerImage.toFixed(2)} ms per image vs ${l.peerEStepMsPerImage.toFixed(1)} ms for the per-object transcription (×${l.speedup.toFixed(0)} faster)`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/graph-mining.json`, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${dir}/graph-mining.json`);
  }
}
