/**
 * The E-step's smoothing tables: for one search radius R, the candidate offsets (a G × G grid
 * of bin centres over [−R, R]) and, per candidate, the Gaussian weights of the window's cells.
 * Built once per radius and layer (`LayerEStep`), so the E-step only multiplies and adds.
 */
export interface SearchWindow {
  readonly radius: number;
  /** Offsets of the grid per axis (bin centres over [−R, R]). */
  readonly grid: Float64Array;
  readonly spacing: number;
  /** weights[j·cells + d]: smoothing weight of window cell d for candidate j (j = jy·G + jx). */
  readonly weights: Float64Array;
  /** 2R + 1 cells per axis. */
  readonly side: number;
}

/** The window of radius `radius` cells with `g` candidates per axis, smoothing std `mapDelta` cells. */
export function searchWindow(radius: number, g: number, mapDelta: number): SearchWindow {
  const spacing = (2 * radius) / g;
  const grid = Float64Array.from({ length: g }, (_, j) => -radius + spacing * (j + 0.5));
  const side = 2 * radius + 1;
  const weights = new Float64Array(g * g * side * side);
  const norm = 1 / (Math.sqrt(2 * Math.PI) * mapDelta);
  const far = 3 * mapDelta;
  for (let jy = 0; jy < g; jy++) {
    for (let jx = 0; jx < g; jx++) {
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          const r = Math.min(Math.hypot(dy - grid[jy]!, dx - grid[jx]!), far);
          weights[(jy * g + jx) * side * side + (dy + radius) * side + (dx + radius)] =
            norm * Math.exp(-(r * r) / (2 * mapDelta * mapDelta));
        }
      }
    }
  }
  return { radius, grid, spacing, weights, side };
}
