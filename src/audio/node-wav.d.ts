// Types for node-wav 0.0.2, which ships none.
// Only the decoder is used, behind our own header validation (see wav.ts for why).
declare module 'node-wav' {
  interface Decoded {
    sampleRate: number;
    channelData: Float32Array[];
  }
  function decode(buffer: Uint8Array | ArrayBuffer): Decoded;
  function encode(channelData: Float32Array[], options: { sampleRate: number; float?: boolean; bitDepth?: number }): Uint8Array;
  const nodeWav: { decode: typeof decode; encode: typeof encode };
  export default nodeWav;
}
