export { assertDigest, sha256Digest, type Digest } from './digest';
export { checkFolderFile, readFolderFile, type FolderFile, type FolderFileRules } from './folder-file';
export {
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  WEIGHT_DTYPES,
  decodeWeights,
  encodeWeights,
  type NamedWeight,
  type WeightDtype,
  type WeightValues,
  type WeightsArtifact,
} from './weights-codec';
export { tensorsToWeights, weightsToTensors } from './tensors';
export { weightsLayout, type StreamedWeight, type WeightsLayout } from './weights-stream';
export {
  REPORT_FILE_NAME,
  REPORT_FORMAT,
  REPORT_FORMAT_VERSION,
  REPORT_LIMITS,
  decodeReport,
  encodeReport,
  isPng,
  isReportBundle,
  readReportBundle,
  type ReportBundle,
  type ReportFile,
} from './report-bundle';
export { scanMsgpack, type MsgpackLimits, type MsgpackProblem } from './msgpack-scan';
