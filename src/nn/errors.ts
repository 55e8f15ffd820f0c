// Typed errors of the tensor runtime and the model families on it: backend loading, weights, model files and training.
// Errors caused by what a user gave (a file, a setting) extend `TimbreInputError` so the CLI exits with code 2.

import { TimbreInputError } from '../audio/errors.js';

/** A forced backend (option or TIMBRE_BACKEND) could not be loaded; names the package to install. */
export class BackendUnavailableError extends TimbreInputError {
  constructor(message: string) {
    super('BACKEND_UNAVAILABLE', message);
  }
}

/** A tensor's shape differs from what a layer or weight slot expects; quotes expected and received. */
export class ShapeMismatchError extends TimbreInputError {
  constructor(message: string) {
    super('SHAPE_MISMATCH', message);
  }
}

/** A model file was made for another model kind, version or feature config than the code expects. */
export class ModelMismatchError extends TimbreInputError {
  constructor(message: string) {
    super('MODEL_MISMATCH', message);
  }
}

/** A model or checkpoint file is truncated, corrupt or not a Timbre model file at all. */
export class InvalidModelFileError extends TimbreInputError {
  constructor(message: string) {
    super('INVALID_MODEL_FILE', message);
  }
}

/** A training checkpoint does not belong to the run being resumed (other model or other parameters). */
export class CheckpointMismatchError extends TimbreInputError {
  constructor(message: string) {
    super('CHECKPOINT_MISMATCH', message);
  }
}
