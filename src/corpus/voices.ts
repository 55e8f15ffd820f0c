// The corpus voices: every distinct speaker that Debian's flite, festival and espeak-ng give,
// with the human behind each, and detection of which are installed (naming the apt package if not).

import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SynthesizerMissingError, UnknownVoiceError } from './errors.js';

/** The synthesizer programs the corpus renders with. */
export type SynthEngine = 'flite' | 'festival' | 'espeak-ng';

/** One corpus voice: a synthesizer and one of its voices. */
export interface CorpusVoice {
  /** Stable id used everywhere (cache paths, models, UI): `flite-slt`, `festival-ked`, `espeak-f2`. */
  readonly id: string;
  readonly engine: SynthEngine;
  /** The synthesizer's own name of the voice (`slt`, `kal_diphone`, `en+f2`). */
  readonly engineVoice: string;
  /** Debian package that provides this voice. */
  readonly aptPackage: string;
  readonly gender: 'female' | 'male';
  /** Accent as rendered (`US`, `Scottish`, `British RP` …). */
  readonly accent: string;
  /**
   * The human speaker recorded for this voice (`kal`, `slt` …); voices with the same speaker are the
   * same person through different engines. `null` for espeak-ng, which is rule-based (no recordings).
   */
  readonly speaker: string | null;
  /** One line for listings. */
  readonly description: string;
}

/** All voices the corpus uses, in cache/speaker-id order. 7 recorded-speaker voices + 7 espeak-ng variants. */
export const CORPUS_VOICES: readonly CorpusVoice[] = Object.freeze([
  { id: 'flite-kal', engine: 'flite', engineVoice: 'kal16', aptPackage: 'flite', gender: 'male', accent: 'US', speaker: 'kal', description: 'flite diphone (16 kHz), CMU American male kal' },
  { id: 'flite-awb', engine: 'flite', engineVoice: 'awb', aptPackage: 'flite', gender: 'male', accent: 'Scottish', speaker: 'awb', description: 'flite unit selection, CMU ARCTIC awb (Scottish male)' },
  { id: 'flite-rms', engine: 'flite', engineVoice: 'rms', aptPackage: 'flite', gender: 'male', accent: 'US', speaker: 'rms', description: 'flite unit selection (CMU ARCTIC rms)' },
  { id: 'flite-slt', engine: 'flite', engineVoice: 'slt', aptPackage: 'flite', gender: 'female', accent: 'US', speaker: 'slt', description: 'flite unit selection (CMU ARCTIC slt)' },
  { id: 'festival-kal', engine: 'festival', engineVoice: 'kal_diphone', aptPackage: 'festvox-kallpc16k', gender: 'male', accent: 'US', speaker: 'kal', description: 'festival diphone (LPC), CMU American male kal' },
  { id: 'festival-ked', engine: 'festival', engineVoice: 'ked_diphone', aptPackage: 'festvox-kdlpc16k', gender: 'male', accent: 'US', speaker: 'ked', description: 'festival diphone (LPC), CSTR American male ked' },
  { id: 'festival-slt', engine: 'festival', engineVoice: 'cmu_us_slt_arctic_hts', aptPackage: 'festvox-us-slt-hts', gender: 'female', accent: 'US', speaker: 'slt', description: 'festival HTS statistical parametric (CMU ARCTIC slt)' },
  { id: 'espeak-m3', engine: 'espeak-ng', engineVoice: 'en-us+m3', aptPackage: 'espeak-ng', gender: 'male', accent: 'US', speaker: null, description: 'espeak-ng formant synthesis, male variant m3 (~107 Hz)' },
  { id: 'espeak-m7', engine: 'espeak-ng', engineVoice: 'en-us+m7', aptPackage: 'espeak-ng', gender: 'male', accent: 'US', speaker: null, description: 'espeak-ng formant synthesis, male variant m7 (~109 Hz, shifted formants)' },
  { id: 'espeak-klatt', engine: 'espeak-ng', engineVoice: 'en-us+klatt', aptPackage: 'espeak-ng', gender: 'male', accent: 'US', speaker: null, description: 'espeak-ng Klatt synthesizer (~104 Hz)' },
  { id: 'espeak-f1', engine: 'espeak-ng', engineVoice: 'en+f1', aptPackage: 'espeak-ng', gender: 'female', accent: 'British', speaker: null, description: 'espeak-ng formant synthesis, female variant f1 (~182 Hz)' },
  { id: 'espeak-f2', engine: 'espeak-ng', engineVoice: 'en+f2', aptPackage: 'espeak-ng', gender: 'female', accent: 'British', speaker: null, description: 'espeak-ng formant synthesis, female variant f2 (~197 Hz)' },
  { id: 'espeak-f4', engine: 'espeak-ng', engineVoice: 'en-gb-x-rp+f4', aptPackage: 'espeak-ng', gender: 'female', accent: 'British RP', speaker: null, description: 'espeak-ng formant synthesis, female variant f4, RP accent (~181 Hz)' },
  { id: 'espeak-steph', engine: 'espeak-ng', engineVoice: 'en-us+steph', aptPackage: 'espeak-ng', gender: 'female', accent: 'US', speaker: null, description: 'espeak-ng formant synthesis, variant steph (~185 Hz)' },
] satisfies CorpusVoice[]);

