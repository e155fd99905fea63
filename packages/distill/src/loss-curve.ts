import { createCanvas } from '@napi-rs/canvas';

/** A PNG of one or more loss curves (log scale, one colour each, a legend), for reports. */
export function lossCurvePng(
  series: readonly { label: string; values: readonly number[] }[],
  title: string,
): Buffer {
  const width = 720;
  const height = 360;
  const pad = { left: 64, right: 16, top: 32, bottom: 40 };
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => s.values).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.log10(Math.min(...all, 1));
  const hi = Math.log10(Math.max(...all, 1e-3));
  const span = Math.max(hi - lo, 1e-6);
  const steps = Math.max(...series.map((s) => s.values.length), 2);
  const x = (i: number) => pad.left + ((width - pad.left - pad.right) * i) / (steps - 1);
  const y = (v: number) =>
    pad.top + ((height - pad.top - pad.bottom) * (hi - Math.log10(Math.max(v, 10 ** lo)))) / span;
  ctx.strokeStyle = '#888';
  ctx.strokeRect(pad.left, pad.top, width - pad.left - pad.right, height - pad.top - pad.bottom);
  ctx.fillStyle = '#000';
  ctx.font = '14px sans-serif';
  ctx.fillText(title, pad.left, 20);
  ctx.font = '11px sans-serif';
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ctx.fillText(`1e${e}`, 8, y(10 ** e) + 4);
  ctx.fillText('step', width / 2, height - 10);
  ctx.fillText(String(steps), width - pad.right - 24, height - 24);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  series.forEach((s, k) => {
    ctx.strokeStyle = colours[k % colours.length]!;
    ctx.beginPath();
    s.values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(s.label, width - pad.right - 160, pad.top + 16 + 14 * k);
  });
  return canvas.toBuffer('image/png');
}
