// A CycleDiffusion model file converts exactly as a DiffVC does (same networks, same solvers): the converter is
// DiffVC's, listed under its own family so the app compares the two.

import { loadDiffusionConverter, type DiffVcConverter } from '../diffVc/convert.js';
import { loadInstalledConverter } from '../installed.js';
import { shippedModelPath } from '../../io/paths.js';

/** Loads a CycleDiffusion model file as a converter (the model registry's entry point for 'cyclediffusion'). */
export async function loadMelConverter(modelPath: string): Promise<DiffVcConverter> {
  return loadDiffusionConverter(modelPath, 'cyclediffusion');
}

/** The CycleDiffusion `timbre eval` scores: TIMBRE_HOME/models/cyclediffusion/model.timbre when present, else the shipped one. */
export async function loadEvalConverter(context: { readonly home: string | undefined; readonly targetVoices: readonly string[] }): Promise<DiffVcConverter> {
  return loadInstalledConverter({ folder: 'cyclediffusion', label: 'CycleDiffusion', trainCommand: 'timbre train cyclediffusion', load: loadMelConverter }, context);
}

/** The shipped model file, `assets/models/cyclediffusion/model.timbre`. */
export function shippedCycleDiffusionPath(): string {
  return shippedModelPath('cyclediffusion');
}
