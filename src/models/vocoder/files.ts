// Where the neural vocoder's model file lives, without loading TensorFlow.js (the engine asks before any model runs).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shippedModelPath, timbrePaths } from '../../io/paths.js';

/** Folder of the vocoder under TIMBRE_HOME/models and assets/models. */
export const VOCODER_FOLDER = 'vocoder';
/** The shipped vocoder, `assets/models/vocoder/model.timbre`. */
export function shippedVocoderPath(): string {
  return shippedModelPath(VOCODER_FOLDER);
}

/** TIMBRE_HOME/models/vocoder/model.timbre, where `timbre train vocoder` writes. */
export function userVocoderPath(home: string | undefined): string {
  return join(timbrePaths(home).models, VOCODER_FOLDER, 'model.timbre');
}

/** The vocoder a command uses: TIMBRE_HOME/models/vocoder/model.timbre when present, else the shipped one. */
export function installedVocoderPath(home: string | undefined): string | undefined {
  const user = userVocoderPath(home);
  if (existsSync(user)) return user;
  return existsSync(shippedVocoderPath()) ? shippedVocoderPath() : undefined;
}

/**
 * The vocoder a conversion ends in when none is named: the neural one when a model file is installed (its card: lower
 * distances and F0 error than Griffin-Lim for every corpus voice, CER within the recogniser's noise, 3× faster), else
 * Griffin-Lim. `timbre eval` keeps Griffin-Lim as its default so that its tables stay comparable run to run.
 */
export function defaultVocoderChoice(home: string | undefined): 'griffin-lim' | 'neural' {
  return installedVocoderPath(home) !== undefined ? 'neural' : 'griffin-lim';
}
