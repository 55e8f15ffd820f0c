// Web mode for the end-to-end test: real models when any are available, else the test-only
// stand-in converters; prints one JSON line { url, mode, models } for the driver to read.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../../src/engine/engine.js';
import { ModelRegistry } from '../../src/engine/modelRegistry.js';
import { createVoiceSource } from '../../src/engine/voiceSource.js';
import { startServer } from '../../src/server/server.js';
import { testPitchShiftConverter } from '../engine/testPitchShiftConverter.js';
import { harmonicToneWav } from '../engine/fixtures.js';

const realRegistry = new ModelRegistry();
const real = (await realRegistry.list()).filter((m) => m.available);
const mode = real.length > 0 ? 'real' : 'stand-in';
if (mode === 'stand-in') process.env.TIMBRE_HOME = mkdtempSync(join(tmpdir(), 'timbre-e2e-home-')); // hermetic voices list
const registry =
  mode === 'real'
    ? realRegistry
    : new ModelRegistry({
        registered: [
          { id: 'stand-in-up', converter: testPitchShiftConverter({ family: 'vae', semitones: 4, stepDelayMs: 150 }) },
          { id: 'stand-in-down', converter: testPitchShiftConverter({ family: 'cyclegan', semitones: -3, stepDelayMs: 150 }) },
        ],
      });
const testVoice = { id: 'test-voice', label: 'Test voice (stand-in)', kind: 'test' as const, hasPreview: true, description: 'a generated tone; stands in for a voice until the corpus is built', previewWav: harmonicToneWav({ seconds: 1, f0Hz: 180 }) };
const engine = createEngine({ registry, allowPaths: false, voiceSource: createVoiceSource(mode === 'stand-in' ? [testVoice] : []) });
const server = await startServer({ engine, port: 0 });
const models = (await engine.listModels()).filter((m) => m.available).map((m) => m.id);
process.stdout.write(`${JSON.stringify({ url: server.url, mode, models })}\n`);
const stop = (): void => void server.close().then(() => engine.destroy()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
