// Command-line parsing for `timbre`: node's own `util.parseArgs` with strict checking, plus
// typed readers that turn option strings into validated numbers and choices.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TimbreInputError } from '../audio/errors.js';
import type { ConversionSettings, DiffusionSolver } from '../models/converter.js';

/** Bad command-line usage: unknown option, missing argument, bad value. Exit code 2. */
export class UsageError extends TimbreInputError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed options and positionals of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses `argv` strictly; unknown options and missing values become a `UsageError`. */
export function parseCommandArgs(command: string, argv: readonly string[], options: Options): ParsedArgs {
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`timbre ${command}: ${message.replace(/\. To specify a positional.*$/s, '')}`);
  }
}

/** Reads a string option, or `undefined` when absent. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`option --${name} needs a value`);
  return value;
}

/** Reads a boolean flag. */
export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Reads a number option within [min, max]; `integer` refuses fractions. */
export function numberOption(
  args: ParsedArgs,
  name: string,
  bounds: { min: number; max: number; integer?: boolean },
): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`option --${name}: "${raw}" is not a number`);
  }
  if (bounds.integer === true && !Number.isInteger(value)) {
    throw new UsageError(`option --${name}: "${raw}" must be a whole number`);
  }
  if (value < bounds.min || value > bounds.max) {
    throw new UsageError(`option --${name}: ${value} is out of range [${bounds.min}, ${bounds.max}]`);
  }
  return value;
}

/** Reads an option restricted to a list of choices. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`option --${name}: "${raw}" is not one of ${choices.join(', ')}`);
  }
  return raw as T;
}

/** Requires exactly `count` positional arguments, naming them in the error. */
export function requirePositionals(command: string, args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length < names.length) {
    throw new UsageError(`timbre ${command}: missing ${names.slice(args.positionals.length).join(', ')}`);
  }
  if (args.positionals.length > names.length) {
    throw new UsageError(
      `timbre ${command}: unexpected argument "${args.positionals[names.length]}"`,
    );
  }
  return args.positionals.slice(0, names.length);
}

/** Diffusion solvers `--solver` accepts. */
export const SOLVER_CHOICES: readonly DiffusionSolver[] = ['ml', 'euler'];

/** `--steps`, `--solver`, `--seed` as the conversion settings of every model; only the options given. */
export function conversionSettingsOptions(args: ParsedArgs): ConversionSettings {
  const steps = numberOption(args, 'steps', { min: 1, max: 100, integer: true });
  const solver = choiceOption(args, 'solver', SOLVER_CHOICES);
  const seed = numberOption(args, 'seed', { min: 0, max: 2 ** 31 - 1, integer: true });
  return { ...(seed !== undefined ? { seed } : {}), ...(steps !== undefined ? { steps } : {}), ...(solver !== undefined ? { solver } : {}) };
}
