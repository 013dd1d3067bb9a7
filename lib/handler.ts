/**
 * `sockjs()`: builds the handler. The handler is an Express sub-app (so Express
 * tells it where it is mounted) whose Router is built from the transport
 * table; it owns the session registry and the websocket upgrade listener.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import cookieParser from 'cookie-parser';
import createDebug from 'debug';
import { WebSocketServer, type WebSocket } from 'ws';
import { applicationHooks, reportBroadcastFailure } from './application';
import { Cluster, type ClusterSession } from './cluster';
import { corsFor } from './cors';
import { HandlerClosedError, InvalidArgumentError } from './errors';
import { cacheForAYear, sendMethodNotAllowed, sendText } from './http';
import { MountPaths, type MountedApp } from './mount';
import { refusal, restrictFraming } from './origin';
import { resolveOptions, type Options, type ResolvedOptions, type TransportName } from './options';
import { Registry } from './registry';
import { greeting } from './routes/greeting';
import { IFRAME_PATH, iframe } from './routes/iframe';
import { info } from './routes/info';
import type { Session } from './session';
import { receive } from './transports/receive';
import { jsonpSend, xhrSend } from './transports/send';
import { SESSION_ROUTES, sessionIdOf, sessionRoutePath, type SessionRoute } from './transports/table';
import { WebsocketReceiver, refusePlainRequest, websocketPings } from './transports/websocket';
import { abortUpgrade, listenForUpgrades, type WebsocketPath } from './upgrade';

const debug = createDebug('sockjs:handler');

/** Events of a {@link SockJSHandler}. */
export interface HandlerEvents {
  /** A new session opened. */
  connection: [session: Session];
  /**
   * The application's own code threw: a session's listener, or a
   * `'connection'` listener (`onSession`) that threw or rejected; `session`
   * is the one it ran for, now closing with 1011. Without an `'error'`
   * listener such an error is thrown as an uncaught exception. Also a
   * `ClusterUnavailableError` (no `session`) when a broadcast could not reach
   * the other processes; that one is only logged without a listener.
   */
  error: [error: unknown, session?: Session];
}

/**
 * What `sockjs()` returns: middleware for `app.use(path, handler)` (Express,
 * Connect, or a plain `http` request listener) that is also an EventEmitter
 * emitting `'connection'` with every new session.
 */
export interface SockJSHandler extends EventEmitter<HandlerEvents> {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /**
   * Serves websocket upgrades for this handler's paths on `server`, leaving
   * every other upgrade alone. Called for you by the first HTTP request
   * through the handler on each server; call it yourself when raw websocket
   * clients may connect before any HTTP request arrives. Calling it again for
   * the same server does nothing; one handler may serve several servers
   * (http and https). Returns the handler.
   */
  attach(server: Server): this;
  /**
   * Closes every session with `c[1001,"Server shutting down"]`, ends their
   * responses, stops their timers and removes the upgrade listener. Later
   * requests get `503`. Resolves once every websocket has closed.
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
  /** This process's node id in the cluster (without an `adapter`, a random id). */
  readonly node: string;
  /** The live sessions of this process, by `session.id`. */
  readonly sessions: ReadonlyMap<string, Session>;
  /** The options in force, defaults merged. */
  readonly options: ResolvedOptions;
}

