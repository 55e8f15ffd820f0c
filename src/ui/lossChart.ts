// Small line charts of training losses drawn by uPlot, one per loss name, updated at most once per animation frame
// as progress events arrive.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const WIDTH = 260;
const HEIGHT = 90;
/** Points kept per loss; beyond it every other point is dropped (the shape stays, memory does not grow). */
export const MAX_POINTS = 1000;

interface Series {
  figure: HTMLElement;
  plot: uPlot;
  range: HTMLElement;
  last: HTMLElement;
  points: [step: number, value: number][];
}

/** One chart per loss name inside `container`; `add()` appends a step, `clear()` empties everything. */
export class LossCharts {
  private readonly series = new Map<string, Series>();
  private frame = 0;

  constructor(private readonly container: HTMLElement) {}

  /** Appends the losses of one step; charts for new names appear as they come. */
  add(step: number, losses: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(losses)) {
      if (!Number.isFinite(value)) continue;
      const series = this.series.get(name) ?? this.create(name);
      const last = series.points.at(-1);
      if (last !== undefined && last[0] >= step) series.points = series.points.filter(([s]) => s < step); // a resumed run rewinds
      series.points.push([step, value]);
      if (series.points.length > MAX_POINTS) series.points = series.points.filter((_, i) => i % 2 === 0 || i === series.points.length - 1);
    }
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.draw());
  }

  /** Number of points of `name` (tests). */
  pointCount(name: string): number {
    return this.series.get(name)?.points.length ?? 0;
  }

  /** Removes every chart. */
  clear(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    for (const series of this.series.values()) series.plot.destroy();
    this.series.clear();
    this.container.replaceChildren();
  }

  private create(name: string): Series {
    const figure = document.createElement('figure');
    figure.className = 'loss-chart';
    figure.dataset.loss = name;
    const caption = document.createElement('figcaption');
    const title = document.createElement('strong');
    title.textContent = name;
    const last = document.createElement('span');
    last.className = 'mono';
    caption.append(title, ' ', last);
    const plotArea = document.createElement('div');
    plotArea.className = 'plot';
    plotArea.setAttribute('role', 'img');
    plotArea.setAttribute('aria-label', `${name} loss over training steps`);
    const range = document.createElement('div');
    range.className = 'range small muted mono';
    figure.append(caption, plotArea, range);
    this.container.append(figure);
    const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() || '#2563eb';
    const plot = new uPlot(
      {
        width: WIDTH,
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false } },
        axes: [{ show: false }, { show: false }],
        series: [{}, { stroke: accent, width: 1.5, points: { show: false } }],
      },
      [[], []],
      plotArea,
    );
    const series: Series = { figure, plot, range, last, points: [] };
    this.series.set(name, series);
    return series;
  }

  private draw(): void {
    this.frame = 0;
    for (const series of this.series.values()) {
      const { points } = series;
      if (points.length === 0) continue;
      const steps = points.map(([s]) => s);
      const values = points.map(([, v]) => v);
      const [s0, s1] = [Math.min(...steps), Math.max(...steps)];
      const [v0, v1] = [Math.min(...values), Math.max(...values)];
      series.plot.setData([steps, values]);
      series.last.textContent = `${values.at(-1)!.toPrecision(4)} @ step ${steps.at(-1)}`;
      series.range.textContent = `${v0.toPrecision(3)} – ${v1.toPrecision(3)} · steps ${s0}–${s1}`;
      series.figure.dataset.points = String(points.length);
    }
  }
}
