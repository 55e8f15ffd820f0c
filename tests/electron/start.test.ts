import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));

describe('npm start', () => {
  it('without an Electron binary, explains how to get it and falls back to web mode', () => {
    const result = spawnSync(process.execPath, [script, '--check', '--web'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('npm install electron');
    expect(result.stderr).toContain('Falling back to web mode');
    expect(result.stdout.trim()).toBe('web mode');
  });
});
