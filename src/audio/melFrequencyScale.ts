// Scaling of a log-mel's frequency axis: the output bin at frequency f takes the input's value at f / ratio (linear
// interpolation between mel bins). Shared by the pitch shift of converted voices (harmonics and formants move together)
// and the VAE's vocal-tract length normalisation of its source.

import { hzToMelSlaney, melToHzSlaney, type LogMel } from './mel.js';
import { MEL_CONFIG, type MelConfig } from './melConfig.js';
import { InvalidArgumentError } from './errors.js';

/** Centre frequency of each mel bin, Hz (the Slaney filterbank's centres). */
export function melBinCentresHz(config: MelConfig = MEL_CONFIG): Float64Array {
  const low = hzToMelSlaney(config.fMinHz);
  const high = hzToMelSlaney(config.fMaxHz);
  const step = (high - low) / (config.melBins + 1);
  const out = new Float64Array(config.melBins);
  for (let m = 0; m < config.melBins; m++) out[m] = melToHzSlaney(low + step * (m + 1));
  return out;
}

/**
 * A new log-mel [frames × mels] whose frequency axis is scaled by `ratio` (> 1 moves content up). Output bins that
 * would read above the top bin get the log floor (`beyondTop` 'floor', default: nothing is there) or the top bin's value
 * ('edge': a spectral envelope continues); below the lowest bin the lowest bin's value is used.
 */
export function scaleLogMelFrequency(logMel: LogMel, ratio: number, options: { beyondTop?: 'floor' | 'edge'; config?: MelConfig } = {}): LogMel {
  const config = options.config ?? MEL_CONFIG;
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new InvalidArgumentError(`frequency ratio must be a positive number, got ${String(ratio)}`);
  if (logMel.mels !== config.melBins) throw new InvalidArgumentError(`log-mel has ${logMel.mels} mel bins, expected ${config.melBins}`);
  if (ratio === 1) return { frames: logMel.frames, mels: logMel.mels, data: logMel.data.slice() };
  const low = hzToMelSlaney(config.fMinHz);
  const step = (hzToMelSlaney(config.fMaxHz) - low) / (config.melBins + 1);
  const centres = melBinCentresHz(config);
  const mels = logMel.mels;
  const edge = options.beyondTop === 'edge';
  const index0 = new Int32Array(mels);
  const weight1 = new Float32Array(mels);
  const floor = Math.log(config.logFloor);
  for (let m = 0; m < mels; m++) {
    // Where the output bin's frequency came from, as a fractional input bin.
    const position = (hzToMelSlaney(centres[m]! / ratio) - low) / step - 1;
    if (position > mels - 1 && !edge) {
      index0[m] = -1;
    } else {
      const clamped = Math.min(mels - 1, Math.max(0, position));
      const i0 = Math.min(mels - 2, Math.floor(clamped));
      index0[m] = i0;
      weight1[m] = clamped - i0;
    }
  }
  const out = new Float32Array(logMel.data.length);
  for (let t = 0; t < logMel.frames; t++) {
    const row = t * mels;
    for (let m = 0; m < mels; m++) {
      const i0 = index0[m]!;
      if (i0 < 0) {
        out[row + m] = floor;
      } else {
        const w = weight1[m]!;
        out[row + m] = (1 - w) * logMel.data[row + i0]! + w * logMel.data[row + i0 + 1]!;
      }
    }
  }
  return { frames: logMel.frames, mels, data: out };
}
