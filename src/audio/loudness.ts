// Output levels of converted and resynthesised speech: match the source's loudness, never clip.
// Speech loudness is measured as RMS over frames that are not silence, so pauses don't skew it.

/** RMS (linear) over 20 ms frames whose energy is within 40 dB of the loudest frame; 0 for silence. */
export function activeRms(samples: Float32Array, sampleRateHz: number): number {
  const frameSamples = Math.max(1, Math.round(sampleRateHz * 0.02));
  const frameEnergies: number[] = [];
  for (let start = 0; start < samples.length; start += frameSamples) {
    const end = Math.min(samples.length, start + frameSamples);
    let sum = 0;
    for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
    frameEnergies.push(sum / (end - start));
  }
  const loudest = Math.max(0, ...frameEnergies);
  if (loudest === 0) return 0;
  const threshold = loudest * 1e-4; // −40 dB
  let total = 0;
  let count = 0;
  for (const energy of frameEnergies) {
    if (energy >= threshold) {
      total += energy;
      count++;
    }
  }
  return Math.sqrt(total / count);
}

/**
 * Scales `samples` so its active RMS equals the reference's, then, if the peak would exceed
 * `ceilingDb` (default −1 dBFS), scales down so it does not. Returns a new array.
 */
export function matchLoudness(
  samples: Float32Array,
  referenceSamples: Float32Array,
  sampleRateHz: number,
  ceilingDb = -1,
): Float32Array {
  const output = new Float32Array(samples.length);
  const current = activeRms(samples, sampleRateHz);
  const target = activeRms(referenceSamples, sampleRateHz);
  let gain = current > 0 && target > 0 ? target / current : 1;
  let peak = 0;
  for (const value of samples) peak = Math.max(peak, Math.abs(value));
  const ceiling = 10 ** (ceilingDb / 20);
  if (peak * gain > ceiling && peak > 0) gain = ceiling / peak;
  for (let i = 0; i < samples.length; i++) output[i] = samples[i]! * gain;
  return output;
}
