// `timbre web [--port N]`: web mode — the app's UI in a browser, on 127.0.0.1 with a per-run token.

import { runWebServer } from '../../server/main.js';
import type { CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'web',
  summary: 'serve the app on 127.0.0.1 and print its URL (with access token)',
  usage: 'usage: timbre web [--port N]\n  --port N   TCP port on 127.0.0.1 (default: a free one)\n  The UI must be built ("npm run build:ui"). Ctrl+C stops the server.',
  async run(argv, io) {
    await runWebServer(argv, (line) => io.out(`${line}\n`));
    return new Promise<number>(() => {}); // runs until Ctrl+C (the server's signal handler exits)
  },
};
