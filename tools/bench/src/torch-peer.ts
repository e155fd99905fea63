import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchCase } from './cases';
import type { Timing } from './tfjs-runner';

export const PEER_SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

export type PeerResult =
  | {
      readonly available: true;
      readonly torch: string;
      /** Set for the MobileNetV2 cases, built by torchvision. */
      readonly torchvision?: string | null;
      readonly threads: number;
      /** The build measured: CPU capability, BLAS, oneDNN (torch_peer.py `build_info`). */
      readonly build?: Readonly<Record<string, string | boolean>>;
      readonly best: string;
      readonly timing: Timing;
      readonly formats: Record<string, Timing>;
    }
  | { readonly available: false; readonly reason: string };

/**
 * Why the peer failed, from its stderr: its own "… is not installed: apt-get install …" line,
 * or the last line of whatever else went wrong. torchvision missing is told apart from PyTorch
 * missing (a MobileNetV2 case needs both).
 */
export function peerFailureReason(stderr: string, code: number | null): string {
  const last = stderr.trim().split('\n').at(-1)?.trim() || `exit ${code}`;
  if (/^(PyTorch|torchvision) is not installed/.test(last)) return last;
  if (/No module named '?torchvision\b/.test(last))
    return `torchvision is not installed: apt-get install python3-torchvision (${last})`;
  if (/No module named '?torch'?$/.test(last)) return `PyTorch is not installed (${last})`;
  return last;
}

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
        resolve({ available: false, reason: peerFailureReason(err, code) });
        return;
      }
      try {
        const parsed = JSON.parse(out) as {
          torch: string;
          torchvision?: string | null;
          threads: number;
          build?: Record<string, string | boolean>;
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
