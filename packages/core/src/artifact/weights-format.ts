/** The weights format's name, version and element types (weights-codec.ts describes the layout). */
export const WEIGHTS_FORMAT = 'transplant.weights';
export const WEIGHTS_FORMAT_VERSION = 1;

export const WEIGHT_DTYPES = {
  float32: { bytes: 4, array: Float32Array },
  int32: { bytes: 4, array: Int32Array },
  bool: { bytes: 1, array: Uint8Array },
} as const;
export type WeightDtype = keyof typeof WEIGHT_DTYPES;
