import { AOG_VIEWS, aogSize, type AndOrGraph, type AogParse } from './aog';

/** What an AOG holds, as `transplant aog inspect` prints it: its hierarchy, part by part. */
export interface AogSummary {
  readonly subject: AndOrGraph['subject'];
  readonly graph: { readonly digest: string; readonly layers: readonly string[] };
  readonly size: ReturnType<typeof aogSize>;
  readonly learning: AndOrGraph['learning'];
  readonly parts: {
    readonly part: string;
    readonly templates: {
      readonly view: string;
      readonly source: 'shots' | 'mirror';
      readonly shots: number;
      readonly nodes: {
        readonly layer: string;
        readonly node: number;
        readonly filter: number;
        readonly displacement: readonly [number, number];
        readonly spread: number;
        readonly weight: number;
      }[];
    }[];
  }[];
  readonly file?: string;
  readonly digest?: string;
  readonly attached?: string;
}

export function summariseAog(aog: AndOrGraph, extra: Partial<AogSummary> = {}): AogSummary {
  return {
    subject: aog.subject,
    graph: { digest: aog.graph.digest, layers: aog.graph.layers },
    size: aogSize(aog),
    learning: aog.learning,
    parts: aog.parts.map((p) => ({
      part: p.part,
      templates: p.templates.map((t) => ({
        view: AOG_VIEWS[t.view],
        source: t.source,
        shots: t.shots.length,
        nodes: t.nodes.map((n) => ({
          layer: n.unit.layer,
          node: n.node,
          filter: n.unit.filter,
          displacement: [n.dx, n.dy] as const,
          spread: n.spread,
          weight: n.weight,
        })),
      })),
    })),
    ...extra,
  };
}

const f1 = (v: number) => v.toFixed(1);

/** The summary as an indented tree: object → parts (AND) → templates (OR) → nodes → units. */
export function formatAogSummary(s: AogSummary, options: { readonly nodes?: number } = {}): string {
  const shown = options.nodes ?? 5;
  const lines = [
    `And-Or graph of ${s.subject.module}${s.subject.version ? `@${s.subject.version}` : ''} (${s.subject.network}): ${s.size.parts} parts, ${s.size.templates} templates, ${s.size.nodes} graph nodes of ${s.size.units} units`,
    `  learned on graph ${s.graph.digest.slice(0, 19)}… from ${s.learning.data}; up to ${s.learning.top} nodes per template`,
    ...(s.file ? [`  file ${s.file}${s.digest ? ` (${s.digest})` : ''}`] : []),
    ...(s.attached ? [`  attached to ${s.attached} in the registry`] : []),
    `  both templates of a part apply in the graph's aligned frame: the OR tells apart which shots a template learned from, not a pose; a template with no shot of its own is a copy of the other, and where templates tie the parse makes no OR choice`,
    `object (AND)`,
  ];
  for (const p of s.parts) {
    lines.push(`  ${p.part} (AND) → OR over ${p.templates.length} templates`);
    for (const t of p.templates) {
      lines.push(
        `    template ${t.view}: ${t.source === 'shots' ? `${t.shots} shot(s)` : `no shot of its own: a copy of the other template (its ${t.shots} shot(s))`}, ${t.nodes.length} nodes`,
      );
      for (const n of t.nodes.slice(0, shown))
        lines.push(
          `      node ${n.node} of ${n.layer} filter ${n.filter}: Δ (${f1(n.displacement[0])}, ${f1(n.displacement[1])}) px, spread ${f1(n.spread)} px, weight ${n.weight.toPrecision(3)}`,
        );
      if (t.nodes.length > shown) lines.push(`      … ${t.nodes.length - shown} more (--json lists all)`);
    }
  }
  return lines.join('\n');
}

/** A parse as lines: per part the chosen template (or that the templates tie), the point and the votes used. */
export function formatAogParse(parse: AogParse, options: { readonly image?: string } = {}): string {
  return [
    `parse of ${options.image ?? `image ${parse.index}`} (the graph read it ${AOG_VIEWS[parse.flip === 1 ? 1 : 0]}):`,
    ...parse.parts.map((p) => {
      const used = p.votes.filter((v) => v.evidence > 0).length;
      const by =
        p.template === null
          ? `no OR choice: the templates tie (${p.tie === 'copy' ? 'one is a copy of the other' : 'equal scores'}), template ${AOG_VIEWS[0]}'s votes`
          : `template ${AOG_VIEWS[p.template]}`;
      return `  ${p.part}: (${f1(p.point[0])}, ${f1(p.point[1])}) px by ${by} (score ${p.score.toPrecision(3)}; ${p.scores.map((s) => s.toPrecision(3)).join(' / ')}), ${used} of ${p.votes.length} nodes voting`;
    }),
  ].join('\n');
}
