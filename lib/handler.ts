/**
 * `sockjs()`: builds the handler, middleware whose Router is built from the
 * transport table. It owns the session registry, and takes the websocket
 * handshakes that reach it through the app (see `upgrade.ts`).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import cookieParser from 'cookie-parser';
import createDebug from 'debug';
import { WebSocketServer, type WebSocket } from 'ws';
import { applicationHooks, reportBroadcastFailure } from './application';
import { Cluster, type ClusterSession } from './cluster';
import { corsFor } from './cors';
import { directPath, takeDirectRequests, type DirectRoute, type DirectStep } from './direct';
import { HandlerClosedError, InvalidArgumentError, RootMountError } from './errors';
import { cacheForAYear, sendMethodNotAllowed, sendText } from './http';
import { refusal, restrictFraming } from './origin';
import { resolveOptions, type Options, type ResolvedOptions, type TransportName } from './options';
import { Registry, type Locator, type MountedRequest } from './registry';
import { greeting } from './routes/greeting';
import { IFRAME_PATH, iframe } from './routes/iframe';
import { info } from './routes/info';
import type { Session } from './session';
import { Counters, countFor, sumStats, type ClusterStats, type HandlerStats } from './stats';
import { receive } from './transports/receive';
import { jsonpSend, xhrSend } from './transports/send';
import { SESSION_ROUTES, receiverFormat, sessionIdOf, sessionRoutePath, type SessionRoute } from './transports/table';
import { WebsocketReceiver, refusePlainRequest, websocketPings } from './transports/websocket';
import { gateUpgrades, isUpgrade, takeUpgrade } from './upgrade';

const debug = createDebug('sockjs:handler');

/** Events of a {@link SockJSHandler}. */
export interface HandlerEvents<Context = unknown> {
  /** A new session opened. */
  connection: [session: Session<Context>];
  /**
   * The application's own code threw: a session's listener, or a
   * `'connection'` listener (`onSession`) that threw or rejected; `session`
   * is the one it ran for, now closing with 1011. Without an `'error'`
   * listener such an error is thrown as an uncaught exception. Also a
   * `ClusterUnavailableError` (no `session`) when a broadcast could not reach
   * the other processes; that one is only logged without a listener.
   */
  error: [error: unknown, session?: Session<Context>];
}

/**
 * What `sockjs()` returns: middleware for `app.use(path, handler)` (Express,
 * Connect, or a plain `http` request listener) that is also an EventEmitter
 * emitting `'connection'` with every new session.
 */
export interface SockJSHandler<Context = unknown> extends EventEmitter<HandlerEvents<Context>> {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /**
   * Routes the websocket handshakes on `server` whose path ends like a SockJS
   * websocket path through the server's request listener (the app and its
   * middleware) to this handler, leaving every other upgrade alone (see
   * `upgrade.ts`). Called for you by the first HTTP request through the
   * handler on each server; call it right after creating the server so that
   * a websocket may be a client's first request. Calling it again for the
   * same server does nothing; one handler may serve several servers (http
   * and https). Returns the handler.
   * @throws InvalidArgumentError when `server` is not a server (the app, say)
   */
  attach(server: Server): this;
  /**
   * Closes every session with `c[1001,"Server shutting down"]`, ends their
   * responses, stops their timers and removes the upgrade listener. Later
   * requests get `503`. Resolves once every websocket has closed; a second
   * call resolves with the first, when that shutdown is complete.
   */
  close(): Promise<void>;
  /**
   * Sends `message` to every open session, framing it once per process.
   * Returns how many sessions of this process took it; with an `adapter`,
   * every other process's sessions get it too.
   */
  broadcast(message: string): number;
  /**
   * Sends `message` to the session `id` (its `session.id`), on this process
   * or, with an `adapter`, on whichever process owns it. Resolves whether an
   * open session took it; rejects with a `ClusterUnavailableError` when the
   * cluster cannot be reached within 5 s.
   */
  send(id: string, message: string): Promise<boolean>;
  /**
   * Every session of the cluster, with the process that owns it (`node`) and
   * the one carrying its receiving request when that is another (`via`).
   * Without an `adapter`, this process's sessions. Rejects with a
   * `ClusterUnavailableError` when Redis or a live process does not answer within 5 s.
   */
  clusterSessions(): Promise<ClusterSession[]>;
  /**
   * A snapshot of what this handler counted in this process: sessions open
   * by transport, opened and closed (by code, by limit), messages and bytes
   * each way, refusals by status, buffered bytes, and with an `adapter` what
   * the cluster did (see {@link HandlerStats} and the README's "Observability").
   */
  stats(): HandlerStats;
  /**
   * The {@link stats} of every live process of the cluster, and their sum,
   * with the time the backend took to list the processes. Without an
   * `adapter`, this process's alone. Rejects with a `ClusterUnavailableError`
   * when Redis or a live process does not answer within 5 s.
   */
  clusterStats(): Promise<ClusterStats>;
  /** This process's node id in the cluster (without an `adapter`, a random id). */
  readonly node: string;
  /** The live sessions of this process, by `session.id`. */
  readonly sessions: ReadonlyMap<string, Session<Context>>;
  /** The options in force, defaults merged. */
  readonly options: ResolvedOptions;
}

