import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The CPU a result was measured on: its model, thread count and vector extensions (results move with them). */
export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let flags = 'flags unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags')) ?? '';
    const have = new Set(line.split(/\s+/));
    flags = ['avx', 'avx2', 'avx512f'].filter((f) => have.has(f)).join('+') || 'no avx';
  } catch {
    // Not Linux: the model alone.
  }
  return `${model}, ${cpus().length} threads, ${flags}`;
}
