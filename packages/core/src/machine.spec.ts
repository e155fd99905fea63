import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeMachine, formatMachine } from './machine';

// Two logical CPUs of an x86 machine as Linux prints them (fields trimmed): the blocks repeat.
const block = (flags: string) =>
  [
    'processor\t: 0',
    'vendor_id\t: GenuineIntel',
    'model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz',
    `flags\t\t: ${flags}`,
    '',
  ].join('\n');
const avx512 = block('fpu sse sse2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd avx512bw');
const avxOnly = block('fpu sse sse2 avx f16c');

describe('describeMachine', () => {
  it('reads the model and each AVX flag as a whole word (avx512dq is not avx512f, avx2 is not avx)', () => {
    const m = describeMachine({ cpuinfo: () => avx512 + avx512, threads: () => 8, node: 'v20.1.0', env: {} });
    expect(m).toEqual({
      cpu: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz',
      threads: 8,
      features: { avx: true, avx2: true, avx512f: true },
      node: 'v20.1.0',
    });
    expect(describeMachine({ cpuinfo: () => avxOnly }).features).toEqual({
      avx: true,
      avx2: false,
      avx512f: false,
    });
    // avx512dq alone does not make avx512f, nor avx2 make avx.
    expect(describeMachine({ cpuinfo: () => block('sse avx2 avx512dq') }).features).toEqual({
      avx: false,
      avx2: true,
      avx512f: false,
    });
    expect(formatMachine(m)).toBe(
      'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz, 8 threads, avx avx2 avx512f, node v20.1.0',
    );
    expect(
      formatMachine(describeMachine({ cpuinfo: () => avxOnly, threads: () => 2, node: 'v22.0.0' })),
    ).toBe('Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz, 2 threads, avx -avx2 -avx512f, node v22.0.0');
  });

  it('records a limit on the ISA oneDNN may use, which changes the numbers as another CPU would', () => {
    const limited = describeMachine({
      cpuinfo: () => avx512,
      threads: () => 2,
      node: 'v20.1.0',
      env: { ONEDNN_MAX_CPU_ISA: 'AVX2' },
    });
    expect(limited.onednnMaxIsa).toBe('AVX2');
    expect(formatMachine(limited)).toBe(
      'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz, 2 threads, avx avx2 avx512f, oneDNN limited to AVX2, node v20.1.0',
    );
    expect(describeMachine({ cpuinfo: () => avx512, env: { DNNL_MAX_CPU_ISA: 'AVX' } }).onednnMaxIsa).toBe(
      'AVX',
    );
  });

  it("says 'unknown' where /proc/cpuinfo cannot be read, and reads arm64's Features line", () => {
    const m = describeMachine({ cpuinfo: () => undefined, threads: () => 4, node: 'v20.1.0' });
    expect(m.features).toBe('unknown');
    expect(formatMachine(m)).toMatch(/, 4 threads, CPU features unknown, node v20\.1\.0$/);
    const arm = describeMachine({ cpuinfo: () => 'processor\t: 0\nFeatures\t: fp asimd aes crc32\n' });
    expect(arm.features).toEqual({ avx: false, avx2: false, avx512f: false });
  });

  it('describes this machine from its own /proc/cpuinfo and Node', () => {
    const m = describeMachine();
    expect(m.node).toBe(process.version);
    expect(m.threads).toBe(availableParallelism());
    if (!existsSync('/proc/cpuinfo')) {
      expect(m.features).toBe('unknown');
      return;
    }
    const flags =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        ?.split(/\s+/) ?? [];
    if (flags.length === 0) return; // not x86: covered by the arm case above
    expect(m.features).toEqual({
      avx: flags.includes('avx'),
      avx2: flags.includes('avx2'),
      avx512f: flags.includes('avx512f'),
    });
  });
});
