// Scaling a log-mel's frequency axis: peaks move by the ratio, the top edge is floored or continued, bad ratios refused.

import { describe, expect, it } from 'vitest';
import { MEL_CONFIG } from '../../src/audio/melConfig.js';
import { melBinCentresHz, scaleLogMelFrequency } from '../../src/audio/melFrequencyScale.js';

const centres = melBinCentresHz();
const floor = Math.log(MEL_CONFIG.logFloor);

/** One frame, −10 everywhere but 0 in the bin nearest `hz`. */
function peakAt(hz: number): { frames: number; mels: number; data: Float32Array } {
  const data = new Float32Array(80).fill(-10);
  data[centres.findIndex((c) => c >= hz)] = 0;
  return { frames: 1, mels: 80, data };
}

describe('scaleLogMelFrequency', () => {
  it('moves a spectral peak by the ratio, up or down, and copies at ratio 1', () => {
    const input = peakAt(1000);
    const from = centres[input.data.indexOf(0)]!;
    for (const ratio of [0.8, 1.25, 2]) {
      const out = scaleLogMelFrequency(input, ratio).data;
      const to = centres[out.indexOf(Math.max(...out))]!;
      expect(to / from).toBeGreaterThan(ratio * 0.93);
      expect(to / from).toBeLessThan(ratio * 1.07);
    }
    const same = scaleLogMelFrequency(input, 1);
    expect(Array.from(same.data)).toEqual(Array.from(input.data));
    expect(same.data).not.toBe(input.data);
  });

  it('gives the bins read from above the top the log floor, or with beyondTop "edge" the top bin (an envelope continues)', () => {
    const data = Float32Array.from({ length: 80 }, (_, m) => -1 - m / 40);
    const input = { frames: 2, mels: 80, data: Float32Array.from([...data, ...data]) };
    const floored = scaleLogMelFrequency(input, 0.8).data;
    const edged = scaleLogMelFrequency(input, 0.8, { beyondTop: 'edge' }).data;
    expect(floored[79]).toBeCloseTo(floor, 6);
    expect(floored[159]).toBeCloseTo(floor, 6);
    expect(edged[79]).toBeCloseTo(data[79]!, 6);
    expect(Array.from(edged.subarray(0, 40))).toEqual(Array.from(floored.subarray(0, 40)));
  });

  it('refuses a ratio that is not a positive number and a log-mel of another size', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => scaleLogMelFrequency(peakAt(500), bad)).toThrow(/positive number/);
    expect(() => scaleLogMelFrequency({ frames: 1, mels: 40, data: new Float32Array(40) }, 1.1)).toThrow(/40 mel bins, expected 80/);
  });
});
