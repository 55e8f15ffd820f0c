// Where Timbre keeps user data: recordings, voices, corpus cache, checkpoints, fine-tuned models.
// One root, `TIMBRE_HOME`, defaulting to the operating system's per-user application-data folder.

import { homedir, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The data root: `$TIMBRE_HOME`, else the OS app-data folder + `timbre`. */
export function timbreHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TIMBRE_HOME;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv;
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'Timbre');
    case 'win32':
      return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Timbre');
    default:
      return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'timbre');
  }
}

/** Sub-folders of the data root, one per kind of data. */
export function timbrePaths(root: string = timbreHome()) {
  return {
    root,
    corpus: join(root, 'corpus'),
    voices: join(root, 'voices'),
    models: join(root, 'models'),
    checkpoints: join(root, 'checkpoints'),
    conversions: join(root, 'conversions'),
  } as const;
}

/** The shipped weights, `assets/models` of the install (two folders above src/io, three above dist/src/io). */
export function shippedModelsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up2 = resolve(here, '..', '..');
  return join(here.includes(join('dist', 'src', 'io')) ? resolve(up2, '..') : up2, 'assets', 'models');
}

/** The shipped model file of a model folder, e.g. `assets/models/vae/model.timbre`. */
export function shippedModelPath(folder: string): string {
  return join(shippedModelsDir(), folder, 'model.timbre');
}
