// Systems `timbre eval` can score: the two baselines built in here, and conversion models, each registered
// as one line mapping a name to a loader of its `MelConverter` (model families add themselves; none yet).

import type { MelConverter } from '../models/converter.js';
import { UnknownEvalModelError } from './errors.js';

/** What a model loader gets: where the data lives and which voices the evaluation converts to. */
export interface EvalModelContext {
  /** TIMBRE_HOME (undefined: the default). */
  readonly home: string | undefined;
  /** Target voices of this evaluation (corpus voice ids). */
  readonly targetVoices: readonly string[];
}

/** A conversion model as eval sees it: a label and how to load it. */
export interface EvalModelEntry {
  /** Row label of the table, e.g. "DiffVC (ML solver, 6 steps)". */
  readonly label: string;
  load(context: EvalModelContext): Promise<MelConverter>;
}

/**
 * Conversion models, one line per model (lazy imports, so eval loads only what it runs), e.g.
 *   ['diffvc', { label: 'DiffVC', load: async (c) => (await import('../models/diffVc/convert.js')).loadEvalConverter(c) }],
 */
const EVAL_MODELS = new Map<string, EvalModelEntry>([
  ['vae', { label: 'VAE (log-F0 conditioned, ACVAE classifier)', load: async (c) => (await import('../models/vae/convert.js')).loadEvalConverter(c) }],
  ['cyclegan', { label: 'CycleGAN-VC (any voice → target, one generator per target)', load: async (c) => (await import('../models/cycleGan/convert.js')).loadEvalConverter(c) }],
  ['diffvc', { label: 'DiffVC (ML solver, 6 steps unless --solver/--steps)', load: async (c) => (await import('../models/diffVc/convert.js')).loadEvalConverter(c) }],
  // model families register here, one line each
]);

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
      throw new UnknownEvalModelError(`unknown model "${name}" for eval; known: ${evalSystemNames().join(', ')} (models register in src/eval/registry.ts)`);
    }
    systems.push({ kind: 'model', name, label: entry.label, entry });
  };
  names.forEach(add);
  if (systems.some((s) => s.kind === 'model')) (Object.keys(BASELINES) as BaselineName[]).forEach(add);
  return systems;
}
