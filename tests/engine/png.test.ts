// Report images: an RGB image encodes to a PNG that decodes to the same pixels; a wrong buffer size is refused.

import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodePngRgb } from '../../src/engine/png.js';

describe('encodePngRgb', () => {
  it('round-trips the pixels, top row first', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePngRgb(5, 3, rgb);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const image = decode(png);
    expect([image.width, image.height, image.channels, image.depth]).toEqual([5, 3, 3, 8]);
    expect([...image.data]).toEqual([...rgb]);
  });

  it('refuses a buffer that is not width × height × 3 bytes', () => {
    expect(() => encodePngRgb(2, 2, new Uint8Array(11))).toThrow(/expected 2×2×3 = 12 bytes, received 11/);
  });
});
