#!/usr/bin/env node
// `npm start`: the Electron desktop app where Electron is installed; otherwise says so, how to get it,
// and falls back to web mode (`npm run web`). `--web` forces web mode; `--check` only prints the choice.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const forceWeb = args.includes('--web');
const passThrough = args.filter((a) => a !== '--check' && a !== '--web');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The Electron binary, or why there is none. */
function findElectron() {
  try {
    const binary = createRequire(import.meta.url)('electron');
    if (typeof binary === 'string' && existsSync(binary)) return { binary };
    return { reason: `the electron package points at ${String(binary)}, which does not exist` };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { reason: /Cannot find (module|package)/.test(message) ? 'the electron package is not installed' : `electron is installed without its binary (${message})` };
  }
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`timbre: "${command} ${commandArgs.join(' ')}" failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status ?? 1);
  }
}

const electron = forceWeb ? { reason: '--web was given' } : findElectron();
if (electron.binary) {
  if (check) {
    console.log(`electron: ${electron.binary}`);
    process.exit(0);
  }
  run(npm, ['exec', '--', 'tsc', '-p', 'tsconfig.json']);
  run(npm, ['exec', '--', 'tsc', '-p', 'electron/tsconfig.json']);
  run(npm, ['run', 'build:ui']);
  const child = spawn(electron.binary, ['dist/electron/main.js', ...passThrough], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  console.error(
    [
      `timbre: the desktop app cannot start: ${electron.reason}.`,
      '  To get it (needs internet access): npm install electron   then run "npm start" again.',
      '  Falling back to web mode: the same interface in your browser, served only to this computer (127.0.0.1).',
    ].join('\n'),
  );
  if (check) {
    console.log('web mode');
    process.exit(0);
  }
  const child = spawn(npm, ['run', 'web', '--', ...passThrough], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
}
