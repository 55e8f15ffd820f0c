// The one feature configuration of Timbre: every mel spectrogram, model file and vocoder uses it.
// Values match DiffVC and HiFi-GAN so that published hyperparameters transfer.

/** Feature settings of log-mel spectrograms; saved into every model file and compared on load. */
export interface MelConfig {
  /** Sample rate of all internal audio, Hz. */
  readonly sampleRateHz: number;
  /** FFT size, samples. */
  readonly nFft: number;
  /** Analysis window length (Hann), samples. */
  readonly windowSamples: number;
  /** Hop between frames, samples. */
  readonly hopSamples: number;
  /** Number of mel bins. */
  readonly melBins: number;
  /** Lowest filter edge, Hz. */
  readonly fMinHz: number;
  /** Highest filter edge, Hz. */
  readonly fMaxHz: number;
  /** Mel scale: Slaney (linear below 1 kHz, log above) as in librosa's default. */
  readonly melScale: 'slaney';
  /** Filter normalisation: Slaney area normalisation (each filter divided by its bandwidth in Hz / 2). */
  readonly melNorm: 'slaney';
  /** Magnitudes are clamped at this floor before the natural log. */
  readonly logFloor: number;
}

export const MEL_CONFIG: MelConfig = Object.freeze({
  sampleRateHz: 22050,
  nFft: 1024,
  windowSamples: 1024,
  hopSamples: 256,
  melBins: 80,
  fMinHz: 0,
  fMaxHz: 8000,
  melScale: 'slaney',
  melNorm: 'slaney',
  logFloor: 1e-5,
});

/** True when two feature configs produce identical features. */
export function sameMelConfig(a: MelConfig, b: MelConfig): boolean {
  return (
    a.sampleRateHz === b.sampleRateHz &&
    a.nFft === b.nFft &&
    a.windowSamples === b.windowSamples &&
    a.hopSamples === b.hopSamples &&
    a.melBins === b.melBins &&
    a.fMinHz === b.fMinHz &&
    a.fMaxHz === b.fMaxHz &&
    a.melScale === b.melScale &&
    a.melNorm === b.melNorm &&
    a.logFloor === b.logFloor
  );
}
