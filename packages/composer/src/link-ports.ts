import { TransplantError, portMismatches, type Port } from '@transplant/core';

export interface PortedModule {
  readonly name: string;
  readonly ports: { readonly input: Port; readonly output: Port };
}

/** One enabled (category, task) link of a network, by module name; `adapter` sits between them. */
export interface LinkSpec {
  readonly category: string;
  readonly task: string;
  readonly adapter?: string;
}

export const linkId = (link: Pick<LinkSpec, 'category' | 'task'>): string =>
  `${link.category} → ${link.task}`;

/**
 * Checks every connection of a link (category → [adapter →] task) and throws
 * `E_PORT_MISMATCH` naming both modules and each mismatch. Works on manifests, so it runs
 * before any weights are read.
 */
export function checkLinkPorts(chain: readonly PortedModule[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    const from = chain[i]!;
    const to = chain[i + 1]!;
    const problems = portMismatches(from.ports.output, to.ports.input);
    if (problems.length > 0) {
      throw new TransplantError(
        'E_PORT_MISMATCH',
        `${from.name} (output) → ${to.name} (input): ${problems.join(', ')}`,
        {
          module: `${from.name} → ${to.name}`,
          operation: 'compose',
          details: { from: from.name, to: to.name, problems },
        },
      );
    }
  }
}
