import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchCase } from './cases';
import type { Timing } from './tfjs-runner';

export const PEER_SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

export type PeerResult =
  | {
      readonly available: true;
      readonly torch: string;
      readonly threads: number;
      readonly best: string;
      readonly timing: Timing;
      readonly formats: Record<string, Timing>;
    }
  | { readonly available: false; readonly reason: string };

/**
 * Runs the PyTorch peer in a child process (Debian's python3-torch imports only under
 * /usr/bin/python3). Never throws: a missing peer is reported, not a failure.
 */
export function runTorchPeer(
  c: BenchCase,
  options: { threads: number; warmup: number; steps: number; python?: string },
): Promise<PeerResult> {
  const python = options.python ?? '/usr/bin/python3';
  return new Promise((resolve) => {
    const child = spawn(python, [PEER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ available: false, reason: `${python}: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) {
        const last = err.trim().split('\n').at(-1) ?? `exit ${code}`;
        resolve({
          available: false,
          reason: last.includes('torch') ? `PyTorch is not installed (${last})` : last,
        });
        return;
      }
      try {
        const parsed = JSON.parse(out) as {
          torch: string;
          threads: number;
          best: string;
          formats: Record<string, Timing>;
        };
        const timing = parsed.formats[parsed.best];
        if (timing === undefined) throw new Error('no timing for the best format');
        resolve({ available: true, ...parsed, timing });
      } catch (e) {
        resolve({
          available: false,
          reason: `unreadable peer output: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
    });
    child.stdin.end(
      JSON.stringify({ case: c, threads: options.threads, warmup: options.warmup, steps: options.steps }),
    );
  });
}
