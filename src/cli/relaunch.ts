// Data-parallel training (`timbre train … --workers 2`), `timbre compare` and `timbre web` with their lane worker run in a child Node
// started with --single-threaded-gc. V8's parallel and concurrent GC helper threads otherwise compete with the two
// compute threads for the two cores (measured by bench:train here: the two-way step drops from ≈250 to ≈200 ms; by
// bench:lanes: every family side by side 9.89 → 7.99 s, lanes in turn 14.15 → 13.75 s). Node refuses the flag in
// NODE_OPTIONS, in a worker's execArgv and at run time, so the process itself must start with it.

import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';

/** The V8 flag data-parallel training runs under. */
export const TRAINING_GC_FLAG = '--single-threaded-gc';
const MARK = 'TIMBRE_TRAINING_CHILD';

/**
 * True, in a process that does not already run with the flag, for `train` with more than one worker, and for
 * `compare` and `web` on a machine of ≥ 2 cores unless TIMBRE_LANE_WORKERS=0 (their lanes then run on two threads).
 */
export function needsTrainingRelaunch(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv, cores: number = availableParallelism()): boolean {
  if (execArgv.includes(TRAINING_GC_FLAG) || env[MARK] === '1') return false;
  if (argv[0] === 'compare' || argv[0] === 'web') return cores >= 2 && env['TIMBRE_LANE_WORKERS'] !== '0' && !argv.includes('--help') && !argv.includes('-h');
  if (argv[0] !== 'train') return false;
  let workers: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--workers') workers = argv[i + 1];
    else if (arg.startsWith('--workers=')) workers = arg.slice('--workers='.length);
  });
  return workers !== undefined && Number(workers) > 1;
}

/**
 * Runs this same command in a child Node with the flag and returns its exit code. On POSIX the child gets its own
 * process group, so a terminal's Ctrl-C reaches it once, forwarded from here (a second Ctrl-C still aborts at once);
 * on Windows, where a detached child would open a console of its own, the shared console delivers Ctrl-C to both.
 * If this process dies, the child notices its IPC channel closing and stops as if killed with it.
 */
export function relaunchForTraining(): Promise<number> {
  const ownGroup = process.platform !== 'win32';
  const child = spawn(process.execPath, [...process.execArgv, TRAINING_GC_FLAG, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [MARK]: '1' },
    detached: ownGroup,
  });
  const signals: NodeJS.Signals[] = ownGroup ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGTERM'];
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of signals) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`timbre: could not start the training process: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/** In the relaunched child: stop at once when the parent is gone (its IPC channel closes), like a kill of the parent would. */
export function watchTrainingParent(): void {
  if (process.env[MARK] !== '1' || !process.send) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref(); // the channel must not keep the child alive after its work is done
}
