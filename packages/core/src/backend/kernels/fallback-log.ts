/**
 * Which kernels ran off the fast path, and how often: a kernel Transplant routes to the `cpu`
 * back end on copied data (`cpu`), or a oneDNN kernel that handed a call back to the stock
 * kernel it replaced (`stock`, e.g. an activation oneDNN does not fuse). Benchmarks print it
 * for a step, so that a claim "no fallbacks" is a measurement.
 */
export type FallbackKind = 'cpu' | 'stock';

export interface FallbackCount {
  readonly kernel: string;
  readonly via: FallbackKind;
  readonly calls: number;
}

const counts = new Map<string, FallbackCount>();

export function noteFallback(kernel: string, via: FallbackKind): void {
  const key = `${via}:${kernel}`;
  counts.set(key, { kernel, via, calls: (counts.get(key)?.calls ?? 0) + 1 });
}

/** The fallbacks since the last reset, most frequent first. */
export function fallbackCounts(): FallbackCount[] {
  return [...counts.values()].sort((a, b) => b.calls - a.calls || a.kernel.localeCompare(b.kernel));
}

export function resetFallbacks(): void {
  counts.clear();
}
