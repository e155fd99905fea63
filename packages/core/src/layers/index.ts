export { BatchNormalization } from './batch-normalization';
export { ReLU } from './relu';
export {
  PART_MASK_BETA_INIT,
  PART_MASK_MODES,
  PartMask,
  applyPartMask,
  maskCoordinates,
  partLocations,
  partMaskLayers,
  partMasks,
  type PartMaskArgs,
  type PartMaskMode,
  type PartMaskProbe,
} from './part-mask';
