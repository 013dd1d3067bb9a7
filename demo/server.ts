/**
 * The demo: a chat room in the browser, over sockjs-client and sockjs-express,
 * behind a nickname login.
 *
 *   npm start          # then open http://127.0.0.1:8080/
 *
 * PORT and HOST come from the environment (defaults 8080 and 127.0.0.1; PORT=0 picks
 * a free port). The page is demo/public/; the chat room is demo/chat.ts, at /chat.
 *
 * The login is an express-session cookie session holding the nickname:
 *   POST /login  { "nick": "ada" }   200 { nick } (a fresh session), 400 { error } for a bad
 *                                    nickname, 503 { error } when MAX_LOGINS are logged in
 *   POST /logout                     204; ends the login and closes its chat sessions
 *   GET  /me                         { nick }, null when logged out
 * Every request under /chat, websocket handshakes included, needs the login: without
 * it the answer is `401 Log in first.` on every transport.
 *
 * GET /stats is the chat room's live stats, charted (demo/stats.ts streams them over
 * SockJS at /stats-feed); GET /metrics the same stats for Prometheus (prom-client).
 */
import express, { type Request, type RequestHandler } from 'express';
import session from 'express-session';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Registry } from 'prom-client';
import { collectMetrics } from '../lib/metrics';
import { chatRoom, endLogin, parseNick, type Member } from './chat';
import { sockjsClientFile, sockjsClientPath } from './sockjs-client';
import { statsFeed } from './stats';

declare module 'express-session' {
  interface SessionData {
    /** The nickname of a logged-in visitor. */
    nick: string;
  }
}

/** The login cookie's name. */
export const LOGIN_COOKIE = 'sockjs-demo.sid';
/** How long a login lasts without a visit, in milliseconds. */
const LOGIN_MAX_AGE = 4 * 60 * 60 * 1000;
/** Logins kept at once (in memory); past it `POST /login` answers 503. */
const MAX_LOGINS = 1000;

/** A running demo server. */
export interface Demo {
  readonly server: Server;
  /** `http://host:port/`, the page's address. */
  readonly url: string;
  /** Closes every chat session, then the server. */
  close(): Promise<void>;
}

/** Where and how the demo runs. */
export interface DemoOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** Logins kept at once. @default 1000 */
  maxLogins?: number;
}

/** The member a request is for, when its login session has a nickname. */
function memberOf(req: IncomingMessage): Member | undefined {
  const { session: login, sessionID } = req as Request;
  const nick = login?.nick;
  return nick === undefined ? undefined : { nick, login: sessionID };
}

/** Lets logged-in requests through; every other one gets `401`. */
const requireLogin: RequestHandler = (req, res, next) => {
  if (memberOf(req) !== undefined) return next();
  res.status(401).type('text').send('Log in first.');
};

/** Serves the page, sockjs-client, the login routes and the chat room on `host:port`. */
export function startDemo(port: number, options: DemoOptions = {}): Promise<Demo> {
  const { host = '127.0.0.1', maxLogins = MAX_LOGINS } = options;
  const app = express();
  const room = chatRoom(memberOf);
  const stats = statsFeed(room);
  const registry = new Registry();
  collectMetrics(room, { registry, handler: 'chat' });
  const store = new session.MemoryStore();
  app.use(
    session({
      name: LOGIN_COOKIE,
      secret: randomBytes(32).toString('hex'),
      store,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: LOGIN_MAX_AGE },
    }),
  );

  // JSON only: a form on another site cannot send it, so it cannot log a visitor in.
  app.post('/login', express.json({ limit: '1kb' }), (req, res, next) => {
    const parsed = parseNick((req.body as { nick?: unknown } | undefined)?.nick);
    if (!parsed.ok) return void res.status(400).json({ error: parsed.reason });
    // Counting the logins drops the expired ones from the store.
    store.length((error, count) => {
      if (error) return next(error);
      if ((count ?? 0) >= maxLogins) return void res.status(503).json({ error: 'too many people are logged in; try again later' });
      const previous = req.sessionID;
      // A fresh session id at login, so an id someone planted before it is worth nothing.
      req.session.regenerate((failed) => {
        if (failed) return next(failed);
        endLogin(room, previous);
        req.session.nick = parsed.nick;
        res.json({ nick: parsed.nick });
      });
    });
  });
  app.post('/logout', (req, res, next) => {
    const login = req.sessionID;
    req.session.destroy((error) => {
      if (error) return next(error);
      endLogin(room, login);
      res.clearCookie(LOGIN_COOKIE).status(204).end();
    });
  });
  app.get('/me', (req, res) => {
    res.json({ nick: memberOf(req)?.nick ?? null });
  });

  // Every transport, websocket handshakes included, goes through requireLogin.
  app.use('/chat', requireLogin, room);
  app.get(sockjsClientPath, (_req, res) => res.sendFile(sockjsClientFile));
  app.use('/stats-feed', stats.handler);
  app.get('/stats', (_req, res) => res.sendFile(path.join(__dirname, 'public', 'stats.html')));
  app.get('/uPlot.min.js', (_req, res) => res.sendFile(require.resolve('uplot/dist/uPlot.iife.min.js')));
  app.get('/uPlot.min.css', (_req, res) => res.sendFile(require.resolve('uplot/dist/uPlot.min.css')));
  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });
  app.use(express.static(path.join(__dirname, 'public')));

  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      room.attach(server);
      stats.handler.attach(server);
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://${host}:${bound}/`,
        async close() {
          await Promise.all([room.close(), stats.close()]);
          server.closeAllConnections();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

if (require.main === module) {
  void startDemo(Number(process.env.PORT ?? 8080), { host: process.env.HOST ?? '127.0.0.1' }).then((demo) => {
    console.log(`sockjs-express demo: a chat room on ${demo.url} (SockJS endpoint /chat)`);
    const stop = (): void => {
      void demo.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, (error: Error) => {
    console.error(`sockjs-express demo: ${error.message}`);
    process.exit(1);
  });
}
