import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TransplantError } from '@transplant/core';
import { CATEGORY_IDS, isCategoryId } from './categories';
import { PART_NAMES, partLabel } from './parts';
import { renderContactSheet, type SheetTile } from './preview';
import { SPLITS, SyntheticSet, type Split } from './synthetic-set';

export interface PreviewOptions {
  readonly category: string;
  readonly n: number;
  readonly size: number;
  readonly seed: string;
  readonly split: string;
  readonly out?: string | undefined;
}

function invalid(detail: string): TransplantError {
  return new TransplantError('E_INVALID_ARGUMENT', detail, { operation: 'data preview' });
}

/** Renders n images of a category (or `background`) with masks and part centres into one PNG. */
export async function previewSyntheticSet(
  options: PreviewOptions,
): Promise<{ path: string; images: number }> {
  const { category } = options;
  if (category !== 'background' && !isCategoryId(category)) {
    throw invalid(`unknown category "${category}"; use one of ${[...CATEGORY_IDS, 'background'].join(', ')}`);
  }
  if (!SPLITS.includes(options.split as Split))
    throw invalid(`unknown split "${options.split}"; use ${SPLITS.join(', ')}`);
  if (!Number.isInteger(options.n) || options.n < 1 || options.n > 1024)
    throw invalid('--n takes an integer in 1…1024');
  const categories = category === 'background' ? undefined : [category];
  const counts = { train: 0, dev: 0, test: 0, [options.split]: options.n };
  const set = new SyntheticSet({
    seed: options.seed,
    size: options.size,
    ...(categories
      ? { categories, perCategory: counts, negatives: { train: 0, dev: 0, test: 0 } }
      : { categories: [], perCategory: counts, negatives: counts }),
  });
  const tiles: SheetTile[] = set.items(options.split as Split).map((ref) => {
    const s = set.render(ref);
    const points = PART_NAMES.flatMap((name) => {
      const c = s.annotation.parts[name]?.centre;
      return c ? [{ label: partLabel(name), x: c[0], y: c[1] }] : [];
    });
    return {
      ...s,
      points,
      caption: `#${ref.index}${s.annotation.occluded ? ' occl' : ''}${s.annotation.truncated ? ' trunc' : ''}`,
    };
  });
  const path = resolve(options.out ?? `data-preview-${category}.png`);
  await writeFile(
    path,
    renderContactSheet(tiles, {
      columns: Math.ceil(Math.sqrt(tiles.length)),
      zoom: Math.max(1, Math.round(192 / options.size)),
    }),
  );
  return { path, images: tiles.length };
}
