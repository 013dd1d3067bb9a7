/**
 * Error classes. Every error this package throws, rejects with or emits is a
 * {@link SockJSError} with a string `code` (`SOCKJS_ERR_*`), so callers can
 * branch on it without parsing messages. (What the application's own code
 * throws reaches the handler's `'error'` event as it was thrown.)
 */

/** The codes of the {@link SockJSError} classes. */
export type SockJSErrorCode =
  | 'SOCKJS_ERR_SESSION_NOT_OPEN'
  | 'SOCKJS_ERR_INVALID_OPTION'
  | 'SOCKJS_ERR_INVALID_ARGUMENT'
  | 'SOCKJS_ERR_HANDLER_CLOSED'
  | 'SOCKJS_ERR_TRANSPORT'
  | 'SOCKJS_ERR_CLUSTER_UNAVAILABLE'
  | 'SOCKJS_ERR_ROOT_MOUNT';

/** Base class of every error raised by sockjs-express. */
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
 * and `handler.clusterSessions()` reject with it; the handler emits it as
 * `'error'` when a broadcast could not reach the other processes; requests
 * that needed it got `503`.
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

/** An option passed to `sockjs()` (or `redisAdapter()`) has the wrong type or an out-of-range value. */
export class InvalidOptionError extends SockJSError {
  constructor(message: string) {
    super('SOCKJS_ERR_INVALID_OPTION', message);
  }
}

/**
 * A method got an argument it cannot take: `session.send()` or
 * `handler.broadcast()` a non-string, `session.close()` a code or reason out
 * of range, `handler.send()` a non-string id or message, `sockjs()` a
 * session callback that is not a function, `handler.attach()` something
 * other than a server. The message names the fix.
 */
export class InvalidArgumentError extends SockJSError {
  constructor(message: string) {
    super('SOCKJS_ERR_INVALID_ARGUMENT', message);
  }
}

/** `handler.attach()` was called after `handler.close()`. */
export class HandlerClosedError extends SockJSError {
  constructor(message: string) {
    super('SOCKJS_ERR_HANDLER_CLOSED', message);
  }
}
