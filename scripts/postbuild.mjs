// After `tsc`: make the CLI entry executable so `npx timbre` and `npm link` work.
import { chmodSync, existsSync } from 'node:fs';

const bin = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(bin)) {
  console.error('postbuild: dist/src/cli/main.js is missing; did tsc fail?');
  process.exit(1);
}
chmodSync(bin, 0o755);
