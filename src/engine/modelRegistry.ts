// Finds the models the app can run: `*.timbre` model files in the folders under assets/models/ and
// TIMBRE_HOME/models/, loaded by their family's convert.ts (src/models/registry.ts); plus converters registered in-process.

import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MelConverter } from '../models/converter.js';
import { InvalidModelFileError, ModelMismatchError } from '../nn/errors.js';
import { readModelFile } from '../nn/modelFile.js';
import { CONVERSION_FAMILIES, conversionEntry } from '../models/registry.js';
import { shippedModelsDir, timbrePaths } from '../io/paths.js';
import type { ModelFamily, ModelInfo, SettingSpec } from './api.js';
import { EngineError } from './errors.js';
import { MAX_PITCH_SHIFT_SEMITONES } from './melShift.js';

/** The conversion families (src/models/registry.ts), in the order the UI shows them. */
export const FAMILIES: readonly ModelFamily[] = CONVERSION_FAMILIES;

/** Display names of the families. */
export const FAMILY_LABELS: Readonly<Record<ModelFamily, string>> = Object.fromEntries(FAMILIES.map((f) => [f, conversionEntry(f).label])) as Record<ModelFamily, string>;

/** Model file extension (format of `src/nn/modelFile.ts`). */
export const MODEL_FILE_EXTENSION = '.timbre';

/** Loads a model file into a converter. */
export type FamilyLoader = (modelPath: string) => Promise<MelConverter>;

/** The header fields the registry reads: `kind` ('vae', 'cycleGan', 'diffVc', 'cycleDiffusion'), optional `extra.label`/`extra.targetVoices`. */
export interface ModelFileSummary {
  kind: string;
  label?: string;
  targetVoices?: string[];
}

/** Family of a model file's `kind`, or null for other kinds (vocoder, speaker encoder, checkpoints). */
export function familyOfKind(kind: string): ModelFamily | null {
  const key = kind.toLowerCase().replace(/[^a-z]/g, '');
  return (FAMILIES as readonly string[]).includes(key) ? (key as ModelFamily) : null;
}

