// Typed errors of the audio layer. The CLI maps every `TimbreInputError` to exit code 2.

/** Base class of errors caused by what a user gave (a file, a setting); `code` lets callers branch. */
export class TimbreInputError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Audio that cannot be decoded or used: not a WAV, corrupt, empty, NaN samples, absurd rate, too long. */
export class InvalidAudioError extends TimbreInputError {
  constructor(message: string, code = 'INVALID_AUDIO') {
    super(code, message);
  }
}

/** An argument out of its allowed range (sizes, rates, counts). */
export class InvalidArgumentError extends TimbreInputError {
  constructor(message: string, code = 'INVALID_ARGUMENT') {
    super(code, message);
  }
}
