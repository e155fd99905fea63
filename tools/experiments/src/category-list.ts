import { isCategoryId, type CategoryId } from '@transplant/data';

/** A comma-separated category option (`bird,cat`), every name checked. */
export function categoryList(text: string): CategoryId[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((c) => {
      if (!isCategoryId(c)) throw new Error(`unknown category ${c}`);
      return c;
    });
}