/** The callback `sockjs()` registers for `'connection'`. */
export type SessionHandler<Context = unknown> = (session: Session<Context>) => void;

const SHUTDOWN = { code: 1001, reason: 'Server shutting down' } as const;
/** How long `close()` waits for websockets to finish their closing handshake. */
const CLOSE_GRACE_MS = 1000;

function routeEnabled(route: SessionRoute, transports: ReadonlySet<TransportName>): boolean {
  return route.transports.some((name) => transports.has(name));
}

/**
 * Creates a SockJS handler.
 *
 * ```ts
 * const echo = sockjs({ heartbeatDelay: 25_000 }, (session) => {
 *   session.on('data', (message) => session.send(message));
 * });
 * app.use('/echo', echo);
 * ```
 * @param options see {@link Options}; invalid ones throw an `InvalidOptionError` naming them
 * @param onSession added as a `'connection'` listener
 */
export function sockjs<Context = undefined>(onSession: SessionHandler<Context>): SockJSHandler<Context>;
export function sockjs<Context = undefined>(options?: Options<Context>, onSession?: SessionHandler<Context>): SockJSHandler<Context>;
export function sockjs<Context>(
  options?: Options<Context> | SessionHandler<Context>,
  onSession?: SessionHandler<Context>,
): SockJSHandler<Context> {
  if (typeof options === 'function') return sockjs(undefined, options);
  if (onSession !== undefined && typeof onSession !== 'function') {
    throw new InvalidArgumentError('sockjs: the session callback must be a function');
  }
  const opts = resolveOptions(options);
  function handle(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void {
    countFor(res, counters);
    if (next !== undefined && !opts.root && mountedAtRoot(req)) return next(new RootMountError());
    const server = (req.socket as Duplex & { server?: unknown }).server;
    if (!closed && server instanceof NetServer && !attached.has(server as Server)) attach(server as Server);
    router(req as Request, res as Response, next ?? (() => notFound(res)));
  }
  // Middleware that is also an EventEmitter, as an Express app is: the
  // emitter's methods on the function itself (they create their state lazily).
  for (const key of Reflect.ownKeys(EventEmitter.prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(EventEmitter.prototype, key);
    if (key !== 'constructor' && descriptor) Object.defineProperty(handle, key, descriptor);
  }
  const emitter = handle as unknown as EventEmitter<HandlerEvents<Context>>;
  const application = applicationHooks(emitter as unknown as EventEmitter<HandlerEvents>);
  const counters = new Counters(opts.adapter !== undefined);
  const limits = { ...opts, counters };
  const cluster = opts.adapter ? new Cluster({ adapter: opts.adapter, limits, application, formats: receiverFormat }) : undefined;
  const registry = cluster?.registry ?? new Registry(limits, application);
  const node = cluster?.node ?? randomBytes(6).toString('hex');
  const wss = new WebSocketServer({
    clientTracking: false,
    ...opts.websocketOptions,
    noServer: true,
    maxPayload: opts.maxMessageSize,
  });
  wss.on('headers', addMiddlewareHeaders);
  const websockets = new Set<WebSocket>();
  const pings = websocketPings(opts.websocketPingInterval, opts.websocketPingTimeout);
  const interest = { framed: opts.transports.has('websocket'), raw: opts.rawWebsocket, counters };
  /** The servers whose upgrades this handler takes, with the function that stops it. */
  const attached = new Map<Server, () => void>();
  let closed = false;

  if (onSession) emitter.on('connection', onSession);

  function attach(server: Server): void {
    if (!(server instanceof NetServer)) throw new InvalidArgumentError(attachMisuse(server));
    if (closed) throw new HandlerClosedError('sockjs: cannot attach a closed handler');
    if (attached.has(server)) return;
    const stopUpgrades = gateUpgrades(server, interest);
    const stopDirect = direct && takeDirectRequests(server, direct);
    attached.set(server, () => (stopUpgrades(), stopDirect?.()));
    debug('taking websocket upgrades');
  }

  /**
   * Remembers `ws` until it closes. Kept out of `serveUpgrade` on purpose: a
   * listener made there would hold that call's scope, and with it the upgrade
   * request and its head buffer, for the websocket's whole life.
   */
  function track(ws: WebSocket): void {
    websockets.add(ws);
    ws.on('close', untrack);
  }
  /** One listener for every websocket (`close` comes once), rather than a closure per websocket. */
  function untrack(this: WebSocket): void {
    websockets.delete(this);
  }

  /**
   * A websocket route: an upgrade that came through the app's middleware is
   * handed to `ws`; a plain request gets the protocol's `400`.
   */
  function serveUpgrade(req: IncomingMessage, res: ServerResponse, next: NextFunction, raw: boolean): void {
    if (!isUpgrade(req)) return refusePlainRequest(req, res);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return sendText(res, 400, 'Can "Upgrade" only to "WebSocket".');
    }
    const context = sessionContext(opts, req, res, next);
    if (!context.ok) return;
    const taken = takeUpgrade(req);
    if (taken === undefined) return;
    if (Object.keys(taken.headers).length > 0) middlewareHeaders.set(req, taken.headers);
    wss.handleUpgrade(req, taken.socket, taken.head, (ws) => {
      if (closed) {
        // The handshake finished after close(): no new session.
        ws.close(SHUTDOWN.code, SHUTDOWN.reason);
        return;
      }
      track(ws);
      const receiver = new WebsocketReceiver(ws, taken.socket, raw, opts.websocketWriteTimeout, pings);
      const session = registry.connect(req, receiver, context.value);
      receiver.bind(session);
    });
  }

  const isClosed = () => closed;
  const { router, routes } = buildRouter(opts, registry, cluster ?? registry, isClosed, serveUpgrade);
  // The later requests of an open session skip the app (see `direct.ts`), unless middleware must see them all.
  const direct =
    opts.middleware === 'session-open' ? directPath({ routes, registry, allowedOrigins: opts.allowedOrigins, counters, isClosed }) : undefined;

  /** The shutdown under way or done: every `close()` call resolves when it completes. */
  let shutdown: Promise<void> | undefined;
  function closeAll(): Promise<void> {
    closed = true;
    for (const detach of attached.values()) detach();
    attached.clear();
    // Leave first: the sessions shut down below then keep their URL ids, which the
    // cluster marks gone, and the responses this process relays are handed back.
    const left = cluster?.leave();
    registry.shutdown(SHUTDOWN.code, SHUTDOWN.reason);
    return Promise.all([waitForWebsockets(websockets), left]).then(() => undefined);
  }

  const handler = Object.assign(handle, {
    attach(server: Server) {
      attach(server);
      return handler;
    },
    close(): Promise<void> {
      shutdown ??= closeAll();
      return shutdown;
    },
    broadcast(message: string): number {
      const count = registry.broadcast(message);
      cluster?.broadcast(message).catch((error: unknown) => reportBroadcastFailure(emitter, error));
      return count;
    },
    send(id: string, message: string): Promise<boolean> {
      if (typeof id !== 'string' || typeof message !== 'string') {
        return Promise.reject(new InvalidArgumentError('sockjs: handler.send() takes a session id and a string'));
      }
      if (cluster) return cluster.send(id, message);
      const session = registry.sessions.get(id);
      return Promise.resolve(session?.state === 'open' && (session.send(message), true));
    },
    clusterSessions(): Promise<ClusterSession[]> {
      if (cluster) return cluster.sessions();
      return Promise.resolve([...registry.sessions.values()].map((session) => ({ id: session.id, node, transport: session.transport })));
    },
    stats(): HandlerStats {
      return counters.snapshot(node, registry.sessions.values());
    },
    async clusterStats(): Promise<ClusterStats> {
      const { nodes, backendRoundTripMs } = cluster ? await cluster.stats() : { nodes: [handler.stats()], backendRoundTripMs: undefined };
      return { nodes, total: sumStats(node, nodes), backendRoundTripMs };
    },
  });
  Object.defineProperty(handler, 'node', { value: node, enumerable: true });
  Object.defineProperty(handler, 'sessions', { value: registry.sessions, enumerable: true });
  Object.defineProperty(handler, 'options', { value: opts, enumerable: true });
  return handler as unknown as SockJSHandler<Context>;
}

/** Resolves when every websocket has closed; stragglers are cut off after a grace period. */
function waitForWebsockets(websockets: Set<WebSocket>): Promise<void> {
  if (websockets.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const ws of websockets) ws.terminate();
    }, CLOSE_GRACE_MS);
    let left = websockets.size;
    for (const ws of websockets) {
      ws.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

/**
 * The Router: one route per entry of the transport table, plus greeting,
 * info and iframe; and the receiving and sending routes again for the direct path.
 */
function buildRouter(
  opts: ResolvedOptions,
  registry: Registry,
  locator: Locator,
  isClosed: () => boolean,
  serveUpgrade: (req: IncomingMessage, res: ServerResponse, next: NextFunction, raw: boolean) => void,
): { router: express.Router; routes: Map<string, DirectRoute> } {
  // mergeParams: the context option sees the parameters of the mount path.
  const router = express.Router({ caseSensitive: true, strict: true, mergeParams: true });
  /**
   * Every route starts here: a closed handler answers 503 to its own paths
   * only, and the origin policy refuses foreign pages with 403. `byReferer`
   * marks routes browsers load cross-origin without an `Origin`.
   */
  const route = (path: string | RegExp, byReferer = false) =>
    router.route(path).all((req, res, next) => {
      if (isClosed()) return sendText(res, 503, 'Server shutting down.');
      const refused = refusal(opts.allowedOrigins, req, byReferer);
      if (refused !== undefined) return sendText(res, 403, refused);
      next();
    });
  const jsessionid = opts.jsessionid;
  const cookies = cookieParser();
  const sessionMiddleware: RequestHandler[] = [
    ...(jsessionid || opts.sessionBinding === 'cookie' ? [cookies] : []),
    ...(jsessionid ? [(req: Request, res: Response, next: NextFunction) => (jsessionid(req, res), next())] : []),
  ];

  // Express 4 hands a mounted handler `/` for `<prefix>//` as well as for `<prefix>/`.
  route(/^\/$/)
    .all((req, _res, next) => next(doubledSlash(req) ? 'route' : undefined))
    .get(greeting)
    .all(methodNotAllowed('GET'));

  const infoCors = corsFor('OPTIONS, GET', opts);
  route('/info')
    .get(infoCors, info(opts.transports.has('websocket'), jsessionid !== false))
    .options(preflight(infoCors))
    .all(methodNotAllowed('OPTIONS, GET'));

  const framing: RequestHandler[] = opts.allowedOrigins ? [(req, res, next) => (restrictFraming(req, res), next())] : [];
  route(IFRAME_PATH, true)
    .get(...framing, iframe(opts.sockjsUrl))
    .all(methodNotAllowed('GET'));

  const { responseLimit, maxMessageSize, sessionBinding } = opts;
  const receiveContext = { registry, locator, responseLimit, sessionBinding };
  const sendContext = { registry, locator, maxMessageSize, sessionBinding };
  const routes = new Map<string, DirectRoute>();
  const directSteps: DirectStep[] = sessionMiddleware.map((step) => (req, res, next) => step(req as Request, res as Response, next));
  for (const entry of SESSION_ROUTES) {
    if (!routeEnabled(entry, opts.transports)) continue;
    const action = entry.action;
    const serve =
      action.kind === 'receive'
        ? receive(action.format, action.callback, receiveContext)
        : action.kind === 'send'
          ? (action.sender === 'xhr' ? xhrSend : jsonpSend)(sendContext)
          : undefined;
    const layer = route(sessionRoutePath(entry.name), action.kind === 'receive' && action.callback);
    const allow = entry.preflight ? `OPTIONS, ${entry.method}` : entry.method;
    const corsMiddleware = entry.preflight || entry.cors ? [corsFor(allow, opts)] : [];
    const handle: RequestHandler =
      action.kind === 'receive' && serve
        ? (req, res, next) => {
            const sessionId = sessionIdOf(req.url);
            // Only a request that may open a session makes a context.
            const context = registry.has(sessionId) ? NO_CONTEXT : sessionContext(opts, req, res, next);
            if (context.ok) serve(req, res, sessionId, next, context.value)?.catch(next);
          }
        : serve
          ? (req, res, next) => serve(req, res, sessionIdOf(req.url), next)?.catch(next)
          : (req, res, next) => serveUpgrade(req, res, next, false);
    // Express would answer HEAD with the GET route: a session opened for nobody to read.
    if (entry.method === 'GET' && action.kind === 'receive') layer.head(methodNotAllowed(allow));
    const method = entry.method === 'GET' ? layer.get.bind(layer) : layer.post.bind(layer);
    method(...corsMiddleware, ...sessionMiddleware, handle);
    if (entry.preflight) layer.options(preflight(corsMiddleware[0]));
    layer.all(methodNotAllowed(allow));
    if (serve) {
      routes.set(entry.name, {
        method: entry.method,
        byReferer: action.kind === 'receive' && action.callback,
        steps: [...corsMiddleware, ...directSteps],
        serve: (req, res, sessionId, next) => serve(req, res, sessionId, next, undefined, false),
      });
    }
  }

  if (opts.rawWebsocket) {
    route('/websocket')
      .get((req, res, next) => serveUpgrade(req, res, next, true))
      .all(methodNotAllowed('GET'));
  }
  return { router, routes };
}

/** Whether the path as the client sent it ends in `//` (never the greeting, whatever the mount made of it). */
function doubledSlash(req: IncomingMessage): boolean {
  const url = (req as MountedRequest).originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return (query < 0 ? url : url.slice(0, query)).endsWith('//');
}

/** What `attach()` says about an argument that is not a server. */
function attachMisuse(value: unknown): string {
  const hint =
    typeof value === 'function'
      ? 'not the app: pass what app.listen() returns, or the server made by http.createServer(app)'
      : `got ${value === null ? 'null' : typeof value}`;
  return `sockjs: attach() takes the http(s) server the app listens on; ${hint}`;
}

/**
 * Whether a request reached the handler with an empty mount path: Express
 * says so in `baseUrl`, Connect by leaving `url` equal to `originalUrl`.
 */
function mountedAtRoot(req: IncomingMessage): boolean {
  const { baseUrl, originalUrl } = req as MountedRequest;
  if (typeof baseUrl === 'string') return baseUrl === '';
  return typeof originalUrl === 'string' && originalUrl === req.url;
}

type ContextResult = { ok: true; value: unknown } | { ok: false };
const NO_CONTEXT: ContextResult = { ok: true, value: undefined };

/**
 * What the `context` option makes of a request that opens a session; a
 * throw goes to `next`, the app's error handlers, and no session opens.
 */
function sessionContext(opts: ResolvedOptions, req: IncomingMessage, res: ServerResponse, next: NextFunction): ContextResult {
  if (opts.context === undefined) return NO_CONTEXT;
  try {
    return { ok: true, value: opts.context(req, res) };
  } catch (error) {
    next(error);
    return { ok: false };
  }
}

/** The final answer for a request no route took, when the handler is the server's request listener. */
function notFound(res: ServerResponse): void {
  if (!res.headersSent) sendText(res, 404, 'Not found.');
}

/**
 * Middleware's headers for the `101` of a handshake that came through the app
 * (a cookie, for example), less the ones the handshake itself owns.
 */
const middlewareHeaders = new WeakMap<IncomingMessage, OutgoingHttpHeaders>();
const HANDSHAKE_OWNED = new Set([
  'connection', 'upgrade', 'content-length', 'content-type', 'transfer-encoding', 'keep-alive', 'date',
  'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions',
]);
function addMiddlewareHeaders(lines: string[], req: IncomingMessage): void {
  const headers = middlewareHeaders.get(req);
  if (headers === undefined) return;
  middlewareHeaders.delete(req);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HANDSHAKE_OWNED.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(one)}`);
  }
}

function methodNotAllowed(allow: string): RequestHandler {
  return (_req, res) => sendMethodNotAllowed(res, allow);
}

/** An `OPTIONS` answer: cacheable for a year, CORS headers from `cors`. */
function preflight(corsMiddleware: RequestHandler): RequestHandler[] {
  return [
    (_req, res, next) => {
      cacheForAYear(res);
      next();
    },
    corsMiddleware,
    (_req, res) => {
      res.statusCode = 204;
      res.end();
    },
  ];
}
