/**
 * Where the application's own code runs for a handler: its `'connection'`
 * listeners (`onSession` among them, and the promises they return), and how
 * what that code throws is reported. A session's own listeners are guarded
 * by the session (see `Session.applicationFailed`).
 */
import type { EventEmitter } from 'node:events';
import createDebug from 'debug';
import { ClusterUnavailableError, SessionNotOpenError } from './errors';
import type { HandlerEvents } from './handler';
import type { Session } from './session';

const debug = createDebug('sockjs:handler');

/** What the registry tells the handler about the application's code. */
export interface ApplicationHooks {
  /** A session opened: run the `'connection'` listeners. */
  opened(session: Session): void;
  /** The application's code threw for `session`: report it. */
  failed(session: Session, error: unknown): void;
}

/** The hooks for `handler`: its `'connection'` listeners run guarded, and errors go to its `'error'` event. */
export function applicationHooks(handler: EventEmitter<HandlerEvents>): ApplicationHooks {
  return {
    opened: (session) => announce(handler, session),
    failed: (session, error) => reportApplicationError(handler, error, session),
  };
}

/**
 * Calls each `'connection'` listener with `session`, as `emit` would. A
 * listener that throws, or returns a promise that rejects, closes the session
 * with 1011 and the error is reported; the other listeners still run. A
 * rejection with `SessionNotOpenError` once the session is no longer open is
 * how a `recv()` loop ends with its session, and is not an error.
 */
function announce(handler: EventEmitter<HandlerEvents>, session: Session): void {
  for (const listener of handler.rawListeners('connection')) {
    let result: unknown;
    try {
      result = (listener as (session: Session) => unknown).call(handler, session);
    } catch (error) {
      session.applicationFailed(error);
      continue;
    }
    if (isThenable(result)) {
      result.then(undefined, (error: unknown) => {
        if (error instanceof SessionNotOpenError && session.state !== 'open') return;
        session.applicationFailed(error);
      });
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Reports an error of the application's own code: as the handler's `'error'`
 * event when it has a listener; otherwise thrown on the next tick, so Node
 * reports it as it reports any uncaught exception (`'uncaughtException'`,
 * which by default prints it and ends the process).
 */
function reportApplicationError(handler: EventEmitter<HandlerEvents>, error: unknown, session: Session): void {
  if (handler.listenerCount('error') === 0) return throwUncaught(error);
  try {
    handler.emit('error', error, session);
  } catch (thrown) {
    throwUncaught(thrown);
  }
}

function throwUncaught(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

/**
 * Reports that a broadcast could not reach the other processes: as the
 * handler's `'error'` event (a `ClusterUnavailableError`, the failure in
 * `cause`) when it has a listener, else only to `DEBUG=sockjs:handler`. The
 * cluster's trouble is not the application's fault, so it never ends the process.
 */
export function reportBroadcastFailure(handler: EventEmitter<HandlerEvents>, failure: unknown): void {
  const error =
    failure instanceof ClusterUnavailableError
      ? failure
      : new ClusterUnavailableError('sockjs: the broadcast could not reach the other processes', { cause: failure });
  debug('broadcast to the cluster failed: %O', failure);
  if (handler.listenerCount('error') > 0) handler.emit('error', error);
}
