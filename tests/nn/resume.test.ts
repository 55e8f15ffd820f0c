// A training process killed with SIGKILL and started again continues from its last checkpoint and
// reproduces the uninterrupted loss curve exactly (both runs on wasm in child processes).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/trainRun.ts', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Line {
  event: 'step' | 'checkpoint';
  step: number;
  total?: number;
}

/** Runs the child; `killAfterCheckpoint` sends SIGKILL once that checkpoint is reported. */
function runChild(runDir: string, killAfterCheckpoint?: number): Promise<{ lines: Line[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, runDir], {
      env: { ...process.env, TIMBRE_TEST_STEP_PAUSE_MS: killAfterCheckpoint ? '150' : '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Line[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, nl)) as Line;
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.event === 'checkpoint' && line.step === killAfterCheckpoint) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ lines, signal }) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

describe('resume after SIGKILL', () => {
  it('continues from the last checkpoint and reproduces the same losses', async () => {
    const straightDir = mkdtempSync(join(tmpdir(), 'timbre-kill-a-'));
    const killedDir = mkdtempSync(join(tmpdir(), 'timbre-kill-b-'));
    dirs.push(straightDir, killedDir);
    const straight = (await runChild(straightDir)).lines.filter((l) => l.event === 'step');
    expect(straight.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);

    const killed = await runChild(killedDir, 3);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = (await runChild(killedDir)).lines.filter((l) => l.event === 'step');
    expect(resumed[0]!.step).toBe(4);
    const before = killed.lines.filter((l) => l.event === 'step' && l.step <= 3);
    const curve = [...before, ...resumed];
    expect(curve.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    curve.forEach((l, i) => expect(Math.abs(l.total! - straight[i]!.total!)).toBeLessThan(1e-6));
    const csvSteps = readFileSync(join(killedDir, 'losses.csv'), 'utf8').trim().split('\n').slice(1).map((r) => Number(r.split(',')[0]));
    expect(csvSteps).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
