/**
 * Test helpers: real servers on 127.0.0.1 port 0, and a reader for streaming
 * responses that yields what arrives, chunk by chunk.
 */
import express from 'express';
import http, { type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { sockjs, type Options, type Session, type SockJSHandler } from '../lib';

export interface Running {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly port: number;
  readonly server: Server;
  readonly app: express.Express;
  /** Closes the handlers, then the server (dropping idle keep-alive sockets). */
  close(): Promise<void>;
}

/** Mounts each handler at its prefix on a fresh Express app listening on 127.0.0.1:0. */
export async function listen(handlers: Record<string, SockJSHandler>, app = express()): Promise<Running> {
  for (const [prefix, handler] of Object.entries(handlers)) app.use(prefix, handler);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (const handler of Object.values(handlers)) handler.attach(server);
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    server,
    app,
    async close() {
      await Promise.all(Object.values(handlers).map((handler) => handler.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A handler mounted at `/s` on a fresh server, and the sessions it opens. */
export interface Endpoint {
  readonly server: Running;
  readonly handler: SockJSHandler;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** `http://127.0.0.1:<port>/s` */
  readonly url: string;
  /** The next session the handler opens. */
  nextSession(): Promise<Session>;
}

/** Mounts `handler` at `/s` with {@link listen}; the caller closes `endpoint.server`. */
export async function mountAtS(handler: SockJSHandler): Promise<Endpoint> {
  const server = await listen({ '/s': handler });
  return {
    server,
    handler,
    base: server.base,
    url: `${server.base}/s`,
    nextSession: () => nextSession(handler),
  };
}

/** The next session `handler` opens. */
export function nextSession(handler: SockJSHandler): Promise<Session> {
  return new Promise((resolve) => handler.once('connection', resolve));
}

/** The code and reason of `session`'s `'close'`. */
export function closeOf(session: Session): Promise<[number, string]> {
  return new Promise((resolve) => session.once('close', (code, reason) => resolve([code, reason])));
}

/** An echo handler: every message comes back. */
export function echo(options: Options = {}): SockJSHandler {
  return sockjs(options, (session) => session.on('data', (message) => session.send(message)));
}

/** A streaming response read chunk by chunk. */
export interface Stream {
  readonly res: IncomingMessage;
  /** The next chunk of body as it arrived (a frame per chunk), or `null` at the end. */
  next(timeoutMs?: number): Promise<string | null>;
  /** Reads until `predicate` holds for the text read so far (not counting earlier reads). */
  until(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Aborts the request (the client goes away). */
  abort(): void;
}

/** Opens a request and returns its response as a {@link Stream}. */
export function stream(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers: options.headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      const chunks: string[] = [];
      let ended = false;
      let wake: (() => void) | undefined;
      res.on('data', (chunk: string) => {
        chunks.push(chunk);
        wake?.();
      });
      const finish = (): void => {
        ended = true;
        wake?.();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      const waitForData = (timeoutMs: number): Promise<void> =>
        new Promise((done, fail) => {
          if (chunks.length > 0 || ended) return done();
          const timer = setTimeout(() => {
            wake = undefined;
            fail(new Error(`no data within ${timeoutMs} ms`));
          }, timeoutMs);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            done();
          };
        });
      const next = async (timeoutMs = 2000): Promise<string | null> => {
        await waitForData(timeoutMs);
        const chunk = chunks.shift();
        return chunk === undefined ? null : chunk;
      };
      resolve({
        res,
        next,
        async until(predicate, timeoutMs = 2000) {
          let text = '';
          const deadline = Date.now() + timeoutMs;
          while (!predicate(text)) {
            const chunk = await next(Math.max(1, deadline - Date.now()));
            if (chunk === null) throw new Error(`stream ended before the condition held; got ${JSON.stringify(text)}`);
            text += chunk;
          }
          return text;
        },
        abort() {
          req.destroy();
        },
      });
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** An answer read to its end. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** A request in flight: its reply (rejected on error, or never, once aborted) and its abort. */
export interface ExactRequest {
  readonly reply: Promise<Reply>;
  abort(): void;
}

/** A request with exactly these headers and body chunks, no keep-alive. */
export function exactRequest(method: string, url: string, options: { headers?: Record<string, string>; chunks?: string[] } = {}): ExactRequest {
  const req = http.request(url, { method, headers: options.headers, agent: false });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
  });
  reply.catch(() => undefined);
  for (const chunk of options.chunks ?? []) req.write(chunk);
  req.end();
  return { reply, abort: () => void req.destroy() };
}

/** A POST with no keep-alive (from `localAddress` when given); resolves with status and body. */
export function post(url: string, body?: string, localAddress?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, localAddress });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.end(body);
  });
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh random session path `/<server>/<session>`. */
export function sessionPath(): string {
  return `/000/${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

/** A websocket client that queues what it receives. */
export interface WsClient {
  readonly ws: WebSocket;
  /** The next text message (binary ones read as `<binary>`), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Resolves with the close code and reason once the websocket closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

const openClients = new Set<WebSocket>();

/**
 * Opens a websocket to `url`, sending `headers` with the handshake; rejects
 * if the handshake fails. {@link terminateClients} ends it.
 */
export function wsConnect(url: string, headers?: Record<string, string>): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    openClients.add(ws);
    const inbox: string[] = [];
    let isClosed = false;
    /** The pending {@link next} calls, woken by every message and by the close. */
    const waiting = new Set<() => void>();
    const wake = (): void => {
      for (const waiter of [...waiting]) waiter();
    };
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.once('close', (code, reason) => {
        isClosed = true;
        openClients.delete(ws);
        done({ code, reason: reason.toString() });
        wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      inbox.push(isBinary ? '<binary>' : data.toString());
      wake();
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.on('error', () => undefined);
      resolve({ ws, closed, next });
    });
    function next(timeoutMs = 2000): Promise<string> {
      return new Promise((done, fail) => {
        const settled = (): boolean => {
          const message = inbox.shift();
          if (message !== undefined) done(message);
          else if (isClosed) fail(new Error('websocket closed before a message arrived'));
          else return false;
          return true;
        };
        if (settled()) return;
        const timer = setTimeout(() => {
          waiting.delete(waiter);
          fail(new Error(`no message within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (): void => {
          if (!settled()) return;
          clearTimeout(timer);
          waiting.delete(waiter);
        };
        waiting.add(waiter);
      });
    }
  });
}

/** Terminates every websocket {@link wsConnect} opened that is still open (for afterEach). */
export function terminateClients(): void {
  for (const ws of openClients) ws.terminate();
  openClients.clear();
}
