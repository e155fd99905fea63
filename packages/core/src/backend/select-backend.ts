import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { TransplantError } from '../errors';
import { BACKEND_ORDER, BACKENDS, isBackendId, type BackendId } from './backend-ids';
import { loadOnednn, type OnednnAddon } from '@transplant/native';
import { installKernelPatches, uninstallKernelPatches, type InstalledPatch } from './kernels/install-patches';
import { DEFAULT_KERNEL_PATCHES, type KernelPatchContribution } from './kernels/kernel-contribution';
import type { KernelPatch } from './kernels/kernel-patch';
import { removeWasmGlueProcessHandlers } from './wasm-glue-handlers';

export interface BackendAttempt {
  readonly id: BackendId;
  readonly ok: boolean;
  /** The npm package that provided the back end, or the reason it could not. */
  readonly detail: string;
}

export interface BackendSelection {
  readonly id: BackendId;
  /** The package that provides the kernels in use, e.g. `@tensorflow/tfjs-node-gpu`. */
  readonly provider: string;
  readonly forced: boolean;
  readonly attempts: readonly BackendAttempt[];
  /** Kernels Transplant registered on this back end. */
  readonly kernelPatches: readonly InstalledPatch[];
}

export interface SelectBackendOptions {
  /** `--backend`; wins over `TRANSPLANT_BACKEND`. */
  readonly requested?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Loads an optional package; injectable so tests can simulate present or broken ones. */
  readonly load?: (pkg: string) => unknown;
  /** Loads the oneDNN addon; injectable so tests can simulate a machine without it. */
  readonly loadNative?: () => ReturnType<typeof loadOnednn>;
  /** The kernel patch sets to install (the container's contributions); default DEFAULT_KERNEL_PATCHES. */
  readonly kernels?: readonly KernelPatchContribution[];
}

type OnednnContribution = Extract<KernelPatchContribution, { layer: 'onednn' }>;

/** One patch set per contribution and addon instance, so installing it again is recognised as the same. */
const onednnPatchSets = new WeakMap<OnednnContribution, WeakMap<OnednnAddon, readonly KernelPatch[]>>();

function onednnPatchesFor(contribution: OnednnContribution, addon: OnednnAddon): readonly KernelPatch[] {
  let byAddon = onednnPatchSets.get(contribution);
  if (!byAddon) onednnPatchSets.set(contribution, (byAddon = new WeakMap()));
  let patches = byAddon.get(addon);
  if (!patches) byAddon.set(addon, (patches = contribution.patches(addon)));
  return patches;
}

function wasmPatches(kernels: readonly KernelPatchContribution[]): KernelPatch[] {
  return kernels.flatMap((k) => (k.layer === 'wasm' ? k.patches : []));
}

let activeOnednn: readonly KernelPatch[] | undefined;

const defaultLoad = createRequire(import.meta.url);

/**
 * Transplant names the back end in use itself (doctor, every report); tfjs's own advice to
 * install tfjs-node, printed on the cpu back end's first write, is noise here. PROD silences it.
 */
