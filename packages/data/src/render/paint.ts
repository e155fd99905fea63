import type { SKRSContext2D } from '@napi-rs/canvas';
import type { Rgb, Texture } from '../categories/animal';
import type { Rng } from './rng';
import { shapeBounds, traceShape, type Shape } from './shapes';

export type Ctx = SKRSContext2D;

export function css(c: Rgb, alpha = 1): string {
  return `rgba(${Math.round(c[0])},${Math.round(c[1])},${Math.round(c[2])},${alpha})`;
}

export function pathOf(ctx: Ctx, shapes: readonly Shape[]): void {
  ctx.beginPath();
  for (const s of shapes) traceShape(s, ctx);
}

function unionBounds(shapes: readonly Shape[]) {
  const b = shapes.map(shapeBounds);
  return {
    x0: Math.min(...b.map((v) => v.x0)),
    y0: Math.min(...b.map((v) => v.y0)),
    x1: Math.max(...b.map((v) => v.x1)),
    y1: Math.max(...b.map((v) => v.y1)),
  };
}

/**
 * Fills shapes with a colour and a texture clipped to them; `unit` = pixels per body unit.
 * Returns the texture's marks as shapes (each stripe's stroke as a polygon, each spot as an
 * ellipse), exactly the geometry drawn, for the texture masks; none for a plain fill.
 */
export function paintShapes(
  ctx: Ctx,
  rng: Rng,
  paint: {
    readonly shapes: readonly Shape[];
    readonly colour: Rgb;
    readonly texture: Texture;
    readonly unit: number;
  },
): Shape[] {
  const { shapes, colour, texture, unit } = paint;
  pathOf(ctx, shapes);
  ctx.fillStyle = css(colour);
  ctx.fill();
  const marks: Shape[] = [];
  if (texture.kind !== 'plain') {
    ctx.save();
    ctx.clip();
    const b = unionBounds(shapes);
    ctx.fillStyle = css(texture.colour);
    ctx.strokeStyle = css(texture.colour);
    if (texture.kind === 'stripes') {
      const width = Math.max(0.8, texture.width * unit);
      ctx.lineWidth = width;
      const step = Math.max(1.5, texture.spacing * unit);
      const dx = Math.cos(texture.angle);
      const dy = Math.sin(texture.angle);
      const reach = Math.hypot(b.x1 - b.x0, b.y1 - b.y0);
      const cx = (b.x0 + b.x1) / 2;
      const cy = (b.y0 + b.y1) / 2;
      // A stroke with butt caps covers the rectangle around its segment, half the width each side.
      const [nx, ny] = [(-dy * width) / 2, (dx * width) / 2];
      ctx.beginPath();
      for (let o = -reach; o <= reach; o += step) {
        const ox = cx - dy * o;
        const oy = cy + dx * o;
        const a = [ox - dx * reach, oy - dy * reach] as const;
        const z = [ox + dx * reach, oy + dy * reach] as const;
        ctx.moveTo(a[0], a[1]);
        ctx.lineTo(z[0], z[1]);
        marks.push({
          kind: 'polygon',
          points: [
            [a[0] + nx, a[1] + ny],
            [z[0] + nx, z[1] + ny],
            [z[0] - nx, z[1] - ny],
            [a[0] - nx, a[1] - ny],
          ],
        });
      }
      ctx.stroke();
    } else {
      const r = Math.max(0.8, texture.radius * unit);
      const count = Math.round((texture.density * (b.x1 - b.x0) * (b.y1 - b.y0)) / (Math.PI * r * r));
      ctx.beginPath();
      for (let i = 0; i < Math.min(count, 40); i++) {
        const x = rng.uniform(b.x0, b.x1);
        const y = rng.uniform(b.y0, b.y1);
        const rr = r * rng.uniform(0.6, 1.3);
        // The draws in the order the drawing has always made them (the images stay the same).
        const ry = rr * rng.uniform(0.6, 1);
        const angle = rng.uniform(0, Math.PI);
        ctx.moveTo(x + rr, y);
        ctx.ellipse(x, y, rr, ry, angle, 0, Math.PI * 2);
        marks.push({ kind: 'ellipse', cx: x, cy: y, rx: rr, ry, angle });
      }
      ctx.fill();
    }
    ctx.restore();
  }
  return marks;
}
