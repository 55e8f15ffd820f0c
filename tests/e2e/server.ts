// Web mode for the end-to-end test: real models when any are available, else the test-only stand-in
// converters; a hermetic TIMBRE_HOME with a tiny corpus (training checks write there, never to the real
// home). Prints one JSON line { url, mode, models, targetVoice } for the driver to read.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCorpus } from '../../src/corpus/build.js';
import { createEngine } from '../../src/engine/engine.js';
import { defaultSearchDirs, ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { startServer } from '../../src/server/server.js';
import { TEST_VOICES } from '../corpus/render.js';
import { testPitchShiftConverter } from '../engine/testPitchShiftConverter.js';
import { harmonicToneWav } from '../engine/fixtures.js';

const realDirs = defaultSearchDirs().filter((d) => d.origin === 'shipped'); // the shipped models; the real TIMBRE_HOME is never used
const real = (await new ModelRegistry({ searchDirs: realDirs }).list()).filter((m) => m.available);
const mode = real.length > 0 ? 'real' : 'stand-in';
const home = mkdtempSync(join(tmpdir(), 'timbre-e2e-home-'));
process.env.TIMBRE_HOME = home;
const homeModels = { dir: join(home, 'models'), origin: 'user' as const };

// The target: a corpus voice every available real model can produce (test voices first), else the stand-in voice.
const producible = (voice: string): boolean => real.every((m) => m.targetVoices.includes('*') || m.targetVoices.includes(voice));
const candidates = [...new Set([...TEST_VOICES, ...real.flatMap((m) => m.targetVoices.filter((v) => v !== '*'))])];
const targetVoice = mode === 'real' ? (candidates.find(producible) ?? 'flite-slt') : 'test-voice';
await buildCorpus({ home, voices: [...new Set([...TEST_VOICES, ...(mode === 'real' ? [targetVoice] : [])])], sentences: 3 });

const registry =
  mode === 'real'
    ? new ModelRegistry({ searchDirs: [...realDirs, homeModels] })
    : new ModelRegistry({
        searchDirs: [homeModels],
        registered: [
          { id: 'stand-in-up', converter: testPitchShiftConverter({ family: 'vae', semitones: 4, stepDelayMs: 150 }) },
          { id: 'stand-in-down', converter: testPitchShiftConverter({ family: 'cyclegan', semitones: -3, stepDelayMs: 150 }) },
        ],
      });
const testVoice = { id: 'test-voice', label: 'Test voice (stand-in)', kind: 'test' as const, hasPreview: true, description: 'a generated tone; stands in for a voice until the corpus is built', previewWav: harmonicToneWav({ seconds: 1, f0Hz: 180 }) };
const engine = createEngine({ registry, home, allowPaths: false, voiceSource: createVoiceSource(mode === 'stand-in' ? [testVoice] : [], { home }) });
const server = await startServer({ engine, port: 0 });
const models = (await engine.listModels()).filter((m) => m.available && (m.targetVoices.includes('*') || m.targetVoices.includes(targetVoice))).map((m) => m.id);
process.stdout.write(`${JSON.stringify({ url: server.url, mode, models, targetVoice, home })}\n`);
const stop = (): void => void server.close().then(() => engine.destroy()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
