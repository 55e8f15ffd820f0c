// Records what every shipped model file makes of a fixed input (tests/fixtures/shippedOutputs.json), so that
// tests/models/shippedOutputs.test.ts can tell a changed conversion from moved code. Re-run only after a model file
// in assets/models was replaced on purpose:  npm run record:shipped

import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/nn/backend.js';
import { computeShippedOutputs, SHIPPED_OUTPUTS_FILE } from '../tests/fixtures/shippedOutputs.js';

await initBackend({ force: 'wasm' });
await tf.setBackend('wasm');
const recorded = await computeShippedOutputs(tf.getBackend());
writeFileSync(SHIPPED_OUTPUTS_FILE, `${JSON.stringify(recorded, null, 1)}\n`);
for (const o of recorded.outputs) {
  process.stdout.write(`${o.name}: [${o.shape.join(' × ')}] mean ${o.mean.toFixed(4)} rms ${o.rms.toFixed(4)} sha256 ${o.sha256.slice(0, 12)}\n`);
}
process.stdout.write(`wrote ${SHIPPED_OUTPUTS_FILE}\n`);
