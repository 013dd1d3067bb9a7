/**
 * Small HTTP helpers shared by the routes: caching headers, plain answers,
 * reading a request body without buffering past a limit, and refusing one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { countRefusal } from './stats';

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** Headers that forbid any caching (GET transports carry private data). */
export function noCache(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
}

/** Headers that let browsers and proxies cache for a year. */
export function cacheForAYear(res: ServerResponse): void {
  res.setHeader('Cache-Control', `public, max-age=${ONE_YEAR_SECONDS}`);
  res.setHeader('Expires', new Date(Date.now() + ONE_YEAR_SECONDS * 1000).toUTCString());
}

/** Seconds in a year, for `Access-Control-Max-Age`. */
export const PREFLIGHT_MAX_AGE = ONE_YEAR_SECONDS;

/** Ends `res` with a `text/plain` body. */
export function sendText(res: ServerResponse, status: number, body: string): void {
  if (status >= 400) countRefusal(res, status);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
  res.end(body);
}

/** Ends `res` with `405`, an `Allow` header and no body, as the protocol wants. */
export function sendMethodNotAllowed(res: ServerResponse, allow: string): void {
  countRefusal(res, 405);
  res.statusCode = 405;
  res.setHeader('Allow', allow);
  res.removeHeader('Content-Type');
  res.end();
}

/** Why a body could not be read: it passed the limit, or the client went away. */
export type BodyFailure = 'too-large' | 'aborted';

/**
 * A request body, or why there is none. Tagged, so that no body a client
 * sends can be mistaken for a failure.
 */
export type BodyResult = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly reason: BodyFailure };

const TOO_LARGE: BodyResult = { ok: false, reason: 'too-large' };
const ABORTED: BodyResult = { ok: false, reason: 'aborted' };

/**
 * Reads the request body as UTF-8, refusing (without buffering further) once
 * it passes `limit` bytes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.resume();
        done(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done({ ok: true, body: Buffer.concat(chunks, size).toString('utf8') });
    const onAbort = (): void => done(ABORTED);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
  });
}

/**
 * When middleware in front of the handler (a body parser such as
 * `express.json()`) has already read the request body, what it left in
 * `req.body` (`parsed`, possibly `undefined`); `undefined` when the body is
 * still unread. Reading a consumed stream again would wait forever.
 */
export function bodyReadBefore(req: IncomingMessage): { readonly parsed: unknown } | undefined {
  if (!req.readableEnded && !req.readableDidRead) return undefined;
  return { parsed: (req as IncomingMessage & { body?: unknown }).body };
}

/**
 * How much of a refused body {@link refuseBody} reads and throws away after
 * its answer, at most: past either bound the connection is closed.
 */
export const DISCARD_LIMIT = { bytes: 64 * 1024 * 1024, ms: 10_000 } as const;

/**
 * Answers a request whose body was refused before it was read to its end,
 * in a way the client can read. Closing the connection at once would reset
 * it while the client is still sending, and many clients (browsers among
 * them) read nothing until they have sent their body. So the whole answer is
 * written at once, but the response only ends (and the connection closes)
 * once the rest of the body has been read and thrown away, never buffered:
 * at most {@link DISCARD_LIMIT}, past which the connection is cut off.
 */
export function refuseBody(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  res.setHeader('Connection', 'close');
  if (req.complete) return sendText(res, status, text);
  countRefusal(res, status);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.write(text);
  discardRest(req, () => res.end());
}

/** Reads and drops what is left of `req`'s body, then calls `done`; cuts the connection off past {@link DISCARD_LIMIT}. */
function discardRest(req: IncomingMessage, done: () => void): void {
  let discarded = 0;
  const stop = (): void => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', stop);
    req.off('close', stop);
    done();
  };
  const cutOff = (): void => {
    stop();
    req.socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT.bytes) cutOff();
  };
  const timer = setTimeout(cutOff, DISCARD_LIMIT.ms);
  timer.unref();
  req.on('data', onData);
  req.on('end', stop);
  req.on('close', stop);
}
