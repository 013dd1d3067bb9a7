/**
 * Error classes. Every error this package creates carries a string `code`
 * (`SOCKJS_ERR_*`) so callers can branch on it without parsing messages.
 */

/** Base class of every error raised by sockjs-express. */
export class SockJSError extends Error {
  /** A stable, machine-readable code such as `SOCKJS_ERR_SESSION_NOT_OPEN`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
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

/** An option passed to `sockjs()` has the wrong type or an out-of-range value. */
export class InvalidOptionError extends TypeError {
  /** Always `SOCKJS_ERR_INVALID_OPTION`. */
  readonly code = 'SOCKJS_ERR_INVALID_OPTION';

  constructor(message: string) {
    super(message);
    this.name = 'InvalidOptionError';
  }
}
