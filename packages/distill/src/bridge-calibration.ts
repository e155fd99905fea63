import * as tf from '@tensorflow/tfjs';
import type { ModuleInstance } from '@transplant/composer';
import type { CategoryVsRest } from '@transplant/data';
import {
  fitCalibration,
  fitLabelFreeCalibration,
  maskCoverage,
  presenceScore,
  type BridgeCalibration,
} from './teacher';
import type { CalibrationMode } from './training-defaults';

/** How many images a bridge calibration sees (either mode): the former 100 + 100. */
export const CALIBRATION_IMAGES = 200;
/** The chance that a drawn image shows the category: the training stream's even category-vs-rest mixture. */
export const CALIBRATION_MIXTURE = 0.5;
const CHUNK = 50;

/** The teacher's segmentation head on the frozen category module: what the bridge is built from. */
export interface BridgeTeacher {
  readonly category: ModuleInstance;
  readonly head: ModuleInstance;
}

/** The presence scores and mask coverages of a batch of images under the teacher. */
function teacherStatistics(
  teacher: BridgeTeacher,
  images: tf.Tensor4D,
): { scores: number[]; coverage: number[] } {
  return tf.tidy(() => {
    const mask = teacher.head.model.predict(teacher.category.model.predict(images) as tf.Tensor) as tf.Tensor;
    return {
      scores: Array.from(presenceScore(mask).dataSync()),
      coverage: Array.from(maskCoverage(mask).dataSync()),
    };
  });
}

/**
 * The label-free calibration (docs/calibration.md): `CALIBRATION_IMAGES` fresh images drawn from
 * the recipe's training mixture (category vs. rest, `CALIBRATION_MIXTURE`), of which only the
 * pixels are taken: the batch's labels, masks and annotations are never read (the draw is
 * wrapped in a tidy that frees them untouched), so the fit sees nothing but the teacher's own
 * presence scores and mask coverages. The draw uses training-batch numbers no transplant trains
 * on and is disjoint from the dev and test splits the link is evaluated on.
 */
export function labelFreeCalibration(
  teacher: BridgeTeacher,
  data: Pick<CategoryVsRest, 'trainBatch'>,
): BridgeCalibration {
  const scores: number[] = [];
  const coverage: number[] = [];
  for (let step = 0; step * CHUNK < CALIBRATION_IMAGES; step++) {
    const size = Math.min(CHUNK, CALIBRATION_IMAGES - step * CHUNK);
    const images = tf.tidy(() => data.trainBatch(step, size, CALIBRATION_MIXTURE).images);
    const s = teacherStatistics(teacher, images);
    images.dispose();
    scores.push(...s.scores);
    coverage.push(...s.coverage);
  }
  const fit = fitLabelFreeCalibration(scores, coverage);
  return { ...fit, mode: 'label-free', images: scores.length, annotated: 0 };
}

/**
 * The labelled calibration (the former default, kept to compare): 100 images of the category and
 * 100 negatives of the dev split with their class labels. All 200 count as annotated images.
 */
export function labelledCalibration(teacher: BridgeTeacher, data: CategoryVsRest): BridgeCalibration {
  const half = CALIBRATION_IMAGES / 2;
  const refs = data.heldOut('dev', { positives: half, negatives: half });
  const { images, targets } = data.imagesAndTargets(refs, 'cls');
  const { scores } = teacherStatistics(teacher, images);
  const labels = Array.from(targets.dataSync());
  tf.dispose([images, targets]);
  return {
    ...fitCalibration(scores, labels),
    mode: 'labelled',
    images: labels.length,
    annotated: labels.length,
    present: labels.filter((l) => l === 1).length,
  };
}

/** The seg → cls bridge's calibration in the given mode. */
export function calibrateBridge(
  teacher: BridgeTeacher,
  data: CategoryVsRest,
  mode: CalibrationMode,
): BridgeCalibration {
  return mode === 'labelled' ? labelledCalibration(teacher, data) : labelFreeCalibration(teacher, data);
}

/**
 * The annotated images a run used: OL's samples (their labels or masks drive the loss; BD and
 * KD read only their pixels) plus the calibration's labelled images. The negatives, whose
 * absence of the category is known by construction, are counted apart (`NEGATIVES`).
 */
export function annotatedImages(
  method: 'bd' | 'kd' | 'ol',
  samples: number,
  calibration: Pick<BridgeCalibration, 'annotated'> | undefined,
): number {
  return (method === 'ol' ? samples : 0) + (calibration?.annotated ?? 0);
}

/**
 * The count of a run's images in words, for cards, reports and the CLI: the annotated images
 * with where they came from, then the negatives known by construction.
 */
export function annotationLine(
  method: 'bd' | 'kd' | 'ol',
  samples: number,
  calibration: BridgeCalibration | undefined,
  negatives: number,
): string {
  const parts = [
    method === 'ol' ? `${samples} annotated samples` : `${samples} unlabelled target images`,
    ...(calibration
      ? [
          calibration.mode === 'labelled'
            ? `${calibration.annotated} labelled calibration images`
            : `a label-free calibration on ${calibration.images} unlabelled images`,
        ]
      : []),
  ];
  return `${annotatedImages(method, samples, calibration)} annotated images (${parts.join(', ')}); ${negatives} negatives known by construction`;
}
