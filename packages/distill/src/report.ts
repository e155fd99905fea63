import { join } from 'node:path';
import { writeFileWhole } from '@transplant/core';
import { annotationLine } from './bridge-calibration';
import { lossCurvePng } from './loss-curve';
import type { TransplantResult } from './transplant';

const pct = (m: { name: string; value: number }) =>
  m.name === 'error-rate' ? `${(100 * m.value).toFixed(2)} %` : m.value.toFixed(4);

/** The bridge's calibration in words: its mode, what it saw and the fitted line. */
export function calibrationText(c: NonNullable<TransplantResult['calibration']>): string {
  const seen =
    c.mode === 'labelled'
      ? `${c.images} dev images with their class labels, ${c.present} of them the category`
      : `${c.images} unlabelled images, ${c.present} of them the category by the teacher's own mask`;
  return `${c.mode} calibration on ${seen}: logit = ${c.scale.toFixed(3)} · score + ${c.offset.toFixed(3)}`;
}

/** Writes `<dir>/<network>[@<version>].md` and its loss-curve PNG; returns the Markdown path. */
export async function writeTransplantReport(
  dir: string,
  r: TransplantResult,
  command: string,
): Promise<string> {
  const base = `${r.network}${r.version ? `@${r.version}` : ''}-${r.method}-${r.samples}`;
  const png = `${base}-loss.png`;
  await writeFileWhole(
    join(dir, png),
    lossCurvePng(
      [{ label: `${r.method} loss`, values: r.losses }],
      `${r.network}: ${r.method}, ${r.annotatedImages} annotated images`,
    ),
    'report',
  );
  const rows = [
    `| ${r.network} (${r.student.category} → adapter → ${r.student.task}) | ${r.method} | ${r.annotatedImages} | ${r.knownNegatives} | ${r.metric.name} | ${pct(r.metric)} |`,
    ...(r.reference
      ? [
          `| the --to network's own head, same images | — | — | — | ${r.reference.name} | ${pct(r.reference)} |`,
        ]
      : []),
  ];
  const md = [
    `# Transplant: ${r.network}${r.version ? `@${r.version}` : ' (not published)'}`,
    '',
    `\`${command}\``,
    '',
    `- student: ${r.student.category} → ${r.adapter} → ${r.student.task} (only the adapter was trained; the other modules are frozen)`,
    `- teacher: ${r.teacher}${r.calibration ? ` (${calibrationText(r.calibration)})` : ''}`,
    `- images: ${annotationLine(r.method, r.samples, r.calibration, r.knownNegatives)}`,
    `- probes: ${r.probe}`,
    `- data: ${r.data}`,
    `- ${r.losses.length} steps, ${r.stepMilliseconds.toFixed(1)} ms/step, ${r.wallSeconds.toFixed(1)} s`,
    '',
    `| network | method | annotated images | negatives known by construction | ${r.evaluation.split === 'test' ? 'final-test' : 'dev'} metric | value |`,
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `![loss](${png})`,
    '',
  ].join('\n');
  const path = join(dir, `${base}.md`);
  await writeFileWhole(path, md, 'report');
  return path;
}
