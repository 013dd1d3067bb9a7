/**
 * Error classes. Every error this package creates carries a string `code`
 * (`SOCKJS_ERR_*`) so callers can branch on it without parsing messages.
 */

/** The codes of {@link SockJSError} and {@link InvalidOptionError}. */
export type SockJSErrorCode =
  | 'SOCKJS_ERR_SESSION_NOT_OPEN'
  | 'SOCKJS_ERR_INVALID_OPTION'
  | 'SOCKJS_ERR_TRANSPORT'
  | 'SOCKJS_ERR_CLUSTER_UNAVAILABLE'
  | 'SOCKJS_ERR_ROOT_MOUNT'
  | 'SOCKJS_ERR_INVALID_ARGUMENT';

/** Base class of every error raised by sockjs-express (except {@link InvalidOptionError}, a `TypeError`). */
export class SockJSError extends Error {
  /** A stable, machine-readable code such as `SOCKJS_ERR_SESSION_NOT_OPEN`. */
  readonly code: SockJSErrorCode;

  constructor(code: SockJSErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Raised by `session.recv()` (and ends `for await`) once a session is no longer open. */
export class SessionNotOpenError extends SockJSError {
  constructor() {
    super('SOCKJS_ERR_SESSION_NOT_OPEN', 'sockjs: session not in open state');
  }
}

/**
 * The connection under a session failed (e.g. a websocket protocol error such
 * as invalid UTF-8). `cause` holds the underlying error. A session emits it as
 * `'error'` only when it has an `'error'` listener; the session closes either way.
 */
export class TransportError extends SockJSError {
  constructor(cause: Error) {
    super('SOCKJS_ERR_TRANSPORT', `sockjs: transport error: ${cause.message}`, { cause });
  }
}

/**
 * With an `adapter`: the cluster did not answer in time (the backend is
 * unreachable, or another process did not reply within 5 s). `handler.send()`
 * and `handler.clusterSessions()` reject with it; requests that needed it got `503`.
 */
export class ClusterUnavailableError extends SockJSError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SOCKJS_ERR_CLUSTER_UNAVAILABLE', message, options);
  }
}

/**
 * The handler was mounted at the root of an app or Connect stack
 * (`app.use(handler)`) without the `root` option. It is passed to `next()`
 * for every request that reaches the handler there, so the app's error
 * handlers show it at once.
 */
export class RootMountError extends SockJSError {
  constructor() {
    super(
      'SOCKJS_ERR_ROOT_MOUNT',
      "sockjs: the handler is mounted at the root of the app, where the protocol's routes (/, /info, /<server>/<session>/xhr ...) " +
        "would answer the app's own requests; mount it under a path (app.use('/echo', handler)) or pass { root: true }",
    );
  }
}

/** A method of the handler was called with an argument it cannot use; the message names the fix. */
export class InvalidArgumentError extends SockJSError {
  constructor(message: string) {
    super('SOCKJS_ERR_INVALID_ARGUMENT', message);
  }
}

/** An option passed to `sockjs()` has the wrong type or an out-of-range value. */
export class InvalidOptionError extends TypeError {
  /** Always `SOCKJS_ERR_INVALID_OPTION`. */
  readonly code = 'SOCKJS_ERR_INVALID_OPTION';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidOptionError';
  }
}
