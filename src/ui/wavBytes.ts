// WAV bytes in the browser: a quick header check (so a wrong file is refused before upload) and a
// 16-bit PCM encoder for microphone recordings decoded by Web Audio.

/** Why `bytes` cannot be a WAV file, or null when the RIFF/WAVE header looks right. */
export function wavHeaderProblem(bytes: Uint8Array, name: string): string | null {
  if (bytes.length === 0) return `"${name}" is empty.`;
  const text = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length < 44 || text(0, 4) !== 'RIFF' || text(8, 12) !== 'WAVE') {
    return `"${name}" is not a WAV file (it has no RIFF/WAVE header). Choose a .wav recording or record one.`;
  }
  return null;
}

/** Mixes an AudioBuffer to mono and encodes it as a 16-bit PCM WAV at its own rate. */
export function audioBufferToWav(buffer: AudioBuffer): Uint8Array {
  const length = buffer.length;
  const mono = new Float32Array(length);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < length; i++) mono[i]! += data[i]! / buffer.numberOfChannels;
  }
  return encodeWav16(mono, buffer.sampleRate);
}

/** Encodes mono samples in [−1, 1] as a 16-bit PCM WAV. */
export function encodeWav16(samples: Float32Array, sampleRateHz: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    view.setInt16(44 + i * 2, Math.round(v < 0 ? v * 32768 : v * 32767), true);
  }
  return out;
}

/** Rate, channels and duration from a WAV's fmt and data chunks, or null when they cannot be found. */
export function wavSummary(bytes: Uint8Array): { sampleRateHz: number; channels: number; durationSeconds: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  let rate = 0;
  let channels = 0;
  let blockAlign = 0;
  while (at + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ' && at + 24 <= bytes.length) {
      channels = view.getUint16(at + 10, true);
      rate = view.getUint32(at + 12, true);
      blockAlign = view.getUint16(at + 20, true);
    }
    if (id === 'data') {
      if (!rate || !blockAlign) return null;
      const dataBytes = Math.min(size, bytes.length - at - 8);
      return { sampleRateHz: rate, channels, durationSeconds: dataBytes / blockAlign / rate };
    }
    at += 8 + size + (size % 2);
  }
  return null;
}
