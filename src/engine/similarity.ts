// Speaker similarity of a converted lane to its target voice, by the shipped (or the user's own) speaker
// encoder: cosine of the lane's converted log-mel embedding to the judge's centroid (corpus voices) or to
// the mean embedding of the voice's reference log-mels (user voices).

import type { LogMel } from '../audio/mel.js';
import type { LoadedSpeakerEncoder } from '../models/speakerEncoder/convert.js';

/** What a lane offers the similarity measure: its converted log-mel [frames × 80] and samples at 22 050 Hz. */
export interface LaneForSimilarity {
  logMel: LogMel;
  samples: Float32Array;
}

/** Cosine in [−1, 1] of a lane to the target voice; undefined when the voice has no reference. */
export type SpeakerSimilarity = (lane: LaneForSimilarity, target: { voiceId: string; kind: 'corpus' | 'user' | 'test' }) => Promise<number | undefined>;

/** Options of `createSpeakerSimilarity`. */
export interface SpeakerSimilarityOptions {
  /** Speaker-encoder file; default the user's TIMBRE_HOME/models/speaker-encoder, else the shipped one. */
  modelPath?: string;
  /** TIMBRE_HOME for user voices and the user's encoder. */
  home?: string;
  /** Reference log-mels of a user voice (default: its clips via `./voices.js`). */
  referenceMels?: (voiceId: string) => Promise<LogMel[] | undefined>;
  /** Loads the TensorFlow.js backend before the encoder (the engine's `ensureBackend`). */
  ensureBackend?: () => Promise<void>;
}

/** The similarity measure plus `dispose()` of the loaded encoder. */
export interface SpeakerSimilarityMeasure {
  measure: SpeakerSimilarity;
  /** The voice's reference embedding (unit vector), or undefined when it has none. */
  targetEmbedding(target: { voiceId: string; kind: 'corpus' | 'user' | 'test' }): Promise<Float32Array | undefined>;
  dispose(): void;
}

/** Creates the measure; the encoder loads on first use, and a missing encoder file means "no similarity" (undefined). */
export function createSpeakerSimilarity(options: SpeakerSimilarityOptions = {}): SpeakerSimilarityMeasure {
  let loading: Promise<LoadedSpeakerEncoder | null> | undefined;
  const userEmbeddings = new Map<string, Promise<Float32Array | undefined>>();
  const home = options.home === undefined ? {} : { home: options.home };

  function load(): Promise<LoadedSpeakerEncoder | null> {
    loading ??= (async () => {
      const { defaultSpeakerEncoderPath, loadSpeakerEncoder } = await import('../models/speakerEncoder/convert.js');
      const path = options.modelPath ?? defaultSpeakerEncoderPath(options.home);
      const { existsSync } = await import('node:fs');
      if (!existsSync(path)) return null;
      await options.ensureBackend?.();
      return loadSpeakerEncoder(path);
    })();
    return loading;
  }

  async function referenceMels(voiceId: string): Promise<LogMel[] | undefined> {
    if (options.referenceMels) return options.referenceMels(voiceId);
    const voices = await import('./voices.js');
    return voices.voiceMels(voiceId, { ...home, maxSeconds: 30 });
  }

  async function targetEmbedding(target: { voiceId: string; kind: 'corpus' | 'user' | 'test' }): Promise<Float32Array | undefined> {
    if (target.kind === 'test') return undefined;
    const loaded = await load();
    if (loaded === null) return undefined;
    if (target.kind === 'corpus') return loaded.judge.voices.includes(target.voiceId) ? loaded.judge.centroid(target.voiceId) : undefined;
    let cached = userEmbeddings.get(target.voiceId);
    if (cached === undefined) {
      cached = referenceMels(target.voiceId).then((mels) => (mels !== undefined && mels.length > 0 ? loaded.encoder.embedReference(mels) : undefined));
      userEmbeddings.set(target.voiceId, cached);
      cached.catch(() => userEmbeddings.delete(target.voiceId));
    }
    return cached;
  }

  return {
    async measure(lane, target) {
      const reference = await targetEmbedding(target);
      if (reference === undefined) return undefined;
      const loaded = (await load())!;
      const { cosineSimilarity } = await import('../models/speakerEncoder/model.js');
      return cosineSimilarity(loaded.encoder.embed(lane.logMel), reference);
    },
    targetEmbedding,
    dispose() {
      void loading?.then((loaded) => loaded?.encoder.dispose()).catch(() => undefined);
      loading = undefined;
      userEmbeddings.clear();
    },
  };
}
