import { writeFileWhole } from '@transplant/core';
import type { Explanation, FilterReport, TalkShare, TalkShares } from './explain';
import type { ImageExplanationReport } from './explain-image';
import type { ExplainRunResult } from './run';

/** The explanation of a network as the `explain` command reports it. */
export interface ExplainReport {
  readonly network: string;
  readonly category: string;
  /** The output explained, in words (`ExplainedOutput.describe`): "output 0 of 1, the logit". */
  readonly explained: string;
  /** The measured p (`Explainer.reconstructionShare`) on held-out images. */
  readonly p: number;
  /** Which held-out images (`ExplainRunResult.stream`). */
  readonly stream: 'dev' | 'final';
  /** Steps trained, and whether the stopping rule ended training (false: the step cap). */
  readonly steps: number;
  readonly converged: boolean;
  readonly fidelity: { performer: number; explained: number };
  readonly groups: ExplainRunResult['groups'];
  /** The talk's form: parts / textures / background / not interpretable, summing to 1 (textures null: not annotated). */
  readonly talk: TalkShares;
  /** Every interpretable filter: its group, purity, shares and the texture rule's numbers. */
  readonly filters: readonly FilterReport[];
  /** The ordinary track's share of Σ|decoder terms| (the groups' shares and this sum to 1). */
  readonly ordinaryShare: number;
  /** On the held-out images, with both tracks. */
  readonly reconstructionError: number;
  readonly image?: ImageExplanationReport;
  readonly files: { markdown: string; html: string; heatmaps: string };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The four kinds in the talk's order, with their shares (null: textures not annotated). */
export function talkRows(t: TalkShares): { kind: string; share: TalkShare | null; how: string }[] {
  const rule = t.textureRule;
  return [
    {
      kind: 'parts',
      share: t.parts,
      how: `interpretable filters whose peaks fall on an object part${t.textures ? ' and that are not texture filters' : ''}`,
    },
    {
      kind: 'textures',
      share: t.textures,
      how: t.textures
        ? `interpretable filters whose top peaks fall on textured coat (≥ ${pct(rule.cover)} of the cell's patch) in ≥ ${pct((rule.chance ?? 0) + rule.margin)} of their top images: the ${pct(rule.chance ?? 0)} of images with textured coat to peak on plus a margin of ${pct(rule.margin)}, whatever the part`
        : rule.chance === undefined
          ? 'not available: the images have no texture annotation (only synthetic images have one); texture filters count as parts'
          : `not measurable: ${pct(rule.chance)} of the images have textured coat to peak on, so a filter blind to texture can reach the ${pct(rule.margin)} margin above it; texture filters count as parts`,
    },
    {
      kind: 'background',
      share: t.background,
      how: 'interpretable filters whose peaks fall on the river or other background',
    },
    {
      kind: 'not interpretable',
      share: t.notInterpretable,
      how: 'the ordinary track and the interpretable filters that never fire',
    },
  ];
}

/** Why textures have no share: the images are not annotated, or the rule cannot separate them. */
const missing = (t: TalkShares) => (t.textureRule.chance === undefined ? 'not available' : 'not measurable');

/** "83.0 % parts, 7.0 % textures, …": the features' shares in the talk's form. */
export function talkLine(t: TalkShares): string {
  return talkRows(t)
    .map((r) => (r.share ? `${pct(r.share.share)} ${r.kind}` : `${r.kind} ${missing(t)}`))
    .join(', ');
}

/** The report's summary: p, the part groups' shares, fidelity. */
export function explainSummaryLines(r: ExplainReport): string[] {
  const parts = r.groups.filter((g) => g.group !== 'silent');
  return [
    `p = ${r.p.toFixed(3)}: on held-out images the interpretable track alone achieves ${pct(r.p)} of the explainer's reconstruction of ${r.network}'s next layer (${r.steps} steps, ${r.converged ? 'stopped when p and the error settled' : 'stopped at the step cap before they settled'}); the interpretable filters carry ${pct(r.groups.reduce((t, g) => t + g.decision, 0))} of its decision (first order).`,
    `Explained: ${r.explained}.`,
    `Features: ${talkLine(r.talk)}${r.talk.textureRule.chance === undefined ? ' (no texture annotation)' : ''}.`,
    ...parts.map(
      (g) =>
        `- ${g.filters} ${g.group} filters contribute ${pct(g.share)} of the features and ${pct(g.decision)} of the decision`,
    ),
    `- the ordinary track (not interpretable) contributes ${pct(r.ordinaryShare)} of the features and ${pct(1 - r.groups.reduce((t, g) => t + g.decision, 0))} of the decision`,
    `Fidelity: the performer is right on ${pct(r.fidelity.performer)} of held-out images with its own features and on ${pct(r.fidelity.explained)} with the explainer's reconstruction.`,
  ];
}

/** The summary, the image's top groups and where the report is, as the command prints them. */
export function formatExplainReport(r: ExplainReport): string {
  return [
    ...explainSummaryLines(r),
    ...(r.image
      ? [
          `Image ${r.image.file}: logit ${r.image.logit.toFixed(2)}; ${r.image.groups
            .slice(0, 4)
            .map((g) => `${g.group} ${pct(g.share)}`)
            .join(', ')} of its interpretable part`,
        ]
      : []),
    `Report: ${r.files.markdown}`,
  ].join('\n');
}

/** Writes the report as Markdown and HTML (`r.files`), next to the heat maps and the image. */
export async function writeExplainReport(r: ExplainReport, explanation: Explanation): Promise<void> {
  const md = [
    `# Explanation of ${r.network} (${r.category})`,
    '',
    ...explainSummaryLines(r),
    '',
    '| group | filters | share of the explained features | share of the interpretable track | share of the decision (first order) |',
    '|---|---|---|---|---|',
    ...r.groups.map(
      (g) =>
        `| ${g.group} | ${g.filters} | ${pct(g.share)} | ${pct(g.ofInterpretable)} | ${pct(g.decision)} |`,
    ),
    `| ordinary track | ${explanation.filters.length} | ${pct(r.ordinaryShare)} | – | ${pct(1 - r.groups.reduce((t, g) => t + g.decision, 0))} |`,
    '',
    "A share of the features is the filters' share of Σ|decoder terms| over both tracks (measured per image, then averaged); the groups and the ordinary track sum to 100 %. p is a different question: what the interpretable track reconstructs alone (docs/methods.md §5.3).",
    '',
    `Reconstruction error of the performer's higher features on held-out images: ${r.reconstructionError.toFixed(3)} (1 = predicting their mean).`,
    '',
    '## Parts, textures, background, not interpretable',
    '',
    '| kind | filters | share of the explained features | share of the decision (first order) | what it counts |',
    '|---|---|---|---|---|',
    ...talkRows(r.talk).map((k) =>
      k.share
        ? `| ${k.kind} | ${k.share.filters} | ${pct(k.share.share)} | ${pct(k.share.decision)} | ${k.how} |`
        : `| ${k.kind} | – | ${missing(r.talk)} | ${missing(r.talk)} | ${k.how} |`,
    ),
    '',
    'The four shares sum to 100 %. Texture filters are taken out of the part groups; p above counts every interpretable filter (parts, textures and background), as it always has.',
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
  await writeFileWhole(r.files.markdown, md, 'explain');
  const escape = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(`Explanation of ${r.network}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}</style></head><body>
<h1>${escape(`Explanation of ${r.network} (${r.category})`)}</h1>
${explainSummaryLines(r)
  .map((l) => `<p>${escape(l.replace(/^- /, ''))}</p>`)
  .join('\n')}
<table><tr><th>group</th><th>filters</th><th>share of the explained features</th><th>share of the interpretable track</th><th>share of the decision (first order)</th></tr>
${r.groups.map((g) => `<tr><td>${escape(g.group)}</td><td>${g.filters}</td><td>${pct(g.share)}</td><td>${pct(g.ofInterpretable)}</td><td>${pct(g.decision)}</td></tr>`).join('\n')}
<tr><td>ordinary track</td><td>${explanation.filters.length}</td><td>${pct(r.ordinaryShare)}</td><td>–</td><td>${pct(1 - r.groups.reduce((t, g) => t + g.decision, 0))}</td></tr></table>
<h2>Parts, textures, background, not interpretable</h2>
<table><tr><th>kind</th><th>filters</th><th>share of the explained features</th><th>share of the decision (first order)</th><th>what it counts</th></tr>
${talkRows(r.talk)
  .map((k) =>
    k.share
      ? `<tr><td>${escape(k.kind)}</td><td>${k.share.filters}</td><td>${pct(k.share.share)}</td><td>${pct(k.share.decision)}</td><td>${escape(k.how)}</td></tr>`
      : `<tr><td>${escape(k.kind)}</td><td>–</td><td>${missing(r.talk)}</td><td>${missing(r.talk)}</td><td>${escape(k.how)}</td></tr>`,
  )
  .join('\n')}</table>
<p><img src="groups.png" alt="heat maps per part group"></p>
${r.image ? `<h2>${escape(r.image.file)}</h2><p>Performer logit ${r.image.logit.toFixed(2)}.</p><ul>${r.image.groups.map((g) => `<li>${escape(g.group)}: ${pct(g.share)}</li>`).join('')}</ul><p><img src="image.png" alt="the image" width="192"></p>` : ''}
</body></html>
`;
  await writeFileWhole(r.files.html, html, 'explain');
}