function quietTfjs(): void {
  tf.env().set('PROD', true);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

interface Prepared {
  readonly provider: string;
  readonly kernelPatches: readonly InstalledPatch[];
}

/** Makes a back end's kernels available; returns why not, as a string, when it cannot. */
async function prepare(
  id: BackendId,
  loaders: {
    readonly load: (pkg: string) => unknown;
    readonly loadNative: () => ReturnType<typeof loadOnednn>;
    readonly kernels: readonly KernelPatchContribution[];
  },
): Promise<Prepared | string> {
  const { load, loadNative, kernels } = loaders;
  switch (id) {
    case 'tensorflow': {
      const reasons: string[] = [];
      for (const pkg of BACKENDS.tensorflow.packages) {
        try {
          // A package whose install script was skipped throws a plain Error: catch them all.
          load(pkg);
        } catch (error) {
          reasons.push(`${pkg}: ${describe(error)}`);
          continue;
        }
        if (tf.findBackendFactory('tensorflow') && (await tf.setBackend('tensorflow'))) {
          return { provider: pkg, kernelPatches: [] };
        }
        reasons.push(`${pkg}: loaded but the tensorflow back end did not initialise`);
      }
      return reasons.join('; ');
    }
    case 'wasm+onednn': {
      const native = loadNative();
      if (!native.ok) return `@transplant/native: ${native.reason}`;
      const onednn = kernels.filter((k): k is OnednnContribution => k.layer === 'onednn');
      const patches = onednn.flatMap((k) => onednnPatchesFor(k, native.addon));
      // One layer each: take oneDNN's kernels off before (re)installing the wasm ones under them.
      if (activeOnednn) uninstallKernelPatches(activeOnednn);
      const kernelPatches = [...installKernelPatches(wasmPatches(kernels)), ...installKernelPatches(patches)];
      activeOnednn = patches;
      for (const k of onednn) k.afterInstall?.();
      if (await tf.setBackend('wasm')) {
        return {
          provider: `@tensorflow/tfjs-backend-wasm + oneDNN ${native.onednn} (${native.threads} threads)`,
          kernelPatches,
        };
      }
      return '@tensorflow/tfjs-backend-wasm: the WebAssembly module did not initialise';
    }
    case 'wasm': {
      // Plain wasm means without oneDNN, even after wasm+onednn ran in this process.
      if (activeOnednn) uninstallKernelPatches(activeOnednn);
      activeOnednn = undefined;
      const kernelPatches = installKernelPatches(wasmPatches(kernels));
      if (await tf.setBackend('wasm')) return { provider: '@tensorflow/tfjs-backend-wasm', kernelPatches };
      return '@tensorflow/tfjs-backend-wasm: the WebAssembly module did not initialise';
    }
    case 'cpu':
      if (await tf.setBackend('cpu')) return { provider: '@tensorflow/tfjs-backend-cpu', kernelPatches: [] };
      return '@tensorflow/tfjs-backend-cpu did not initialise';
    default: {
      const unreachable: never = id;
      return unreachable;
    }
  }
}

/**
 * Chooses and activates the tensor back end: `--backend`, else `TRANSPLANT_BACKEND`, else the
 * first that works of tensorflow (tfjs-node-gpu, then tfjs-node), wasm+onednn, wasm, cpu. A forced back end
 * that cannot be used is an error naming what is missing, never a silent fallback.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  quietTfjs();
  const env = options.env ?? process.env;
  const requested = options.requested ?? (env['TRANSPLANT_BACKEND'] || undefined);
  if (requested !== undefined && !isBackendId(requested)) {
    throw new TransplantError('E_BACKEND_UNKNOWN', `"${requested}" is not a back end`, {
      operation: 'selectBackend',
    });
  }
  const candidates = requested !== undefined ? [requested] : BACKEND_ORDER;
  const attempts: BackendAttempt[] = [];
  for (const id of candidates) {
    const prepared = await prepare(id, {
      load: options.load ?? defaultLoad,
      loadNative: options.loadNative ?? (() => loadOnednn(env)),
      kernels: options.kernels ?? DEFAULT_KERNEL_PATCHES,
    });
    // The wasm module's glue, once started, rethrows every uncaught failure from its own listeners.
    removeWasmGlueProcessHandlers();
    if (typeof prepared === 'string') {
      attempts.push({ id, ok: false, detail: prepared });
      continue;
    }
    attempts.push({ id, ok: true, detail: prepared.provider });
    return { id, forced: requested !== undefined, attempts, ...prepared };
  }
  const missing = attempts.map((a) => `${a.id} (${a.detail})`).join('; ');
  throw new TransplantError('E_BACKEND_UNAVAILABLE', missing, {
    module: requested ?? 'any',
    operation: 'selectBackend',
    details: attempts,
  });
}
