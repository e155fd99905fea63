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

/** Fills shapes with a colour, an outline and a texture clipped to them; `unit` = pixels per body unit. */
export function paintShapes(
  ctx: Ctx,
  rng: Rng,
  paint: {
    readonly shapes: readonly Shape[];
    readonly colour: Rgb;
    readonly texture: Texture;
    readonly unit: number;
  },
): void {
  const { shapes, colour, texture, unit } = paint;
  pathOf(ctx, shapes);
  ctx.fillStyle = css(colour);
  ctx.fill();
  if (texture.kind !== 'plain') {
    ctx.save();
    ctx.clip();
    const b = unionBounds(shapes);
    ctx.fillStyle = css(texture.colour);
    ctx.strokeStyle = css(texture.colour);
    if (texture.kind === 'stripes') {
      ctx.lineWidth = Math.max(0.8, texture.width * unit);
      const step = Math.max(1.5, texture.spacing * unit);
      const dx = Math.cos(texture.angle);
      const dy = Math.sin(texture.angle);
      const reach = Math.hypot(b.x1 - b.x0, b.y1 - b.y0);
      const cx = (b.x0 + b.x1) / 2;
      const cy = (b.y0 + b.y1) / 2;
      ctx.beginPath();
      for (let o = -reach; o <= reach; o += step) {
        const ox = cx - dy * o;
        const oy = cy + dx * o;
        ctx.moveTo(ox - dx * reach, oy - dy * reach);
        ctx.lineTo(ox + dx * reach, oy + dy * reach);
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
        ctx.moveTo(x + rr, y);
        ctx.ellipse(x, y, rr, rr * rng.uniform(0.6, 1), rng.uniform(0, Math.PI), 0, Math.PI * 2);
      }
      ctx.fill();
    }
    ctx.restore();
  }
}
