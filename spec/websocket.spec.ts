/**
 * Integration specs for the websocket transports: the framed websocket at
 * `<prefix>/<server>/<session>/websocket`, the raw one at `<prefix>/websocket`,
 * the refusals of bad upgrades, and how the handler shares the server's
 * `'upgrade'` event with others.
 */
import express from 'express';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { sockjs, type Options, type Session, type SockJSHandler } from '../lib';
import { echo, listen, sessionPath, sleep, terminateClients, wsConnect, type Running, type WsClient } from './helpers';
import { plainRequest, rawRequest, upgradeHeaders } from './support/handshake';

const running: Running[] = [];
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  terminateClients();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(handlers: Record<string, SockJSHandler>, app = express()): Promise<Running> {
  const server = await listen(handlers, app);
  running.push(server);
  return server;
}

/** An echo handler that also hands each session to `sessions`. */
function recordingEcho(sessions: Session[], options: Options = {}): SockJSHandler {
  return echo(options).on('connection', (session) => sessions.push(session));
}

/** A framed websocket to a fresh session under /echo, past its open frame. */
async function opened(server: Running): Promise<WsClient> {
  const client = await wsConnect(wsUrl(server, `/echo${sessionPath()}/websocket`));
  expect(await client.next()).toBe('o');
  return client;
}

const wsUrl = (server: Running, path: string): string => `ws://127.0.0.1:${server.port}${path}`;

