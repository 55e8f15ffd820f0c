// Where the engine's target voices come from: `./voices.js` (corpus + user voices) plus voices given
// in-process (tests). Voices whose audio is missing (corpus not built yet) are listed without a preview.

import type { LogMel } from '../audio/mel.js';
import { MEL_CONFIG } from '../audio/melConfig.js';
import { encodeWav } from '../audio/wav.js';
import type { VoiceInfo } from './api.js';
import { EngineError } from './errors.js';

/** Length of a voice preview, seconds. */
export const PREVIEW_SECONDS = 4;

/** A voice given in-process, with an optional preview WAV. */
export interface ProvidedVoice extends VoiceInfo {
  previewWav?: Uint8Array;
}

/** What the engine needs from a voice source. */
export interface VoiceSource {
  list(): Promise<VoiceInfo[]>;
  /** Preview WAV bytes, or VOICE_NOT_FOUND / INVALID_ARGUMENT when the voice has none. */
  preview(voiceId: string): Promise<Uint8Array>;
  /** Reference log-mels of the voice for any-to-any models; undefined when it has no audio. */
  referenceMels(voiceId: string): Promise<LogMel[] | undefined>;
}

/** The default source: the corpus and user voices of `./voices.js`, then `provided` voices. */
export function createVoiceSource(provided: readonly ProvidedVoice[] = [], options: { useVoicesModule?: boolean; home?: string } = {}): VoiceSource {
  const useModule = options.useVoicesModule !== false;
  const home = options.home === undefined ? {} : { home: options.home };
  const voicesModule = () => import('./voices.js');
  async function fromModule(): Promise<VoiceInfo[]> {
    if (!useModule) return [];
    const module = await voicesModule();
    return (await module.listVoices(home)).map((v) => ({
      id: v.name,
      label: v.kind === 'user' ? `${v.name} (yours)` : v.name,
      kind: v.kind,
      hasPreview: v.durationSeconds > 0,
      description: v.durationSeconds > 0 ? v.description : `${v.description} — no audio yet (build the corpus with "timbre corpus build")`,
    }));
  }
  return {
    async list() {
      const listed = await fromModule();
      const ids = new Set(listed.map((v) => v.id));
      return [...listed, ...provided.filter((v) => !ids.has(v.id)).map(({ previewWav: _wav, ...info }) => info)];
    },
    async preview(voiceId) {
      const given = provided.find((v) => v.id === voiceId);
      if (given !== undefined) {
        if (given.previewWav === undefined) throw new EngineError('INVALID_ARGUMENT', `voice "${voiceId}" has no preview`, 'voiceId');
        return given.previewWav;
      }
      const voice = (await fromModule()).find((v) => v.id === voiceId);
      if (voice === undefined) throw new EngineError('VOICE_NOT_FOUND', `voice "${voiceId}" is not known`, 'voiceId');
      if (!voice.hasPreview) throw new EngineError('INVALID_ARGUMENT', `voice "${voiceId}" has no audio yet; build the corpus with "timbre corpus build"`, 'voiceId');
      const audio = await (await voicesModule()).loadVoiceAudio(voiceId, { ...home, maxSeconds: PREVIEW_SECONDS });
      const total = audio.clips.reduce((n, c) => n + c.length, 0);
      const limit = Math.min(total, PREVIEW_SECONDS * audio.sampleRateHz);
      const joined = new Float32Array(limit);
      let at = 0;
      for (const clip of audio.clips) {
        if (at >= limit) break;
        const part = clip.subarray(0, limit - at);
        joined.set(part, at);
        at += part.length;
      }
      return encodeWav(joined, audio.sampleRateHz);
    },
    async referenceMels(voiceId) {
      if (!useModule || provided.some((v) => v.id === voiceId)) return undefined;
      try {
        const mels = await (await voicesModule()).voiceMels(voiceId, { ...home, maxSeconds: 30 });
        return mels.length > 0 && mels[0]!.mels === MEL_CONFIG.melBins ? mels : undefined;
      } catch {
        return undefined; // no audio for this voice yet: models that need references will say so
      }
    },
  };
}
