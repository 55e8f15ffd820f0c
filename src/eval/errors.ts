// Typed errors of the evaluation harness; all are user-facing (`TimbreInputError`), so the CLI exits with code 2.

import { TimbreInputError } from '../audio/errors.js';

/** `--model` named a system that is neither a baseline nor a registered model. */
export class UnknownEvalModelError extends TimbreInputError {
  constructor(message: string) {
    super('UNKNOWN_EVAL_MODEL', message);
  }
}

/** The speech recogniser for the intelligibility metric is not installed or failed. */
export class AsrUnavailableError extends TimbreInputError {
  constructor(message: string) {
    super('ASR_UNAVAILABLE', message);
  }
}

/** An evaluation setting cannot be met by the corpus (unknown voice, too many pairs, no test sentences). */
export class EvalSetupError extends TimbreInputError {
  constructor(message: string) {
    super('EVAL_SETUP', message);
  }
}
