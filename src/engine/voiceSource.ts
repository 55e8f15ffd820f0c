// Where the engine's target voices come from: `./voices.js` (corpus + user voices, written alongside)
// when it exists, plus voices given in-process (tests). Absent module = no voices, never an error.

import type { VoiceInfo } from './api.js';
import { EngineError } from './errors.js';

/** A voice given in-process, with an optional preview WAV. */
export interface ProvidedVoice extends VoiceInfo {
  previewWav?: Uint8Array;
}

/** What the engine needs from a voice source. */
export interface VoiceSource {
  list(): Promise<VoiceInfo[]>;
  /** Preview WAV bytes, or VOICE_NOT_FOUND / INVALID_ARGUMENT when the voice has none. */
  preview(voiceId: string): Promise<Uint8Array>;
}

interface VoicesModule {
  listVoices?: () => Promise<unknown[]> | unknown[];
  voicePreviewWav?: (voiceId: string) => Promise<Uint8Array> | Uint8Array;
}

async function importVoicesModule(): Promise<VoicesModule | null> {
  const specifier: string = './voices.js';
  try {
    return (await import(specifier)) as VoicesModule;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url|does not exist/i.test(String(error))) return null;
    throw error;
  }
}

/** Normalises whatever `listVoices()` returns into `VoiceInfo` (id required; label, kind, preview optional). */
function toVoiceInfo(raw: unknown, hasPreviewFunction: boolean): VoiceInfo | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') return null;
  const label = typeof r.label === 'string' ? r.label : typeof r.name === 'string' ? r.name : r.id;
  const kind = r.kind === 'user' ? 'user' : 'corpus';
  const info: VoiceInfo = { id: r.id, label, kind, hasPreview: typeof r.hasPreview === 'boolean' ? r.hasPreview && hasPreviewFunction : hasPreviewFunction };
  if (typeof r.description === 'string') info.description = r.description;
  return info;
}

/** The default source: `./voices.js` (if written yet) followed by `provided` voices. */
export function createVoiceSource(provided: readonly ProvidedVoice[] = [], options: { useVoicesModule?: boolean } = {}): VoiceSource {
  let modulePromise: Promise<VoicesModule | null> | undefined;
  const loadModule = (): Promise<VoicesModule | null> =>
    options.useVoicesModule === false ? Promise.resolve(null) : (modulePromise ??= importVoicesModule());
  return {
    async list() {
      const module = await loadModule();
      const fromModule: VoiceInfo[] = [];
      if (module?.listVoices) {
        const hasPreview = typeof module.voicePreviewWav === 'function';
        for (const raw of await module.listVoices()) {
          const info = toVoiceInfo(raw, hasPreview);
          if (info !== null) fromModule.push(info);
        }
      }
      const ids = new Set(fromModule.map((v) => v.id));
      const extra = provided.filter((v) => !ids.has(v.id)).map(({ previewWav: _wav, ...info }) => info);
      return [...fromModule, ...extra];
    },
    async preview(voiceId) {
      const given = provided.find((v) => v.id === voiceId);
      if (given !== undefined) {
        if (given.previewWav === undefined) throw new EngineError('INVALID_ARGUMENT', `voice "${voiceId}" has no preview`, 'voiceId');
        return given.previewWav;
      }
      const module = await loadModule();
      const voices = await this.list();
      if (!voices.some((v) => v.id === voiceId)) throw new EngineError('VOICE_NOT_FOUND', `voice "${voiceId}" is not known`, 'voiceId');
      if (typeof module?.voicePreviewWav !== 'function') throw new EngineError('INVALID_ARGUMENT', `voice "${voiceId}" has no preview`, 'voiceId');
      return module.voicePreviewWav(voiceId);
    },
  };
}
