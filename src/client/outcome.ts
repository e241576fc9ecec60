// How a call ends when it does not get a plain answer. An operation ends ok, failed, or in doubt;
// a write that may have reached the server is in doubt and is never re-sent, because applying it
// twice (an increment, an append) would be a different outcome than the caller asked for.

import { AerieError, Status } from '../errors';

/** Why a call lost its answer: its own deadline, its connection dropped, or the client closed. */
export type Loss = 'timeout' | 'disconnect' | 'close';

/** What the pipeline knows about a call when it loses its answer. */
export interface CallFacts {
  /** Whether the request was written to a connection (it may have been applied). */
  sent: boolean;
  /** Writes are never re-sent; their failures after sending are in doubt. */
  write: boolean;
  /** Times the request was sent so far. */
  sendCount: number;
  /** Re-sends allowed after a lost connection. */
  maxRetries: number;
  /** Whether a connection is up (a queued call that times out while disconnected had no server). */
  connected: boolean;
}

export type Disposition = { retry: true } | { retry: false; code: number; inDoubt: boolean };

const RETRY: Disposition = { retry: true };

function fail(code: number, inDoubt: boolean): Disposition {
  return { retry: false, code, inDoubt };
}

export function classifyLoss(loss: Loss, call: CallFacts): Disposition {
  if (!call.sent) {
    // Never written anywhere: not in doubt, whatever happens.
    if (loss === 'disconnect') return RETRY; // stays queued for the next connection
    if (loss === 'close') return fail(Status.SERVER_NOT_AVAILABLE, false);
    return fail(call.connected ? Status.TIMEOUT_CLIENT : Status.SERVER_NOT_AVAILABLE, false);
  }
  if (loss === 'timeout') return fail(Status.TIMEOUT_CLIENT, call.write);
  if (loss === 'close' || call.write) return fail(Status.CONNECTION_CLOSED, call.write);
  // A read whose connection dropped: re-send it on the next connection while the budget lasts.
  return call.sendCount <= call.maxRetries ? RETRY : fail(Status.MAX_RETRIES_EXCEEDED, false);
}

export function lossMessage(loss: Loss, code: number): string {
  if (code === Status.MAX_RETRIES_EXCEEDED) return 'connection lost and retries exhausted';
  if (code === Status.SERVER_NOT_AVAILABLE) return loss === 'close' ? 'client closed' : 'no connection to a server';
  if (code === Status.CONNECTION_CLOSED) return loss === 'close' ? 'client closed with the request in flight' : 'connection lost with the request in flight';
  return 'no answer within the timeout';
}

/**
 * The error for a lost answer, or null when the call is sent again. `describedAs` words the
 * message differently from the rule applied: a client without reconnection ends its calls as a
 * closing one does when its connection drops, but the connection was lost, not closed by the caller.
 */
export function lossError(loss: Loss, call: CallFacts, describedAs: Loss = loss): AerieError | null {
  const disposition = classifyLoss(loss, call);
  if (disposition.retry) return null;
  return new AerieError(disposition.code, lossMessage(describedAs, disposition.code), disposition.inDoubt);
}

/**
 * The error for a server result code. A server's answer is definite, except TIMEOUT (9): the
 * server gave up waiting (for a worker, a replica, the disk) and the write may still be applied.
 */
export function serverError(code: number, body: unknown, write: boolean): AerieError {
  const message = body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : undefined;
  return new AerieError(code, message, write && code === Status.TIMEOUT);
}
