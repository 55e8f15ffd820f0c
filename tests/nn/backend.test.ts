// Backend choice: falls through tfjs-node(-gpu) to wasm with one-line reasons, is idempotent, and a forced
// backend that cannot load fails naming the package (checked in a fresh process, as the choice is per process).

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../../src/nn/backend.js';

describe('initBackend', () => {
  it('picks wasm here, records why native backends were skipped and returns the same info twice', async () => {
    const lines: string[] = [];
    const info = await initBackend({ log: (l) => lines.push(l) });
    if (info.name === 'wasm' && process.env['TIMBRE_BACKEND'] === undefined) {
      // this machine: the native packages are optional and absent
      expect(info.threads).toBe(1);
      expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
      expect(info.skipped.every((s) => s.reason === 'package not installed')).toBe(true);
      expect(describeBackend(info)).toBe('backend: wasm (1 thread; skipped tensorflow-gpu: package not installed, tensorflow: package not installed)');
    }
    expect(describeBackend(info)).toMatch(/^backend: (tensorflow-gpu|tensorflow|wasm|cpu) \(\d+ threads?/);
    expect(lines).toEqual([describeBackend(info)]);
    expect(await initBackend()).toBe(info);
  });

  it('describes a backend with nothing skipped', () => {
    expect(describeBackend({ name: 'tensorflow', threads: 2, skipped: [] })).toBe('backend: tensorflow (2 threads)');
  });

  it('fails when TIMBRE_BACKEND forces a backend that cannot load, naming the package', () => {
    const code = `import('${new URL('../../src/nn/backend.ts', import.meta.url).href}').then((m) => m.initBackend()).then(() => process.exit(0), (e) => { console.log(e.name + ': ' + e.message); process.exit(3); })`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, TIMBRE_BACKEND: 'tensorflow' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(3);
    expect(run.stdout).toMatch(/BackendUnavailableError: backend "tensorflow" was forced \(TIMBRE_BACKEND\).*install @tensorflow\/tfjs-node/);
  });
});
