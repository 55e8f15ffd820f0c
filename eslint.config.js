// `npm run lint`: the layering of docs/ARCHITECTURE.md, checked on every import (static, export-from and literal
// dynamic `import()`). Only these rules run, so the lint stays fast and says one thing: which import crosses a wall.
// Each folder of src/ names the folders of ours it may import; everything else of ours is refused there.

import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

/** The folders of src/, bottom to top, and which others each may import. */
const MAY_IMPORT = {
  audio: [],
  io: ['audio'],
  nn: ['audio', 'io'],
  corpus: ['audio', 'io'],
  models: ['audio', 'io', 'nn', 'corpus'],
  eval: ['audio', 'io', 'nn', 'corpus', 'models'],
  engine: ['audio', 'io', 'nn', 'corpus', 'models', 'eval'],
  server: ['engine'],
  cli: ['audio', 'io', 'nn', 'corpus', 'models', 'eval', 'engine', 'server'],
  ui: [], // plus `import type` from engine/api.ts, below
};
/** What electron/ may import of src/. */
const ELECTRON_MAY_IMPORT = ['engine', 'io'];
const LAYERS = Object.keys(MAY_IMPORT);
/** Node's own modules, `node:fs` or bare `fs`, `fs/promises`. */
const NODE_BUILTINS = `^(node:|(${builtinModules.filter((m) => !m.startsWith('_')).join('|')})(/|$))`;

/** A regex matching a relative specifier, written from a folder `depth` levels below the repository root, into a top-level `src/` folder of `names`. */
const into = (depth, names, fromRoot = '') => `^(\\.\\./){${depth}}${fromRoot}(${names.join('|')})(/|$)`;
/** A regex matching a relative specifier that climbs above src/ (into bench, tests, …) from `depth` levels below it. */
const aboveSrc = (depth) => `^(\\.\\./){${depth + 1},}`;

/** Every folder under `dir` (repository-relative), `dir` first. */
function folders(dir) {
  const out = [dir];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...folders(join(dir, entry.name)));
  }
  return out;
}

/** The import rules of the files directly in `folder` (repository-relative path under src/). */
function rulesOf(folder) {
  const parts = relative('src', folder).split(sep);
  const layer = parts[0];
  const depth = parts.length; // '../' × depth reaches src/
  const forbidden = LAYERS.filter((l) => l !== layer && !MAY_IMPORT[layer].includes(l));
  const message = `src/${layer} may import ${MAY_IMPORT[layer].length > 0 ? `only src/{${MAY_IMPORT[layer].join(',')}} of ours` : 'nothing of ours outside itself'}${layer === 'ui' ? ' (and `import type` from src/engine/api.ts)' : ''} (docs/ARCHITECTURE.md, layers)`;
  const patterns = [];
  const paths = [];
  if (forbidden.length > 0) patterns.push({ regex: into(depth, layer === 'ui' ? forbidden.filter((l) => l !== 'engine') : forbidden), message });
  patterns.push({ regex: aboveSrc(depth), message: 'src/ imports nothing outside src/' });
  if (layer === 'ui') {
    patterns.push({ regex: `${into(depth, ['engine'])}(?!api\\.js$)`, message });
    paths.push({ name: `${'../'.repeat(depth)}engine/api.js`, allowTypeImports: true, message: 'src/ui takes only types from the engine (`import type … from src/engine/api.ts`); it talks to the engine through its transport' });
  }
  if (layer === 'audio' || layer === 'ui') {
    patterns.push({ regex: NODE_BUILTINS, message: `src/${layer} runs in the browser too: no Node APIs (node:*); take and return bytes` });
  }
  patterns.push({ regex: '^electron(/|$)', message: 'only electron/ imports electron' });
  return { patterns, paths, dynamic: patterns };
}

/** no-restricted-syntax selectors for literal dynamic imports matching the same regexes. */
function dynamicImportRules(patterns) {
  return patterns.map((p) => ({ selector: `ImportExpression > Literal[value=/${p.regex.replaceAll('/', '\\/')}/]`, message: `${p.message} (dynamic import)` }));
}

function layerConfig(folder, extra = {}) {
  const { patterns, paths, dynamic } = rulesOf(folder);
  const allPatterns = [...patterns, ...(extra.patterns ?? [])];
  return {
    files: [`${folder}/*.ts`],
    ...(extra.ignores ? { ignores: extra.ignores } : {}),
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns: allPatterns }],
      'no-restricted-syntax': ['error', ...dynamicImportRules([...dynamic, ...(extra.patterns ?? [])])],
    },
  };
}

/** A family's model.ts: config, modules, loss — the math that runs anywhere, so no Node API, no files, no corpus. */
function familyModelConfig(folder) {
  const depth = relative('src', folder).split(sep).length;
  const base = layerConfig(folder, {
    patterns: [
      { regex: NODE_BUILTINS, message: "a family's model.ts is the model alone (config, modules, loss): no Node APIs; files go in convert.ts, data in train.ts" },
      { regex: into(depth, ['corpus', 'io']), message: "a family's model.ts reads no corpus and no files: batches come from train.ts, model files from convert.ts" },
    ],
  });
  return { ...base, files: [`${folder}/model.ts`] };
}

const srcFolders = folders('src');
const familyFolders = srcFolders.filter((f) => relative('src', f).split(sep).length === 2 && f.startsWith(join('src', 'models')));

export default [
  { ignores: ['dist/**', 'node_modules/**', '.base/**', 'src/ui/vite.config.ts'] },
  {
    files: ['src/**/*.ts', 'electron/**/*.ts', 'electron/**/*.cts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'off' }, // other rules' directives (e.g. in preload.cts) are not ours to judge
  },
  ...srcFolders.filter((f) => f !== 'src').map((f) => layerConfig(f)),
  ...familyFolders.map((f) => familyModelConfig(f)),
  {
    files: ['electron/**/*.ts', 'electron/**/*.cts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: into(1, LAYERS.filter((l) => !ELECTRON_MAY_IMPORT.includes(l)), 'src/'), message: `electron/ may import only src/{${ELECTRON_MAY_IMPORT.join(',')}}: it hosts the engine` }] },
      ],
    },
  },
];
