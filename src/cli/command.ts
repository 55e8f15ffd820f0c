// The shape of one `timbre` sub-command, and the streams it writes to (injected, so tests can read them).

/** Where a command writes; `process.stdout`/`stderr` in the real CLI. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal (progress bars redraw in place only then). */
  interactive: boolean;
}

/** One sub-command: `timbre <name> …`. Returns the exit code (0 ok); throws typed errors otherwise. */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
