// report.html of a comparison: self-contained (inline SVG waveforms, PNG spectrograms, WAV data URIs),
// with a metrics table, so it opens anywhere and can be mailed as one file.

import type { LogMel } from '../audio/mel.js';
import type { LaneResult, SourceResult } from './api.js';
import { encodePngRgb } from './png.js';

/** What the report shows: the source and each lane with its samples and log-mel. */
export interface ReportInput {
  source: SourceResult;
  sourceSamples: Float32Array;
  sourceLogMel: LogMel;
  lanes: readonly { result: LaneResult; samples: Float32Array; logMel: LogMel }[];
  /** Embed WAVs as data URIs while their total stays under this many bytes; default 20 MB. */
  maxEmbeddedAudioBytes?: number;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Min/max envelope of `samples` as an SVG (width × height px). */
export function waveformSvg(samples: Float32Array, width = 900, height = 80): string {
  const mid = height / 2;
  const points: string[] = [];
  const per = Math.max(1, samples.length / width);
  const lows: number[] = [];
  for (let x = 0; x < width; x++) {
    const start = Math.floor(x * per);
    const end = Math.min(samples.length, Math.max(start + 1, Math.floor((x + 1) * per)));
    let lo = 0;
    let hi = 0;
    for (let i = start; i < end; i++) {
      const v = samples[i] ?? 0;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    points.push(`${x},${(mid - hi * mid).toFixed(1)}`);
    lows.push(mid - lo * mid);
  }
  for (let x = width - 1; x >= 0; x--) points.push(`${x},${lows[x]!.toFixed(1)}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" height="${height}" preserveAspectRatio="none" role="img" aria-label="waveform"><rect width="${width}" height="${height}" fill="#0f172a"/><polygon points="${points.join(' ')}" fill="#38bdf8"/></svg>`;
}

/** A perceptual-ish dark-to-bright colour map (black → purple → orange → yellow) for value v in [0, 1]. */
function colour(v: number): [number, number, number] {
  const stops: [number, number, number, number][] = [
    [0, 0, 0, 4],
    [0.25, 80, 18, 123],
    [0.5, 182, 54, 121],
    [0.75, 251, 136, 97],
    [1, 252, 253, 191],
  ];
  const x = Math.min(1, Math.max(0, v));
  for (let i = 1; i < stops.length; i++) {
    const [p1, r1, g1, b1] = stops[i]!;
    const [p0, r0, g0, b0] = stops[i - 1]!;
    if (x <= p1) {
      const t = (x - p0) / (p1 - p0);
      return [Math.round(r0 + t * (r1 - r0)), Math.round(g0 + t * (g1 - g0)), Math.round(b0 + t * (b1 - b0))];
    }
  }
  return [252, 253, 191];
}

/** The log-mel as a PNG (frames wide, mels tall, low frequencies at the bottom), scaled to its top 8 nepers (~70 dB). */
export function logMelPng(logMel: LogMel): Uint8Array {
  const { frames, mels, data } = logMel;
  const width = Math.max(1, frames);
  let max = -Infinity;
  for (const v of data) if (v > max) max = v;
  const range = 8;
  const rgb = new Uint8Array(width * mels * 3);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < mels; m++) {
      const [r, g, b] = colour((data[t * mels + m]! - (max - range)) / range);
      const at = ((mels - 1 - m) * width + t) * 3;
      rgb[at] = r;
      rgb[at + 1] = g;
      rgb[at + 2] = b;
    }
  }
  return encodePngRgb(width, mels, rgb);
}

const fmt = (value: number | null | undefined, digits: number, unit = ''): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}${unit}`;

/** Builds the report's HTML. */
export function buildReportHtml(input: ReportInput): string {
  const budget = input.maxEmbeddedAudioBytes ?? 20_000_000;
  const totalAudio = input.source.wav.length + input.lanes.reduce((n, l) => n + l.result.wav.length, 0);
  const embedAudio = totalAudio <= budget;
  const track = (title: string, samples: Float32Array, logMel: LogMel, wav: Uint8Array): string => `
  <section class="track">
    <h2>${escapeHtml(title)}</h2>
    ${waveformSvg(samples)}
    <img class="spec" alt="log-mel spectrogram of ${escapeHtml(title)}" src="data:image/png;base64,${base64(logMelPng(logMel))}">
    ${embedAudio ? `<audio controls preload="none" src="data:audio/wav;base64,${base64(wav)}"></audio>` : ''}
  </section>`;
  const target = input.lanes[0]?.result.targetVoiceId ?? '';
  const rows = input.lanes
    .map(({ result: r }) => `<tr><td>${escapeHtml(r.label)}</td><td>${escapeHtml(r.modelId)}</td><td>${fmt(r.durationSeconds, 2, ' s')}</td><td>${fmt(r.processingSeconds, 2, ' s')}</td><td>${fmt(r.realTimeFactor, 3)}</td><td>${fmt(r.f0MedianHz, 1, ' Hz')}</td><td>${fmt(r.speakerSimilarity, 3)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'">
<title>Timbre comparison${target ? ` → ${escapeHtml(target)}` : ''}</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#0f172a}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #cbd5e1;padding:.3rem .5rem;text-align:left}
th{background:#f1f5f9}.track{margin:1.2rem 0}.track h2{font-size:1rem;margin:.2rem 0}
.spec{display:block;width:100%;height:120px;image-rendering:pixelated}audio{width:100%;margin-top:.3rem}
</style></head><body>
<h1>Timbre comparison${target ? ` → ${escapeHtml(target)}` : ''}</h1>
<p>Source: ${fmt(input.source.durationSeconds, 2, ' s')}, originally ${input.source.originalSampleRateHz} Hz, F0 median ${fmt(input.source.f0MedianHz, 1, ' Hz')}. Every lane is 22 050 Hz, vocoded with Griffin-Lim and loudness-matched to the source.</p>
<table><thead><tr><th>Lane</th><th>Model</th><th>Duration</th><th>Processing</th><th>Real-time factor</th><th>F0 median</th><th>Speaker similarity</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${track('Source', input.sourceSamples, input.sourceLogMel, input.source.wav)}
${input.lanes.map((l) => track(l.result.label, l.samples, l.logMel, l.result.wav)).join('\n')}
</body></html>
`;
}
