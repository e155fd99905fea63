import sharp from 'sharp';
import { TransplantError } from '@transplant/core';

/** An 8-bit RGB image, row-major. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** A crop window in pixels: left, top, width, height (integers inside the image). */
export interface CropWindow {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A single-channel PNG (masks: 0 or 255). */
export function encodeGreyPng(values: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(values, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/**
 * The most pixels an image may declare (8192 × 8192, 192 MiB as RGB): a larger one is refused
 * from its header, before anything is decoded, so that a small file declaring 30000 × 30000
 * pixels cannot take gigabytes of memory.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

function unreadable(name: string, cause: unknown): TransplantError {
  if (cause instanceof TransplantError) return cause;
  return new TransplantError(
    'E_IMAGE_UNREADABLE',
    `${name}: ${cause instanceof Error ? cause.message : String(cause)}`,
    { module: name, operation: 'decodeImage', cause },
  );
}

/**
 * Reads only an image's header: its size, if it is an image sharp reads and declares at most
 * {@link MAX_IMAGE_PIXELS} pixels; E_IMAGE_UNREADABLE otherwise. Nothing is decoded.
 */
export async function probeImage(
  source: string | Buffer,
  name = typeof source === 'string' ? source : 'image',
): Promise<{ readonly width: number; readonly height: number }> {
  let size: { width?: number; height?: number };
  try {
    size = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw unreadable(name, cause);
  }
  const { width, height } = size;
  if (width === undefined || height === undefined || width * height > MAX_IMAGE_PIXELS)
    throw new TransplantError(
      'E_IMAGE_UNREADABLE',
      `${name}: ${width ?? '?'} × ${height ?? '?'} pixels declared; at most 8192 × 8192 are decoded, scale the image down first`,
      { module: name, operation: 'decodeImage' },
    );
  return { width, height };
}

/**
 * Decodes JPEG, PNG (or anything sharp reads) from a path or bytes into RGB, after
 * {@link probeImage}: turned upright by its EXIF orientation (a phone's photo as it is seen),
 * converted to sRGB by its embedded colour profile, alpha dropped — as a browser shows the
 * image, so that the hub's run page, which lets the browser decode, gets the same pixels.
 */
export async function decodeImage(
  source: string | Buffer,
  name = typeof source === 'string' ? source : 'image',
): Promise<RgbImage> {
  // The header first: its declared size decides whether the pixels are decoded at all.
  await probeImage(source, name);
  try {
    const { data, info } = await sharp(source)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion`);
    return {
      width: info.width,
      height: info.height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (cause) {
    throw unreadable(name, cause);
  }
}

/**
 * The integer window that covers a box [x, y, w, h] (clamped to the image), as the papers crop
 * the ground-truth object box before resizing.
 */
export function cropWindow(
  box: readonly [number, number, number, number],
  width: number,
  height: number,
): CropWindow {
  const left = Math.max(0, Math.min(width - 1, Math.floor(box[0])));
  const top = Math.max(0, Math.min(height - 1, Math.floor(box[1])));
  const right = Math.max(left + 1, Math.min(width, Math.ceil(box[0] + box[2])));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(box[1] + box[3])));
  return { left, top, width: right - left, height: bottom - top };
}

/** Crops a window and resizes it anisotropically (bilinear) to size × size. */
export async function cropResize(image: RgbImage, window: CropWindow, size: number): Promise<RgbImage> {
  const data = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(window)
    .resize(size, size, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { width: size, height: size, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A point in image pixels mapped into the resized crop's pixels. */
export function toCrop(point: readonly [number, number], window: CropWindow, size: number): [number, number] {
  return [((point[0] - window.left) / window.width) * size, ((point[1] - window.top) / window.height) * size];
}