describe('websocket', () => {
  describe('framed websocket', () => {
    it('opens with o and echoes a message array', async () => {
      const server = await start({ '/echo': echo() });
      const client = await opened(server);
      client.ws.send('["a"]');
      expect(await client.next()).toBe('a["a"]');
    });

    it('accepts a single JSON string as one message', async () => {
      const server = await start({ '/echo': echo() });
      const client = await opened(server);
      client.ws.send('"b"');
      expect(await client.next()).toBe('a["b"]');
    });

    it('ignores an empty message and an empty array', async () => {
      const sessions: Session[] = [];
      const server = await start({ '/echo': recordingEcho(sessions) });
      const client = await opened(server);
      const data: string[] = [];
      sessions[0].on('data', (message) => data.push(message));
      client.ws.send('');
      client.ws.send('[]');
      client.ws.send('["a"]');
      expect(await client.next()).toBe('a["a"]');
      expect(data).toEqual(['a']);
      expect(sessions[0].state).toBe('open');
    });

    it('escapes unsafe characters in the frames it writes', async () => {
      const server = await start({ '/echo': echo() });
      const client = await opened(server);
      client.ws.send('["\\u2028\\ud800\\uffff"]');
      expect(await client.next()).toBe('a["\\u2028\\ud800\\uffff"]');
    });

    it('closes the connection and the session once when a message is broken JSON', async () => {
      const sessions: Session[] = [];
      const server = await start({ '/echo': recordingEcho(sessions) });
      const client = await opened(server);
      const closes: Array<[number, string]> = [];
      sessions[0].on('close', (code, reason) => closes.push([code, reason]));
      client.ws.send('["a');
      await client.closed;
      await sleep(50);
      expect(closes).toHaveLength(1);
      expect(sessions[0].state).toBe('closed');
    });

    it('keeps two websockets with the same session id as separate sessions', async () => {
      const sessions: Session[] = [];
      const server = await start({ '/echo': recordingEcho(sessions) });
      const url = wsUrl(server, `/echo${sessionPath()}/websocket`);
      const first = await wsConnect(url);
      expect(await first.next()).toBe('o');
      const second = await wsConnect(url);
      expect(await second.next()).toBe('o');
      first.ws.send('["a"]');
      second.ws.send('["b"]');
      expect(await first.next()).toBe('a["a"]');
      expect(await second.next()).toBe('a["b"]');
      expect(sessions).toHaveLength(2);
      expect(sessions[0]).not.toBe(sessions[1]);
      expect(sessions.map((session) => session.state)).toEqual(['open', 'open']);
    });

    it('sends o, then c[3000,"Go away!"], then closes when the application closes at once', async () => {
      const server = await start({ '/close': sockjs((session) => session.close()) });
      const client = await wsConnect(wsUrl(server, `/close${sessionPath()}/websocket`));
      expect(await client.next()).toBe('o');
      expect(await client.next()).toBe('c[3000,"Go away!"]');
      await client.closed;
      await expect(client.next(100)).rejects.toThrow(/closed/);
    });

    it('sends the close frame with the code and reason given to session.close()', async () => {
      const server = await start({ '/bye': sockjs((session) => session.close(4001, 'bye')) });
      const client = await wsConnect(wsUrl(server, `/bye${sessionPath()}/websocket`));
      expect(await client.next()).toBe('o');
      expect(await client.next()).toBe('c[4001,"bye"]');
      await client.closed;
    });

    it('closes with 1009 when a message is over maxMessageSize', async () => {
      const server = await start({ '/echo': echo({ maxMessageSize: 64 }) });
      const client = await opened(server);
      client.ws.send('["small"]');
      expect(await client.next()).toBe('a["small"]');
      client.ws.send(`["${'x'.repeat(100)}"]`);
      expect((await client.closed).code).toBe(1009);
    });

    it('reports its transport as websocket and remembers the request', async () => {
      const sessions: Session[] = [];
      const server = await start({ '/echo': recordingEcho(sessions) });
      const path = `/echo${sessionPath()}/websocket`;
      const client = await wsConnect(wsUrl(server, path));
      expect(await client.next()).toBe('o');
      const session = sessions[0];
      expect(session.transport).toBe('websocket');
      expect(session.request.url).toBe(path);
      expect(session.request.headers.upgrade).toBe('websocket');
      expect(session.request.headers.host).toBe(`127.0.0.1:${server.port}`);
      expect(session.request.remoteAddress).toBe('127.0.0.1');
      expect(typeof session.request.remotePort).toBe('number');
      expect(session.request.remotePort).toBeGreaterThan(0);
    });

    it('works with websocketWriteTimeout set', async () => {
      const server = await start({ '/echo': echo({ websocketWriteTimeout: 1000 }) });
      const client = await opened(server);
      client.ws.send('["still here"]');
      expect(await client.next()).toBe('a["still here"]');
    });
  });

  describe('raw websocket', () => {
    it('echoes text unchanged, with no open frame, as a raw-websocket session', async () => {
      const sessions: Session[] = [];
      const server = await start({ '/echo': recordingEcho(sessions, { rawWebsocket: true }) });
      const client = await wsConnect(wsUrl(server, '/echo/websocket'));
      client.ws.send('Hello world!\uffff');
      expect(await client.next()).toBe('Hello world!\uffff');
      client.ws.send('["not parsed"] 😀');
      expect(await client.next()).toBe('["not parsed"] 😀');
      expect(sessions[0].transport).toBe('raw-websocket');
      expect(sessions[0].request.url).toBe('/echo/websocket');
    });

    it('closes the websocket with the code and reason given to session.close()', async () => {
      const server = await start({ '/close': sockjs({ rawWebsocket: true }, (session) => session.close(3000, 'Go away!')) });
      const client = await wsConnect(wsUrl(server, '/close/websocket'));
      expect(await client.closed).toEqual({ code: 3000, reason: 'Go away!' });
      await expect(client.next(100)).rejects.toThrow(/closed/);
    });

    it('refuses the raw websocket path with 404 when rawWebsocket is false', async () => {
      const server = await start({ '/echo': echo() });
      const answer = await rawRequest(server.port, 'GET', '/echo/websocket', upgradeHeaders());
      expect(answer.status).toBe(404);
    });
  });

  describe('refused upgrades', () => {
    it.each<[string, Options]>([
      ['transports leave websocket out', { transports: ['xhr-polling', 'xhr-streaming'] }],
    ])('refuses a websocket with 404 when %s', async (_why, options) => {
      const server = await start({ '/echo': echo(options) });
      const answer = await rawRequest(server.port, 'GET', `/echo${sessionPath()}/websocket`, upgradeHeaders());
      expect(answer.status).toBe(404);
    });

    it.each(['an upgrade', 'a plain request'])('refuses a POST with 405, Allow: GET and no body when it is %s', async (kind) => {
      const server = await start({ '/echo': echo() });
      const path = `/echo${sessionPath()}/websocket`;
      const answer =
        kind === 'an upgrade'
          ? await rawRequest(server.port, 'POST', path, upgradeHeaders())
          : await plainRequest(server.base + path, 'POST');
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      expect(answer.headers['content-type']).toBeUndefined();
      expect(answer.body).toBe('');
    });

    it('refuses a plain GET with 400', async () => {
      const server = await start({ '/echo': echo() });
      const answer = await plainRequest(`${server.base}/echo/000/x/websocket`, 'GET');
      expect(answer.status).toBe(400);
      expect(answer.body).toBe('Can "Upgrade" only to "WebSocket".');
    });

    it('refuses a GET with Upgrade: websocket but Connection: close with 400', async () => {
      const server = await start({ '/echo': echo() });
      const answer = await plainRequest(`${server.base}/echo/000/x/websocket`, 'GET', {
        Upgrade: 'WebSocket',
        Connection: 'close',
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toBe('"Connection" must be "Upgrade".');
    });

    it('refuses an upgrade to something other than websocket with 400', async () => {
      const server = await start({ '/echo': echo() });
      const answer = await rawRequest(server.port, 'GET', '/echo/000/x/websocket', {
        ...upgradeHeaders(),
        Upgrade: 'h2c',
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toBe('Can "Upgrade" only to "WebSocket".');
    });
  });

  describe('#close', () => {
    it('resolves a second call only when the shutdown the first started is complete', async () => {
      const handler = echo();
      const server = await start({ '/echo': handler });
      const client = await opened(server);
      // A client that stops reading never answers the close handshake: shutdown waits for it.
      (client.ws as unknown as { _socket: Duplex })._socket.pause();
      let firstDone = false;
      const first = handler.close().then(() => (firstDone = true));
      await handler.close();
      expect(firstDone).toBe(true);
      await first;
    });
  });

  describe('#attach', () => {
    it.each<[string, unknown, RegExp]>([
      ['the Express app', express(), /not the app: pass what app\.listen\(\) returns/],
      ['undefined', undefined, /takes the http\(s\) server the app listens on; got undefined/],
      ['a plain object', {}, /got object/],
    ])('refuses %s with an error that names the fix', (_name, value, message) => {
      const handler = echo();
      const attach = (): unknown => handler.attach(value as http.Server);
      expect(attach).toThrow(message);
      expect(attach).toThrow(expect.objectContaining({ code: 'SOCKJS_ERR_INVALID_ARGUMENT' }));
    });

    it.each(['before', 'after'])(
      'leaves upgrades for other paths to a listener added %s it',
      async (order) => {
        const other = new WebSocketServer({ noServer: true });
        cleanups.push(() => new Promise<void>((done) => other.close(() => done())));
        const otherListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
          if (req.url !== '/other') return;
          other.handleUpgrade(req, socket, head, (ws) => ws.send('from the other server'));
        };
        const app = express();
        const handler = echo();
        app.use('/echo', handler);
        const server = await start({}, app);
        cleanups.push(() => handler.close());
        if (order === 'before') server.server.on('upgrade', otherListener);
        handler.attach(server.server);
        if (order === 'after') server.server.on('upgrade', otherListener);

        const theirs = await wsConnect(wsUrl(server, '/other'));
        expect(await theirs.next()).toBe('from the other server');
        const ours = await opened(server);
        ours.ws.send('["a"]');
        expect(await ours.next()).toBe('a["a"]');
      },
    );

    it.each(['/nowhere', '/echo/nowhere', '/echo/000/x/xhr', '/echo/a/b/c/websocket'])(
      'answers an upgrade to %s with 404 and closes the socket when only sockjs listens',
      async (path) => {
        const server = await start({ '/echo': echo(), '/close': sockjs((session) => session.close()) });
        const answer = await rawRequest(server.port, 'GET', path, upgradeHeaders());
        expect(answer.status).toBe(404);
      },
    );

    it('adds one listener per server however often it is called, and serves several servers', async () => {
      const handler = echo();
      const first = await start({ '/echo': handler });
      const second = http.createServer(first.app);
      await new Promise<void>((resolve) => second.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((done) => second.close(() => done())));
      const before = second.listenerCount('upgrade');
      handler.attach(second).attach(second).attach(first.server);
      expect(second.listenerCount('upgrade')).toBe(before + 1);
      expect(first.server.listenerCount('upgrade')).toBe(1);

      for (const port of [first.port, (second.address() as { port: number }).port]) {
        const client = await wsConnect(`ws://127.0.0.1:${port}/echo${sessionPath()}/websocket`);
        expect(await client.next()).toBe('o');
      }
      await handler.close();
      expect(second.listenerCount('upgrade')).toBe(before);
    });

    it('starts serving websockets after the first HTTP request when attach() was never called', async () => {
      const app = express();
      const handler = echo();
      app.use('/echo', handler);
      const server = await start({}, app);
      cleanups.push(() => handler.close());
      expect(server.server.listenerCount('upgrade')).toBe(0);
      const info = await plainRequest(`${server.base}/echo/info`, 'GET');
      expect(info.status).toBe(200);
      expect(server.server.listenerCount('upgrade')).toBe(1);
      await opened(server);
    });

    it('serves a deep Express mount path before any request', async () => {
      const server = await start({ '/deep/echo': echo() });
      const client = await wsConnect(wsUrl(server, '/deep/echo/000/x/websocket'));
      expect(await client.next()).toBe('o');
      client.ws.send('["deep"]');
      expect(await client.next()).toBe('a["deep"]');
      const outside = await rawRequest(server.port, 'GET', '/000/x/websocket', upgradeHeaders());
      expect(outside.status).toBe(404);
    });

    it('serves websockets under a nested Router', async () => {
      const handler = echo();
      const router = express.Router();
      router.use('/echo', handler);
      const app = express();
      app.use('/api', router);
      const server = await start({}, app);
      cleanups.push(() => handler.close());
      expect((await plainRequest(`${server.base}/api/echo/info`, 'GET')).status).toBe(200);
      const client = await wsConnect(wsUrl(server, '/api/echo/000/x/websocket'));
      expect(await client.next()).toBe('o');
      client.ws.send('["nested"]');
      expect(await client.next()).toBe('a["nested"]');
    });

    it('refuses upgrades outside its mount path when mounted through a Router', async () => {
      const handler = echo({ rawWebsocket: true });
      const router = express.Router();
      router.use('/echo', handler);
      const app = express();
      app.use('/api', router);
      const server = await start({}, app);
      cleanups.push(() => handler.close());
      expect((await plainRequest(`${server.base}/api/echo/info`, 'GET')).status).toBe(200);
      const framed = await rawRequest(server.port, 'GET', '/000/x/websocket', upgradeHeaders());
      expect(framed.status).toBe(404);
      const raw = await rawRequest(server.port, 'GET', '/websocket', upgradeHeaders());
      expect(raw.status).toBe(404);
    });
  });
});
