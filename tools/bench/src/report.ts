import type { PeerResult } from './torch-peer';
import type { TfjsTiming } from './tfjs-runner';

export interface CaseReport {
  readonly caseId: string;
  readonly description: string;
  /** GFLOP of one step (training counts forward + both backward passes as 3× forward). */
  readonly gflop: number;
  /** How this case was run (each case has its own defaults). */
  readonly run?: { readonly warmup: number; readonly steps: number; readonly rounds: number };
  readonly ours: readonly { backend: string; timing: TfjsTiming; leaked: number }[];
  readonly peers: readonly ({ threads: number } & PeerResult)[];
}

/** A table row with one cell per header column, whatever the number of peers. */
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** A Markdown table: ms, GFLOP/s, and ours/PyTorch for every peer thread count (lower is better). */
export function formatCaseReport(r: CaseReport): string {
  const peers = r.peers.filter(
    (p): p is { threads: number } & Extract<PeerResult, { available: true }> => p.available,
  );
  const header = [
    'runner',
    'ms/step (median)',
    'GFLOP/s',
    ...peers.map((p) => `ours / PyTorch ${p.threads}t`),
    'warm-up median ms',
  ];
  const lines = [
    `### ${r.caseId}`,
    '',
    r.description,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
  ];
  for (const o of r.ours) {
    const ratios = peers.map((p) => fmt(o.timing.medianMs / p.timing.medianMs, 2));
    lines.push(
      row([
        `tfjs ${o.backend}`,
        fmt(o.timing.medianMs),
        fmt(r.gflop / (o.timing.medianMs / 1000)),
        ...ratios,
        fmt(o.timing.warmupMedianMs),
      ]),
    );
  }
  // Which kernels left the fast path during the timed steps (docs/design.md §6): a "no
  // fallbacks" claim is read here, not assumed.
  const fallbackNotes = r.ours.map((o) => {
    const list = o.timing.fallbacks;
    if (list === undefined) return undefined;
    const text = list.length
      ? list.map((f) => `${f.kernel} (${f.via}, ${fmt(f.perStep, 1)}×/step)`).join(', ')
      : 'none';
    return `tfjs ${o.backend}: ${text}`;
  });
  for (const p of r.peers) {
    if (p.available) {
      lines.push(
        row([
          `PyTorch ${p.torch}${p.torchvision ? ` (torchvision ${p.torchvision})` : ''}, ${p.threads} thread(s), ${p.best}`,
          fmt(p.timing.medianMs),
          fmt(r.gflop / (p.timing.medianMs / 1000)),
          ...peers.map(() => ''),
          '',
        ]),
      );
    } else {
      lines.push(
        row([`PyTorch, ${p.threads} thread(s)`, `missing: ${p.reason}`, '', ...peers.map(() => ''), '']),
      );
    }
  }
  const notes = fallbackNotes.filter((n): n is string => n !== undefined);
  if (notes.length) lines.push('', `Kernels off the fast path in the timed steps: ${notes.join('; ')}.`);
  // Every round's median, so that a round disturbed by other load shows instead of hiding in the median.
  const roundsOf = (t: object) => (t as { roundMediansMs?: readonly number[] }).roundMediansMs;
  const runners: [string, readonly number[] | undefined][] = [
    ...r.ours.map((o): [string, readonly number[] | undefined] => [`tfjs ${o.backend}`, roundsOf(o.timing)]),
    ...peers.map((p): [string, readonly number[] | undefined] => [`PyTorch ${p.threads}t`, roundsOf(p)]),
  ];
  const spread = runners.flatMap(([name, ms]) =>
    ms && ms.length > 1 ? [`${name} ${ms.map((m) => fmt(m)).join(' / ')}`] : [],
  );
  if (spread.length) lines.push('', `Round medians (ms): ${spread.join('; ')}.`);
  if (r.run)
    lines.push(
      '',
      `Per runner the median of ${r.run.rounds} interleaved rounds of ${r.run.steps} timed steps after ${r.run.warmup} warm-up.`,
    );
  return lines.join('\n');
}