/** The callback `sockjs()` registers for `'connection'`. */
export type SessionHandler = (session: Session) => void;

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
export function sockjs(options?: Options | SessionHandler, onSession?: SessionHandler): SockJSHandler {
  if (typeof options === 'function') return sockjs(undefined, options);
  if (onSession !== undefined && typeof onSession !== 'function') {
    throw new InvalidArgumentError('sockjs: the session callback must be a function');
  }
  const opts = resolveOptions(options);
  const app = express();
  const emitter = app as unknown as EventEmitter<HandlerEvents>;
  const cluster = opts.adapter ? new Cluster(opts.adapter, opts.disconnectDelay) : undefined;
  const registry = new Registry(opts, applicationHooks(emitter), cluster);
  cluster?.serve(registry);
  const node = cluster?.node ?? randomBytes(6).toString('hex');
  const mounts = new MountPaths(app as unknown as MountedApp);
  const wss = new WebSocketServer({
    clientTracking: false,
    ...opts.websocketOptions,
    noServer: true,
    maxPayload: opts.maxMessageSize,
  });
  const websockets = new Set<WebSocket>();
  const pings = websocketPings(opts.websocketPingInterval, opts.websocketPingTimeout);
  /** The servers this handler listens for upgrades on, with the function that stops it. */
  const attached = new Map<Server, () => void>();
  let closed = false;

  app.disable('x-powered-by');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  if (onSession) emitter.on('connection', onSession);

  function attach(server: Server): void {
    if (closed) throw new HandlerClosedError('sockjs: cannot attach a closed handler');
    if (attached.has(server)) return;
    attached.set(server, listenForUpgrades(server, { match: (url) => mounts.match(url), serve: serveUpgrade }));
    debug('listening for upgrades');
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

  function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: WebsocketPath): void {
    if (path.raw ? !opts.rawWebsocket : !opts.transports.has('websocket')) {
      return abortUpgrade(socket, 404, 'Not found.');
    }
    if (req.method !== 'GET') return abortUpgrade(socket, 405, '', { Allow: 'GET' });
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return abortUpgrade(socket, 400, 'Can "Upgrade" only to "WebSocket".');
    }
    const refused = refusal(opts.allowedOrigins, req, false);
    if (refused !== undefined) return abortUpgrade(socket, 403, refused);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (closed) {
        // The handshake finished after close(): no new session.
        ws.close(SHUTDOWN.code, SHUTDOWN.reason);
        return;
      }
      track(ws);
      const receiver = new WebsocketReceiver(ws, socket, path.raw, opts.websocketWriteTimeout, pings);
      const session = registry.connect(req, receiver);
      receiver.bind(session);
    });
  }

  const router = express.Router({ caseSensitive: true, strict: true });
  router.use((req: Request, _res: Response, next: NextFunction) => {
    mounts.learn(req);
    const server = (req.socket as Duplex & { server?: unknown }).server;
    if (!closed && server instanceof NetServer && !attached.has(server as Server)) attach(server as Server);
    next();
  });
  router.use(buildRouter(opts, registry, cluster, () => closed));
  app.use(router);
  routeMountedRequestsDirectly(app, router);

  const handler = Object.assign(app, {
    attach(server: Server) {
      attach(server);
      return handler;
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      for (const detach of attached.values()) detach();
      attached.clear();
      // Leave first: the sessions shut down below then keep their URL ids, which the
      // cluster marks gone, and the responses this process relays are handed back.
      const left = cluster?.leave();
      registry.shutdown(SHUTDOWN.code, SHUTDOWN.reason);
      return Promise.all([waitForWebsockets(websockets), left]).then(() => undefined);
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
  });
  Object.defineProperty(handler, 'node', { value: node, enumerable: true });
  Object.defineProperty(handler, 'sessions', { value: registry.sessions as ReadonlyMap<string, Session>, enumerable: true });
  Object.defineProperty(handler, 'options', { value: opts, enumerable: true });
  return handler as unknown as SockJSHandler;
}

type Handle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/**
 * A request reached through a parent app or Connect (one with a `next`)
 * goes straight to the handler's Router. Express's own `app.handle` would
 * first swap the prototypes of `req` and `res` for the sub-app's (and back on
 * the way out), which made every later property access on them megamorphic:
 * it cost more CPU than the rest of an `xhr_send`. The routes use only the
 * Node API of `req` and `res`, as their types say. Without a `next` (a plain
 * `http` listener) Express's `handle` runs as usual, for its final 404.
 */
function routeMountedRequestsDirectly(app: express.Express, router: express.Router): void {
  const expressApp = app as unknown as { handle: Handle };
  const expressHandle = expressApp.handle.bind(app);
  expressApp.handle = (req, res, next) => {
    if (next === undefined) expressHandle(req, res);
    else router(req as Request, res as Response, next);
  };
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

/** The Router: one route per entry of the transport table, plus greeting, info and iframe. */
function buildRouter(opts: ResolvedOptions, registry: Registry, cluster: Cluster | undefined, isClosed: () => boolean): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
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

  route(/^\/$/).get(greeting).all(methodNotAllowed('GET'));

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
  const receiveContext = { registry, responseLimit, sessionBinding, cluster };
  const sendContext = { registry, maxMessageSize, sessionBinding, cluster };
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
    const handle: RequestHandler = serve
      ? (req, res) => serve(req, res, sessionIdOf(req.url))
      : (req, res) => refusePlainRequest(req, res);
    // Express would answer HEAD with the GET route: a session opened for nobody to read.
    if (entry.method === 'GET' && action.kind === 'receive') layer.head(methodNotAllowed(allow));
    const method = entry.method === 'GET' ? layer.get.bind(layer) : layer.post.bind(layer);
    method(...corsMiddleware, ...sessionMiddleware, handle);
    if (entry.preflight) layer.options(preflight(corsMiddleware[0]));
    layer.all(methodNotAllowed(allow));
  }

  if (opts.rawWebsocket) {
    route('/websocket')
      .get((req, res) => refusePlainRequest(req, res))
      .all(methodNotAllowed('GET'));
  }
  return router;
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
