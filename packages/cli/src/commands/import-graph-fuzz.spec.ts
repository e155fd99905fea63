import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PluginRegistry,
  disposeModule,
  graphSplitPoints,
  importGraphModel,
  parseGraphModel,
  planGraphImport,
  readModelFiles,
  type LayersModelFiles,
} from '@transplant/composer';
import { isTransplantError, selectBackend } from '@transplant/core';
import { nested, picker, seededRandom, slots, type Pick } from '@transplant/core/testing';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';

/**
 * Hostile GraphModel topologies (issue 24, item 4): seeded random mutations of real
 * tensorflowjs_converter graph models (@vladmandic/human's liveness and antispoof, a
 * devDependency) — nodes removed, duplicated, renamed, re-typed, rewired into cycles, attributes
 * and shapes replaced with absurd values, the signature redirected — go through the whole
 * import plan (graph read, output and split, both parts' options as the tf-graph plugins parse
 * them). Each must end in a consistent plan or a coded error, never another exception or a hang;
 * a sample of the accepted plans is imported for real (stock tfjs run, modules built).
 */

const CASES = 10_000;
/** Accepted plans imported all the way (stock tfjs runs the mutated graph). */
const FULL_IMPORTS = 25;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const MODELS = ['liveness', 'antispoof'].map((m) =>
  join(root, `node_modules/@vladmandic/human/models/${m}.json`),
);
const plugins = () => new PluginRegistry([graphCategory, graphCls, graphSeg]);

interface Node {
  name: string;
  op: string;
  input?: unknown[];
  attr?: Record<string, unknown>;
  [key: string]: unknown;
}
interface Model {
  modelTopology: { node: Node[] };
  signature?: { outputs?: Record<string, { name: string }> };
}

const OPS = ['Const', 'Placeholder', 'Identity', 'Relu', 'Sigmoid', 'Softmax', 'AddV2', 'Mul', 'Reshape'];
const OPS2 = ['MaxPool', '_FusedConv2D', '_FusedMatMul', 'ConcatV2', 'NoSuchOp', ''];

function hostile(pick: Pick): unknown {
  const values: (() => unknown)[] = [
    () => 2 ** 31,
    () => -1,
    () => 0,
    () => 0.5,
    () => null,
    () => '',
    () => 'x'.repeat(10_000),
    () => nested(1 + pick(100)),
    () => new Array(pick(10) === 0 ? 100_000 : pick(8)).fill(2),
    () => ({ list: { i: ['1', String(2 ** 31), '-5', 'x'] } }),
    () => ({ i: String([2 ** 40, -1, 0, 7][pick(4)]) }),
    () => ({ s: ['U0FNRQ==', 'VkFMSUQ=', '!!', ''][pick(4)] }),
    () => ({
      shape: { dim: new Array(pick(6)).fill(0).map(() => ({ size: String([-1, 0, 1, 2 ** 31][pick(4)]) })) },
    }),
    () => ({ list: { s: ['UmVsdQ==', 'Qmlhc0FkZA==', 'Tm9wZQ=='].slice(pick(3)) } }),
    () => ({ type: ['DT_FLOAT', 'DT_INT32', 'DT_STRING'][pick(3)] }),
    () => ({}),
    () => true,
  ];
  return values[pick(values.length)]!();
}

