import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lossCurvePng } from './loss-curve';
import type { TransplantResult } from './transplant';

const pct = (m: { name: string; value: number }) =>
  m.name === 'error-rate' ? `${(100 * m.value).toFixed(2)} %` : m.value.toFixed(4);

/** Writes `<dir>/<network>[@<version>].md` and its loss-curve PNG; returns the Markdown path. */
export async function writeTransplantReport(
  dir: string,
  r: TransplantResult,
  command: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const base = `${r.network}${r.version ? `@${r.version}` : ''}-${r.method}-${r.samples}`;
  const png = `${base}-loss.png`;
  await writeFile(
    join(dir, png),
    lossCurvePng(
      [{ label: `${r.method} loss`, values: r.losses }],
      `${r.network}: ${r.method}, ${r.samples} annotated samples`,
    ),
  );
  const rows = [
    `| ${r.network} (${r.student.category} → adapter → ${r.student.task}) | ${r.method} | ${r.samples} | ${r.metric.name} | ${pct(r.metric)} |`,
    ...(r.reference
      ? [`| the --to network's own head, same images | — | — | ${r.reference.name} | ${pct(r.reference)} |`]
      : []),
  ];
  const md = [
    `# Transplant: ${r.network}${r.version ? `@${r.version}` : ' (not published)'}`,
    '',
    `\`${command}\``,
    '',
    `- student: ${r.student.category} → ${r.adapter} → ${r.student.task} (only the adapter was trained; the other modules are frozen)`,
    `- teacher: ${r.teacher}${r.calibration ? ` (calibration: logit = ${r.calibration.scale.toFixed(3)} · score + ${r.calibration.offset.toFixed(3)})` : ''}`,
    `- probes: ${r.probe}`,
    `- data: ${r.data}`,
    `- ${r.losses.length} steps, ${r.stepMilliseconds.toFixed(1)} ms/step, ${r.wallSeconds.toFixed(1)} s`,
    '',
    '| network | method | annotated samples | held-out metric | value |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `![loss](${png})`,
    '',
  ].join('\n');
  const path = join(dir, `${base}.md`);
  await writeFile(path, md);
  return path;
}
