// Argument checks shared by the audio modules, so every function refuses bad input the same way.
// Messages name the argument, the constraint and the value received.

import { InvalidArgumentError } from './errors.js';

/** Throws unless `value` is an integer in [min, max]; `name` appears in the message. */
export function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
}

/** Throws unless `value` is a finite number in [min, max]. */
export function checkNumber(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(`${name} must be a finite number ${range}, got ${String(value)}`);
  }
}

/** Throws unless `value` is a Float32Array (optionally of exactly `length` elements). */
export function checkFloat32Array(name: string, value: unknown, length?: number): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    const got = value === null ? 'null' : typeof value === 'object' ? (value as object).constructor.name : typeof value;
    throw new InvalidArgumentError(`${name} must be a Float32Array, got ${got}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(`${name} must have ${length} elements, got ${value.length}`);
  }
}

/** True when `n` is a power of two ≥ 1. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}
