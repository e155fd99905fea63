import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { SyntheticSet, isCategoryId, objectCrop } from '@transplant/data';
import {
  ADAPTER_LAYERS,
  ADAPTER_TRAINING_DEFAULTS,
  DEFAULT_CALIBRATION,
  transplantWithReport,
} from '@transplant/distill';
import {
  EXPLAIN_COMMAND_DEFAULTS,
  explain,
  explainPerformer,
  fidelity,
  performerOf,
} from '@transplant/explainer';
import { defaultGraphLayers, mineCategoryGraph, nodeCount } from '@transplant/explanatory-graph';
import { Sampler, type SoakSample } from './soak-report';

/** The sizes and networks of the soak's phases (`nx run bench:soak`'s options less the harness's). */
export interface SoakPhaseSettings {
  /** Transplant: training steps, and the networks (`transplant --from A --to B`). */
  readonly steps: number;
  readonly from: string;
  readonly to: string;
  /** Explanation and graph mining: the network explained. */
  readonly net: string;
  /** Explanation: images explained, and how many at a time. */
  readonly images: number;
  readonly chunk: number;
  /** Explanation: the explainer's training (step cap and unlabelled pool) before the images stream through it. */
  readonly explainerSteps: number;
  readonly pool: number;
  /** Graph mining: images mined and EM iterations per layer. */
  readonly mineImages: number;
  readonly iterations: number;
}

/** What a phase hands back: its samples, and what it did. */
export interface PhaseRun extends PhaseWork {
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly wallSeconds: number;
}

/** What a phase's runner reports; `runSoakPhase` adds the tensor counts around it and its wall time. */
interface PhaseWork {
  readonly what: string;
  readonly unit: string;
  readonly total: number;
  readonly backend: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly outcome: Readonly<Record<string, unknown>>;
  readonly samples: readonly SoakSample[];
  /** What a control phase shows (see `SOAK_CONTROLS`). */
  readonly control?: string;
}

export const SOAK_PHASES = ['transplant', 'explain', 'graph', 'explain-sync'] as const;
/** The phases that are controls, with what they show: not the goal's, expected to grow. */
export const SOAK_CONTROLS: Partial<Record<SoakPhase, string>> = {
  'explain-sync':
    "control: the explain phase never returning to the event loop, as one synchronous call over every image would; @napi-rs/canvas frees each rendered image's pixel copy (`getImageData`) from a finalizer that runs only on the event loop (Brooooooklyn/canvas#819), so every image's copy is held and RSS grows by about size² × 4 bytes an image",
};
export type SoakPhase = (typeof SOAK_PHASES)[number];

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The back end selected (TRANSPLANT_BACKEND, else the best) and a composer on the embedded zoo, read only. */
interface Loaded {
  readonly selection: { readonly id: string };
  readonly composer: Composer;
}

/**
 * (a) A transplant of `steps` steps through the library call the CLI's `transplant` makes
 * (`transplantWithReport`, CLI defaults, `--no-publish`, the report into a temporary folder),
 * sampled from its `progress` callback, which fires after every training step.
 */
