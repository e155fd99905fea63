import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import {
  explainPerformer as explainLink,
  type ExplainRunOptions,
  type ExplainRunResult as LinkResult,
} from '@transplant/explainer';

export interface ExplainRunResult extends LinkResult {
  readonly picture: string;
}

/** `explainPerformer` of the explainer package, with its heat maps written to `pictures`. */
export async function explainPerformer(
  subject: { readonly network: Network; readonly name: string; readonly category: CategoryId },
  opts: ExplainRunOptions & { pictures: string },
): Promise<ExplainRunResult> {
  const { name } = subject;
  const { pictures, ...options } = opts;
  const { png, explanation: _explanation, explainer: _explainer, ...result } = explainLink(subject, options);
  const picture = `${name.replace(/[^a-z0-9-]+/gi, '-')}-groups.png`;
  await writeFile(join(pictures, picture), png);
  return { ...result, picture };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** "167 neck filters contribute 42.2 %" lines. */
export const groupLines = (r: ExplainRunResult): string =>
  `${r.groups
    .filter((g) => g.group !== 'silent')
    .map(
      (g) =>
        `${g.filters} ${g.group} filters ${pct(g.share)}${g.decision !== undefined ? ` (decision ${pct(g.decision)})` : ''}`,
    )
    .join(
      ', ',
    )}; ${r.groups.find((g) => g.group === 'silent')?.filters ?? 0} silent filters; ordinary track (not interpretable) ${pct(1 - r.p)}`;

export interface DiagnosisResult {
  readonly performers: {
    name: string;
    rivers: string;
    error: { clean: number; swapped: number };
    trainSteps: number;
  }[];
  readonly explanations: ExplainRunResult[];
}

export function formatExplainerReport(
  zoo: readonly ExplainRunResult[],
  diagnosis: DiagnosisResult | null,
  meta: { backend: string; command: string },
): string {
  const lines: string[] = ['# Explainer networks on the synthetic data (docs/methods.md §5, §9.4)', ''];
  lines.push(
    `Regenerate: \`${meta.command}\` (resumable; one JSON per run under \`explainer/runs/\`). Back end ${meta.backend}.`,
  );
  const s = zoo[0]?.settings ?? diagnosis?.explanations[0]?.settings;
  if (s) {
    lines.push(
      `Settings: ${s.pool} unlabelled images, ${s.steps} steps, ${s.filters} filters per track, η = ${s.eta} (−log p), decision term weight ${s.decision ?? 1} (the interpretable track alone must give the performer's logits: ours, not the paper's); explanations on ${s.images} images of the category, fidelity on ${s.test} held-out images (half positives); zoo performers on object crops, the diagnosis on whole scenes with a river behind every bird.`,
    );
  }
  lines.push('');
  lines.push('## Zoo performers', '');
  lines.push(
    '| performer | p | fidelity: performer accuracy → with ŷ | reconstruction error (1 = the mean) | what the explainer says |',
  );
  lines.push('|---|---|---|---|---|');
  for (const r of zoo)
    lines.push(
      `| ${r.name} | **${r.p.toFixed(3)}** | ${pct(r.fidelity.performer)} → ${pct(r.fidelity.explained)} (${(100 * (r.fidelity.explained - r.fidelity.performer)).toFixed(1)} points) | ${r.curve.at(-1)?.error.toFixed(3) ?? '–'} | ${groupLines(r)} |`,
    );
  lines.push(
    '',
    "Paper (§9.4): average p 0.86–0.96 for VGG-16 single-category; \"90 % interpretable: 83 % object parts, 7 % textures; 10 % cannot be interpreted\". A filter's group is what its peak cell covers (a part, the river, other background) in most of its 20 strongest images, with our part masks; a group's share is p × its share of the interpretable track's input to the decoder.",
    '',
  );
  if (diagnosis) {
    lines.push('## Diagnosis: a river that comes with the birds', '');
    lines.push(
      '| performer | training data | error on ordinary scenes | error with the river swapped (birds without, others with) |',
    );
    lines.push('|---|---|---|---|');
    for (const p of diagnosis.performers)
      lines.push(
        `| ${p.name} | ${p.rivers} (${p.trainSteps} steps) | ${pct(p.error.clean)} | ${pct(p.error.swapped)} |`,
      );
    lines.push(
      '',
      '| explained performer | p | river filters (share of the decision, purity) | river share of the features | river share of the decision | all groups (share of the features) |',
      '|---|---|---|---|---|---|',
    );
    for (const r of diagnosis.explanations) {
      const river = r.groups.find((g) => g.group === 'river');
      const named = (r.filters ?? [])
        .filter((f) => f.group === 'river')
        .sort((a, b) => b.decision - a.decision);
      const names = named.length
        ? ` (${named.map((f) => `#${f.filter} ${pct(f.decision)}, ${pct(f.purity)}`).join('; ')})`
        : '';
      lines.push(
        `| ${r.name} | ${r.p.toFixed(3)} | ${river?.filters ?? 0}${names} | **${pct(river?.share ?? 0)}** | **${pct(river?.decision ?? 0)}** | ${groupLines(r)} |`,
      );
    }
    lines.push(
      '',
      "Share of the features: p × the group's share of the interpretable track's input to the decoder. Share of the decision: the group's share of the performer's logit, to first order (its decoder terms times the logit's gradient at ŷ), among all filters of both tracks.",
    );
    lines.push('');
  }
  lines.push('## Pictures', '');
  for (const r of [...zoo, ...(diagnosis?.explanations ?? [])])
    lines.push(`![${r.picture}](explainer/${r.picture})`);
  return `${lines.join('\n')}\n`;
}
