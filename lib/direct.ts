/**
 * The direct path (the `middleware: 'session-open'` option): the later HTTP
 * requests of an open session skip the app. The app's middleware guarded the
 * session's opening; what guards its later requests is the handler's own
 * checks (see `handler.ts`), the URL's session id and `sessionBinding`.
 *
 * One gate per server, shared by every handler attached to it, sees each
 * `'request'` before the server's request listeners (the app) do: it wraps
 * the server instance's `emit` once, so listeners added later cannot answer
 * a request the gate took as well. It reads only the tail of the path,
 * `<prefix>/<server_id>/<session_id>/<route>`, and offers it to each
 * handler; a handler takes it only for a session open in its own registry
 * under the same `<prefix>`. Every other request (unknown sessions, another
 * process's session, `OPTIONS`, `/info`, the iframe page, websocket
 * handshakes) reaches the app untouched.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import createDebug from 'debug';
import { sendText } from './http';
import type { OriginPolicy } from './options';
import { refusal } from './origin';
import type { Registry } from './registry';
import { countFor, type Counters } from './stats';

const debug = createDebug('sockjs:direct');

/** Where a request points: the tail of its path. */
export interface SessionPath {
  /** The path before `/<server_id>/<session_id>/<route>`, as sent (`''` at the root). */
  readonly prefix: string;
  readonly sessionId: string;
  /** The last path segment, e.g. `xhr_send`. */
  readonly route: string;
}

/** A handler's side: serves the request and answers `true`, or leaves it to the app. */
export type DirectServe = (req: IncomingMessage, res: ServerResponse, path: SessionPath) => boolean;

type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

const kDirect = Symbol('sockjs.directPath');
type DirectServer = Server & { [kDirect]?: DirectGate };

/** A segment of a session path: non-empty, no dots (as `sessionRoutePath` wants). */
function validId(segment: string): boolean {
  return segment !== '' && !segment.includes('.');
}

/**
 * The tail of `url` when its path ends in `/<server_id>/<session_id>/<route>`
 * (ids non-empty and dotless), else `undefined`.
 */
export function sessionPathOf(url: string): SessionPath | undefined {
  const query = url.indexOf('?');
  const end = query < 0 ? url.length : query;
  const last = url.lastIndexOf('/', end - 1);
  if (last <= 0 || last === end - 1) return undefined;
  const middle = url.lastIndexOf('/', last - 1);
  if (middle <= 0) return undefined;
  const first = url.lastIndexOf('/', middle - 1);
  if (first < 0) return undefined;
  const sessionId = url.slice(middle + 1, last);
  if (!validId(sessionId) || !validId(url.slice(first + 1, middle))) return undefined;
  return { prefix: url.slice(0, first), sessionId, route: url.slice(last + 1, end) };
}

/** The prefix of the URL that opened a session, or `undefined` when it is no session path. */
export function prefixOf(url: string): string | undefined {
  return sessionPathOf(url)?.prefix;
}

/** The `'request'` interceptor of one server and the handlers that share it. */
class DirectGate {
  readonly #server: DirectServer;
  readonly #serves = new Set<DirectServe>();
  /** The server's own `emit` property, if it had one (else the prototype's serves). */
  readonly #own: PropertyDescriptor | undefined;
  readonly #emit: Emit;

