/**
 * The part taxonomy of the synthetic set. Each category uses a subset; a part's label in a
 * label map is its index here plus one (0 is "no object").
 */
export const PART_NAMES = [
  'head',
  'neck',
  'torso',
  'front-legs',
  'hind-legs',
  'tail',
  'ears',
  'horns',
  'beak',
  'wings',
] as const;

export type PartName = (typeof PART_NAMES)[number];

export function partLabel(part: PartName): number {
  return PART_NAMES.indexOf(part) + 1;
}
