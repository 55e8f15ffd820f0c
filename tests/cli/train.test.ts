// `timbre train vae --add-voice NAME [--base FILE]` through runCli: usage errors exit 2 naming the value, and a
// tiny run (a tiny untrained VAE, one espeak-ng recording as the user voice) writes models/vae-NAME.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMelConverter } from '../../src/models/vae/convert.js';
import { TINY_VOICES, writeTinyVae } from '../models/vaeFixtures.js';
import { timbre } from './helpers.js';
import { addReadingVoice } from '../fixtures/reading.js';

const home = mkdtempSync(join(tmpdir(), 'timbre-train-cli-'));
const base = join(home, 'base.timbre');

beforeAll(async () => {
  await writeTinyVae(base, 5);
  await addReadingVoice(home, 'anna', { voice: 'en-us' });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('timbre train --add-voice', () => {
  it('refuses --add-voice with a model other than vae', async () => {
    const run = await timbre('train', 'cyclegan', '--to', 'flite-slt', '--add-voice', 'anna', '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*--add-voice works only with the vae model/);
  });

  it('refuses --base without --add-voice', async () => {
    const run = await timbre('train', 'vae', '--base', base, '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*--base FILE goes with --add-voice/);
  });

  it('refuses an unknown user voice, naming it and the voices there are', async () => {
    const run = await timbre('train', 'vae', '--add-voice', 'nobody', '--base', base, '--home', home);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*no user voice "nobody"; user voices: anna/);
  });

  it('refuses a corpus voice, a missing base and a base that is not a VAE file', async () => {
    const corpus = await timbre('train', 'vae', '--add-voice', 'flite-slt', '--base', base, '--home', home);
    expect(corpus.code).toBe(2);
    expect(corpus.stderr).toContain('flite-slt: that is a corpus voice');
    const missing = join(home, 'nowhere.timbre');
    const absent = await timbre('train', 'vae', '--add-voice', 'anna', '--base', missing, '--home', home);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(`--base: ${missing} does not exist`);
    const junk = join(home, 'junk.timbre');
    writeFileSync(junk, 'not a model');
    const notVae = await timbre('train', 'vae', '--add-voice', 'anna', '--base', junk, '--home', home);
    expect(notVae.code).toBe(2);
    expect(notVae.stderr).toContain(`--base: ${junk} is not a readable model file`);
  });

  it('adds the voice with batch 8 by default, writing models/vae-NAME and checkpoints/vae-NAME', async () => {
    const run = await timbre('train', 'vae', '--add-voice', 'anna', '--base', base, '--home', home, '--steps', '3', '--log-every', '1');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`training vae-anna: 3 steps, batch 8`);
    expect(run.stdout).toContain(join(home, 'checkpoints', 'vae-anna'));
    const model = join(home, 'models', 'vae-anna', 'model.timbre');
    expect(run.stdout).toContain(`wrote ${model}`);
    expect(existsSync(model)).toBe(true);
    const converter = await loadMelConverter(model);
    expect(converter.targetVoices).toEqual([...TINY_VOICES, 'anna']);
    converter.dispose();

    const again = await timbre('train', 'vae', '--add-voice', 'anna', '--base', base, '--home', home, '--steps', '3');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    const twice = await timbre('train', 'vae', '--add-voice', 'anna', '--base', model, '--home', home, '--out', join(home, 'twice.timbre'));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('already has voice "anna"');
  });
});

describe('timbre train --init', () => {
  it('refuses --init with another model, with --add-voice, and for a missing file', async () => {
    const other = await timbre('train', 'diffvc', '--init', base, '--home', home);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--init warm-starts a vae, cyclegan, cyclediffusion or vocoder run; "diffvc" does not take it/);
    const both = await timbre('train', 'vae', '--add-voice', 'anna', '--base', base, '--init', base, '--home', home);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/leave out --init/);
    const missing = await timbre('train', 'vae', '--init', join(home, 'absent.timbre'), '--home', home);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/option --init: no model file at .*absent\.timbre/);
  });
});
