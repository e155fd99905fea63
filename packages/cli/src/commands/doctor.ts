import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import type { BackendSelection, BackendSelector, Environment } from '@transplant/core';
import { loadOnednn } from '@transplant/native';
import { TRANSPLANT_VERSION, resolveRegistryLocation, type RegistryLocation } from '@transplant/platform';

export interface DoctorReport {
  readonly transplant: string;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly tfjs: Readonly<Record<string, string>>;
  readonly backend: BackendSelection & { readonly wasmSimd?: boolean; readonly wasmThreads?: boolean };
  readonly registry: RegistryLocation;
  /** The optional oneDNN kernels: whether they load here, and why not. */
  readonly native:
    | { readonly on: true; readonly onednn: string; readonly threads: number }
    | { readonly on: false; readonly reason: string };
}

export interface DoctorDeps {
  readonly selector: BackendSelector;
  readonly env: Environment;
  readonly cpus: number;
}

/** What `transplant doctor` finds: the back end in use and why, its patched kernels, versions, the registry. */
export async function collectDoctorReport(
  deps: DoctorDeps,
  options: { backend?: string | undefined; registry?: string | undefined },
): Promise<DoctorReport> {
  const selection = await deps.selector.select({ requested: options.backend, env: deps.env });
  const wasm =
    selection.id === 'wasm'
      ? {
          wasmSimd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
          wasmThreads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
        }
      : {};
  const native = loadOnednn(deps.env);
  return {
    transplant: TRANSPLANT_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: deps.cpus,
    tfjs: { ...(tf.version as Record<string, string>), 'tfjs-backend-wasm': version_wasm },
    backend: { ...selection, ...wasm },
    registry: resolveRegistryLocation(options.registry, deps.env),
    native: native.ok
      ? { on: true, onednn: native.onednn, threads: native.threads }
      : { on: false, reason: native.reason },
  };
}

export function formatDoctorReport(r: DoctorReport): string {
  const lines = [
    `transplant ${r.transplant}  (node ${r.node}, ${r.platform}, ${r.cpus} cpus)`,
    '',
    `back end: ${r.backend.id} via ${r.backend.provider}${r.backend.forced ? ' (forced)' : ''}`,
  ];
  if (r.backend.wasmSimd !== undefined)
    lines.push(
      `  wasm SIMD: ${r.backend.wasmSimd ? 'yes' : 'no'}, threads: ${r.backend.wasmThreads ? 'yes' : 'no (single-threaded in Node)'}`,
    );
  for (const a of r.backend.attempts)
    lines.push(`  tried ${a.id}: ${a.ok ? 'ok' : 'unavailable'} — ${a.detail}`);
  lines.push(
    r.native.on
      ? `  native oneDNN kernels: available (oneDNN ${r.native.onednn}, ${r.native.threads} threads)`
      : `  native oneDNN kernels: off — ${r.native.reason}`,
  );
  lines.push(`  kernels registered by transplant: ${r.backend.kernelPatches.length}`);
  for (const k of r.backend.kernelPatches) lines.push(`    ${k.backendName}/${k.kernelName}: ${k.purpose}`);
  lines.push('', 'tensorflow.js:');
  for (const [name, version] of Object.entries(r.tfjs)) lines.push(`  ${name} ${version}`);
  lines.push('', ...formatRegistryLines(r.registry));
  return lines.join('\n');
}

/** The registries in use: the one named or the workspace's; installed, the user's over the zoo. */
function formatRegistryLines(r: RegistryLocation): string[] {
  if (!r.readThrough)
    return [
      `registry: ${r.location} (${r.source}${r.exists ? '' : ', does not exist: `transplant registry init` creates it'})`,
    ];
  return [
    `registry: ${r.location} (${r.source}, writable: publishes go here${r.exists ? '' : '; made on the first publish'})`,
    `  reads through to the zoo: ${r.readThrough.location} (read-only${r.readThrough.exists ? '' : ', missing: reinstall @transplant/zoo'})`,
  ];
}
