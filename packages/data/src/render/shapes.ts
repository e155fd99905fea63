/**
 * The geometric primitives animals and scenes are built from. Each one can trace itself into
 * a canvas path (drawn anti-aliased by Skia) and answer point-in-shape (used to rasterise the
 * masks in plain JavaScript, exactly and deterministically, at pixel centres).
 */
export type Point = readonly [number, number];

export type Shape =
  | {
      readonly kind: 'ellipse';
      readonly cx: number;
      readonly cy: number;
      readonly rx: number;
      readonly ry: number;
      readonly angle: number;
    }
  | {
      readonly kind: 'capsule';
      readonly a: Point;
      readonly b: Point;
      readonly ra: number;
      readonly rb: number;
    }
  | { readonly kind: 'polygon'; readonly points: readonly Point[] };

export interface PathSink {
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  closePath(): void;
  ellipse(x: number, y: number, rx: number, ry: number, rotation: number, start: number, end: number): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
}

/** A similarity transform: scale, rotation, optional mirror in x (applied first), translation. */
export interface Pose {
  readonly scale: number;
  readonly angle: number;
  readonly mirror: boolean;
  readonly tx: number;
  readonly ty: number;
}

export function applyPose(p: Point, pose: Pose): Point {
  const x0 = pose.mirror ? -p[0] : p[0];
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  return [pose.tx + pose.scale * (cos * x0 - sin * p[1]), pose.ty + pose.scale * (sin * x0 + cos * p[1])];
}

export function transformShape(s: Shape, pose: Pose): Shape {
  switch (s.kind) {
    case 'ellipse': {
      const [cx, cy] = applyPose([s.cx, s.cy], pose);
      const angle = (pose.mirror ? -s.angle : s.angle) + pose.angle;
      return { kind: 'ellipse', cx, cy, rx: s.rx * pose.scale, ry: s.ry * pose.scale, angle };
    }
    case 'capsule':
      return {
        kind: 'capsule',
        a: applyPose(s.a, pose),
        b: applyPose(s.b, pose),
        ra: s.ra * pose.scale,
        rb: s.rb * pose.scale,
      };
    case 'polygon':
      return { kind: 'polygon', points: s.points.map((p) => applyPose(p, pose)) };
    default: {
      const unreachable: never = s;
      return unreachable;
    }
  }
}

/** The quadrilateral joining a capsule's two end circles along their outer tangents. */
function capsuleHull(s: Extract<Shape, { kind: 'capsule' }>): Point[] {
  const dx = s.b[0] - s.a[0];
  const dy = s.b[1] - s.a[1];
  const len = Math.hypot(dx, dy) || 1e-9;
  const nx = -dy / len;
  const ny = dx / len;
  return [
    [s.a[0] + nx * s.ra, s.a[1] + ny * s.ra],
    [s.b[0] + nx * s.rb, s.b[1] + ny * s.rb],
    [s.b[0] - nx * s.rb, s.b[1] - ny * s.rb],
    [s.a[0] - nx * s.ra, s.a[1] - ny * s.ra],
  ];
}

function tracePolygon(points: readonly Point[], sink: PathSink): void {
  const [first, ...rest] = points;
  if (!first) return;
  sink.moveTo(first[0], first[1]);
  for (const p of rest) sink.lineTo(p[0], p[1]);
  sink.closePath();
}

/** Adds the shape as closed sub-paths (fill with the non-zero rule: the union). */
export function traceShape(s: Shape, sink: PathSink): void {
  switch (s.kind) {
    case 'ellipse':
      sink.moveTo(s.cx + s.rx * Math.cos(s.angle), s.cy + s.rx * Math.sin(s.angle));
      sink.ellipse(s.cx, s.cy, s.rx, s.ry, s.angle, 0, Math.PI * 2);
      sink.closePath();
      break;
    case 'capsule':
      for (const [c, r] of [
        [s.a, s.ra],
        [s.b, s.rb],
      ] as const) {
        sink.moveTo(c[0] + r, c[1]);
        sink.arc(c[0], c[1], r, 0, Math.PI * 2);
        sink.closePath();
      }
      tracePolygon(orient(capsuleHull(s)), sink);
      break;
    case 'polygon':
      tracePolygon(orient(s.points), sink);
      break;
    default: {
      const unreachable: never = s;
      return unreachable;
    }
  }
}

