/**
 * Websocket handshakes go through the app's request pipeline: middleware in
 * front of the handler answers them exactly as it answers HTTP requests, on
 * the raw socket, and what it establishes reaches the session. Run against
 * Express 5, Express 4, Connect and a plain http server.
 */
import connect from 'connect';
import express from 'express';
import express4 from 'express4';
import { rateLimit } from 'express-rate-limit';
import http, { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import request from 'supertest';
import WebSocket, { WebSocketServer } from 'ws';
import { sockjs, type Options, type Session, type SockJSHandler } from '../lib';
import { sessionPath, terminateClients, wsConnect } from './helpers';
import { rawRequest, upgradeHeaders } from './support/handshake';

type Next = (error?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** What both Express majors offer the specs below. */
interface App extends RequestListener {
  use(...handlers: unknown[]): unknown;
  get(path: string, ...handlers: unknown[]): unknown;
}

const EXPRESSES: readonly [string, () => App][] = [
  ['Express 5', () => express()],
  ['Express 4', () => express4()],
];

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  terminateClients();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Served {
  readonly base: string;
  readonly port: number;
  readonly server: Server;
  /** `ws://127.0.0.1:<port>` */
  readonly ws: string;
}

/** Serves `listener` on 127.0.0.1:0 with `handlers` attached; closed after each test. */
async function serve(listener: RequestListener, ...handlers: SockJSHandler<unknown>[]): Promise<Served> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (const handler of handlers) handler.attach(server);
  cleanups.push(async () => {
    await Promise.all(handlers.map((handler) => handler.close()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, port, server, ws: `ws://127.0.0.1:${port}` };
}

function echo<Context = undefined>(options: Options<Context> = {}, sessions: Session<Context>[] = []): SockJSHandler<Context> {
  return sockjs(options, (session) => {
    sessions.push(session);
    session.on('data', (message) => session.send(message));
  });
}

/** Refuses every request that has no `x-user` header, the way a login check does. */
const requireUser: Middleware = (req, res, next) => {
  if (req.headers['x-user'] !== undefined) return next();
  res.statusCode = 401;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('WWW-Authenticate', 'Bearer');
  res.end('Log in first.');
};

/** The headers and status of a websocket handshake's answer (`101` when it opened). */
function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('upgrade', (res) => {
      resolve({ status: 101, headers: res.headers });
      ws.terminate();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe.each(EXPRESSES)('websocket handshakes in %s', (_name, makeApp) => {
  it.each([
    ['framed websocket', `/chat/000/abc/websocket`],
    ['raw websocket', '/chat/websocket'],
  ])('get the middleware’s 401 on the raw socket, with Connection: close and never a 101 (%s)', async (_kind, path) => {
    const handler = echo({ rawWebsocket: true });
    const app = makeApp();
    app.use('/chat', requireUser, handler);
    const { port, base } = await serve(app, handler);

    const answer = await rawRequest(port, 'GET', path, upgradeHeaders());
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    expect(answer.headers['www-authenticate']).toBe('Bearer');
    expect(answer.headers['content-length']).toBe('13');
    expect(answer.body).toBe('Log in first.');
    expect(handler.sessions.size).toBe(0);
    // The HTTP transports get the same answer.
    expect((await request(base).post('/chat/000/abc/xhr')).status).toBe(401);
  });

  it('opens the websocket once the middleware lets the handshake through', async () => {
    const handler = echo();
    const app = makeApp();
    app.use('/chat', requireUser, handler);
    const { ws } = await serve(app, handler);
    const client = await wsConnect(`${ws}/chat${sessionPath()}/websocket`, { 'x-user': 'ada' });
    expect(await client.next()).toBe('o');
    client.ws.send('["hi"]');
    expect(await client.next()).toBe('a["hi"]');
  });

  it('answers with a 403 body, a redirect and an error handler’s 5xx exactly as middleware wrote them', async () => {
    const handler = echo();
    const app = makeApp();
    app.use('/forbidden', (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(403, { 'Content-Type': 'application/json', 'X-Why': 'banned' }).end('{"error":"banned"}');
    });
    app.use('/moved', (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(302, { Location: '/elsewhere' }).end();
    });
    app.use('/broken', (_req: IncomingMessage, _res: ServerResponse, next: Next) => next(new Error('the database is down')));
    app.use('/forbidden', handler);
    app.use('/moved', handler);
    app.use('/broken', handler);
    app.use((error: Error, _req: IncomingMessage, res: ServerResponse, _next: Next) => {
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`sorry: ${error.message}`);
    });
    const { port } = await serve(app, handler);

    const forbidden = await rawRequest(port, 'GET', '/forbidden/000/a/websocket', upgradeHeaders());
    expect([forbidden.status, forbidden.headers['x-why'], forbidden.body]).toEqual([403, 'banned', '{"error":"banned"}']);
    expect(forbidden.headers.connection).toBe('close');
    const moved = await rawRequest(port, 'GET', '/moved/000/a/websocket', upgradeHeaders());
    expect([moved.status, moved.headers.location]).toEqual([302, '/elsewhere']);
    const broken = await rawRequest(port, 'GET', '/broken/000/a/websocket', upgradeHeaders());
    expect([broken.status, broken.body]).toEqual([503, 'sorry: the database is down']);
    expect(handler.sessions.size).toBe(0);
  });

  it('runs app-level, router-level and route-level middleware in order, as for an HTTP request', async () => {
    const seen: string[] = [];
    const mark = (name: string): Middleware => (req, _res, next) => {
      seen.push(`${name} ${req.headers.upgrade ? 'upgrade' : 'http'}`);
      next();
    };
    const handler = echo();
    const app = makeApp();
    const router = express.Router();
    router.use(mark('router'));
    router.use('/chat', mark('route'), handler);
    app.use(mark('app'));
    app.use('/api', router);
    const { base, ws } = await serve(app, handler);

    await request(base).post(`/api/chat${sessionPath()}/xhr`).expect(200);
    const client = await wsConnect(`${ws}/api/chat${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
    expect(seen).toEqual(['app http', 'router http', 'route http', 'app upgrade', 'router upgrade', 'route upgrade']);
  });

  it('counts websocket handshakes in express-rate-limit, whose 429 is the refused handshake’s answer', async () => {
    const handler = echo();
    const app = makeApp();
    app.use(rateLimit({ windowMs: 60_000, limit: 2, standardHeaders: 'draft-7', legacyHeaders: false }));
    app.use('/chat', handler);
    const { port, ws } = await serve(app, handler);

    expect((await handshake(`${ws}/chat${sessionPath()}/websocket`)).status).toBe(101);
    expect((await handshake(`${ws}/chat${sessionPath()}/websocket`)).status).toBe(101);
    const third = await rawRequest(port, 'GET', `/chat${sessionPath()}/websocket`, upgradeHeaders());
    expect(third.status).toBe(429);
    expect(third.headers.ratelimit).toMatch(/remaining=0/);
    expect(third.headers.connection).toBe('close');
  });

  it('puts headers middleware set (a cookie) on the 101', async () => {
    const handler = echo();
    const app = makeApp();
    app.use((_req: IncomingMessage, res: ServerResponse, next: Next) => {
      res.setHeader('Set-Cookie', ['seen=1; Path=/', 'theme=dark; Path=/']);
      res.setHeader('X-Frame-Options', 'DENY');
      next();
    });
    app.use('/chat', handler);
    const { ws } = await serve(app, handler);
    const answer = await handshake(`${ws}/chat${sessionPath()}/websocket`);
    expect(answer.status).toBe(101);
    expect(answer.headers['set-cookie']).toEqual(['seen=1; Path=/', 'theme=dark; Path=/']);
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers.upgrade).toBe('websocket');
  });

  it('hands what middleware established to the session through `context`, on every transport', async () => {
    type Who = { user: string | undefined; locals: unknown; room: string | undefined };
    const sessions: Session<Who>[] = [];
    const handler = echo<Who>(
      {
        context: (req, res) => ({
          user: (req as IncomingMessage & { user?: string }).user,
          locals: (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.plan,
          room: (req as IncomingMessage & { params?: Record<string, string> }).params?.room,
        }),
      },
      sessions,
    );
    const app = makeApp();
    app.use((req: IncomingMessage & { user?: string }, res: ServerResponse & { locals?: Record<string, unknown> }, next: Next) => {
      req.user = String(req.headers['x-user']);
      if (res.locals) res.locals.plan = 'gold';
      next();
    });
    app.use('/rooms/:room', handler);
    const { base, ws } = await serve(app, handler);

    const client = await wsConnect(`${ws}/rooms/lobby${sessionPath()}/websocket`, { 'x-user': 'ada' });
    expect(await client.next()).toBe('o');
    await request(base).post(`/rooms/attic${sessionPath()}/xhr`).set('x-user', 'bob').expect(200);
    await request(base).get(`/rooms/cellar${sessionPath()}/jsonp?c=cb`).set('x-user', 'cy').expect(200);
    expect(sessions.map((session) => [session.transport, session.context])).toEqual([
      ['websocket', { user: 'ada', locals: 'gold', room: 'lobby' }],
      ['xhr-polling', { user: 'bob', locals: 'gold', room: 'attic' }],
      ['jsonp-polling', { user: 'cy', locals: 'gold', room: 'cellar' }],
    ]);
  });

  it('sends a throwing `context` to the app’s error handlers, and opens no session', async () => {
    const opened: Session<never>[] = [];
    const handler = echo<never>(
      {
        context: () => {
          throw new Error('no context today');
        },
      },
      opened,
    );
    const app = makeApp();
    app.use('/chat', handler);
    app.use((error: Error, _req: IncomingMessage, res: ServerResponse, _next: Next) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`caught: ${error.message}`);
    });
    const { base, port } = await serve(app, handler);
    const upgrade = await rawRequest(port, 'GET', `/chat${sessionPath()}/websocket`, upgradeHeaders());
    expect([upgrade.status, upgrade.body]).toEqual([500, 'caught: no context today']);
    const poll = await request(base).post(`/chat${sessionPath()}/xhr`);
    expect([poll.status, poll.text]).toEqual([500, 'caught: no context today']);
    expect(opened).toHaveLength(0);
    expect(handler.sessions.size).toBe(0);
  });

  it('serves a websocket as the very first request under nested routers', async () => {
    const handler = echo();
    const inner = express.Router();
    inner.use('/echo', handler);
    const outer = express.Router();
    outer.use('/v2', inner);
    const app = makeApp();
    app.use('/api', outer);
    const { ws } = await serve(app, handler);
    const client = await wsConnect(`${ws}/api/v2/echo${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
    client.ws.send('["first"]');
    expect(await client.next()).toBe('a["first"]');
  });

  it('serves websockets for any number of parameterised mounts', async () => {
    const handler = echo({ context: (req) => (req as IncomingMessage & { params: { room: string } }).params.room });
    const rooms: string[] = [];
    handler.on('connection', (session) => rooms.push(session.context));
    const app = makeApp();
    app.use('/rooms/:room', handler);
    const { ws } = await serve(app, handler);
    for (let room = 0; room < 100; room++) {
      const client = await wsConnect(`${ws}/rooms/r${room}${sessionPath()}/websocket`);
      expect(await client.next()).toBe('o');
      client.ws.terminate();
    }
    expect(rooms).toEqual(Array.from({ length: 100 }, (_, room) => `r${room}`));
  });

  it('gives a websocket-shaped upgrade that no handler takes the app’s own 404', async () => {
    const handler = echo();
    const app = makeApp();
    app.use('/chat', handler);
    const { port } = await serve(app, handler);
    const answer = await rawRequest(port, 'GET', '/nowhere/000/a/websocket', upgradeHeaders());
    expect(answer.status).toBe(404);
    expect(answer.headers.connection).toBe('close');
    expect(answer.body).toContain('Cannot GET /nowhere/000/a/websocket');
  });

  it('gives each of two handlers on one server its own handshakes', async () => {
    const loud = sockjs((session) => session.on('data', (message) => session.send(message.toUpperCase())));
    const quiet = echo();
    const app = makeApp();
    app.use('/loud', loud);
    app.use('/quiet', quiet);
    const { ws } = await serve(app, loud, quiet);
    const a = await wsConnect(`${ws}/loud${sessionPath()}/websocket`);
    const b = await wsConnect(`${ws}/quiet${sessionPath()}/websocket`);
    expect([await a.next(), await b.next()]).toEqual(['o', 'o']);
    a.ws.send('["hey"]');
    b.ws.send('["hey"]');
    expect([await a.next(), await b.next()]).toEqual(['a["HEY"]', 'a["hey"]']);
    expect([loud.sessions.size, quiet.sessions.size]).toEqual([1, 1]);
  });

  it('leaves another websocket server’s upgrades alone, whatever middleware the app has', async () => {
    const other = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise<void>((done) => other.close(() => done())));
    let appSaw = 0;
    const handler = echo();
    const app = makeApp();
    app.use((_req: IncomingMessage, res: ServerResponse) => {
      appSaw++;
      res.writeHead(401).end();
    });
    app.use('/chat', handler);
    const served = await serve(app, handler);
    served.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.url === '/live') other.handleUpgrade(req, socket, head, (ws) => ws.send('live'));
    });
    const live = await wsConnect(`${served.ws}/live`);
    expect(await live.next()).toBe('live');
    expect(appSaw).toBe(0);
    expect((await rawRequest(served.port, 'GET', `/chat${sessionPath()}/websocket`, upgradeHeaders())).status).toBe(401);
    expect(appSaw).toBe(1);
  });

  it('opens no session for a client that left while middleware was busy', async () => {
    let release: () => void = () => undefined;
    const busy = new Promise<void>((resolve) => (release = resolve));
    let reached: () => void = () => undefined;
    const inMiddleware = new Promise<void>((resolve) => (reached = resolve));
    const handler = echo();
    const app = makeApp();
    app.use((_req: IncomingMessage, _res: ServerResponse, next: Next) => {
      reached();
      void busy.then(() => next());
    });
    app.use('/chat', handler);
    const { ws } = await serve(app, handler);
    const client = new WebSocket(`${ws}/chat${sessionPath()}/websocket`);
    client.on('error', () => undefined);
    await inMiddleware;
    client.terminate();
    await new Promise((resolve) => client.once('close', resolve));
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handler.sessions.size).toBe(0);
  });
});

describe('websocket handshakes outside Express', () => {
  it('serves a websocket as the very first request under Connect once attached', async () => {
    const seen: string[] = [];
    const handler = echo();
    const app = connect();
    app.use((req: IncomingMessage, _res: ServerResponse, next: Next) => {
      seen.push(req.url ?? '');
      next();
    });
    app.use('/echo', handler);
    const { ws } = await serve(app, handler);
    const path = `/echo${sessionPath()}/websocket`;
    const client = await wsConnect(`${ws}${path}`);
    expect(await client.next()).toBe('o');
    expect(seen).toEqual([path]);
  });

  it('serves a websocket as the very first request on a plain http server once attached', async () => {
    const handler = echo();
    const { ws } = await serve(handler, handler);
    const client = await wsConnect(`${ws}${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
  });
});

describe('the root of an app', () => {
  it('refuses a handler mounted without a path, so it cannot answer the app’s own routes', async () => {
    const errors: unknown[] = [];
    const handler = echo();
    const app = express();
    app.use(handler);
    app.post('/users/:id/xhr', (_req, res) => res.send('the app’s route'));
    app.use((error: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(error.code);
      res.status(500).send(error.message);
    });
    const { base, port } = await serve(app, handler);
    const info = await request(base).get('/info');
    expect(info.status).toBe(500);
    expect(info.text).toMatch(/mount it under a path .* or pass \{ root: true \}/);
    expect((await rawRequest(port, 'GET', '/000/a/websocket', upgradeHeaders())).status).toBe(500);
    expect(errors).toEqual(['SOCKJS_ERR_ROOT_MOUNT', 'SOCKJS_ERR_ROOT_MOUNT']);
  });

  it.each([
    ['Express', () => express()],
    ['Connect', () => connect()],
  ])('serves at the root of %s with { root: true }', async (_name, makeApp) => {
    const handler = echo({ root: true });
    const app = makeApp();
    app.use(handler);
    const { base, ws } = await serve(app, handler);
    expect((await request(base).get('/info')).status).toBe(200);
    const client = await wsConnect(`${ws}${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
  });
});
