// The reusable progress bar (src/cli/progress.ts): formatting, ETA, TTY redraw and plain periodic lines.

import { describe, expect, it } from 'vitest';
import { createProgressBar, etaSeconds, formatDuration, formatProgressLine } from '../../src/cli/progress.js';

describe('progress bar', () => {
  it('formats durations', () => {
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });

  it('estimates the remaining time from the average rate', () => {
    expect(etaSeconds(25, 100, 10)).toBeCloseTo(30);
    expect(etaSeconds(0, 100, 10)).toBeNaN();
  });

  it('draws a bar with counts, percent, rate and ETA', () => {
    const line = formatProgressLine({ label: 'rendering', done: 25, total: 100, elapsedSeconds: 10, width: 20, detail: 'flite-slt h01-01' });
    expect(line).toBe('rendering [#####---------------]  25/100  25%  2.5/s  elapsed 0:10  ETA 0:30  flite-slt h01-01');
  });

  it('redraws in place on a TTY, throttled, and ends with a newline', () => {
    let now = 0;
    const out: string[] = [];
    const bar = createProgressBar({ total: 10, label: 'x', write: (t) => out.push(t), interactive: true, now: () => now });
    bar.update(1);
    bar.update(2); // same instant: throttled
    now = 500;
    bar.update(5);
    bar.finish();
    expect(out.filter((t) => t.startsWith('\r'))).toHaveLength(3);
    expect(out.at(-1)).toBe('\n');
    expect(out.join('')).not.toMatch(/\n.*\n/);
  });

  it('prints plain lines at intervals when not a TTY', () => {
    let now = 0;
    const out: string[] = [];
    const bar = createProgressBar({ total: 100, label: 'x', write: (t) => out.push(t), interactive: false, lineIntervalMs: 1000, now: () => now });
    for (let i = 1; i <= 100; i++) {
      now = i * 100;
      bar.update(i);
    }
    bar.finish();
    expect(out.every((t) => t.endsWith('\n') && !t.includes('\r'))).toBe(true);
    expect(out.length).toBeGreaterThanOrEqual(9);
    expect(out.length).toBeLessThanOrEqual(11);
    expect(out.at(-1)).toMatch(/100\/100  100%/);
  });
});
