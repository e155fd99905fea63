import type { TfjsTiming, Timing } from './tfjs-runner';
import type { PeerResult } from './torch-peer';

/** The round whose median is the median of the rounds (the lower middle for an even count), with every round's median kept. */
function middle<T>(items: readonly T[], ms: (t: T) => number): T | undefined {
  return [...items].sort((a, b) => ms(a) - ms(b))[Math.floor((items.length - 1) / 2)];
}

/** One runner's rounds as one timing: the median round, with the minimum over all rounds and every round's median. */
export function medianRound(
  rounds: readonly TfjsTiming[],
): TfjsTiming & { readonly roundMediansMs: number[] } {
  const chosen = middle(rounds, (t) => t.medianMs);
  if (!chosen) throw new Error('no rounds to combine');
  return {
    ...chosen,
    minMs: Math.min(...rounds.map((t) => t.minMs)),
    samples: rounds.reduce((n, t) => n + t.samples, 0),
    roundMediansMs: rounds.map((t) => t.medianMs),
  };
}

/** The peer's rounds the same way; a peer missing in any round is reported missing. */
export function medianPeerRound(
  rounds: readonly PeerResult[],
): PeerResult & { readonly roundMediansMs?: number[] } {
  const missing = rounds.find((r): r is Extract<PeerResult, { available: false }> => !r.available);
  if (missing || rounds.length === 0) return missing ?? { available: false, reason: 'no rounds' };
  const available = rounds as Extract<PeerResult, { available: true }>[];
  const chosen = middle(available, (r) => r.timing.medianMs)!;
  const timing: Timing = {
    ...chosen.timing,
    minMs: Math.min(...available.map((r) => r.timing.minMs)),
    samples: available.reduce((n, r) => n + r.timing.samples, 0),
  };
  return { ...chosen, timing, roundMediansMs: available.map((r) => r.timing.medianMs) };
}
