/**
 * `@transplant/data/options`: the synthetic set's category ids, for command lines that list or
 * check them before any work. Loads no image codec and no tensor library.
 */
export { CATEGORY_IDS, isCategoryId, type CategoryId } from './categories';
