import { describe, expect, it } from 'vitest';
import { formatDoctorReport, type DoctorReport } from './doctor';

const report = (registry: DoctorReport['registry']): DoctorReport => ({
  transplant: '0.1.0',
  node: 'v20.0.0',
  platform: 'linux-x64',
  cpus: 2,
  tfjs: { tfjs: '4.22.0' },
  backend: {
    id: 'cpu',
    provider: '@tensorflow/tfjs-backend-cpu',
    forced: true,
    attempts: [],
    kernelPatches: [],
  },
  registry,
  native: { on: false, reason: 'not built' },
});

describe('doctor prints the registries in use', () => {
  it('the one named or the workspace one', () => {
    const text = formatDoctorReport(report({ location: '/ws/registry', source: 'embedded', exists: true }));
    expect(text.split('\n').at(-1)).toBe('registry: /ws/registry (embedded)');
  });

  it("installed: the user's writable registry and the zoo it reads through to", () => {
    const text = formatDoctorReport(
      report({
        location: '/home/u/.local/share/transplant/registry',
        source: 'default',
        exists: false,
        readThrough: { location: '/p/node_modules/@transplant/zoo/dist/registry', exists: true },
      }),
    );
    expect(text.split('\n').slice(-2)).toEqual([
      'registry: /home/u/.local/share/transplant/registry (default, writable: publishes go here; made on the first publish)',
      '  reads through to the zoo: /p/node_modules/@transplant/zoo/dist/registry (read-only)',
    ]);
  });
});
