// `timbre eval --steps/--solver/--seed`: the conversion settings are read and validated before anything loads,
// and a bad value exits 2 naming the option; `--resynthesis` refuses the other modes' options.

import { describe, expect, it } from 'vitest';
import { parseCommandArgs, UsageError } from '../../src/cli/args.js';
import { conversionSettingsOptions } from '../../src/cli/args.js';
import { timbre } from './helpers.js';

const SPEC = { steps: { type: 'string' }, solver: { type: 'string' }, seed: { type: 'string' } } as const;
const settingsOf = (...argv: string[]) => conversionSettingsOptions(parseCommandArgs('eval', argv, SPEC));

describe('timbre eval conversion settings', () => {
  it('passes on only the settings given', () => {
    expect(settingsOf()).toEqual({});
    expect(settingsOf('--steps', '30', '--solver', 'euler', '--seed', '7')).toEqual({ seed: 7, steps: 30, solver: 'euler' });
    expect(settingsOf('--steps', '1')).toEqual({ steps: 1 });
    expect(settingsOf('--steps', '100', '--solver', 'ml')).toEqual({ steps: 100, solver: 'ml' });
    expect(settingsOf('--seed', '0')).toEqual({ seed: 0 });
  });

  it('refuses steps outside 1–100 or fractional, an unknown solver and a negative or fractional seed', () => {
    expect(() => settingsOf('--steps', '0')).toThrow(UsageError);
    expect(() => settingsOf('--steps', '0')).toThrow(/--steps: 0 is out of range \[1, 100\]/);
    expect(() => settingsOf('--steps', '101')).toThrow(/--steps: 101 is out of range/);
    expect(() => settingsOf('--steps', '2.5')).toThrow(/--steps: "2\.5" must be a whole number/);
    expect(() => settingsOf('--steps', 'many')).toThrow(/--steps: "many" is not a number/);
    expect(() => settingsOf('--solver', 'rk4')).toThrow(/--solver: "rk4" is not one of ml, euler/);
    expect(() => settingsOf('--seed=-1')).toThrow(/--seed: -1 is out of range/);
    expect(() => settingsOf('--seed', '1.5')).toThrow(/--seed: "1\.5" must be a whole number/);
  });

  it('exits 2 naming the option, before loading any model', async () => {
    const run = await timbre('eval', '--model', 'identity', '--steps', '0');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--steps: 0 is out of range/);
    expect(run.stdout).not.toMatch(/backend:/);
    const solver = await timbre('eval', '--model', 'identity', '--solver', 'heun');
    expect(solver.code).toBe(2);
    expect(solver.stderr).toMatch(/--solver: "heun" is not one of ml, euler/);
    const judge = await timbre('eval', '--judge', '--steps', '10');
    expect(judge.code).toBe(2);
    expect(judge.stderr).toMatch(/--judge converts nothing/);
  });
});

describe('timbre eval --resynthesis', () => {
  it('refuses the options of the other modes, naming them, before loading anything', async () => {
    const run = await timbre('eval', '--resynthesis', '--model', 'vae', '--vocoder', 'neural');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--resynthesis scores the vocoders alone; drop --model, --vocoder/);
    expect(run.stdout).not.toMatch(/backend:/);
    const sentences = await timbre('eval', '--resynthesis', '--sentences', '0');
    expect(sentences.code).toBe(2);
    expect(sentences.stderr).toMatch(/--sentences: 0 is out of range/);
  });
});
