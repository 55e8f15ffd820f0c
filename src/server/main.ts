// `npm run web` / `timbre web`: starts web mode on 127.0.0.1 and prints the URL that carries the token.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine } from '../engine/engine.js';
import { startServer, type RunningServer } from './server.js';

/** Parses `--port N` (0–65535; default 0 = random) and starts the server with a fresh engine. */
export async function runWebServer(argv: readonly string[], log: (line: string) => void = (line) => console.log(line)): Promise<RunningServer> {
  const { values } = parseArgs({ args: [...argv], options: { port: { type: 'string' }, 'ui-dir': { type: 'string' } }, strict: true });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be a whole number in [0, 65535], got "${values.port}"`);
  const engine = createEngine({ allowPaths: false });
  const server = await startServer({ engine, port, uiDir: values['ui-dir'] });
  log(`Timbre web mode on 127.0.0.1 (only this computer can connect).`);
  log(`Open: ${server.url}`);
  log('The link carries this run\'s access token; press Ctrl+C to stop.');
  const stop = (): void => {
    void server.close().then(() => engine.destroy()).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  runWebServer(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
}
