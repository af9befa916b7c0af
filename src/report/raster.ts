import { crc32, deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * An RGB image in one flat byte array, with the few drawing operations a chart needs and PNG output.
 * A flat buffer rather than pixel objects keeps dozens of large charts cheap to draw.
 */
export class Raster {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fillRect({ x: 0, y: 0, width, height }, background);
  }

  /** Fills whole pixels; the rectangle is clipped to the image, so callers need not check bounds. */
  fillRect(rect: Rect, color: Rgb): void {
    const x0 = Math.max(0, Math.floor(rect.x));
    const y0 = Math.max(0, Math.floor(rect.y));
    const x1 = Math.min(this.width, Math.floor(rect.x + rect.width));
    const y1 = Math.min(this.height, Math.floor(rect.y + rect.height));
    if (x1 <= x0 || y1 <= y0) return;
    for (let x = x0; x < x1; x++) this.set(x, y0, color);
    // Copying the first row is much faster than setting every pixel of a full-image background.
    const rowStart = (y0 * this.width + x0) * 3;
    const rowEnd = (y0 * this.width + x1) * 3;
    for (let y = y0 + 1; y < y1; y++) this.pixels.copyWithin((y * this.width + x0) * 3, rowStart, rowEnd);
  }

  /** Sets one pixel, silently ignoring coordinates outside the image. */
  set(x: number, y: number, color: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.pixels[i] = color[0];
    this.pixels[i + 1] = color[1];
    this.pixels[i + 2] = color[2];
  }

  /** Mixes color over pixel number `pixel` (row-major) with opacity alpha in 0..1; this is what makes strokes smooth. */
  blendPixel(pixel: number, color: Rgb, alpha: number): void {
    const pixels = this.pixels;
    const i = pixel * 3;
    for (let c = 0; c < 3; c++) {
      const under = pixels[i + c] ?? 0;
      pixels[i + c] = Math.round(under + ((color[c] ?? under) - under) * alpha);
    }
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.pixels);
  }
}

/**
 * Collects anti-aliased stroke coverage for one colour before painting it. Taking the maximum
 * coverage per pixel, instead of blending every segment as it comes, keeps the joints of a
 * many-segment line from turning darker or blotchy where segments overlap. One mask is reused for
 * every colour: painting clears only the pixels it touched, which is far cheaper than a fresh buffer.
 */
export class StrokeMask {
  private readonly coverage: Uint8Array;
  private touched: number[] = [];

  constructor(
    private readonly raster: Raster,
    private readonly clip: Rect,
  ) {
    this.coverage = new Uint8Array(raster.width * raster.height);
  }

  /** A round-capped segment of the given width, between pixel-space points. */
  segment(ax: number, ay: number, bx: number, by: number, width: number): void {
    const reach = width / 2 + 0.5;
    const reachSquared = reach * reach;
    const box = this.clipped(Math.min(ax, bx) - reach, Math.min(ay, by) - reach, Math.max(ax, bx) + reach, Math.max(ay, by) + reach);
    const dx = bx - ax;
    const dy = by - ay;
    const lengthSquared = dx * dx + dy * dy;
    const inverse = lengthSquared > 0 ? 1 / lengthSquared : 0;
    for (let y = box.y0; y <= box.y1; y++) {
      const ry = y + 0.5 - ay;
      for (let x = box.x0; x <= box.x1; x++) {
        const rx = x + 0.5 - ax;
        const t = Math.min(1, Math.max(0, (rx * dx + ry * dy) * inverse));
        const ex = rx - t * dx;
        const ey = ry - t * dy;
        const distanceSquared = ex * ex + ey * ey;
        if (distanceSquared < reachSquared) this.cover(y * this.raster.width + x, reach - Math.sqrt(distanceSquared));
      }
    }
  }

  /** A filled disc, so a lone data point between gaps is still visible. */
  dot(x: number, y: number, radius: number): void {
    this.segment(x, y, x, y, radius * 2);
  }

  /** Blends the collected strokes onto the raster in one colour and leaves the mask empty. */
  paint(color: Rgb): void {
    for (const pixel of this.touched) {
      this.raster.blendPixel(pixel, color, (this.coverage[pixel] ?? 0) / 255);
      this.coverage[pixel] = 0;
    }
    this.touched = [];
  }

  private cover(pixel: number, amount: number): void {
    const value = amount >= 1 ? 255 : Math.round(amount * 255);
    const current = this.coverage[pixel] ?? 0;
    if (value <= current) return;
    if (current === 0) this.touched.push(pixel);
    this.coverage[pixel] = value;
  }

  /** Integer pixel bounds of a box after clipping to the mask's clip rectangle and the image. */
  private clipped(x0: number, y0: number, x1: number, y1: number): { x0: number; y0: number; x1: number; y1: number } {
    const clip = this.clip;
    return {
      x0: Math.max(Math.floor(x0), Math.floor(clip.x), 0),
      y0: Math.max(Math.floor(y0), Math.floor(clip.y), 0),
      x1: Math.min(Math.ceil(x1), Math.ceil(clip.x + clip.width) - 1, this.raster.width - 1),
      y1: Math.min(Math.ceil(y1), Math.ceil(clip.y + clip.height) - 1, this.raster.height - 1),
    };
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE_RGB = 2;

/**
 * Every row uses filter type 0 (none) and deflate runs at a low level: a mostly-white chart shrinks
 * well either way, and level 3 is about three times faster than the default for a few percent more bytes.
 */
function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8);
  header.writeUInt8(COLOR_TYPE_RGB, 9);
  const stride = width * 3;
  const filtered = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) filtered.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(filtered, { level: 3 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const typeBytes = Buffer.from(type, 'latin1');
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  typeBytes.copy(out, 4);
  data.copy(out, 8);
  out.writeUInt32BE(crc32(data, crc32(typeBytes)), 8 + data.length);
  return out;
}