async function transplantPhase(s: SoakPhaseSettings, { selection, composer }: Loaded): Promise<PhaseWork> {
  const sampler = new Sampler(s.steps);
  const dir = await mkdtemp(join(tmpdir(), 'transplant-soak-'));
  const d = ADAPTER_TRAINING_DEFAULTS;
  try {
    const { result } = await transplantWithReport({
      composer,
      generatedBy: GENERATED_BY,
      backend: selection.id,
      from: s.from,
      to: s.to,
      method: d.method,
      samples: d.samples,
      adapterLayers: ADAPTER_LAYERS[d.adapter],
      probe: d.probe,
      calibration: DEFAULT_CALIBRATION,
      steps: s.steps,
      seed: d.seed,
      publish: false,
      progress: (step, loss) => {
        sampler.at(step);
        if (step % 500 === 0 || step === s.steps)
          log(`[soak transplant] step ${step}/${s.steps}, loss ${loss.toFixed(4)}`);
      },
      report: { dir, command: `transplant --from ${s.from} --to ${s.to} --steps ${s.steps} --no-publish` },
    });
    return {
      what: `\`transplantWithReport\` (the CLI's \`transplant --from ${s.from} --to ${s.to} --steps ${s.steps} --no-publish\` with its defaults: ${d.method}, ${d.samples} samples, ${d.adapter}, seed ${d.seed}), sampled after every ${sampler.every} training step(s) from its \`progress\` callback; the held-out evaluation and the report follow the last sample`,
      unit: 'steps',
      total: s.steps,
      backend: selection.id,
      settings: {
        from: s.from,
        to: s.to,
        steps: s.steps,
        method: d.method,
        samples: d.samples,
        adapter: d.adapter,
      },
      outcome: {
        network: result.network,
        teacher: result.teacher,
        metric: result.metric,
        firstLoss: result.losses[0],
        lastLoss: result.losses.at(-1),
        stepMilliseconds: result.stepMilliseconds,
      },
      samples: sampler.samples,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * (b) An explanation of `images` images. Our explainer's cost that scales with images is the
 * per-image explanation (`explain`: the performer's features, the explainer's two tracks, the
 * decoder-term accounting, the groups per image) and fidelity (`fidelity`). The explain
 * command's `--images N` runs them once over N images held together, and `explain` returns
 * every image's interpretable maps for the heat-map picture: memory proportional to N by design,
 * which a soak cannot call a leak. So the soak trains one explainer with `explainPerformer`
 * (the command's workflow, on a small pool), then streams the images through `explain` and
 * `fidelity` `chunk` at a time, as a long-running explanation would, keeping only running sums.
 */
async function explainPhase(
  s: SoakPhaseSettings & { readonly yieldBetweenChunks: boolean },
  { selection, composer }: Loaded,
): Promise<PhaseWork> {
  const { network, manifest } = await composer.load(s.net);
  const sampler = new Sampler(s.images, 1);
  try {
    const link = network.links[0]!;
    const category = network.module(link.category).category ?? '';
    if (!isCategoryId(category)) throw new Error(`${s.net} names no synthetic category`);
    const size = network.module(link.category).ports.input.shape[1]!;
    const d = EXPLAIN_COMMAND_DEFAULTS;
    log(
      `[soak explain] training an explainer of ${s.net} (${s.explainerSteps} steps at most, pool ${s.pool})…`,
    );
    const run = explainPerformer(
      { network, name: `${manifest.name}@${manifest.version}`, category },
      {
        pool: s.pool,
        steps: s.explainerSteps,
        eta: d.eta,
        decision: d.decision,
        filters: d.filters,
        images: Math.min(20, s.images),
        test: Math.min(20, s.images),
        crop: true,
        seed: d.seed,
        keep: true,
      },
    );
    const explainer = run.explainer!;
    try {
      const performer = performerOf(network, link);
      const set = new SyntheticSet({
        seed: 'soak-explain',
        size,
        categories: [category],
        perCategory: { train: 0, dev: 0, test: s.images },
        negatives: { train: 0, dev: 0, test: 0 },
      });
      const refs = set.items('test');
      let interpretable = 0;
      let performerRight = 0;
      let explainedRight = 0;
      sampler.at(0);
      for (let from = 0; from < refs.length; from += s.chunk) {
        const samples = refs.slice(from, from + s.chunk).map((r) => {
          const sample = set.render(r);
          return sample.annotation.box ? objectCrop(sample, size) : sample;
        });
        const explanation = explain({ performer, explainer }, { samples, p: run.p });
        interpretable += explanation.interpretableShare * samples.length;
        const f = fidelity({ performer, explainer }, { samples, labels: samples.map(() => 1) });
        performerRight += f.performer * samples.length;
        explainedRight += f.explained * samples.length;
        // Back to the event loop between chunks, as a long-running service is: @napi-rs/canvas
        // frees each rendered image's pixel copy (`getImageData`) from a finalizer that only
        // runs there, so a loop that never yields holds every image's copy (see soak.md).
        if (s.yieldBetweenChunks) await new Promise((resolve) => setImmediate(resolve));
        const done = from + samples.length;
        sampler.at(done);
        if (done % 500 === 0 || done === refs.length) log(`[soak explain] ${done}/${refs.length} images`);
      }
      return {
        what: `one explainer of ${s.net} trained by \`explainPerformer\` (the explain command's workflow; ${run.steps} steps, pool ${s.pool}), then ${s.images} object crops of ${category} streamed through the per-image explanation (\`explain\`) and \`fidelity\`, ${s.chunk} at a time, sampled after every chunk${s.yieldBetweenChunks ? ' (each time after returning to the event loop)' : ', never returning to the event loop'}; the explain command's own \`--images N\` holds all N images and their maps at once by design (for its heat-map picture), so it is not what a soak can measure`,
        unit: 'images',
        total: refs.length,
        backend: selection.id,
        settings: {
          net: s.net,
          images: s.images,
          chunk: s.chunk,
          explainerSteps: s.explainerSteps,
          pool: s.pool,
          yieldBetweenChunks: s.yieldBetweenChunks,
        },
        outcome: {
          p: run.p,
          explainerSteps: run.steps,
          meanInterpretableShare: interpretable / refs.length,
          performerAccuracy: performerRight / refs.length,
          explainedAccuracy: explainedRight / refs.length,
        },
        samples: sampler.samples,
      };
    } finally {
      explainer.dispose();
    }
  } finally {
    network.dispose();
  }
}

/**
 * (c) Graph mining over `mineImages` images through the graph command's workflow
 * (`mineCategoryGraph`, nothing written), sampled from its `onProgress` callback after every EM
 * iteration of every layer. Mining is batch EM: every image's feature maps are read before the
 * first iteration and held to the end by design, so the warm-up includes them.
 */
async function graphPhase(s: SoakPhaseSettings, { selection, composer }: Loaded): Promise<PhaseWork> {
  const { network, manifest } = await composer.load(s.net);
  try {
    const link = network.links[0]!;
    const category = network.module(link.category).category ?? '';
    if (!isCategoryId(category)) throw new Error(`${s.net} names no synthetic category`);
    const layers = defaultGraphLayers(network, link).length;
    const total = layers * s.iterations;
    const sampler = new Sampler(total, 1);
    let done = 0;
    sampler.at(0);
    const { graph } = await mineCategoryGraph({
      network,
      link,
      category,
      reference: `${manifest.name}@${manifest.version}`,
      images: s.mineImages,
      negatives: 50,
      iterations: s.iterations,
      onProgress: (p) => {
        sampler.at(++done);
        if (p.iteration === p.iterations || p.iteration % 5 === 0)
          log(`[soak graph] ${p.layer}: EM ${p.iteration}/${p.iterations}`);
      },
    });
    return {
      what: `\`mineCategoryGraph\` (the graph command's workflow, nothing written) on ${s.mineImages} object crops of ${category}, ${s.iterations} EM iterations on each of ${layers} layers, sampled after every iteration from its \`onProgress\` callback; the first sample follows the feature maps of every image, which batch EM holds to the end by design`,
      unit: 'EM iterations',
      total,
      backend: selection.id,
      settings: { net: s.net, images: s.mineImages, iterations: s.iterations, layers, negatives: 50 },
      outcome: {
        nodes: graph.layers.map((l) => nodeCount(l.state)),
        layerMs: graph.mining.layerMs,
        featureMs: graph.mining.featureMs,
      },
      samples: sampler.samples,
    };
  } finally {
    network.dispose();
  }
}

const RUNNERS: Record<SoakPhase, (s: SoakPhaseSettings, loaded: Loaded) => Promise<PhaseWork>> = {
  transplant: transplantPhase,
  explain: (s, loaded) => explainPhase({ ...s, yieldBetweenChunks: true }, loaded),
  graph: graphPhase,
  'explain-sync': async (s, loaded) => ({
    ...(await explainPhase({ ...s, yieldBetweenChunks: false }, loaded)),
    control: SOAK_CONTROLS['explain-sync']!,
  }),
};

/** Runs one phase; the tensor count after it (everything disposed) and its wall time are filled in here. */
export async function runSoakPhase(phase: SoakPhase, settings: SoakPhaseSettings): Promise<PhaseRun> {
  const started = performance.now();
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({ env: process.env });
  // Nothing is published: the embedded zoo is only read.
  const composer = new Composer(await platform.openRegistry(EMBEDDED_REGISTRY), platform.plugins);
  const tensorsBefore = tf.memory().numTensors;
  const run = await RUNNERS[phase](settings, { selection, composer });
  return {
    ...run,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
    wallSeconds: (performance.now() - started) / 1000,
  };
}
