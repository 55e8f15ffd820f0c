// Result lanes: one wavesurfer.js view (waveform + spectrogram) per lane, all cursors synced to the
// lane being heard; play/stop, solo, A/B against the source, a selectable region to loop.

import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin, { type Region } from 'wavesurfer.js/dist/plugins/regions.esm.js';
import SpectrogramPlugin from 'wavesurfer.js/dist/plugins/spectrogram.esm.js';
import TimelinePlugin from 'wavesurfer.js/dist/plugins/timeline.esm.js';
import { Emitter } from './emitter.js';

/** One metric shown under a lane's title. */
export interface LaneMetric {
  label: string;
  value: string;
  title?: string;
}

/** What a lane shows. */
export interface LaneSpec {
  id: string;
  title: string;
  kind: 'source' | 'model';
  wav: Uint8Array;
  metrics: readonly LaneMetric[];
}

/** Events of the lane set. */
export type LaneSetEvents = {
  export: [laneId: string];
  audible: [laneId: string];
  playing: [playing: boolean];
};

const COLOURS = { wave: '#7dd3fc', progress: '#0284c7', cursor: '#f97316' };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, children: (Node | string)[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

class LaneView {
  readonly element: HTMLElement;
  readonly ws: WaveSurfer;
  readonly ready: Promise<void>;
  readonly soloButton: HTMLButtonElement;
  regions: InstanceType<typeof RegionsPlugin> | undefined;

  constructor(readonly spec: LaneSpec, onSolo: () => void, onExport: (() => void) | undefined, onSeek: (seconds: number) => void) {
    const titleId = `lane-title-${spec.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.soloButton = el('button', { type: 'button', className: 'solo', textContent: 'Solo', title: 'Hear this lane (others follow its cursor)' });
    this.soloButton.setAttribute('aria-pressed', 'false');
    this.soloButton.setAttribute('aria-label', `Solo ${spec.title}`);
    this.soloButton.addEventListener('click', onSolo);
    const buttons: HTMLElement[] = [this.soloButton];
    if (onExport) {
      const exportButton = el('button', { type: 'button', className: 'export', textContent: 'Export WAV' });
      exportButton.setAttribute('aria-label', `Export ${spec.title} as WAV`);
      exportButton.addEventListener('click', onExport);
      buttons.push(exportButton);
    }
    const metrics = el(
      'dl',
      { className: 'metrics' },
      spec.metrics.flatMap((m) => [el('dt', { textContent: m.label }), el('dd', { textContent: m.value, title: m.title ?? '' })]),
    );
    const waveHost = el('div', { className: 'wave' });
    const specHost = el('div', { className: 'spec' });
    this.element = el('section', { className: `lane lane-${spec.kind}` }, [
      el('header', {}, [el('h3', { id: titleId, textContent: spec.title }), metrics, el('div', { className: 'lane-buttons' }, buttons)]),
      waveHost,
      specHost,
    ]);
    this.element.setAttribute('aria-labelledby', titleId);
    this.element.dataset.laneId = spec.id;
    const plugins = [SpectrogramPlugin.create({ container: specHost, height: 88, labels: false, fftSamples: 512, scale: 'mel', frequencyMax: 8000, useWebWorker: true, fallbackToMainThread: false })];
    this.ws = WaveSurfer.create({
      container: waveHost,
      height: 56,
      waveColor: COLOURS.wave,
      progressColor: COLOURS.progress,
      cursorColor: COLOURS.cursor,
      cursorWidth: 2,
      barWidth: 0,
      dragToSeek: true,
      plugins,
    });
    if (spec.kind === 'source') {
      this.ws.registerPlugin(TimelinePlugin.create({ height: 14, timeInterval: 0.25, primaryLabelInterval: 1, style: { fontSize: '10px', color: '#475569' } }));
      this.regions = this.ws.registerPlugin(RegionsPlugin.create());
    }
    this.ws.on('interaction', (seconds) => onSeek(seconds));
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('ready', () => resolve());
      this.ws.once('error', (error) => reject(error));
    });
    this.ready.catch(() => undefined);
    void this.ws.loadBlob(new Blob([spec.wav as BlobPart], { type: 'audio/wav' })).catch(() => undefined);
  }

  destroy(): void {
    this.ws.destroy();
    this.element.remove();
  }
}

/** The lanes of one conversion: source first, then one per model. */
export class LaneSet extends Emitter<LaneSetEvents> {
  private readonly lanes = new Map<string, LaneView>();
  private audibleId: string | undefined;
  private abOtherId: string | undefined;
  private userChose = false;
  private unsubscribes: (() => void)[] = [];
  private lastSyncMs = 0;

  constructor(private readonly container: HTMLElement) {
    super();
  }

  /** Lane ids in display order. */
  ids(): string[] {
    return [...this.lanes.keys()];
  }

  /** The lane being heard. */
  audible(): string | undefined {
    return this.audibleId;
  }

  /** Adds a lane; the first one becomes audible. */
  add(spec: LaneSpec): void {
    const view = new LaneView(
      spec,
      () => {
        this.userChose = true;
        this.solo(spec.id);
      },
      spec.kind === 'model' ? () => this.emit('export', spec.id) : undefined,
      (seconds) => this.seek(seconds),
    );
    this.lanes.set(spec.id, view);
    this.container.append(view.element);
    const ws = view.ws;
    this.unsubscribes.push(
      ws.on('timeupdate', (seconds) => {
        if (spec.id !== this.audibleId) return;
        const now = performance.now();
        if (now - this.lastSyncMs < 33) return;
        this.lastSyncMs = now;
        this.syncOthers(seconds);
        const region = this.region();
        if (region && ws.isPlaying() && seconds >= region.end) {
          ws.pause();
          this.seek(region.start);
        }
      }),
      ws.on('play', () => spec.id === this.audibleId && this.emit('playing', true)),
      ws.on('pause', () => spec.id === this.audibleId && this.emit('playing', false)),
      ws.on('finish', () => spec.id === this.audibleId && this.seek(0)),
    );
    if (view.regions) {
      view.regions.enableDragSelection({ color: 'rgba(249, 115, 22, 0.18)' });
      this.unsubscribes.push(
        view.regions.on('region-created', (region: Region) => {
          for (const other of view.regions!.getRegions()) if (other !== region) other.remove();
        }),
      );
    }
    // The first model lane becomes the one heard, unless the user already chose or is listening.
    const firstModel = spec.kind === 'model' && [...this.lanes.values()].filter((l) => l.spec.kind === 'model').length === 1;
    if (this.audibleId === undefined || (firstModel && !this.userChose && !this.isPlaying())) this.solo(spec.id);
    else view.ws.setMuted(true);
  }

  /** Waits until every lane has decoded its audio. */
  async ready(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((l) => l.ready.catch(() => undefined)));
  }

  private region(): { start: number; end: number } | undefined {
    for (const lane of this.lanes.values()) {
      const region = lane.regions?.getRegions()[0];
      if (region && region.end - region.start > 0.05) return { start: region.start, end: region.end };
    }
    return undefined;
  }

  private syncOthers(seconds: number): void {
    for (const [id, lane] of this.lanes) if (id !== this.audibleId && Math.abs(lane.ws.getCurrentTime() - seconds) > 0.02) lane.ws.setTime(seconds);
  }

  /** Moves every cursor to `seconds`. */
  seek(seconds: number): void {
    for (const lane of this.lanes.values()) lane.ws.setTime(Math.min(seconds, lane.ws.getDuration() || seconds));
  }

  /** Makes `laneId` the lane that is heard, at the same time position; keeps playing if it was. */
  solo(laneId: string): void {
    const next = this.lanes.get(laneId);
    if (!next) return;
    const current = this.audibleId === undefined ? undefined : this.lanes.get(this.audibleId);
    const wasPlaying = current?.ws.isPlaying() ?? false;
    const time = current?.ws.getCurrentTime() ?? 0;
    if (current && current !== next) {
      current.ws.pause();
      current.ws.setMuted(true);
    }
    this.audibleId = laneId;
    next.ws.setMuted(false);
    for (const [id, lane] of this.lanes) {
      lane.soloButton.setAttribute('aria-pressed', String(id === laneId));
      lane.element.classList.toggle('audible', id === laneId);
    }
    if (current && current !== next) {
      next.ws.setTime(time);
      if (wasPlaying) void next.ws.play();
    }
    this.emit('audible', laneId);
  }

  /** A/B: switches between the source and the last model lane heard. */
  toggleAB(): void {
    this.userChose = true;
    const sourceId = this.ids().find((id) => this.lanes.get(id)!.spec.kind === 'source');
    if (sourceId === undefined || this.audibleId === undefined) return;
    if (this.audibleId === sourceId) {
      const back = this.abOtherId ?? this.ids().find((id) => id !== sourceId);
      if (back) this.solo(back);
    } else {
      this.abOtherId = this.audibleId;
      this.solo(sourceId);
    }
  }

  /** Plays or pauses the audible lane (from the selected region's start when one is set). */
  async playPause(): Promise<void> {
    const lane = this.audibleId === undefined ? undefined : this.lanes.get(this.audibleId);
    if (!lane) return;
    if (lane.ws.isPlaying()) {
      lane.ws.pause();
      return;
    }
    const region = this.region();
    if (region && (lane.ws.getCurrentTime() < region.start || lane.ws.getCurrentTime() >= region.end - 0.01)) this.seek(region.start);
    await lane.ws.play();
  }

  /** Stops and rewinds every lane. */
  stop(): void {
    for (const lane of this.lanes.values()) lane.ws.pause();
    this.seek(this.region()?.start ?? 0);
    this.emit('playing', false);
  }

  /** True while the audible lane plays. */
  isPlaying(): boolean {
    return this.audibleId !== undefined && (this.lanes.get(this.audibleId)?.ws.isPlaying() ?? false);
  }

  /** Removes every lane and listener. */
  clear(): void {
    for (const off of this.unsubscribes) off();
    this.unsubscribes = [];
    for (const lane of this.lanes.values()) lane.destroy();
    this.lanes.clear();
    this.audibleId = undefined;
    this.abOtherId = undefined;
    this.userChose = false;
  }

  /** Clears lanes and drops the set's own listeners. */
  destroy(): void {
    this.clear();
    this.unAll();
  }
}
