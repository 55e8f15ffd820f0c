// Test-only stand-in for a trained model: a `MelConverter` that shifts the source's log-mel by a fixed
// number of semitones. It exercises the pipeline, lanes, export and UI until real models ship; never shipped.

import type { LogMel } from '../../src/audio/mel.js';
import type { ConversionTarget, MelConverter, ModelFamily } from '../../src/models/converter.js';
import { CancelledError } from '../../src/engine/errors.js';
import { shiftLogMelPitch } from '../../src/engine/melShift.js';

/** Options of the stand-in: which family slot it fills, its shift, and an artificial delay per step (cancel tests). */
export interface TestPitchShiftOptions {
  family?: ModelFamily;
  semitones?: number;
  /** Milliseconds slept in each of the 4 progress steps; default 0. */
  stepDelayMs?: number;
  targetVoices?: readonly string[];
}

/** A stand-in converter; its label says so, so no screenshot or report can pass it off as a model. */
export function testPitchShiftConverter(options: TestPitchShiftOptions = {}): MelConverter & { disposed: boolean; calls: number } {
  const semitones = options.semitones ?? 4;
  const family = options.family ?? 'vae';
  const stepDelayMs = options.stepDelayMs ?? 0;
  const converter = {
    family,
    label: `Stand-in ${semitones >= 0 ? '+' : ''}${semitones} st (test only, ${family} slot)`,
    targetVoices: options.targetVoices ?? ['*'],
    disposed: false,
    calls: 0,
    async convert(source: LogMel, _target: ConversionTarget, run?: { onProgress?: (f: number) => void; signal?: AbortSignal }): Promise<LogMel> {
      converter.calls++;
      for (let step = 0; step < 4; step++) {
        if (run?.signal?.aborted) throw new CancelledError();
        run?.onProgress?.(step / 4);
        await new Promise((resolve) => setTimeout(resolve, stepDelayMs));
      }
      if (run?.signal?.aborted) throw new CancelledError();
      run?.onProgress?.(1);
      return shiftLogMelPitch(source, semitones);
    },
    dispose() {
      converter.disposed = true;
    },
  };
  return converter;
}