  constructor(server: DirectServer) {
    this.#server = server;
    this.#own = Object.getOwnPropertyDescriptor(server, 'emit');
    const original = server.emit as Emit;
    const serves = this.#serves;
    this.#emit = function (this: Server, event, ...args) {
      if (event === 'request' && serves.size > 0 && offer(serves, args[0] as IncomingMessage, args[1] as ServerResponse)) return true;
      return original.call(this, event, ...args);
    };
    Object.defineProperty(server, 'emit', { value: this.#emit, configurable: true, writable: true });
  }

  add(serve: DirectServe): void {
    this.#serves.add(serve);
  }

  /**
   * Forgets `serve`; the last one out puts the server's `emit` back, unless
   * something wrapped it since (then the gate stays, passing everything on).
   */
  remove(serve: DirectServe): void {
    this.#serves.delete(serve);
    const server = this.#server;
    if (this.#serves.size > 0 || server.emit !== this.#emit) return;
    if (this.#own === undefined) delete (server as { emit?: unknown }).emit;
    else Object.defineProperty(server, 'emit', this.#own);
    delete server[kDirect];
  }
}

/** Offers a request to each handler of the server; whether one took it. */
function offer(serves: ReadonlySet<DirectServe>, req: IncomingMessage, res: ServerResponse): boolean {
  const path = sessionPathOf(req.url ?? '');
  if (path === undefined) return false;
  for (const serve of serves) {
    if (serve(req, res, path)) return true;
  }
  return false;
}

/**
 * Offers the requests of `server` to `serve` before its request listeners
 * see them. Returns the function that stops.
 */
export function takeDirectRequests(server: Server, serve: DirectServe): () => void {
  const direct = server as DirectServer;
  const gate = (direct[kDirect] ??= new DirectGate(direct));
  gate.add(serve);
  return () => gate.remove(serve);
}

/** One step of a direct route: middleware of the handler's own (CORS, cookies, `jsessionid`). */
export type DirectStep = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** A session route as the direct path serves it: the same steps and transport as the Router's route. */
export interface DirectRoute {
  readonly method: 'GET' | 'POST';
  /** Whether the origin policy judges the route by `Referer` too (jsonp, htmlfile). */
  readonly byReferer: boolean;
  readonly steps: readonly DirectStep[];
  /** The transport, for a session that must exist already (it never opens one). */
  serve(req: IncomingMessage, res: ServerResponse, sessionId: string, next: (error: unknown) => void): Promise<void> | undefined;
}

/** What a handler's direct path needs. */
export interface DirectContext {
  /** The enabled receiving and sending routes, by name. */
  readonly routes: ReadonlyMap<string, DirectRoute>;
  readonly registry: Registry;
  readonly allowedOrigins: OriginPolicy | undefined;
  /** Where the handler counts its refusals (see `stats.ts`). */
  readonly counters: Counters;
  isClosed(): boolean;
}

/**
 * A handler's side of the gate: takes a request for one of its routes whose
 * session is open in its registry and was opened under the same prefix,
 * then runs what the Router would (origin policy, the route's steps, the
 * transport). Everything else is left to the app.
 */
export function directPath(context: DirectContext): DirectServe {
  const { routes, registry, allowedOrigins, counters } = context;
  return function serveDirect(req, res, path) {
    const route = routes.get(path.route);
    if (route === undefined || req.method !== route.method || context.isClosed()) return false;
    const session = registry.find(path.sessionId);
    if (session?.state !== 'open' || prefixOf(session.request.url) !== path.prefix) return false;
    debug('%s %s directly', req.method, req.url);
    countFor(res, counters);
    const refused = refusal(allowedOrigins, req, route.byReferer);
    if (refused !== undefined) {
      sendText(res, 403, refused);
      return true;
    }
    const fail = (error: unknown): void => failed(res, error);
    runSteps(route.steps, req, res, fail, () => route.serve(req, res, path.sessionId, fail)?.catch(fail));
    return true;
  };
}

/** Runs `steps` in order, then `done`; a step's error or throw goes to `fail`. */
function runSteps(
  steps: readonly DirectStep[],
  req: IncomingMessage,
  res: ServerResponse,
  fail: (error: unknown) => void,
  done: () => void,
): void {
  let index = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined) return fail(error);
    const step = steps[index++];
    if (step === undefined) return done();
    try {
      step(req, res, next);
    } catch (thrown) {
      fail(thrown);
    }
  };
  next();
}

/**
 * An error on the direct path, which has no app error handlers to pass it
 * to: a `500` when nothing was sent yet, else the response is cut off.
 */
function failed(res: ServerResponse, error: unknown): void {
  debug('error on the direct path: %s', error instanceof Error ? error.message : String(error));
  if (res.headersSent) res.destroy();
  else sendText(res, 500, 'Internal Server Error.');
}
