import { endianness } from 'node:os';
import { Packr } from 'msgpackr';
import { TransplantError } from '../errors';
import { sha256Digest } from './digest';
import { scanMsgpack } from './msgpack-scan';
import {
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  WEIGHT_DTYPES,
  elementCount,
  type WeightDtype,
} from './weights-format';
import { weightsLayout } from './weights-stream';

/**
 * The weights blob of a module. Layout (plain MessagePack, readable by any msgpack library):
 *
 *   envelope = { format: 'transplant.weights', formatVersion: 1, generatedBy, digest, body: bin }
 *   body     = msgpack [{ name, dtype, shape, data: bin }]     (data: little-endian elements)
 *
 * `digest` is the sha256 of `body`, so a blob verifies itself: a flipped bit anywhere in the
 * tensors is an error at decode, never a wrong tensor. The manifest separately records the
 * sha256 of the whole blob, which is its content address in a registry.
 *
 * No msgpackr-specific extensions or records are used (so there is no extension-type table
 * to keep): typed arrays are stored as raw bytes, which round-trip bit-exactly (NaN payloads
 * and -0 included) and are read back without msgpackr.
 */
export { WEIGHTS_FORMAT, WEIGHTS_FORMAT_VERSION, WEIGHT_DTYPES, type WeightDtype } from './weights-format';

export type WeightValues = Float32Array | Int32Array | Uint8Array;

export interface NamedWeight {
  readonly name: string;
  readonly dtype: WeightDtype;
  readonly shape: readonly number[];
  readonly data: WeightValues;
}

export interface WeightsArtifact {
  readonly formatVersion: number;
  readonly generatedBy: string;
  readonly tensors: readonly NamedWeight[];
}

// Plain MessagePack: no records, no structured-clone extensions, maps decode as objects.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

function invalidTensor(detail: string): TransplantError {
  return new TransplantError('E_ARTIFACT_INVALID_TENSOR', detail, { operation: 'encodeWeights' });
}

function corrupt(detail: string, cause?: unknown): TransplantError {
  return new TransplantError('E_ARTIFACT_CORRUPT', detail, { operation: 'decodeWeights', cause });
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE') {
    throw new TransplantError(
      'E_ARTIFACT_INVALID_TENSOR',
      'weights are stored little-endian; this host is big-endian',
      {
        operation: 'weights codec',
      },
    );
  }
}