/** Reads only the JSON header of a `.timbre` file (preamble: magic 8 B, version u32, header length u32 at byte 12). */
export async function readModelFileSummary(path: string): Promise<ModelFileSummary | null> {
  const handle = await open(path, 'r');
  try {
    const preamble = new Uint8Array(32);
    const { bytesRead } = await handle.read(preamble, 0, 32, 0);
    if (bytesRead < 32 || new TextDecoder().decode(preamble.subarray(0, 8)) !== 'TIMBREMF') return null;
    const headerLength = new DataView(preamble.buffer).getUint32(12, true);
    if (headerLength > 16_000_000) return null;
    const headerBytes = new Uint8Array(headerLength);
    await handle.read(headerBytes, 0, headerLength, 32);
    const header = JSON.parse(new TextDecoder().decode(headerBytes)) as { kind?: unknown; extra?: { label?: unknown; targetVoices?: unknown } };
    if (typeof header.kind !== 'string') return null;
    const summary: ModelFileSummary = { kind: header.kind };
    if (typeof header.extra?.label === 'string') summary.label = header.extra.label;
    if (Array.isArray(header.extra?.targetVoices)) summary.targetVoices = header.extra.targetVoices.filter((v): v is string => typeof v === 'string');
    return summary;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** A converter registered in-process (tests' stand-ins, plugins); the registry does not dispose it. */
export interface RegisteredModel {
  id: string;
  converter: MelConverter;
  /**
   * 'user' for a trained model its caller loaded from a file (`timbre convert --model FILE`): the engine treats it as
   * one of the user's models (reference audio for any-voice models, the TensorFlow.js backend); default 'registered'.
   */
  origin?: 'registered' | 'user';
}

/** Where to look and how to load; every field has a default. */
export interface ModelRegistryOptions {
  /** Folders whose sub-folders are model folders; default `assets/models` (shipped) and `TIMBRE_HOME/models` (user). */
  searchDirs?: readonly { dir: string; origin: 'shipped' | 'user' }[];
  /** Loaders by family; default: the family's convert.ts (src/models/registry.ts) and its `loadMelConverter`. */
  loaders?: Partial<Record<ModelFamily, FamilyLoader | null>>;
  registered?: readonly RegisteredModel[];
}

/** Settings every family understands (pitch shift: in the model where it can, else by warping the log-mel after it). */
const COMMON_SETTINGS: readonly SettingSpec[] = [
  { key: 'pitchShiftSemitones', label: 'Pitch shift (semitones)', kind: 'number', min: -MAX_PITCH_SHIFT_SEMITONES, max: MAX_PITCH_SHIFT_SEMITONES, step: 1, defaultValue: 0 },
  { key: 'keepSourcePitch', label: 'Keep source pitch', kind: 'boolean', defaultValue: false },
];
const DIFFUSION_SETTINGS: readonly SettingSpec[] = [
  { key: 'steps', label: 'Diffusion steps', kind: 'integer', min: 1, max: 100, defaultValue: 6 },
  { key: 'solver', label: 'Solver', kind: 'choice', choices: ['ml', 'euler'], defaultValue: 'ml' },
  ...COMMON_SETTINGS,
];

/** Settings a family's models accept. */
export function settingsOf(family: ModelFamily): readonly SettingSpec[] {
  return conversionEntry(family).settings === 'diffusion' ? DIFFUSION_SETTINGS : COMMON_SETTINGS;
}

interface Entry {
  info: ModelInfo;
  load?: () => Promise<MelConverter>;
}

/** Default search folders: shipped assets, then the user's models. */
export function defaultSearchDirs(): { dir: string; origin: 'shipped' | 'user' }[] {
  return [
    { dir: shippedModelsDir(), origin: 'shipped' },
    { dir: timbrePaths().models, origin: 'user' },
  ];
}

async function importFamilyLoader(family: ModelFamily): Promise<FamilyLoader | null> {
  const convert = conversionEntry(family).convert;
  if (convert === undefined) return null;
  let module: Record<string, unknown>;
  try {
    module = (await convert()) as unknown as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url|does not exist/i.test(String(error))) return null;
    throw error;
  }
  const load = module['loadMelConverter'];
  return typeof load === 'function' ? (load as FamilyLoader) : null;
}

/**
 * Loads a model file named by path with its family's loader, chosen by the header's kind: a file that converts
 * nothing (speaker encoder, checkpoint) or is unreadable is refused by name, as the loaders refuse a broken one.
 */
export async function loadConverterFile(path: string): Promise<MelConverter> {
  const summary = await readModelFileSummary(path).catch(() => null);
  if (summary === null) {
    await readModelFile(path); // throws InvalidModelFileError naming what is wrong
    throw new InvalidModelFileError(`${path} is not a readable Timbre model file`);
  }
  const family = familyOfKind(summary.kind);
  if (family === null) {
    throw new ModelMismatchError(`model file ${path}: kind is "${summary.kind}", which converts no voice; pass a ${FAMILIES.filter((f) => f !== 'cyclediffusion').join(', ')} model file`);
  }
  const loader = await importFamilyLoader(family);
  if (loader === null) throw new EngineError('MODEL_UNAVAILABLE', `${path} is a ${FAMILY_LABELS[family]} model, which this build cannot run yet`, 'model');
  return loader(path);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The registry of the model folders of `home` (shipped models and TIMBRE_HOME/models); the default when home is undefined. */
export function homeModelRegistry(home: string | undefined): ModelRegistry {
  return new ModelRegistry(home === undefined ? {} : { searchDirs: [...defaultSearchDirs().filter((d) => d.origin === 'shipped'), { dir: timbrePaths(home).models, origin: 'user' }] });
}

/** Models on disk and registered in-process; converters load on first use and are cached. */
export class ModelRegistry {
  private entries: Map<string, Entry> | undefined;
  private scanning: Promise<Map<string, Entry>> | undefined;
  private readonly loaded = new Map<string, Promise<MelConverter>>();

  constructor(private readonly options: ModelRegistryOptions = {}) {}

  /** Every model, available or not; each family with no available model appears once, disabled, with the reason. */
  async list(): Promise<ModelInfo[]> {
    const entries = await this.scan();
    return [...entries.values()].map((e) => e.info);
  }

  /** The model's info, or MODEL_NOT_FOUND. */
  async info(modelId: string): Promise<ModelInfo> {
    const entry = (await this.scan()).get(modelId);
    if (entry === undefined) {
      const known = [...(await this.scan()).keys()].join(', ');
      throw new EngineError('MODEL_NOT_FOUND', `model "${modelId}" is not known; known models: ${known || 'none'}`, 'modelId');
    }
    return entry.info;
  }

  /** The loaded converter of an available model (cached); MODEL_UNAVAILABLE with the reason otherwise. */
  async converter(modelId: string): Promise<MelConverter> {
    const entry = (await this.scan()).get(modelId);
    if (entry === undefined) await this.info(modelId);
    if (entry === undefined || entry.load === undefined || !entry.info.available) {
      throw new EngineError('MODEL_UNAVAILABLE', `model "${modelId}" cannot be used: ${entry?.info.unavailableReason ?? 'unavailable'}`, 'modelId');
    }
    let promise = this.loaded.get(modelId);
    if (promise === undefined) {
      promise = entry.load();
      this.loaded.set(modelId, promise);
      promise.catch(() => this.loaded.delete(modelId));
    }
    return promise;
  }

  /** Forgets the scan so the next call sees new model folders (loaded converters stay cached). */
  rescan(): void {
    this.entries = undefined;
    this.scanning = undefined;
  }

  /** Drops the cached converter of `modelId` (its file was rewritten); the next use loads it again. */
  unload(modelId: string): void {
    const load = this.loaded.get(modelId);
    this.loaded.delete(modelId);
    void load?.then((c) => c.dispose()).catch(() => undefined);
  }

  /** Disposes converters this registry loaded (not registered ones). */
  async dispose(): Promise<void> {
    const loads = [...this.loaded.values()];
    this.loaded.clear();
    for (const load of loads) {
      try {
        (await load).dispose();
      } catch {
        // a model that failed to load holds nothing
      }
    }
  }

  private scan(): Promise<Map<string, Entry>> {
    if (this.entries !== undefined) return Promise.resolve(this.entries);
    this.scanning ??= this.doScan().then((entries) => {
      this.entries = entries;
      return entries;
    });
    return this.scanning;
  }

  private async loaderOf(family: ModelFamily): Promise<FamilyLoader | null> {
    const given = this.options.loaders?.[family];
    if (given !== undefined) return given;
    return importFamilyLoader(family);
  }

  private async doScan(): Promise<Map<string, Entry>> {
    const entries = new Map<string, Entry>();
    for (const model of this.options.registered ?? []) {
      const c = model.converter;
      entries.set(model.id, {
        info: { id: model.id, family: c.family, label: c.label, available: true, targetVoices: [...c.targetVoices], settings: settingsOf(c.family), origin: model.origin ?? 'registered' },
        load: async () => c,
      });
    }
    const searchDirs = this.options.searchDirs ?? defaultSearchDirs();
    const loaders = new Map<ModelFamily, FamilyLoader | null>();
    const problems = new Map<ModelFamily, string>();
    for (const { dir, origin } of searchDirs) {
      let names: string[];
      try {
        names = (await readdir(dir)).sort();
      } catch {
        continue; // a missing folder simply holds no models
      }
      for (const name of names) {
        const modelDir = join(dir, name);
        if (!(await isDirectory(modelDir))) continue;
        let files: string[];
        try {
          files = (await readdir(modelDir)).filter((f) => f.endsWith(MODEL_FILE_EXTENSION)).sort();
        } catch {
          continue;
        }
        // Converters only: a folder's other files (a speaker encoder beside a DiffVC, a vocoder, checkpoints) neither
        // list nor change the ids of the converters in it.
        const converters: { file: string; modelPath: string; summary: ModelFileSummary; family: ModelFamily }[] = [];
        for (const file of files) {
          const modelPath = join(modelDir, file);
          const summary = await readModelFileSummary(modelPath);
          const family = summary === null ? null : familyOfKind(summary.kind);
          if (summary !== null && family !== null) converters.push({ file, modelPath, summary, family });
        }
        for (const { file, modelPath, summary, family } of converters) {
          if (!loaders.has(family)) loaders.set(family, await this.loaderOf(family));
          const loader = loaders.get(family) ?? null;
          if (loader === null) {
            problems.set(family, `found ${modelPath} but the ${FAMILY_LABELS[family]} code is not implemented yet`);
            continue;
          }
          const stem = converters.length === 1 ? name : `${name}/${file.slice(0, -MODEL_FILE_EXTENSION.length)}`;
          const id = origin === 'user' ? `user/${stem}` : stem;
          if (entries.has(id)) continue;
          entries.set(id, {
            info: {
              id,
              family,
              label: summary.label ?? `${FAMILY_LABELS[family]} (${stem})`,
              available: true,
              targetVoices: summary.targetVoices ?? ['*'],
              settings: settingsOf(family),
              origin,
            },
            load: () => loader(modelPath),
          });
        }
      }
    }
    const places = searchDirs.map((d) => d.dir).join(' or ');
    for (const family of FAMILIES) {
      if ([...entries.values()].some((e) => e.info.family === family)) continue;
      entries.set(family, {
        info: {
          id: family,
          family,
          label: FAMILY_LABELS[family],
          available: false,
          unavailableReason: problems.get(family) ?? `no trained ${FAMILY_LABELS[family]} model yet (looked in ${places})`,
          targetVoices: [],
          settings: settingsOf(family),
          origin: 'shipped',
        },
      });
    }
    // Lane order: family order, then id.
    const sorted = [...entries.entries()].sort(
      ([a, ea], [b, eb]) => FAMILIES.indexOf(ea.info.family) - FAMILIES.indexOf(eb.info.family) || a.localeCompare(b),
    );
    return new Map(sorted);
  }
}