/** The corpus voice with this id, or an `UnknownVoiceError` listing the valid ids. */
export function corpusVoice(id: string): CorpusVoice {
  const voice = CORPUS_VOICES.find((v) => v.id === id);
  if (voice === undefined) {
    throw new UnknownVoiceError(`"${id}" is not a corpus voice; corpus voices are ${CORPUS_VOICES.map((v) => v.id).join(', ')}`);
  }
  return voice;
}

/** Ids of other corpus voices that render the same human speaker (e.g. flite-slt ↔ festival-slt). */
export function sameSpeakerVoices(id: string): string[] {
  const voice = corpusVoice(id);
  if (voice.speaker === null) return [];
  return CORPUS_VOICES.filter((v) => v.id !== id && v.speaker === voice.speaker).map((v) => v.id);
}

/** Where a synthesizer program comes from, for "not installed" messages. */
const PROGRAMS: Record<SynthEngine, { program: string; aptPackage: string }> = {
  flite: { program: 'flite', aptPackage: 'flite' },
  festival: { program: 'text2wave', aptPackage: 'festival' },
  'espeak-ng': { program: 'espeak-ng', aptPackage: 'espeak-ng' },
};

/** Folders festival searches for voices (Debian layout); `voices/<language>/<voice>`. */
const FESTIVAL_VOICE_ROOTS = ['/usr/share/festival/voices', '/usr/local/share/festival/voices'];

/** Result of detection: voices that can render now, and why each other one cannot. */
export interface VoiceAvailability {
  available: CorpusVoice[];
  missing: { voice: CorpusVoice; reason: string; aptPackage: string }[];
}

/** Full path of `program` on `PATH`, or null. */
export function findProgram(program: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function fliteVoices(program: string): Set<string> {
  try {
    const out = execFileSync(program, ['-lv'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Set(out.replace(/^.*?:/s, '').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

function festivalVoiceInstalled(name: string): boolean {
  for (const root of FESTIVAL_VOICE_ROOTS) {
    for (const language of ['english', 'us', 'en', 'british']) {
      if (existsSync(join(root, language, name))) return true;
    }
  }
  return false;
}

/** Checks which corpus voices can be rendered here (programs on PATH, voice data present). */
export function detectVoices(env: NodeJS.ProcessEnv = process.env): VoiceAvailability {
  const programs = new Map<SynthEngine, string | null>();
  for (const engine of Object.keys(PROGRAMS) as SynthEngine[]) programs.set(engine, findProgram(PROGRAMS[engine].program, env));
  const flitePath = programs.get('flite');
  const fliteList = flitePath ? fliteVoices(flitePath) : new Set<string>();
  const result: VoiceAvailability = { available: [], missing: [] };
  for (const voice of CORPUS_VOICES) {
    const program = PROGRAMS[voice.engine];
    if (programs.get(voice.engine) === null) {
      result.missing.push({ voice, reason: `${program.program} (${voice.engine}) is not on PATH`, aptPackage: program.aptPackage });
    } else if (voice.engine === 'flite' && !fliteList.has(voice.engineVoice)) {
      result.missing.push({ voice, reason: `flite has no voice "${voice.engineVoice}"`, aptPackage: voice.aptPackage });
    } else if (voice.engine === 'festival' && !festivalVoiceInstalled(voice.engineVoice)) {
      result.missing.push({ voice, reason: `festival voice ${voice.engineVoice} is not installed`, aptPackage: voice.aptPackage });
    } else {
      result.available.push(voice);
    }
  }
  return result;
}

/** Resolves a requested list of ids (default: every corpus voice) and throws for any that cannot render. */
export function requireVoices(ids: readonly string[] | undefined, availability: VoiceAvailability): CorpusVoice[] {
  const wanted = ids === undefined ? CORPUS_VOICES : ids.map((id) => corpusVoice(id));
  const missing = availability.missing.filter((m) => wanted.some((w) => w.id === m.voice.id));
  if (missing.length > 0) {
    const first = missing[0]!;
    const packages = [...new Set(missing.map((m) => m.aptPackage))];
    throw new SynthesizerMissingError(
      `voice${missing.length > 1 ? 's' : ''} ${missing.map((m) => m.voice.id).join(', ')} (${first.reason}${missing.length > 1 ? ', …' : ''})`,
      packages.join(' '),
    );
  }
  return CORPUS_VOICES.filter((v) => wanted.some((w) => w.id === v.id));
}
