// Systems `timbre eval` can score: the two baselines built in here, and conversion models: the families of
// src/models/registry.ts that give an eval label, each loading the user's or the shipped model; plus any registered in-process.

import type { MelConverter } from '../models/converter.js';
import { FAMILY_ENTRIES, type EvalModelContext, type VoiceRecordings } from '../models/registry.js';
import { UnknownEvalModelError } from './errors.js';

export type { EvalModelContext } from '../models/registry.js';

/** A conversion model as eval sees it: a label and how to load it. */
export interface EvalModelEntry {
  /** Row label of the table, e.g. "DiffVC (ML solver, 6 steps)". */
  readonly label: string;
  load(context: EvalModelContext): Promise<MelConverter>;
  /** For a family that learns a voice from recordings: the model adapted to `voice` (absent: it cannot). */
  adapt?(context: EvalModelContext, voice: VoiceRecordings, log: (line: string) => void): Promise<MelConverter>;
}

/** Conversion models by name (their modules load only when eval runs them). */
const EVAL_MODELS = new Map<string, EvalModelEntry>(
  FAMILY_ENTRIES.flatMap(({ name, evalLabel, convert, learnsVoices }) =>
    evalLabel === undefined || convert === undefined
      ? []
      : [
          [
            name,
            {
              label: evalLabel,
              load: async (c: EvalModelContext) => (await convert()).loadEvalConverter(c),
              ...(learnsVoices === true
                ? {
                    adapt: async (c: EvalModelContext, voice: VoiceRecordings, log: (line: string) => void) => {
                      const module = await convert();
                      if (module.adaptEvalConverter === undefined) throw new UnknownEvalModelError(`${evalLabel} does not learn voices from recordings`);
                      return module.adaptEvalConverter(c, voice, log);
                    },
                  }
                : {}),
            },
          ] as const,
        ],
  ),
);

/** The built-in baselines: the unconverted source recording, and the target's own recording through the vocoder. */
export const BASELINES = Object.freeze({
  identity: 'identity (unconverted source)',
  'vocoded-target': 'vocoded target (upper bound)',
} as const);

/** Name of a built-in baseline. */
export type BaselineName = keyof typeof BASELINES;

/** One row of the evaluation: a baseline, or a model to load. */
export type EvalSystem =
  | { readonly kind: 'baseline'; readonly name: BaselineName; readonly label: string }
  | { readonly kind: 'model'; readonly name: string; readonly label: string; readonly entry: EvalModelEntry };

/** Adds a model in-process (plugins, tests); returns the function that removes it again. */
export function registerEvalModel(name: string, entry: EvalModelEntry): () => void {
  if (name in BASELINES) throw new UnknownEvalModelError(`"${name}" is a built-in baseline and cannot be registered as a model`);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new UnknownEvalModelError(`eval model name "${name}" must be lowercase letters, digits, ".", "_" or "-"`);
  if (EVAL_MODELS.has(name)) throw new UnknownEvalModelError(`an eval model named "${name}" is already registered`);
  EVAL_MODELS.set(name, entry);
  return () => {
    if (EVAL_MODELS.get(name) === entry) EVAL_MODELS.delete(name);
  };
}

/** Every name `--model` accepts: registered models, then the baselines. */
export function evalSystemNames(): string[] {
  return [...EVAL_MODELS.keys(), ...Object.keys(BASELINES)];
}

/**
 * Resolves `--model` names (deduplicated, order kept). A real model brings both baselines along so every table
 * has its references; baselines alone run alone. Unknown names → `UnknownEvalModelError` listing the valid ones.
 */
export function resolveEvalSystems(names: readonly string[]): EvalSystem[] {
  if (names.length === 0) throw new UnknownEvalModelError(`give --model NAME; one of ${evalSystemNames().join(', ')}`);
  const systems: EvalSystem[] = [];
  const seen = new Set<string>();
  const add = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    if (name in BASELINES) {
      systems.push({ kind: 'baseline', name: name as BaselineName, label: BASELINES[name as BaselineName] });
      return;
    }
    const entry = EVAL_MODELS.get(name);
    if (entry === undefined) {
      throw new UnknownEvalModelError(`unknown model "${name}" for eval; known: ${evalSystemNames().join(', ')} (models register in src/models/registry.ts)`);
    }
    systems.push({ kind: 'model', name, label: entry.label, entry });
  };
  names.forEach(add);
  if (systems.some((s) => s.kind === 'model')) (Object.keys(BASELINES) as BaselineName[]).forEach(add);
  return systems;
}