/** A structural change to the node list (the mutations a converter bug or an attacker would make). */
function mutateNodes(model: Model, pick: Pick): void {
  if (!Array.isArray(model.modelTopology?.node)) return;
  const nodes = model.modelTopology.node;
  // Earlier rounds may have put other values in the list: only objects are changed.
  const objects = nodes.filter((n) => typeof n === 'object' && n !== null);
  if (objects.length === 0) return;
  const some = () => objects[pick(objects.length)]!;
  const opNodes = objects.filter((n) => n.op !== 'Const');
  const someOp = () => opNodes[pick(opNodes.length)] ?? some();
  switch (pick(11)) {
    case 0: // a node removed
      nodes.splice(pick(nodes.length), 1);
      break;
    case 1: // a node twice
      nodes.splice(pick(nodes.length), 0, structuredClone(some()));
      break;
    case 2: // a node renamed (its readers now read nothing)
      some().name = ['', 'renamed', 'a:1', '^b', '../x', 'x'.repeat(300)][pick(6)]!;
      break;
    case 3: // an op changed
      someOp().op = [...OPS, ...OPS2][pick(OPS.length + OPS2.length)]!;
      break;
    case 4: {
      // a cycle: a node reads itself or a node that reads it
      const a = someOp();
      const b = someOp();
      const rest = (n: Node) => (Array.isArray(n.input) ? n.input.slice(1) : []);
      a.input = [b.name, ...rest(a)];
      if (pick(2) === 0) b.input = [a.name, ...rest(b)];
      break;
    }
    case 5: {
      // an Identity cycle (what valuesOf follows)
      const a = someOp();
      const b = someOp();
      [a.op, a.input, b.op, b.input] = ['Identity', [b.name], 'Identity', [a.name]];
      break;
    }
    case 6: {
      // inputs rewired: another output, a control input, a missing node, many inputs
      const n = someOp();
      const ref = some().name;
      const inputs = [`${ref}:${pick(3)}`, `^${ref}`, 'missing', ref, 42, null][pick(6)];
      n.input =
        pick(4) === 0
          ? new Array(1 + pick(2_000)).fill(inputs)
          : [...(Array.isArray(n.input) ? n.input : []), inputs];
      break;
    }
    case 7: {
      // the input's shape
      const p = objects.find((x) => x.op === 'Placeholder');
      if (p) p.attr = { ...p.attr, shape: hostile(pick) };
      break;
    }
    case 8: // the signature's outputs redirected
      model.signature = {
        outputs: { out: { name: [some().name, `${some().name}:1`, 'missing', ''][pick(4)]! } },
      };
      break;
    case 9: {
      // an attribute replaced or removed
      const n = someOp();
      const attr = typeof n.attr === 'object' && n.attr !== null ? n.attr : {};
      const keys = Object.keys(attr);
      const key = keys[pick(keys.length)] ?? 'T';
      n.attr = { ...attr };
      if (pick(4) === 0) delete n.attr[key];
      else n.attr[key] = hostile(pick);
      break;
    }
    default: {
      // anywhere in the topology
      const places = slots(model.modelTopology);
      if (places.length === 0) break;
      const { holder, key } = places[pick(places.length)]!;
      holder[key] = hostile(pick);
    }
  }
}

/** The invariants of an accepted plan: a clean cut between two disjoint parts. */
function checkPlan(plan: ReturnType<typeof planGraphImport>, split: string): void {
  expect(plan.lower.has(split)).toBe(true);
  expect(plan.upper.has(plan.output)).toBe(true);
  expect([...plan.upper].filter((n) => plan.lower.has(n))).toEqual([]);
  for (const n of [...plan.lower, ...plan.upper]) expect(plan.graph.nodes.has(n)).toBe(true);
  expect(plan.graph.placeholder.shape).toHaveLength(4);
}

