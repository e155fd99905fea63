/** docs/methods.md §9.1: the papers' average error (%) over cat, cow, dog, horse, sheep, per adapter and sample count. */
export const PAPER_AVERAGE: Record<'1' | '3', Record<'ol' | 'bd', Record<number, number | undefined>>> = {
  '1': {
    ol: { 100: 9.79, 50: 14.84, 20: 25.98, 10: 38.76 },
    bd: { 100: 1.65, 50: 1.65, 20: 1.55, 10: 1.65, 0: 1.75 },
  },
  '3': {
    ol: { 100: 8.66, 50: 11.96, 20: 25.15, 10: 33.92 },
    bd: { 100: 2.37, 50: 3.4, 20: 5.77, 10: 11.65, 0: 49.9 },
  },
};
