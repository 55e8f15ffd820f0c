// Shared by the file tests: the code of the TimbreInputError a promise rejects with.

import { expect } from 'vitest';
import { TimbreInputError } from '../../src/audio/errors.js';

/** The `code` of the TimbreInputError `promise` rejects with; fails the test if it resolves or throws anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(TimbreInputError);
    return (e as TimbreInputError).code;
  }
  throw new Error('expected a TimbreInputError');
}