describe('GraphModel topologies under fuzzing', () => {
  const originals: { files: LayersModelFiles; text: string; splits: string[]; names: string[] }[] = [];
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    for (const path of MODELS) {
      const files = await readModelFiles(path);
      const graph = parseGraphModel(files);
      originals.push({
        files,
        // Each case parses its own copy (faster than structuredClone).
        text: JSON.stringify(files.modelJson),
        splits: graphSplitPoints(graph, graph.outputs[0]!),
        names: [...graph.order],
      });
    }
    expect(originals.every((o) => o.splits.length > 2)).toBe(true);
  });

  it(`plans or refuses with a code ${CASES} mutated graph topologies, and imports a sample`, async () => {
    const next = seededRandom(0x24_04_33);
    const pick = picker(next);
    const seen = new Map<string, number>();
    let full = 0;
    let slowest = 0;
    let fullMs = 0;
    let lastError = '';
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < CASES; i++) {
      const original = originals[i % originals.length]!;
      const model = JSON.parse(original.text) as Model;
      // One case in 20 unmutated: the plan must be accepted.
      const mutated = i % 20 !== 0;
      if (mutated) for (let r = 1 + pick(3); r > 0; r--) mutateNodes(model, pick);
      // Unmutated cases split at a clean cut, on the way to the model's own output.
      const split =
        mutated && pick(8) === 0
          ? original.names[pick(original.names.length)]!
          : original.splits[pick(original.splits.length)]!;
      const options = {
        model: { ...original.files, modelJson: model },
        split,
        ...(mutated && pick(6) === 0 ? { output: original.names[pick(original.names.length)]! } : {}),
        category: 'fuzz',
        task: pick(2) === 0 ? ('cls' as const) : ('seg' as const),
      };
      const start = performance.now();
      let result: string;
      try {
        const plan = planGraphImport(plugins(), options);
        checkPlan(plan, split);
        result = 'planned';
        if (full < FULL_IMPORTS && (i % 7 === 0 || !mutated)) {
          full++;
          const began = performance.now();
          const before = tf.memory().numTensors;
          try {
            const imported = await importGraphModel(plugins(), options);
            [imported.category, imported.task].forEach(disposeModule);
            imported.original.dispose();
            result = 'imported';
            lastError = '';
          } catch (error) {
            if (!isTransplantError(error)) throw error;
            result = `imported ${error.code}`;
            lastError = error.message;
          } finally {
            fullMs += performance.now() - began;
          }
          // A full import, accepted or refused, frees every tensor it made (a refused stock load too).
          expect([i, lastError, tf.memory().numTensors - before]).toEqual([i, lastError, 0]);
        }
      } catch (error) {
        if (!isTransplantError(error))
          throw new Error(
            `case ${i} (split ${split}): ${error instanceof Error ? error.stack : String(error)}`,
          );
        result = error.code;
      }
      if (!mutated) expect([i, result]).toEqual([i, expect.stringMatching(/^(planned|imported)/)]);
      slowest = Math.max(slowest, performance.now() - start);
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }
    console.log(
      `graph fuzz: ${CASES} cases, ${full} imported fully (${fullMs.toFixed(0)} ms), slowest ${slowest.toFixed(0)} ms:`,
      Object.fromEntries([...seen].sort()),
    );
    expect(seen.get('planned')).toBeGreaterThan(CASES / 10);
    expect(seen.get('imported')).toBeGreaterThan(0);
    expect(seen.get('E_IMPORT_MODEL')).toBeGreaterThan(CASES / 10);
    expect(seen.get('E_IMPORT_SPLIT')).toBeGreaterThan(0);
    const codes = [...seen.keys()].map((k) => k.replace(/^imported /, ''));
    expect(
      codes.filter((k) => !['planned', 'imported', 'E_IMPORT_MODEL', 'E_IMPORT_SPLIT'].includes(k)),
    ).toEqual([]);
    // Every refused or finished full import freed its tensors.
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

describe('GraphModel import: what the fuzzing found', () => {
  let files: LayersModelFiles;
  let splits: string[];
  let output: string;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    files = await readModelFiles(MODELS[0]!);
    const graph = parseGraphModel(files);
    output = graph.outputs[0]!;
    splits = graphSplitPoints(graph, output);
  });
  /** The model with `change` applied to its node list. */
  const changed = (change: (nodes: Node[]) => void): LayersModelFiles => {
    const model = structuredClone(files.modelJson) as Model;
    change(model.modelTopology.node);
    return { ...files, modelJson: model };
  };
  const options = (model: LayersModelFiles, split: string) => ({
    model,
    split,
    category: 'fuzz',
    task: 'cls' as const,
  });
  async function outcome(run: () => unknown): Promise<string> {
    try {
      await run();
      return 'accepted';
    } catch (error) {
      return isTransplantError(error) ? error.code : `uncoded ${String(error)}`;
    }
  }

  it('a dilations attribute that is not a list is no TypeError', async () => {
    const split = splits[0]!;
    for (const dilations of [{ i: '7' }, { s: 'eA==' }, { list: { s: ['eA=='] } }, { f: 2 }]) {
      const model = changed((nodes) =>
        nodes.forEach((n) => n.op !== 'Const' && (n.attr = { ...n.attr, dilations })),
      );
      expect(await outcome(() => planGraphImport(plugins(), options(model, split)))).toMatch(
        /^(accepted|E_IMPORT_)/,
      );
    }
  });

  it('a split at the output itself is E_IMPORT_SPLIT (the task module would hold no op)', async () => {
    expect(await outcome(() => planGraphImport(plugins(), options(files, output)))).toBe('E_IMPORT_SPLIT');
  });

  it('a graph stock tfjs cannot load is E_IMPORT_MODEL, and its decoded weights are freed', async () => {
    const model = changed((nodes) =>
      nodes.forEach(
        (n) => n.attr?.['padding'] !== undefined && (n.attr = { ...n.attr, padding: { s: '!!' } }),
      ),
    );
    const split = splits[0]!;
    expect(await outcome(() => planGraphImport(plugins(), options(model, split)))).toBe('accepted');
    const before = tf.memory().numTensors;
    await expect(importGraphModel(plugins(), options(model, split))).rejects.toThrow(
      expect.objectContaining({
        code: 'E_IMPORT_MODEL',
        message: expect.stringMatching(/cannot load the model/),
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an attribute the plugin accepts but cannot build from is E_IMPORT_MODEL, not a plugin failure', async () => {
    const model = changed((nodes) =>
      nodes.forEach(
        (n) =>
          n.attr?.['transpose_a'] !== undefined &&
          (n.attr = { ...n.attr, transpose_a: { list: { s: ['!!'] } } }),
      ),
    );
    const before = tf.memory().numTensors;
    await expect(importGraphModel(plugins(), options(model, splits[0]!))).rejects.toThrow(
      expect.objectContaining({
        code: 'E_IMPORT_MODEL',
        message: expect.stringMatching(/cannot be imported/),
      }),
    );
    // The layers the plugin built before it failed are freed with it.
    expect(tf.memory().numTensors).toBe(before);
  });
});
