// Small SVG line charts of training losses, one per loss name, redrawn at most once per animation frame
// as progress events arrive (no chart library: a polyline over a min/max-scaled box).

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 260;
const HEIGHT = 90;
const PAD = { left: 4, right: 4, top: 6, bottom: 6 };
/** Points kept per loss; beyond it every other point is dropped (the shape stays, memory does not grow). */
export const MAX_POINTS = 1000;

interface Series {
  figure: HTMLElement;
  line: SVGPolylineElement;
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
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${name} loss over training steps`);
    const frame = document.createElementNS(SVG, 'rect');
    frame.setAttribute('x', '0.5');
    frame.setAttribute('y', '0.5');
    frame.setAttribute('width', String(WIDTH - 1));
    frame.setAttribute('height', String(HEIGHT - 1));
    frame.setAttribute('class', 'frame');
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', 'line');
    svg.append(frame, line);
    const range = document.createElement('div');
    range.className = 'range small muted mono';
    figure.append(caption, svg, range);
    this.container.append(figure);
    const series: Series = { figure, line, range, last, points: [] };
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
      let [v0, v1] = [Math.min(...values), Math.max(...values)];
      if (v1 - v0 < 1e-12) [v0, v1] = [v0 - 0.5, v1 + 0.5];
      const x = (s: number): number => PAD.left + ((s - s0) / Math.max(1, s1 - s0)) * (WIDTH - PAD.left - PAD.right);
      const y = (v: number): number => HEIGHT - PAD.bottom - ((v - v0) / (v1 - v0)) * (HEIGHT - PAD.top - PAD.bottom);
      series.line.setAttribute('points', points.map(([s, v]) => `${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
      series.last.textContent = `${values.at(-1)!.toPrecision(4)} @ step ${steps.at(-1)}`;
      series.range.textContent = `${v0.toPrecision(3)} – ${v1.toPrecision(3)} · steps ${s0}–${s1}`;
      series.figure.dataset.points = String(points.length);
    }
  }
}
