// PNG images for reports (spectrograms of log-mels), encoded by `fast-png`.

import { encode } from 'fast-png';

/** Encodes `rgb` ([height × width × 3] bytes, row-major, top row first) as a PNG file. */
export function encodePngRgb(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgb.length !== width * height * 3) {
    throw new RangeError(`encodePngRgb: expected ${width}×${height}×3 = ${width * height * 3} bytes, received ${rgb.length}`);
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}
