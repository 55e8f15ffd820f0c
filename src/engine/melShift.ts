// Pitch shift of a converted voice on its log-mel: the frequency axis is scaled by 2^(semitones/12),
// moving harmonics and formants together (like playing faster without the change in tempo).

import type { LogMel } from '../audio/mel.js';
import { scaleLogMelFrequency } from '../audio/melFrequencyScale.js';
import { MEL_CONFIG, type MelConfig } from '../audio/melConfig.js';
import { EngineError } from './errors.js';

/** Largest shift accepted, semitones (either direction). */
export const MAX_PITCH_SHIFT_SEMITONES = 12;

/** Returns a new log-mel whose frequency axis is scaled by 2^(semitones/12); bins shifted in from above fMax get the log floor. */
export function shiftLogMelPitch(logMel: LogMel, semitones: number, config: MelConfig = MEL_CONFIG): LogMel {
  if (typeof semitones !== 'number' || !Number.isFinite(semitones) || Math.abs(semitones) > MAX_PITCH_SHIFT_SEMITONES) {
    throw new EngineError('INVALID_ARGUMENT', `pitchShiftSemitones must be a number in [−${MAX_PITCH_SHIFT_SEMITONES}, ${MAX_PITCH_SHIFT_SEMITONES}], got ${String(semitones)}`, 'pitchShiftSemitones');
  }
  if (logMel.mels !== config.melBins) {
    throw new EngineError('INVALID_ARGUMENT', `logMel has ${logMel.mels} mel bins, expected ${config.melBins}`, 'logMel');
  }
  return scaleLogMelFrequency(logMel, 2 ** (semitones / 12), { config });
}
