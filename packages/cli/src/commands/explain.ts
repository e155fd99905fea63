import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { TransplantError } from '@transplant/core';
import { cropResize, decodeImage, encodePng } from '@transplant/data';
import { rgbTensor } from '@transplant/interpretable';
import {
  explainPerformer,
  performerOf,
  type ExplainRunResult,
  type Explanation,
  type FilterGroup,
} from '@transplant/explainer';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './networks';
import { integer } from './transplant';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

export interface ExplainReport {
  readonly network: string;
  readonly category: string;
  readonly p: number;
  readonly fidelity: { performer: number; explained: number };
  readonly groups: ExplainRunResult['groups'];
  readonly reconstructionError: number;
  readonly image?: { file: string; logit: number; groups: { group: FilterGroup; share: number }[] };
  readonly files: { markdown: string; html: string; heatmaps: string };
}

/** The groups of a new image: its per-filter contributions under the explainer's filter groups (`imageGroups` of the run). */
function summaryLines(r: ExplainReport): string[] {
  const parts = r.groups.filter((g) => g.group !== 'silent');
  return [
    `p = ${r.p.toFixed(3)}: ${pct(r.p)} of ${r.network}'s features at this layer go through the interpretable track, ${pct(1 - r.p)} cannot be interpreted; the interpretable filters carry ${pct(r.groups.reduce((t, g) => t + g.decision, 0))} of its decision (first order).`,
    ...parts.map(
      (g) =>
        `- ${g.filters} ${g.group} filters contribute ${pct(g.share)} of the features and ${pct(g.decision)} of the decision`,
    ),
    `Fidelity: the performer is right on ${pct(r.fidelity.performer)} of held-out images with its own features and on ${pct(r.fidelity.explained)} with the explainer's reconstruction.`,
  ];
}

/** `transplant explain --net bird-cls [--image x.png]`: trains an explainer of the network and writes the report. */
export function explainCommand(parent: Command, ctx: CommandContext): void {
  parent
    .command('explain')
    .description(
      'explain a classification network: how much of its features are object parts (p), which part groups carry them, and the fidelity of the explanation; writes a Markdown/HTML report with heat maps',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. bird-cls')
    .option('--image <file>', 'also explain one image: which part groups drove this prediction')
    .option('--out <dir>', 'where the report goes (default reports/explain-NET)')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--steps <n>', 'explainer training steps', '1500')
    .option('--eta <w>', 'weight of −log p (how strongly the interpretable track is preferred)', '0.5')
    .option(
      '--decision <w>',
      'weight of the term that makes the interpretable track alone give the performer’s logits (0: the paper’s losses only)',
      '1',
    )
    .option('--filters <n>', 'filters per track', '32')
    .option('--pool <n>', 'unlabelled images the explainer learns from', '1000')
    .option('--images <n>', 'annotated images the explanation is computed on', '200')
    .option('--test <n>', 'labelled images for fidelity', '200')
    .option('--scenes', 'whole scenes instead of object crops')
    .action(
      async (o: {
        net: string;
        image?: string;
        out?: string;
        category?: string;
        steps: string;
        eta: string;
        decision: string;
        filters: string;
        pool: string;
        images: string;
        test: string;
        scenes?: boolean;
      }) => {
        const eta = Number(o.eta);
        if (!(eta >= 0))
          throw new TransplantError('E_USAGE', `--eta must be a number ≥ 0, not "${o.eta}"`, {
            operation: 'explain',
          });
        const decision = Number(o.decision);
        if (!(decision >= 0))
          throw new TransplantError('E_USAGE', `--decision must be a number ≥ 0, not "${o.decision}"`, {
            operation: 'explain',
          });
        const options = {
          steps: integer(o.steps, 'steps', 1, 'explain'),
          eta,
          decision,
          filters: integer(o.filters, 'filters', 1, 'explain'),
          pool: integer(o.pool, 'pool', 4, 'explain'),
          images: integer(o.images, 'images', 2, 'explain'),
          test: integer(o.test, 'test', 2, 'explain'),
          crop: o.scenes !== true,
          seed: 1,
        };
        await withNetwork(ctx, o.net, async ({ network, manifest, link }) => {
          const category = categoryOf(network, link, o.category, 'explain');
          const name = `${manifest.name}@${manifest.version}`;
          const run = explainPerformer(network, name, category, {
            ...options,
            log: (line) => ctx.err(`${line}\n`),
            keep: true,
          });
          const dir = resolve(o.out ?? join('reports', `explain-${manifest.name}`));
          await mkdir(dir, { recursive: true });
          const heatmaps = join(dir, 'groups.png');
          await writeFile(heatmaps, run.png);
          let image: ExplainReport['image'];
          try {
            if (o.image) image = await explainImage(run, network, link, o.image, dir);
          } finally {
            run.explainer?.dispose();
          }
          const report: ExplainReport = {
            network: name,
            category,
            p: run.p,
            fidelity: run.fidelity,
            groups: run.groups,
            reconstructionError: run.curve.at(-1)?.error ?? NaN,
            ...(image ? { image } : {}),
            files: { markdown: join(dir, 'report.md'), html: join(dir, 'report.html'), heatmaps },
          };
          await writeReport(report, run.explanation);
          ctx.out(
            report,
            [
              ...summaryLines(report),
              ...(image
                ? [
                    `Image ${image.file}: logit ${image.logit.toFixed(2)}; ${image.groups
                      .slice(0, 4)
                      .map((g) => `${g.group} ${pct(g.share)}`)
                      .join(', ')} of its interpretable part`,
                  ]
                : []),
              `Report: ${report.files.markdown}`,
            ].join('\n'),
          );
        });
      },
    );
}

async function explainImage(
  run: ReturnType<typeof explainPerformer>,
  network: import('@transplant/composer').Network,
  link: { category: string; task: string },
  file: string,
  dir: string,
): Promise<NonNullable<ExplainReport['image']>> {
  const performer = performerOf(network, link);
  const size = network.module(link.category).ports.input.shape[1]!;
  const decoded = await decodeImage(resolve(file));
  const picture = await cropResize(
    decoded,
    { left: 0, top: 0, width: decoded.width, height: decoded.height },
    size,
  );
  const explainer = run.explainer!;
  const f = explainer.options.filters;
  const { logit, shares } = tf.tidy(() => {
    const x = performer.features(rgbTensor([picture], size));
    return {
      logit: performer.upper(performer.higher(x)).dataSync()[0]!,
      shares: explainer.contributions(x).dataSync(),
    };
  });
  const perGroup = new Map<FilterGroup, number>();
  let total = 0;
  for (const r of run.explanation.filters) {
    perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + shares[r.filter]!);
    total += shares[r.filter]!;
  }
  await writeFile(join(dir, 'image.png'), await encodePng(picture));
  return {
    file: resolve(file),
    logit,
    groups: [...perGroup.entries()]
      .map(([group, s]) => ({ group, share: total > 0 ? s / total : 0 }))
      .sort((a, b) => b.share - a.share)
      .slice(0, f),
  };
}

