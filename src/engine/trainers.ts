// The trainers Timbre knows, one per model family, as `timbre train` and the engine use them: the table of
// `src/models/registry.ts` (defaults, an optional pair folder, a quick "tiny" preset, and `prepare()`), by name.

import { FAMILY_ENTRIES, type FamilyName, type TrainerEntry } from '../models/registry.js';

export type { TrainerDefaults, TrainerEntry, TrainingRun, TrainRunSettings } from '../models/registry.js';

/** Names of the trainers, in the order they are listed. */
export type TrainerName = FamilyName;

/** The trainers, one per model family (their modules load on demand). */
export const TRAINERS: Readonly<Record<TrainerName, TrainerEntry>> = Object.fromEntries(FAMILY_ENTRIES.map((e) => [e.name, e.trainer])) as Record<TrainerName, TrainerEntry>;

/** The trainer of `name`, or undefined for names not in the table. */
export function trainerEntry(name: string): TrainerEntry | undefined {
  return Object.hasOwn(TRAINERS, name) ? TRAINERS[name as TrainerName] : undefined;
}

/** Names of every trainer, table order. */
export const TRAINER_NAMES: readonly TrainerName[] = Object.keys(TRAINERS) as TrainerName[];
