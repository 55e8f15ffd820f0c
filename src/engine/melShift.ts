// Pitch shift of a converted voice on its log-mel: the frequency axis is scaled by 2^(semitones/12),
// moving harmonics and formants together (like playing faster without the change in tempo).

import { hzToMelSlaney, melToHzSlaney, type LogMel } from '../audio/mel.js';
import { MEL_CONFIG, type MelConfig } from '../audio/melConfig.js';
import { EngineError } from './errors.js';

/** Largest shift accepted, semitones (either direction). */
export const MAX_PITCH_SHIFT_SEMITONES = 12;

/** Centre frequency of each mel bin, Hz (the Slaney filterbank's centres). */
export function melBinCentresHz(config: MelConfig = MEL_CONFIG): Float64Array {
  const low = hzToMelSlaney(config.fMinHz);
  const high = hzToMelSlaney(config.fMaxHz);
  const step = (high - low) / (config.melBins + 1);
  const out = new Float64Array(config.melBins);
  for (let m = 0; m < config.melBins; m++) out[m] = melToHzSlaney(low + step * (m + 1));
  return out;
}

/** Returns a new log-mel whose frequency axis is scaled by 2^(semitones/12); bins shifted in from above fMax get the log floor. */
export function shiftLogMelPitch(logMel: LogMel, semitones: number, config: MelConfig = MEL_CONFIG): LogMel {
  if (typeof semitones !== 'number' || !Number.isFinite(semitones) || Math.abs(semitones) > MAX_PITCH_SHIFT_SEMITONES) {
    throw new EngineError('INVALID_ARGUMENT', `pitchShiftSemitones must be a number in [−${MAX_PITCH_SHIFT_SEMITONES}, ${MAX_PITCH_SHIFT_SEMITONES}], got ${String(semitones)}`, 'pitchShiftSemitones');
  }
  if (logMel.mels !== config.melBins) {
    throw new EngineError('INVALID_ARGUMENT', `logMel has ${logMel.mels} mel bins, expected ${config.melBins}`, 'logMel');
  }
  if (semitones === 0) return { frames: logMel.frames, mels: logMel.mels, data: logMel.data.slice() };
  const ratio = 2 ** (semitones / 12);
  const low = hzToMelSlaney(config.fMinHz);
  const step = (hzToMelSlaney(config.fMaxHz) - low) / (config.melBins + 1);
  const centres = melBinCentresHz(config);
  const mels = logMel.mels;
  const index0 = new Int32Array(mels);
  const weight1 = new Float32Array(mels);
  const floor = Math.log(config.logFloor);
  for (let m = 0; m < mels; m++) {
    // Where the output bin's frequency came from, as a fractional input bin.
    const position = (hzToMelSlaney(centres[m]! / ratio) - low) / step - 1;
    if (position > mels - 1) {
      index0[m] = -1;
    } else {
      const clamped = Math.max(0, position);
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