function checkTensor(t: NamedWeight, seen: Set<string>): void {
  if (typeof t.name !== 'string' || t.name.length === 0) throw invalidTensor('a tensor has an empty name');
  if (seen.has(t.name)) throw invalidTensor(`tensor name "${t.name}" is used twice`);
  seen.add(t.name);
  const spec = WEIGHT_DTYPES[t.dtype];
  if (spec === undefined) throw invalidTensor(`"${t.name}" has dtype ${String(t.dtype)}`);
  if (!(t.data instanceof spec.array)) throw invalidTensor(`"${t.name}" data is not a ${spec.array.name}`);
  const count = elementCount(t.shape);
  if (count === undefined) throw invalidTensor(`"${t.name}" has shape [${t.shape.join(', ')}]`);
  if (count !== t.data.length) {
    throw invalidTensor(`"${t.name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
}

/**
 * Encodes tensors into one weights blob. The blob is laid out by `weightsLayout` and filled in
 * one allocation of its final size (the tensors' bytes are copied once).
 */
export function encodeWeights(tensors: readonly NamedWeight[], options: { generatedBy: string }): Uint8Array {
  assertLittleEndian();
  const seen = new Set<string>();
  tensors.forEach((t) => checkTensor(t, seen));
  const layout = weightsLayout(
    tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: () => [new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)],
    })),
    options,
  );
  const blob = new Uint8Array(layout.size);
  let at = 0;
  for (const piece of layout.pieces()) {
    blob.set(piece, at);
    at += piece.byteLength;
  }
  return blob;
}

/**
 * The deepest nesting a blob may hold. The format nests 3 deep (the tensor list, a tensor, its
 * shape); the limit leaves room for fields added later, and keeps the decoder's recursion short.
 */
export const MAX_MSGPACK_DEPTH = 32;

/**
 * A MessagePack value, its structure checked first (`scanMsgpack`): nesting, declared lengths
 * and types are refused before the decoder allocates or recurses.
 */
function unpack(bytes: Uint8Array, what: string): unknown {
  const problem = scanMsgpack(bytes, { maxDepth: MAX_MSGPACK_DEPTH });
  if (problem !== undefined) throw corrupt(`the ${what} is not sound MessagePack: ${problem}`);
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw corrupt(
      `the ${what} is not readable MessagePack (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function readTensor(entry: unknown, index: number, seen: Set<string>): NamedWeight {
  if (!isRecord(entry)) throw corrupt(`tensor #${index} is not a record`);
  const { name, dtype, shape, data } = entry;
  if (typeof name !== 'string' || name.length === 0 || seen.has(name))
    throw corrupt(`tensor #${index} has a bad name`);
  seen.add(name);
  if (typeof dtype !== 'string' || !Object.hasOwn(WEIGHT_DTYPES, dtype))
    throw corrupt(`"${name}" has dtype ${String(dtype)}`);
  const spec = WEIGHT_DTYPES[dtype as WeightDtype];
  const count = Array.isArray(shape) ? elementCount(shape) : undefined;
  if (count === undefined) throw corrupt(`"${name}" has a bad shape`);
  if (!(data instanceof Uint8Array) || data.byteLength !== count * spec.bytes) {
    throw corrupt(`"${name}" has the wrong number of bytes for its shape`);
  }
  // Copy into a fresh, aligned buffer: the decoded bytes may sit at any offset.
  const values = new spec.array(count);
  new Uint8Array(values.buffer).set(data);
  return { name, dtype: dtype as WeightDtype, shape: shape as number[], data: values };
}

/**
 * Decodes a weights blob. Truncated or damaged blobs give `E_ARTIFACT_CORRUPT`, other files
 * `E_ARTIFACT_FOREIGN`, newer formats `E_ARTIFACT_VERSION`; never a partial or wrong tensor.
 */
export function decodeWeights(blob: Uint8Array): WeightsArtifact {
  assertLittleEndian();
  if (!(blob instanceof Uint8Array) || blob.byteLength === 0) throw corrupt('the blob is empty');
  const envelope = unpack(blob, 'blob');
  if (!isRecord(envelope) || envelope['format'] !== WEIGHTS_FORMAT) {
    throw new TransplantError('E_ARTIFACT_FOREIGN', `no "${WEIGHTS_FORMAT}" header`, {
      operation: 'decodeWeights',
    });
  }
  const { formatVersion, generatedBy, digest, body } = envelope;
  if (typeof formatVersion !== 'number' || !Number.isInteger(formatVersion) || formatVersion < 1) {
    throw corrupt('the format version is missing');
  }
  if (formatVersion > WEIGHTS_FORMAT_VERSION) {
    throw new TransplantError(
      'E_ARTIFACT_VERSION',
      `format ${formatVersion}; this build reads up to ${WEIGHTS_FORMAT_VERSION}`,
      {
        operation: 'decodeWeights',
      },
    );
  }
  if (typeof generatedBy !== 'string' || typeof digest !== 'string' || !(body instanceof Uint8Array)) {
    throw corrupt('the header is incomplete');
  }
  if (sha256Digest(body) !== digest)
    throw corrupt('the tensor data does not match the digest recorded in the blob');
  const entries = unpack(body, 'tensor list');
  if (!Array.isArray(entries)) throw corrupt('the tensor list is not a list');
  const seen = new Set<string>();
  return { formatVersion, generatedBy, tensors: entries.map((e, i) => readTensor(e, i, seen)) };
}
