// Every shipped model file converts the fixed input as recorded in tests/fixtures/shippedOutputs.json (recorded before
// the source-layout move): bit-identical (same sha256 of the float32 output), or else every recorded statistic and
// strided sample value within float16 rounding of the recording, |ours − recorded| ≤ max(2⁻¹¹·|recorded|, 2⁻²⁴).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasm } from '../nn/helpers.js';
import {
  fingerprint,
  fixedInputMel,
  float32Sha256,
  modelFileSha256,
  REPO_ROOT,
  runShippedCase,
  SHIPPED_CASES,
  SHIPPED_OUTPUTS_FILE,
  type RecordedOutputs,
} from '../fixtures/shippedOutputs.js';

const recorded = JSON.parse(readFileSync(SHIPPED_OUTPUTS_FILE, 'utf8')) as RecordedOutputs;
const input = fixedInputMel();

/** Largest |a − b| in units of float16 rounding of b (≤ 1: a rounds to the same float16 neighbourhood as b). */
function float16Ulps(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b) * 2 ** -11, 2 ** -24);
}

beforeAll(async () => {
  await useWasm();
});

describe('shipped model files', () => {
  it('are all recorded, from this fixed input', () => {
    expect(recorded.outputs.map((o) => o.name)).toEqual(SHIPPED_CASES.map((c) => c.name));
    expect(float32Sha256(input.data), 'the fixed input changed: re-record with npm run record:shipped').toBe(recorded.inputSha256);
  });

  for (const c of SHIPPED_CASES) {
    it(`convert as recorded: ${c.name}`, async () => {
      const expected = recorded.outputs.find((o) => o.name === c.name)!;
      expect(existsSync(join(REPO_ROOT, c.model)), `${c.model} is missing`).toBe(true);
      const fileHash = modelFileSha256(c.model);
      if (fileHash !== expected.modelSha256) {
        expect.fail(`${c.model} is not the file the outputs were recorded from (sha256 ${fileHash.slice(0, 12)}…, recorded ${expected.modelSha256.slice(0, 12)}…); if it was replaced on purpose, re-record with: npm run record:shipped`);
      }
      const { shape, values } = await runShippedCase(c, input);
      expect(shape).toEqual(expected.shape);
      const ours = fingerprint(c, shape, values);
      if (ours.sha256 === expected.sha256) return; // bit-identical
      const pairs: [string, number, number][] = [
        ['mean', ours.mean, expected.mean],
        ['rms', ours.rms, expected.rms],
        ['min', ours.min, expected.min],
        ['max', ours.max, expected.max],
        ...ours.sample.map((v, i): [string, number, number] => [`value ${i * ours.stride}`, v, expected.sample[i]!]),
      ];
      expect(ours.sample.length).toBe(expected.sample.length);
      for (const [what, a, b] of pairs) {
        expect(float16Ulps(a, b), `${c.name}: ${what} is ${a}, recorded ${b} (more than float16 rounding apart)`).toBeLessThanOrEqual(1);
      }
    });
  }
});
