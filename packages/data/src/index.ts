/**
 * @transplant/data — the synthetic part-annotated image set, tensor batches over it, the
 * CUB-200-2011 layout writer and loader, image I/O and contact sheets.
 */
export { CATEGORIES, CATEGORY_IDS, isCategoryId, type AnimalSpec, type CategoryId } from './categories';
export { PART_NAMES, partLabel, type PartName } from './parts';
export {
  TEXTURE_KINDS,
  type Annotation,
  type PartAnnotation,
  type SampleCategory,
  type TextureAnnotation,
  type TextureKind,
  type TextureRegion,
} from './annotation';
export { SampleRenderer, type RenderedSample } from './render/render-sample';
export { Rng } from './render/rng';
export {
  SPLITS,
  SPLIT_SEED_NAMES,
  SYNTHETIC_SET_VERSION,
  SyntheticSet,
  type ItemRef,
  type Split,
  type SplitCounts,
  type SyntheticSetOptions,
} from './synthetic-set';
export { objectCrop } from './object-crop';
export {
  CATEGORY_VS_REST_SEED_NAMES,
  CategoryVsRest,
  type CategoryVsRestOptions,
  type HeldOutCounts,
} from './category-vs-rest';
export { batches, disposeBatch, renderBatch, type Batch, type BatchMode, type BatchOptions } from './batches';
export {
  cropResize,
  cropWindow,
  MAX_IMAGE_PIXELS,
  decodeImage,
  encodeGreyPng,
  encodePng,
  probeImage,
  toCrop,
  type CropWindow,
  type RgbImage,
} from './image-io';
export { resizeLinear } from './resize-linear';
export { writeCub, type WriteCubOptions } from './cub/write-cub';
export {
  loadCub,
  readCubCrop,
  type CubCrop,
  type CubDataset,
  type CubImage,
  type CubPart,
} from './cub/load-cub';
export { partColour, renderContactSheet, type SheetTile } from './preview';
export { previewSyntheticSet, type PreviewOptions } from './preview-set';
export { formatInspectReport, inspectCub, type InspectReport } from './cub/inspect-cub';
export {
  CATS_AND_DOGS_SIDE,
  CATS_AND_DOGS_SPLIT,
  CatsAndDogsSplit,
  PHOTO_CLASSES,
  catsAndDogsPath,
  readCatsAndDogs,
  type CatsAndDogs,
  type PhotoClass,
  type PhotoRef,
} from './real/cats-and-dogs';