/** Counter-clockwise in canvas coordinates, like arcs, so non-zero filling makes a union. */
function orient(points: readonly Point[]): Point[] {
  let area = 0;
  points.forEach((p, i) => {
    const q = points[(i + 1) % points.length]!;
    area += p[0] * q[1] - q[0] * p[1];
  });
  return area > 0 ? [...points] : [...points].reverse();
}

function inPolygon(x: number, y: number, points: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function containsPoint(s: Shape, x: number, y: number): boolean {
  return compileContains(s)(x, y);
}

export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export function shapeBounds(s: Shape): Box {
  switch (s.kind) {
    case 'ellipse': {
      const r = Math.max(s.rx, s.ry);
      return { x0: s.cx - r, y0: s.cy - r, x1: s.cx + r, y1: s.cy + r };
    }
    case 'capsule':
      return {
        x0: Math.min(s.a[0] - s.ra, s.b[0] - s.rb),
        y0: Math.min(s.a[1] - s.ra, s.b[1] - s.rb),
        x1: Math.max(s.a[0] + s.ra, s.b[0] + s.rb),
        y1: Math.max(s.a[1] + s.ra, s.b[1] + s.rb),
      };
    case 'polygon':
      return {
        x0: Math.min(...s.points.map((p) => p[0])),
        y0: Math.min(...s.points.map((p) => p[1])),
        x1: Math.max(...s.points.map((p) => p[0])),
        y1: Math.max(...s.points.map((p) => p[1])),
      };
    default: {
      const unreachable: never = s;
      return unreachable;
    }
  }
}

/** A point-in-shape test with the shape's constants hoisted out of the per-pixel loop. */
function compileContains(s: Shape): (x: number, y: number) => boolean {
  switch (s.kind) {
    case 'ellipse': {
      const cos = Math.cos(s.angle) / s.rx;
      const sin = Math.sin(s.angle) / s.rx;
      const cos2 = Math.cos(s.angle) / s.ry;
      const sin2 = Math.sin(s.angle) / s.ry;
      return (x, y) => {
        const dx = x - s.cx;
        const dy = y - s.cy;
        const u = cos * dx + sin * dy;
        const v = -sin2 * dx + cos2 * dy;
        return u * u + v * v <= 1;
      };
    }
    case 'capsule': {
      const hull = capsuleHull(s);
      const [ra2, rb2] = [s.ra * s.ra, s.rb * s.rb];
      return (x, y) =>
        (x - s.a[0]) ** 2 + (y - s.a[1]) ** 2 <= ra2 ||
        (x - s.b[0]) ** 2 + (y - s.b[1]) ** 2 <= rb2 ||
        inPolygon(x, y, hull);
    }
    case 'polygon':
      return (x, y) => inPolygon(x, y, s.points);
    default: {
      const unreachable: never = s;
      return unreachable;
    }
  }
}

/**
 * Writes `value` into `target` (a width×height label map) at every pixel whose centre lies in
 * any of the shapes; returns how many pixels it wrote.
 */
export function rasterize(
  shapes: readonly Shape[],
  target: Uint8Array,
  width: number,
  height: number,
  value: number,
): number {
  let written = 0;
  for (const s of shapes) {
    const b = shapeBounds(s);
    const x0 = Math.max(0, Math.floor(b.x0));
    const y0 = Math.max(0, Math.floor(b.y0));
    const x1 = Math.min(width - 1, Math.ceil(b.x1));
    const y1 = Math.min(height - 1, Math.ceil(b.y1));
    const contains = compileContains(s);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (contains(x + 0.5, y + 0.5)) {
          target[y * width + x] = value;
          written++;
        }
      }
    }
  }
  return written;
}

/** Whether any shape reaches outside a width×height image. */
export function leavesImage(shapes: readonly Shape[], width: number, height: number): boolean {
  return shapes.some((s) => {
    const b = shapeBounds(s);
    return b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height;
  });
}
