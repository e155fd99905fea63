import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** The SIMD extensions whose presence changes which kernels oneDNN and XNNPACK run, hence the last bits of a result. */
export const CPU_FEATURES = ['avx', 'avx2', 'avx512f'] as const;
export type CpuFeature = (typeof CPU_FEATURES)[number];

/** What a committed result records beside its back end: the same seed gives other numbers on another CPU. */
export interface MachineDescription {
  /** The CPU's model name, or 'unknown'. */
  readonly cpu: string;
  /** Logical CPUs this process may use. */
  readonly threads: number;
  /** Each feature of CPU_FEATURES: present or not, or 'unknown' where /proc/cpuinfo cannot be read. */
  readonly features: Readonly<Record<CpuFeature, boolean>> | 'unknown';
  /** process.version, e.g. 'v20.20.2'. */
  readonly node: string;
  /**
   * ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) where set: oneDNN then runs that ISA's kernels
   * instead of the CPU's best, and a run's numbers are those of a CPU with only that ISA.
   */
  readonly onednnMaxIsa?: string;
}

export interface DescribeMachineOptions {
  /** The text of /proc/cpuinfo; undefined where it cannot be read (not Linux, no permission). */
  readonly cpuinfo?: () => string | undefined;
  readonly threads?: () => number;
  readonly node?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function readCpuinfo(): string | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}

/** The value of the first `key : value` line of /proc/cpuinfo (one block per logical CPU; they agree). */
function field(cpuinfo: string, key: string): string | undefined {
  const line = cpuinfo.split('\n').find((l) => l.split(':')[0]!.trim() === key);
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** Describes this machine: CPU model, thread count, the AVX flags from /proc/cpuinfo and Node's version. */
export function describeMachine(options: DescribeMachineOptions = {}): MachineDescription {
  const info = (options.cpuinfo ?? readCpuinfo)();
  // x86 Linux says 'flags', arm64 Linux 'Features': either way a space-separated list.
  const flags = info === undefined ? undefined : (field(info, 'flags') ?? field(info, 'Features'));
  const set = flags === undefined ? undefined : new Set(flags.split(/\s+/));
  const model = (info && field(info, 'model name')) || cpus()[0]?.model?.trim() || 'unknown';
  const env = options.env ?? process.env;
  const isa = env['ONEDNN_MAX_CPU_ISA'] || env['DNNL_MAX_CPU_ISA'];
  return {
    cpu: model,
    threads: (options.threads ?? availableParallelism)(),
    features:
      set === undefined
        ? 'unknown'
        : (Object.fromEntries(CPU_FEATURES.map((f) => [f, set.has(f)])) as Record<CpuFeature, boolean>),
    node: options.node ?? process.version,
    ...(isa ? { onednnMaxIsa: isa } : {}),
  };
}

/** One line for a report: `AMD EPYC, 2 threads, avx avx2 -avx512f, node v20.20.2`. */
export function formatMachine(m: MachineDescription): string {
  const { features } = m;
  const flags =
    features === 'unknown'
      ? 'CPU features unknown'
      : CPU_FEATURES.map((f) => (features[f] ? f : `-${f}`)).join(' ');
  const limit = m.onednnMaxIsa ? `, oneDNN limited to ${m.onednnMaxIsa}` : '';
  return `${m.cpu}, ${m.threads} threads, ${flags}${limit}, node ${m.node}`;
}
