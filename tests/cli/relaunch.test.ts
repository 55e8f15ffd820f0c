// Data-parallel `timbre train` relaunches itself with --single-threaded-gc: which commands do, and that the child's
// exit code and output come back through the parent.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { needsTrainingRelaunch, TRAINING_GC_FLAG } from '../../src/cli/relaunch.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('training relaunch', () => {
  it('relaunches only train with more than one worker, once', () => {
    expect(needsTrainingRelaunch(['train', 'vae', '--workers', '2'], [], {})).toBe(true);
    expect(needsTrainingRelaunch(['train', 'vae', '--workers=2'], [], {})).toBe(true);
    expect(needsTrainingRelaunch(['train', 'vae'], [], {})).toBe(false);
    expect(needsTrainingRelaunch(['train', 'vae', '--workers', '1'], [], {})).toBe(false);
    expect(needsTrainingRelaunch(['eval', '--workers', '2'], [], {})).toBe(false);
    expect(needsTrainingRelaunch(['train', 'vae', '--workers', '2'], [TRAINING_GC_FLAG], {})).toBe(false);
    expect(needsTrainingRelaunch(['train', 'vae', '--workers', '2'], [], { TIMBRE_TRAINING_CHILD: '1' })).toBe(false);
  });

  it('relaunches compare when its lanes run on two threads', () => {
    expect(needsTrainingRelaunch(['compare', 'in.wav', '--to', 'x', '-o', 'd'], [], {}, 2)).toBe(true);
    expect(needsTrainingRelaunch(['compare', 'in.wav'], [], {}, 1)).toBe(false);
    expect(needsTrainingRelaunch(['compare', 'in.wav'], [], { TIMBRE_LANE_WORKERS: '0' }, 2)).toBe(false);
    expect(needsTrainingRelaunch(['compare', 'in.wav'], [TRAINING_GC_FLAG], {}, 2)).toBe(false);
  });

  it('relaunches web mode when its lanes run on two threads', () => {
    expect(needsTrainingRelaunch(['web'], [], {}, 2)).toBe(true);
    expect(needsTrainingRelaunch(['web', '--port', '8080'], [], {}, 1)).toBe(false);
    expect(needsTrainingRelaunch(['web'], [], { TIMBRE_LANE_WORKERS: '0' }, 2)).toBe(false);
    expect(needsTrainingRelaunch(['web'], [TRAINING_GC_FLAG], {}, 2)).toBe(false);
  });

  it('a data-parallel train command still reports errors with exit code 2', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'train', 'no-such-model', '--workers', '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown model "no-such-model"/);
  }, 60_000);
});
