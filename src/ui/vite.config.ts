// Vite build of the UI: src/ui → dist/ui, relative asset URLs so the same bundle loads from the
// web server (http://127.0.0.1) and from Electron's timbre:// protocol.

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    modulePreload: { polyfill: false }, // the polyfill is an inline script, which the CSP forbids
  },
});
