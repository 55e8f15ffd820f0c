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

