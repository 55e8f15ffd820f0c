#!/usr/bin/env node
// Entry point of the `timbre` binary: wires the real terminal streams to `runCli` (data-parallel training first
// relaunches itself with the V8 flag it needs, see relaunch.ts).

import { needsTrainingRelaunch, relaunchForTraining, watchTrainingParent } from './relaunch.js';
import { runCli } from './run.js';

const argv = process.argv.slice(2);
if (needsTrainingRelaunch(argv, process.execArgv, process.env)) {
  process.exitCode = await relaunchForTraining();
} else {
  watchTrainingParent();
  process.exitCode = await runCli(argv, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
  });
}
