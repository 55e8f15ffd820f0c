// Microphone input: wavesurfer.js's Record plugin for the live waveform, a Web Audio analyser for
// the level meter, a time limit, and the recording turned into WAV bytes for the engine.

import type WaveSurfer from 'wavesurfer.js';
import RecordPlugin from 'wavesurfer.js/dist/plugins/record.esm.js';
import { Emitter } from './emitter.js';
import { audioBufferToWav } from './wavBytes.js';

/** Events of the recorder. */
export type RecorderEvents = {
  /** Level of the last ~20 ms, dBFS (−∞ for silence). */
  level: [levelDb: number];
  /** Seconds recorded so far. */
  progress: [seconds: number];
  /** The finished recording as a 16-bit WAV. */
  recorded: [wav: Uint8Array, seconds: number];
  error: [message: string];
  state: [recording: boolean];
};

/** Records from the default microphone into WAV bytes, stopping by itself at the time limit. */
export class MicRecorder extends Emitter<RecorderEvents> {
  private readonly record: RecordPlugin;
  private context: AudioContext | undefined;
  private meterFrame = 0;
  private limitSeconds = 30;
  private unsubscribes: (() => void)[] = [];

  constructor(ws: WaveSurfer) {
    super();
    this.record = ws.registerPlugin(RecordPlugin.create({ scrollingWaveform: true, renderRecordedAudio: false }));
    this.unsubscribes.push(
      this.record.on('record-progress', (ms) => {
        const seconds = ms / 1000;
        this.emit('progress', seconds);
        if (seconds >= this.limitSeconds && this.record.isRecording()) this.stop();
      }),
      this.record.on('record-end', (blob) => void this.finish(blob)),
    );
  }

  /** True while recording. */
  isRecording(): boolean {
    return this.record.isRecording();
  }

  /** Asks for the microphone and starts recording for at most `limitSeconds`. */
  async start(limitSeconds: number): Promise<void> {
    this.limitSeconds = limitSeconds;
    let stream: MediaStream;
    try {
      stream = await this.record.startMic({ echoCancellation: false, noiseSuppression: false, autoGainControl: false });
    } catch (error) {
      const name = (error as DOMException).name;
      this.emit('error', name === 'NotAllowedError' ? 'Microphone access was refused. Allow it in the browser, or open a WAV file instead.' : `No microphone could be opened (${(error as Error).message}). Open a WAV file instead.`);
      return;
    }
    this.context = new AudioContext();
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    this.context.createMediaStreamSource(stream).connect(analyser);
    const buffer = new Float32Array(analyser.fftSize);
    const tick = (): void => {
      analyser.getFloatTimeDomainData(buffer);
      let sum = 0;
      for (const v of buffer) sum += v * v;
      this.emit('level', 10 * Math.log10(sum / buffer.length || 1e-12));
      this.meterFrame = requestAnimationFrame(tick);
    };
    tick();
    await this.record.startRecording();
    this.emit('state', true);
  }

  /** Stops recording; 'recorded' follows once the audio is decoded. */
  stop(): void {
    if (this.record.isRecording()) this.record.stopRecording();
  }

  private async finish(blob: Blob): Promise<void> {
    cancelAnimationFrame(this.meterFrame);
    this.record.stopMic();
    this.emit('state', false);
    this.emit('level', -Infinity);
    const context = this.context ?? new AudioContext();
    try {
      const decoded = await context.decodeAudioData(await blob.arrayBuffer());
      this.emit('recorded', audioBufferToWav(decoded), decoded.duration);
    } catch (error) {
      this.emit('error', `The recording could not be decoded (${(error as Error).message}). Try again or open a WAV file.`);
    } finally {
      void context.close();
      this.context = undefined;
    }
  }

  /** Releases the microphone and listeners. */
  destroy(): void {
    cancelAnimationFrame(this.meterFrame);
    for (const off of this.unsubscribes) off();
    this.record.destroy();
    void this.context?.close();
    this.unAll();
  }
}
