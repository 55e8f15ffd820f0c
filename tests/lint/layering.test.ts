// `npm run lint` refuses imports that cross the layers of docs/ARCHITECTURE.md: each case below is a file that
// does not exist, linted from a string at a path inside the repository, as if someone had just written it.

import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** Messages of the layering rules on `code` as if it were the file `path` (repository-relative). */
async function lint(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering lint', () => {
  it('fails on an upward import: eval reaching into the engine', async () => {
    const messages = await lint('src/eval/upward.ts', "import { createEngine } from '../engine/engine.js';\nexport const make = createEngine;\n");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/no-restricted-imports: .*src\/eval may import only src\/\{audio,io,nn,corpus,models\}/);
  });

  it('fails on upward dynamic imports and export-from too', async () => {
    expect(await lint('src/models/vae/upward.ts', "export const load = () => import('../../engine/engine.js');\n")).toEqual([
      expect.stringMatching(/^no-restricted-syntax: src\/models may import only .*\(dynamic import\)$/),
    ]);
    expect(await lint('src/nn/upward.ts', "export { FAMILY_ENTRIES } from '../models/registry.js';\n")).toEqual([expect.stringMatching(/src\/nn may import only src\/\{audio,io\}/)]);
  });

  it('keeps src/audio and a family model.ts free of Node APIs, and model.ts free of the corpus', async () => {
    expect(await lint('src/audio/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n")).toEqual([expect.stringMatching(/src\/audio runs in the browser too/)]);
    expect(await lint('src/audio/x.ts', "import { join } from 'path';\nexport const j = join;\n")).toEqual([expect.stringMatching(/no Node APIs/)]);
    expect(await lint('src/audio/x.ts', "import { MEL_CONFIG } from '../nn/module.js';\nexport const m = MEL_CONFIG;\n")).toHaveLength(1);
    expect(await lint('src/models/diffVc/model.ts', "import { existsSync } from 'node:fs';\nexport const e = existsSync;\n")).toEqual([expect.stringMatching(/model\.ts is the model alone/)]);
    expect(await lint('src/models/vae/model.ts', "import type { CorpusDataset } from '../../corpus/dataset.js';\nexport type D = CorpusDataset;\n")).toEqual([expect.stringMatching(/reads no corpus/)]);
    // the same imports are fine in the family's train.ts
    expect(await lint('src/models/vae/train.ts', "import { existsSync } from 'node:fs';\nimport type { CorpusDataset } from '../../corpus/dataset.js';\nexport const e = existsSync;\nexport type D = CorpusDataset;\n")).toEqual([]);
  });

  it('lets the UI take only types from the engine API', async () => {
    expect(await lint('src/ui/x.ts', "import type { ModelInfo } from '../engine/api.js';\nexport type M = ModelInfo;\n")).toEqual([]);
    expect(await lint('src/ui/x.ts', "import { ModelInfo } from '../engine/api.js';\nexport const m = ModelInfo;\n")).toEqual([expect.stringMatching(/takes only types from the engine/)]);
    expect(await lint('src/ui/x.ts', "import { createEngine } from '../engine/engine.js';\nexport const c = createEngine;\n")).toHaveLength(1);
    expect(await lint('src/ui/x.ts', "import { decodeWav } from '../audio/wav.js';\nexport const d = decodeWav;\n")).toHaveLength(1);
  });

  it('allows downward imports', async () => {
    expect(await lint('src/engine/x.ts', "import { FAMILY_ENTRIES } from '../models/registry.js';\nimport { decodeWav } from '../audio/wav.js';\nexport const a = [FAMILY_ENTRIES, decodeWav];\n")).toEqual([]);
    expect(await lint('src/models/cycleGan/convert.ts', "import { readFile } from 'node:fs/promises';\nimport { Module } from '../../nn/module.js';\nexport const a = [readFile, Module];\n")).toEqual([]);
  });
});
