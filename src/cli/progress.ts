// A terminal progress bar with rate and ETA for long jobs (corpus build, training, evaluation):
// redrawn in place on a TTY, plain periodic lines otherwise (logs, CI), so output stays readable.
// Hand-written rather than cli-progress: that library redraws on its own timers through readline on a Node stream and
// reads Date.now itself, while every CLI line here goes through `io.err` (which the tests capture) and is drawn only
// when work advances, with an injectable clock.

/** Options of `createProgressBar`; times in milliseconds. */
export interface ProgressBarOptions {
  /** Units of work in all. */
  total: number;
  /** Text before the bar (`rendering`). */
  label?: string;
  /** Where lines go (usually `io.err`). */
  write: (text: string) => void;
  /** True on a terminal: redraw in place; false: one plain line every `lineIntervalMs`. */
  interactive: boolean;
  /** Bar width in characters, default 28. */
  width?: number;
  /** Minimum time between redraws on a TTY, default 100 ms. */
  redrawIntervalMs?: number;
  /** Time between plain lines when not interactive, default 10 000 ms. */
  lineIntervalMs?: number;
  /** Clock in ms, injectable for tests; default `performance.now`. */
  now?: () => number;
}

/** A live progress bar. `finish()` prints the last state and a newline; call it exactly once. */
export interface ProgressBar {
  /** Sets the number of finished units (and an optional short detail, e.g. the current item). */
  update(done: number, detail?: string): void;
  /** Adds `count` (default 1) finished units. */
  tick(count?: number, detail?: string): void;
  /** Changes the total (work discovered late). */
  setTotal(total: number): void;
  /** Final line; `message` replaces the detail. */
  finish(message?: string): void;
}

/** `m:ss` or `h:mm:ss`; `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** State of one progress line. */
export interface ProgressState {
  label: string;
  done: number;
  total: number;
  elapsedSeconds: number;
  width: number;
  detail?: string;
}

/** Remaining time from the average rate so far, seconds; NaN before the first unit is done. */
export function etaSeconds(done: number, total: number, elapsedSeconds: number): number {
  if (done <= 0 || elapsedSeconds <= 0) return Number.NaN;
  return (elapsedSeconds / done) * Math.max(0, total - done);
}

/** `label [#####-----]  42/100  42%  3.1/s  elapsed 0:13  ETA 0:18  detail` */
export function formatProgressLine(state: ProgressState): string {
  const fraction = state.total > 0 ? Math.min(1, Math.max(0, state.done / state.total)) : 1;
  const filled = Math.round(fraction * state.width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(state.width - filled)}]`;
  const rate = state.elapsedSeconds > 0 ? state.done / state.elapsedSeconds : 0;
  const rateText = rate >= 1 || rate === 0 ? `${rate.toFixed(1)}/s` : `${(1 / rate).toFixed(1)} s each`;
  const eta = state.done >= state.total ? 0 : etaSeconds(state.done, state.total, state.elapsedSeconds);
  const parts = [
    `${state.label} ${bar}`,
    `${state.done}/${state.total}`,
    `${Math.floor(fraction * 100)}%`,
    rateText,
    `elapsed ${formatDuration(state.elapsedSeconds)}`,
    `ETA ${formatDuration(eta)}`,
  ];
  if (state.detail !== undefined && state.detail !== '') parts.push(state.detail);
  return parts.join('  ');
}

/** Starts a progress bar; nothing is written until the first update (TTY) or interval (plain). */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const width = options.width ?? 28;
  const redrawMs = options.redrawIntervalMs ?? 100;
  const lineMs = options.lineIntervalMs ?? 10_000;
  const started = now();
  let total = options.total;
  let done = 0;
  let detail: string | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let finished = false;
  let drawnWidth = 0;

  const line = (): string =>
    formatProgressLine({ label: options.label ?? 'progress', done, total, elapsedSeconds: (now() - started) / 1000, width, detail });

  const draw = (force: boolean): void => {
    const t = now();
    if (options.interactive) {
      if (!force && t - lastDraw < redrawMs) return;
      const text = line();
      // \r + clear-to-end keeps one line even when the new text is shorter than the old one.
      options.write(`\r${text}\x1b[K`);
      drawnWidth = text.length;
    } else {
      if (!force && t - lastDraw < lineMs) return;
      if (!force && lastDraw === Number.NEGATIVE_INFINITY && t - started < lineMs) return;
      options.write(`${line()}\n`);
    }
    lastDraw = t;
  };

  return {
    update(value, newDetail) {
      if (finished) return;
      done = value;
      if (newDetail !== undefined) detail = newDetail;
      draw(false);
    },
    tick(count = 1, newDetail) {
      this.update(done + count, newDetail);
    },
    setTotal(value) {
      total = value;
    },
    finish(message) {
      if (finished) return;
      finished = true;
      if (message !== undefined) detail = message;
      draw(true);
      if (options.interactive && drawnWidth > 0) options.write('\n');
    },
  };
}

/**
 * A progress callback `(done, total, detail)` whose bar starts on the first call (when the total is known), and
 * `finish()` that ends it if it started.
 */
export function lazyProgressBar(label: string, io: { err: (text: string) => void; interactive: boolean }): {
  onProgress: (done: number, total: number, detail?: string) => void;
  finish: () => void;
} {
  let bar: ProgressBar | undefined;
  return {
    onProgress: (done, total, detail) => {
      bar ??= createProgressBar({ total, label, write: io.err, interactive: io.interactive });
      bar.update(done, detail);
    },
    finish: () => bar?.finish(),
  };
}
