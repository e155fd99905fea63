import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The CPU a result was measured on: the same seed gives other numbers where vector kernels differ. */
export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  /** Which of avx, avx2, avx512f the CPU reports (wasm SIMD and oneDNN pick kernels by them). */
  readonly features: string[];
}

const FEATURES = ['avx', 'avx2', 'avx512f'] as const;

/**
 * The CPU model and its AVX features from `cpuinfo` (Linux's /proc/cpuinfo by default); the
 * model from Node alone, with no features, where the file cannot be read.
 */
export function describeMachine(cpuinfo?: string): MachineDescription {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (name: string) =>
    text
      .split('\n')
      .find((l) => l.startsWith(name))
      ?.split(':')
      .slice(1)
      .join(':')
      .trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  return {
    cpu: field('model name') ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    features: FEATURES.filter((f) => flags.has(f)),
  };
}

/** One line for a report: `AMD EPYC, 2 cores, avx avx2 avx512f`. */
export const formatMachine = (m: MachineDescription): string =>
  `${m.cpu}, ${m.cores} cores, ${m.features.length ? m.features.join(' ') : 'no AVX reported'}`;
