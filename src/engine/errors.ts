// Typed errors of the engine, and their plain form (`EngineErrorInfo`) for crossing HTTP and IPC.
// Every error a user can cause extends `TimbreInputError`, so the CLI exits with code 2.

import { TimbreInputError } from '../audio/errors.js';
import type { EngineErrorCode, EngineErrorInfo } from './api.js';

/** An engine error: `code` for the UI to branch on, `field` naming the bad argument when there is one. */
export class EngineError extends TimbreInputError {
  readonly field: string | undefined;
  constructor(code: EngineErrorCode, message: string, field?: string) {
    super(code, message);
    this.field = field;
  }
}

/** The conversion was cancelled by its caller. */
export class CancelledError extends EngineError {
  constructor(message = 'the job was cancelled') {
    super('CANCELLED', message);
  }
}

/** Plain, serialisable form of any thrown value; non-input errors become 'INTERNAL' with their message. */
export function toErrorInfo(error: unknown): EngineErrorInfo {
  if (error instanceof EngineError) {
    return error.field === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, field: error.field };
  }
  if (error instanceof TimbreInputError) return { code: error.code, message: error.message };
  if (error instanceof Error && error.name === 'AbortError') return { code: 'CANCELLED', message: 'the job was cancelled' };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `internal error: ${message}` };
}

/** Rebuilds a throwable `EngineError` from its plain form (client side of HTTP and IPC). */
export function fromErrorInfo(info: EngineErrorInfo): EngineError {
  return new EngineError(info.code, info.message, info.field);
}
