// Typed errors of the corpus layer: each names the value and what to do. All are input errors
// (CLI exit code 2) because a user can fix them: install a package, build the corpus, pick a name.

import { TimbreInputError } from '../audio/errors.js';

/** A speech synthesizer or one of its voices is not installed; names the Debian package. */
export class SynthesizerMissingError extends TimbreInputError {
  readonly aptPackage: string;
  constructor(what: string, aptPackage: string) {
    super('SYNTHESIZER_MISSING', `${what} is not installed; install it with: sudo apt-get install ${aptPackage}`);
    this.aptPackage = aptPackage;
  }
}

/** A voice id or name that is neither a corpus voice nor a user voice. */
export class UnknownVoiceError extends TimbreInputError {
  constructor(message: string) {
    super('UNKNOWN_VOICE', message);
  }
}

/** The corpus cache is missing or does not hold what was asked for. */
export class CorpusNotBuiltError extends TimbreInputError {
  constructor(message: string) {
    super('CORPUS_NOT_BUILT', message);
  }
}

/** A user voice name that is malformed, clashes with a corpus voice, or already exists. */
export class InvalidVoiceNameError extends TimbreInputError {
  constructor(message: string, code = 'INVALID_VOICE_NAME') {
    super(code, message);
  }
}

/** A recording that cannot serve as a user voice (too short, clipped, too quiet, mostly silence). */
export class VoiceRecordingError extends TimbreInputError {
  constructor(message: string) {
    super('VOICE_RECORDING', message);
  }
}
