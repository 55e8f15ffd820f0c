// The model a command uses when none is named: the user's trained TIMBRE_HOME/models/<folder>/model.timbre when
// present, else the shipped one, checked for the voices asked of it. Shared by the families' `loadEvalConverter`.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../audio/errors.js';
import { shippedModelPath, timbrePaths } from '../io/paths.js';
import type { MelConverter } from './converter.js';
import { InvalidModelFileError } from '../nn/errors.js';

/** What `loadInstalledConverter` loads: the model folder, its name in messages and how to train one. */
export interface InstalledModelSpec<T extends MelConverter> {
  readonly folder: string;
  readonly label: string;
  readonly trainCommand: string;
  readonly load: (path: string) => Promise<T>;
}

/** Loads the user's or else the shipped model of `spec`; refuses one that lacks any of `context.targetVoices`. */
export async function loadInstalledConverter<T extends MelConverter>(
  spec: InstalledModelSpec<T>,
  context: { readonly home: string | undefined; readonly targetVoices: readonly string[] },
): Promise<T> {
  const user = join(timbrePaths(context.home).models, spec.folder, 'model.timbre');
  const path = existsSync(user) ? user : shippedModelPath(spec.folder);
  if (!existsSync(path)) throw new InvalidModelFileError(`no ${spec.label} model file at ${user} or ${path}; train one with: ${spec.trainCommand}`);
  const converter = await spec.load(path);
  const missing = context.targetVoices.filter((v) => !converter.targetVoices.includes(v));
  if (missing.length > 0) {
    converter.dispose();
    throw new InvalidArgumentError(`the ${spec.label} at ${path} cannot produce ${missing.join(', ')}; it has: ${converter.targetVoices.join(', ')}`, 'VOICE_NOT_FOUND');
  }
  return converter;
}
