import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { runCompare } from '../../src/cli/commands/compare.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { harmonicToneWav } from './fixtures.js';
import { testPitchShiftConverter } from './testPitchShiftConverter.js';

let dir = '';
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), interactive: false } };
}

describe('timbre compare', () => {
  it('writes every lane, the source, metrics.json and a self-contained report.html', async () => {
    dir = await mkdtemp(join(tmpdir(), 'timbre-compare-'));
    const input = join(dir, 'in.wav');
    await writeFile(input, harmonicToneWav({ seconds: 0.5 }));
    const registry = new ModelRegistry({ searchDirs: [], registered: [{ id: 'a', converter: testPitchShiftConverter({ family: 'vae', semitones: 2 }) }, { id: 'b', converter: testPitchShiftConverter({ family: 'cyclegan', semitones: -2 }) }] });
    engine = createEngine({ registry, voiceSource: createVoiceSource([{ id: 'test-voice', label: 'T', kind: 'test', hasPreview: false }], { useVoicesModule: false }) });
    const out = join(dir, 'out');
    const run = io();
    expect(await runCompare([input, '--to', 'test-voice', '-o', out, '--iterations', '4'], run.io, engine)).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['metrics.json', 'report.html', 'timbre-test-voice-a-0.wav', 'timbre-test-voice-b-1.wav', 'timbre-test-voice-source.wav']);
    expect(decodeWav(new Uint8Array(await readFile(join(out, 'timbre-test-voice-a-0.wav')))).sampleRateHz).toBe(22050);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<table>');
    expect(html.match(/data:image\/png;base64,/g)).toHaveLength(3);
    expect(run.out.join('')).toMatch(/compared 2 models → test-voice/);
    // A second run refuses to overwrite without --force.
    await expect(runCompare([input, '--to', 'test-voice', '-o', out, '--iterations', '4'], io().io, engine)).rejects.toMatchObject({ code: 'FILE_EXISTS' });
  });

  it('says clearly when no model is available yet', async () => {
    dir = await mkdtemp(join(tmpdir(), 'timbre-compare-'));
    const input = join(dir, 'in.wav');
    await writeFile(input, harmonicToneWav({ seconds: 0.3 }));
    engine = createEngine({ registry: new ModelRegistry({ searchDirs: [] }), voiceSource: createVoiceSource([{ id: 'test-voice', label: 'T', kind: 'test', hasPreview: false }], { useVoicesModule: false }) });
    await expect(runCompare([input, '--to', 'test-voice', '-o', join(dir, 'o')], io().io, engine)).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
    await expect(runCompare([input, '-o', join(dir, 'o')], io().io, engine)).rejects.toThrow(/missing --to/);
  });
});
