import { describe, expect, it } from 'vitest';
import { melBinCentresHz } from '../../src/audio/melFrequencyScale.js';
import { shiftLogMelPitch } from '../../src/engine/melShift.js';
import { crc32 } from '../../src/io/crc32.js';
import { readZip, zipStore } from '../../src/engine/zip.js';

describe('zip and pitch-shift helpers', () => {
  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips stored entries and refuses unsafe names', () => {
    const zip = zipStore([{ name: 'a.wav', bytes: new Uint8Array([1, 2, 3]) }, { name: 'dir/b.json', bytes: new TextEncoder().encode('{}') }]);
    const entries = readZip(zip);
    expect([...entries.keys()]).toEqual(['a.wav', 'dir/b.json']);
    expect([...entries.get('a.wav')!]).toEqual([1, 2, 3]);
    expect(() => zipStore([{ name: '../evil', bytes: new Uint8Array() }])).toThrow(/safe relative path/);
    expect(() => zipStore([{ name: 'x', bytes: new Uint8Array() }, { name: 'x', bytes: new Uint8Array() }])).toThrow(/twice/);
    expect(() => readZip(new Uint8Array([1, 2, 3, 4]))).toThrow(/not a readable zip archive/);
  });

  it('stores entries uncompressed (audio barely compresses; exports stay fast)', () => {
    const bytes = new Uint8Array(10_000); // zeros: any compression would shrink them to a few bytes
    const zip = zipStore([{ name: 'silence.wav', bytes }]);
    expect(zip.length).toBeGreaterThan(bytes.length);
    expect(new DataView(zip.buffer, zip.byteOffset).getUint16(8, true)).toBe(0); // method 0: stored
  });

  it('shifts log-mel energy up an octave and leaves 0 semitones unchanged', () => {
    const centres = melBinCentresHz();
    const peakBin = centres.findIndex((hz) => hz >= 500);
    const data = new Float32Array(80).fill(-10);
    data[peakBin] = 0;
    const logMel = { frames: 1, mels: 80, data };
    expect([...shiftLogMelPitch(logMel, 0).data]).toEqual([...data]);
    const up = shiftLogMelPitch(logMel, 12).data;
    const newPeak = up.indexOf(Math.max(...up));
    expect(centres[newPeak]! / centres[peakBin]!).toBeGreaterThan(1.8);
    expect(centres[newPeak]! / centres[peakBin]!).toBeLessThan(2.2);
    expect(() => shiftLogMelPitch(logMel, 13)).toThrow(/pitchShiftSemitones/);
  });
});