async function writeReport(r: ExplainReport, explanation: Explanation): Promise<void> {
  const md = [
    `# Explanation of ${r.network} (${r.category})`,
    '',
    ...summaryLines(r),
    '',
    '| group | filters | share of the explained features | share of the interpretable track | share of the decision (first order) |',
    '|---|---|---|---|---|',
    ...r.groups.map(
      (g) =>
        `| ${g.group} | ${g.filters} | ${pct(g.share)} | ${pct(g.ofInterpretable)} | ${pct(g.decision)} |`,
    ),
    `| ordinary track | ${explanation.filters.length} | ${pct(1 - r.p)} | – | ${pct(1 - r.groups.reduce((t, g) => t + g.decision, 0))} |`,
    '',
    `Reconstruction error of the performer's higher features: ${r.reconstructionError.toFixed(3)} (1 = predicting their mean).`,
    '',
    '![heat maps per part group](groups.png)',
    ...(r.image
      ? [
          '',
          `## ${r.image.file}`,
          '',
          `Performer logit ${r.image.logit.toFixed(2)}. Which part groups carried the interpretable part of this prediction:`,
          '',
          ...r.image.groups.map((g) => `- ${g.group}: ${pct(g.share)}`),
          '',
          '![the image](image.png)',
        ]
      : []),
    '',
  ].join('\n');
  await writeFile(r.files.markdown, md);
  const escape = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(`Explanation of ${r.network}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}</style></head><body>
<h1>${escape(`Explanation of ${r.network} (${r.category})`)}</h1>
${summaryLines(r)
  .map((l) => `<p>${escape(l.replace(/^- /, ''))}</p>`)
  .join('\n')}
<table><tr><th>group</th><th>filters</th><th>share of the explained features</th><th>share of the interpretable track</th><th>share of the decision (first order)</th></tr>
${r.groups.map((g) => `<tr><td>${escape(g.group)}</td><td>${g.filters}</td><td>${pct(g.share)}</td><td>${pct(g.ofInterpretable)}</td><td>${pct(g.decision)}</td></tr>`).join('\n')}
<tr><td>ordinary track</td><td>${explanation.filters.length}</td><td>${pct(1 - r.p)}</td><td>–</td><td>${pct(1 - r.groups.reduce((t, g) => t + g.decision, 0))}</td></tr></table>
<p><img src="groups.png" alt="heat maps per part group"></p>
${r.image ? `<h2>${escape(r.image.file)}</h2><p>Performer logit ${r.image.logit.toFixed(2)}.</p><ul>${r.image.groups.map((g) => `<li>${escape(g.group)}: ${pct(g.share)}</li>`).join('')}</ul><p><img src="image.png" alt="the image" width="192"></p>` : ''}
</body></html>
`;
  await writeFile(r.files.html, html);
}
