// How a worker thread starts from this source tree: compiled JavaScript runs directly; TypeScript sources (vitest,
// tsx) get tsx's loader registered inside the thread first, since `--import tsx` in a worker's execArgv does not reach
// the worker's own entry in Node 20.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The `new Worker(entry, { eval })` arguments for the module `baseName` (no extension) beside `callerUrl`. */
export function workerEntry(callerUrl: string, baseName: string): { entry: string | URL; eval: boolean } {
  if (!callerUrl.endsWith('.ts')) return { entry: new URL(`./${baseName}.js`, callerUrl), eval: false };
  const tsxDir = dirname(createRequire(callerUrl).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const worker = new URL(`./${baseName}.ts`, callerUrl).href;
  return { entry: `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(worker)}); })`, eval: true };
}
