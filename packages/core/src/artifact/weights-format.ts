/** The weights format's name, version and element types (weights-codec.ts describes the layout). */
export const WEIGHTS_FORMAT = 'transplant.weights';
export const WEIGHTS_FORMAT_VERSION = 1;

export const WEIGHT_DTYPES = {
  float32: { bytes: 4, array: Float32Array },
  int32: { bytes: 4, array: Int32Array },
  bool: { bytes: 1, array: Uint8Array },
} as const;
export type WeightDtype = keyof typeof WEIGHT_DTYPES;

/** Elements of a shape; undefined when a dimension is not a non-negative safe integer or the product overflows. */
export function elementCount(shape: readonly unknown[]): number | undefined {
  let n = 1;
  for (const size of shape) {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
    n *= size;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}
