// Test helpers for the CLI: run `timbre` in-process and capture what it prints.

import { runCli } from '../../src/cli/run.js';

/** Exit code and captured output of one in-process `timbre` run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `timbre ...argv` in-process. */
export async function timbre(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    interactive: false,
  });
  return { code, stdout, stderr };
}
