// Chooses the TensorFlow.js backend once per process: tfjs-node-gpu, tfjs-node, wasm, then cpu.
// Every command prints `describeBackend(info)` so a user always sees where the compute ran.

import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { BackendUnavailableError } from './errors.js';

/** Names of the backends Timbre can run on, fastest first. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Which backend is active, how many threads it uses, and why faster ones were skipped. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly threads: number;
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
}

/** Options of `initBackend`; `force` (or env TIMBRE_BACKEND) makes a load failure an error. */
export interface InitBackendOptions {
  readonly force?: BackendName;
  /** wasm threads; only honoured by a threaded wasm build (not in Node). Default 1. */
  readonly threads?: number;
  readonly log?: (line: string) => void;
}

const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const PACKAGE_OF: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs (cpu backend)',
};

let active: Promise<BackendInfo> | undefined;

/** Loads the best available backend (idempotent: later calls return the first call's info). */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  active ??= load(options).catch((err: unknown) => {
    active = undefined;
    throw err;
  });
  return active;
}

/** The one line every command prints, e.g. "backend: wasm (1 thread; skipped tensorflow: package not installed)". */
export function describeBackend(info: BackendInfo): string {
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join(', ');
  return `backend: ${info.name} (${threads}${skipped ? `; skipped ${skipped}` : ''})`;
}

async function load(options: InitBackendOptions): Promise<BackendInfo> {
  const forced = options.force ?? parseForced(process.env['TIMBRE_BACKEND']);
  const order = forced ? [forced] : BACKEND_NAMES;
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of order) {
    try {
      const threads = await tryBackend(name, options.threads ?? 1);
      const info: BackendInfo = { name, threads, skipped };
      options.log?.(describeBackend(info));
      return info;
    } catch (err) {
      const reason = oneLineReason(err);
      if (forced) {
        throw new BackendUnavailableError(
          `backend "${name}" was forced (${options.force ? 'option force' : 'TIMBRE_BACKEND'}) but could not be loaded: ${reason}; install ${PACKAGE_OF[name]} or unset TIMBRE_BACKEND`,
        );
      }
      skipped.push({ name, reason });
    }
  }
  throw new BackendUnavailableError(`no TensorFlow.js backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join(', ')}`);
}

function parseForced(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendUnavailableError(`TIMBRE_BACKEND="${value}" is not one of ${BACKEND_NAMES.join(', ')}`);
}

async function tryBackend(name: BackendName, threads: number): Promise<number> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // A variable specifier keeps TypeScript from requiring the optional packages at compile time.
      const specifier: string = PACKAGE_OF[name];
      await import(specifier);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" failed to initialise');
      await tf.ready();
      return cpus().length;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point emscripten at the package's own .wasm files so bundlers and ESM loaders find them.
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
      if (threads > 1) wasm.setThreadsCount(threads);
      if (!(await tf.setBackend('wasm'))) throw new Error('backend "wasm" failed to initialise');
      await tf.ready();
      const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return multithread ? wasm.getThreadsCount() : 1;
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('backend "cpu" failed to initialise');
      await tf.ready();
      return 1;
    }
  }
}

function oneLineReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'package not installed';
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0]?.trim() ?? '';
  if (/Cannot find (module|package)/.test(first)) return 'package not installed';
  return first.length > 160 ? `${first.slice(0, 157)}...` : first || 'unknown error';
}
