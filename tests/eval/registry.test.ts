// The eval registry: baselines built in, models registered by name, unknown names refused with exit 2.

import { describe, expect, it } from 'vitest';
import { UnknownEvalModelError } from '../../src/eval/errors.js';
import { selectPairs } from '../../src/eval/pairs.js';
import { evalSystemNames, registerEvalModel, resolveEvalSystems } from '../../src/eval/registry.js';
import { timbre } from '../cli/helpers.js';

const standIn = { label: 'stand-in', load: () => Promise.reject(new Error('not loaded in this test')) };

describe('eval registry', () => {
  it('rejects an unknown model name with a clear error and exit code 2, before loading anything', async () => {
    const run = await timbre('eval', '--model', 'no-such-model', '--home', '/nonexistent/timbre-home');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: unknown model "no-such-model" for eval; known: .*identity, vocoded-target/);
    expect(run.stdout).toBe('');
    expect(() => resolveEvalSystems(['identity', 'nope'])).toThrow(UnknownEvalModelError);
    expect(() => resolveEvalSystems([])).toThrow(/give --model NAME/);
  });

  it('runs baselines alone, and a model with both baselines after it', () => {
    expect(resolveEvalSystems(['identity']).map((s) => s.name)).toEqual(['identity']);
    expect(resolveEvalSystems(['vocoded-target', 'identity', 'identity']).map((s) => s.name)).toEqual(['vocoded-target', 'identity']);
    const off = registerEvalModel('stand-in', standIn);
    try {
      expect(evalSystemNames()).toContain('stand-in');
      const systems = resolveEvalSystems(['stand-in']);
      expect(systems.map((s) => `${s.kind}:${s.name}`)).toEqual(['model:stand-in', 'baseline:identity', 'baseline:vocoded-target']);
      expect(() => registerEvalModel('stand-in', standIn)).toThrow(/already registered/);
    } finally {
      off();
    }
    expect(evalSystemNames()).not.toContain('stand-in');
    expect(() => registerEvalModel('identity', standIn)).toThrow(/built-in baseline/);
    expect(() => registerEvalModel('Bad Name', standIn)).toThrow(/must be lowercase/);
  });
});

describe('pair selection', () => {
  it('walks rings: every voice once as source and target before any repeats', () => {
    const voices = ['a', 'b', 'c', 'd'];
    expect(selectPairs(voices, 4).map((p) => `${p.source}>${p.target}`)).toEqual(['a>b', 'b>c', 'c>d', 'd>a']);
    expect(selectPairs(voices, 6).slice(4).map((p) => `${p.source}>${p.target}`)).toEqual(['a>c', 'b>d']);
    expect(new Set(selectPairs(voices, 12).map((p) => `${p.source}>${p.target}`)).size).toBe(12);
    expect(() => selectPairs(voices, 13)).toThrow(/--pairs must be 1–12 for 4 voices, received 13/);
    expect(() => selectPairs(['a'], 1)).toThrow(/at least 2 voices/);
    expect(() => selectPairs(['a', 'a'], 1)).toThrow(/lists a voice twice/);
  });
});
