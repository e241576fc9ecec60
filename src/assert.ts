// Assertions on invariants, TigerBeetle-style: a broken one is a bug in this process, never bad
// input, so it throws a coded SERVER_ERROR (1) instead of letting the state it found spread.
// Bad input is refused with its own code before it reaches an assertion.

import { AerieError, Status } from './errors';

/** An invariant did not hold: always Status.SERVER_ERROR, with what was broken. */
export class InvariantError extends AerieError {
  constructor(message: string) {
    super(Status.SERVER_ERROR, `invariant broken: ${message}`);
  }
}

/**
 * Throws InvariantError unless `condition` holds. Pass a constant message on hot paths; where the
 * message needs values, write `if (!condition) fail(\`...\`)` so it is built only on failure.
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Throws InvariantError: for an invariant whose message is built from values. */
export function fail(message: string): never {
  throw new InvariantError(message);
}
