/**
 * Integration specs for the session API (events, state, send, close, recv,
 * async iteration) and the handler API (sessions, broadcast, close), over
 * websockets and xhr-polling against a real server.
 */
import { InvalidArgumentError, Session, SessionNotOpenError, sockjs, type Options, type SockJSHandler } from '../lib';
import * as framing from '../lib/framing';
import { WebSocket } from 'ws';
import { echo, listen, post, sessionPath, sleep, stream, terminateClients, wsConnect, type Running, type WsClient } from './helpers';
import { pollUntil } from './support/poll';

const running: Running[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** Starts `handler` at /echo and collects every session it opens. */
async function start(handler: SockJSHandler): Promise<{ server: Running; sessions: Session[]; handler: SockJSHandler }> {
  const sessions: Session[] = [];
  handler.on('connection', (session) => sessions.push(session));
  const server = await listen({ '/echo': handler });
  running.push(server);
  return { server, sessions, handler };
}

/** A websocket to `path` on `server` (a fresh echo session by default). */
function connect(server: Running, path = `/echo${sessionPath()}/websocket`): Promise<WsClient> {
  return wsConnect(`ws://127.0.0.1:${server.port}${path}`);
}

/** Records every 'close' event of `session`. */
function closesOf(session: Session): Array<[number, string]> {
  const closes: Array<[number, string]> = [];
  session.on('close', (code, reason) => closes.push([code, reason]));
  return closes;
}

/** Opens a websocket session on an echo server and returns both ends. */
async function openSession(options: Options = {}) {
  const { server, sessions } = await start(echo(options));
  const client = await connect(server);
  expect(await client.next()).toBe('o');
  return { server, client, session: sessions[0] };
}

describe('session', () => {
  describe("'connection'", () => {
    it('hands the new, open session to the callback and to every listener', async () => {
      const seen: Array<[string, Session, string]> = [];
      const handler = sockjs((session) => seen.push(['callback', session, session.state]));
      handler.on('connection', (session) => seen.push(['listener', session, session.state]));
      const { server } = await start(handler);
      const client = await connect(server);
      expect(await client.next()).toBe('o');
      expect(seen.map(([who, , state]) => [who, state])).toEqual([
        ['callback', 'open'],
        ['listener', 'open'],
      ]);
      expect(seen[0][1]).toBeInstanceOf(Session);
      expect(seen[0][1]).toBe(seen[1][1]);
    });
  });

  describe('#state', () => {
    it('goes from open to closing to closed when the application closes', async () => {
      const { client, session } = await openSession();
      expect(session.state).toBe('open');
      expect(session.close()).toBe(true);
      expect(session.state).toBe('closing');
      expect(session.close()).toBe(false);
      await client.closed;
      await pollUntil('the session closed', () => session.state === 'closed');
    });
  });

  describe("'close'", () => {
    it('is emitted once, with the client code, when the client closes the websocket', async () => {
      const { client, session } = await openSession();
      const closes = closesOf(session);
      client.ws.close(4000, 'client done');
      await client.closed;
      await pollUntil('the session closed', () => session.state === 'closed');
      await sleep(20);
      expect(closes).toEqual([[4000, 'client done']]);
    });

    it('is emitted once when the application closes the session', async () => {
      const { client, session } = await openSession();
      const closes = closesOf(session);
      session.close(4001, 'server done');
      await client.closed;
      await pollUntil('the session closed', () => session.state === 'closed');
      await sleep(20);
      expect(closes).toEqual([[4001, 'server done']]);
    });

    it('is emitted once when the client sends broken JSON', async () => {
      const { client, session } = await openSession();
      const closes = closesOf(session);
      client.ws.send('["a');
      await client.closed;
      await pollUntil('the session closed', () => session.state === 'closed');
      await sleep(20);
      expect(closes).toHaveLength(1);
    });

    it('is emitted once when an xhr-polling session times out', async () => {
      const { server, sessions } = await start(echo({ disconnectDelay: 30 }));
      expect((await post(`${server.base}/echo${sessionPath()}/xhr`)).body).toBe('o\n');
      const closes = closesOf(sessions[0]);
      await pollUntil('the session closed', () => sessions[0].state === 'closed');
      await sleep(50);
      expect(closes).toHaveLength(1);
    });
  });

  describe('#send', () => {
    it('escapes unsafe characters in a frame that also carries ASCII, and in the frame after an ASCII one', async () => {
      const { server } = await start(echo());
      const client = await connect(server);
      expect(await client.next()).toBe('o');
      client.ws.send(JSON.stringify(['plain', 'x\u2028y']));
      expect(await client.next()).toBe('a["plain","x\\u2028y"]');
      client.ws.send(JSON.stringify(['plain']));
      expect(await client.next()).toBe('a["plain"]');
      client.ws.send(JSON.stringify(['\uffff']));
      expect(await client.next()).toBe('a["\\uffff"]');
    });

    it('sends an ASCII frame as a text frame with the same text, and the non-ASCII frames around it intact', async () => {
      const { client, session } = await openSession();
      const big = 'x'.repeat(4096);
      session.send('caf\u00e9 \ud83d\ude00');
      expect(await client.next()).toBe('a["caf\u00e9 \ud83d\ude00"]');
      session.send('plain "quoted" \\ tab\t');
      session.send(big);
      expect(await client.next()).toBe(`a["plain \\"quoted\\" \\\\ tab\\t","${big}"]`);
      session.send('x\u2028y');
      expect(await client.next()).toBe('a["x\\u2028y"]');
      session.send('ok');
      expect(await client.next()).toBe('a["ok"]');
      session.send('lone \ud800 and \udfff');
      const lone = await client.next();
      expect(lone).toBe('a["lone \\ud800 and \\udfff"]');
      expect(JSON.parse(lone.slice(1))).toEqual(['lone \ud800 and \udfff']);
    });

    it('returns true while open and false once closed', async () => {
      const { client, session } = await openSession();
      expect(session.send('a')).toBe(true);
      expect(await client.next()).toBe('a["a"]');
      session.close();
      expect(session.send('b')).toBe(false);
      await client.closed;
      await pollUntil('the session closed', () => session.state === 'closed');
      expect(session.send('c')).toBe(false);
    });

    it.each<[string, unknown]>([
      ['a number', 42],
      ['undefined', undefined],
      ['an object', { text: 'hi' }],
      ['a Buffer', Buffer.from('hi')],
    ])('refuses %s with an InvalidArgumentError', async (_what, value) => {
      const { session } = await openSession();
      expect(() => session.send(value as string)).toThrow(InvalidArgumentError);
    });

    it('sends the messages of one tick as one frame', async () => {
      const { client, session } = await openSession();
      session.send('1');
      session.send('2');
      session.send('3');
      expect(await client.next()).toBe('a["1","2","3"]');
    });

    it('delivers messages sent before close() ahead of the close frame', async () => {
      const { client, session } = await openSession();
      session.send('last words');
      session.close(3000, 'Go away!');
      expect(await client.next()).toBe('a["last words"]');
      expect(await client.next()).toBe('c[3000,"Go away!"]');
    });
  });

  describe('#close', () => {
    it.each([999, 1001, 1002, 2999, 5000, 3000.5, NaN])('refuses code %p with an InvalidArgumentError', async (code) => {
      const { session } = await openSession();
      expect(() => session.close(code, 'x')).toThrow(InvalidArgumentError);
      expect(session.state).toBe('open');
    });

    it('refuses a reason over 123 bytes with an InvalidArgumentError', async () => {
      const { session } = await openSession();
      expect(() => session.close(3000, 'é'.repeat(62))).toThrow(InvalidArgumentError);
      expect(() => session.close(3000, 42 as unknown as string)).toThrow(InvalidArgumentError);
      expect(session.state).toBe('open');
    });

    it('accepts code 1000 and a reason of exactly 123 bytes', async () => {
      const { client, session } = await openSession();
      const reason = 'r'.repeat(123);
      expect(session.close(1000, reason)).toBe(true);
      expect(await client.next()).toBe(`c[1000,"${reason}"]`);
    });
  });

  describe('#recv', () => {
    it('resolves messages in order and buffers those that arrive between calls', async () => {
      const { client, session } = await openSession();
      const first = session.recv();
      client.ws.send('["a","b"]');
      expect(await first).toBe('a');
      client.ws.send('["c"]');
      expect(await client.next()).toBe('a["a","b"]');
      expect(await client.next()).toBe('a["c"]');
      expect(await session.recv()).toBe('b');
      expect(await session.recv()).toBe('c');
    });

    it('rejects a waiting call and later calls with SessionNotOpenError after close', async () => {
      const { client, session } = await openSession();
      const waiting = session.recv();
      client.ws.close();
      await expect(waiting).rejects.toBeInstanceOf(SessionNotOpenError);
      await expect(session.recv()).rejects.toMatchObject({ code: 'SOCKJS_ERR_SESSION_NOT_OPEN' });
    });

    it('hands out buffered messages before rejecting after close', async () => {
      const { client, session } = await openSession();
      const first = session.recv();
      client.ws.send('["a"]');
      expect(await first).toBe('a');
      client.ws.send('["b","c"]');
      expect(await client.next()).toBe('a["a"]');
      expect(await client.next()).toBe('a["b","c"]');
      client.ws.close();
      await pollUntil('the session closed', () => session.state === 'closed');
      expect(await session.recv()).toBe('b');
      expect(await session.recv()).toBe('c');
      await expect(session.recv()).rejects.toBeInstanceOf(SessionNotOpenError);
    });
  });

  describe('messages before the application reads', () => {
    /** A handler whose async onSession waits for `ready` before it reads, as one that awaits a database would. */
    async function lateReader(read: (session: Session) => Promise<string[]>) {
      let ready = (): void => undefined;
      const waited = new Promise<void>((resolve) => (ready = resolve));
      let result: Promise<string[]> | undefined;
      const handler = sockjs(async (session) => {
        await waited;
        result = read(session);
      });
      const { server } = await start(handler);
      const client = await connect(server);
      expect(await client.next()).toBe('o');
      return { client, ready, read: () => pollUntil('the application started reading', () => result) };
    }

    it('keeps them for the first recv(), in order', async () => {
      const { client, ready, read } = await lateReader(async (session) => [await session.recv(), await session.recv(), await session.recv()]);
      client.ws.send('["a","b"]');
      client.ws.send('["c"]');
      // The session answers nothing while no one reads; a ping round trip shows every send arrived.
      client.ws.ping();
      await new Promise((resolve) => client.ws.once('pong', resolve));
      ready();
      expect(await read()).toEqual(['a', 'b', 'c']);
    });

    it("keeps them for a first 'data' listener", async () => {
      const { client, ready, read } = await lateReader(
        (session) =>
          new Promise((resolve) => {
            const got: string[] = [];
            session.on('data', (message) => {
              got.push(message);
              if (got.length === 3) resolve(got);
            });
          }),
      );
      client.ws.send('["a","b"]');
      client.ws.ping();
      await new Promise((resolve) => client.ws.once('pong', resolve));
      ready();
      client.ws.send('["c"]');
      expect(await read()).toEqual(['a', 'b', 'c']);
    });
  });

  describe('[Symbol.asyncIterator]', () => {
    it('yields every message and ends when the session closes', async () => {
      let loop: Promise<string[]> | undefined;
      const handler = sockjs((session) => {
        loop = (async () => {
          const got: string[] = [];
          for await (const message of session) got.push(message);
          return got;
        })();
      });
      const { server } = await start(handler);
      const client = await connect(server);
      expect(await client.next()).toBe('o');
      client.ws.send('["a","b"]');
      client.ws.send('"c"');
      client.ws.send('["d"]');
      await sleep(30);
      client.ws.close(1000);
      await expect(loop).resolves.toEqual(['a', 'b', 'c', 'd']);
    });
  });
});

describe('handler', () => {
  describe('#sessions', () => {
    it('holds live sessions by id and forgets them when they end', async () => {
      const { server, sessions, handler } = await start(echo({ disconnectDelay: 30 }));
      const [a, b] = [await connect(server), await connect(server)];
      expect(await a.next()).toBe('o');
      expect(await b.next()).toBe('o');
      const xhrPath = `/echo${sessionPath()}/xhr`;
      expect((await post(server.base + xhrPath)).body).toBe('o\n');
      const live = handler.sessions;
      expect(live.size).toBe(3);
      for (const session of sessions) expect(live.get(session.id)).toBe(session);
      expect(new Set(sessions.map((session) => session.id)).size).toBe(3);
      a.ws.close();
      sessions[1].close();
      await pollUntil('every session gone', () => live.size === 0);
    });
  });

  describe('#broadcast', () => {
    it('reaches every open websocket and xhr-polling session and returns the count', async () => {
      const { server, sessions, handler } = await start(echo());
      const ws = await connect(server);
      expect(await ws.next()).toBe('o');
      const polling = `${server.base}/echo${sessionPath()}`;
      expect((await post(`${polling}/xhr`)).body).toBe('o\n');
      const closing = `${server.base}/echo${sessionPath()}`;
      expect((await post(`${closing}/xhr`)).body).toBe('o\n');
      sessions[2].close();
      expect(handler.broadcast('to all')).toBe(2);
      expect(await ws.next()).toBe('a["to all"]');
      expect(await post(`${polling}/xhr`)).toEqual({ status: 200, body: 'a["to all"]\n' });
      expect(await post(`${closing}/xhr`)).toEqual({ status: 200, body: 'c[3000,"Go away!"]\n' });
    });

    it('encodes the frame once, however many sessions it reaches, and gives every websocket the same bytes', async () => {
      const { server, handler } = await start(echo());
      const clients = [await connect(server), await connect(server), await connect(server)];
      for (const client of clients) expect(await client.next()).toBe('o');
      const encode = jest.spyOn(framing, 'messageFrame');
      const send = jest.spyOn(WebSocket.prototype, 'send');
      try {
        expect(handler.broadcast('once')).toBe(3);
        expect(encode).toHaveBeenCalledTimes(1);
        const sent = send.mock.calls.map(([data]) => data);
        expect(sent).toHaveLength(3);
        expect(Buffer.isBuffer(sent[0]) && sent[0].toString()).toBe('a["once"]');
        expect(sent.every((data) => data === sent[0])).toBe(true);
      } finally {
        encode.mockRestore();
        send.mockRestore();
      }
      for (const client of clients) expect(await client.next()).toBe('a["once"]');
    });
  });

  describe('#close', () => {
    it('shuts every session down, refuses later requests and removes its upgrade listener', async () => {
      const { server, sessions, handler } = await start(echo());
      const upgradeListenersBefore = server.server.listenerCount('upgrade') - 1;
      const ws = await connect(server);
      expect(await ws.next()).toBe('o');
      const streaming = await stream(`${server.base}/echo${sessionPath()}/xhr_streaming`);
      await streaming.until((text) => text.endsWith('o\n'));
      expect(handler.sessions.size).toBe(2);
      const closes = sessions.map(closesOf);

      await expect(handler.close()).resolves.toBeUndefined();

      expect(await ws.next()).toBe('c[1001,"Server shutting down"]');
      await ws.closed;
      expect(await streaming.until((text) => text.includes('\n'))).toBe('c[1001,"Server shutting down"]\n');
      expect(await streaming.next()).toBeNull();
      expect(closes).toEqual([[[1001, 'Server shutting down']], [[1001, 'Server shutting down']]]);
      expect(sessions.map((session) => session.state)).toEqual(['closed', 'closed']);
      expect(handler.sessions.size).toBe(0);
      expect(server.server.listenerCount('upgrade')).toBe(upgradeListenersBefore);
      const later = await post(`${server.base}/echo${sessionPath()}/xhr`);
      expect(later).toEqual({ status: 503, body: 'Server shutting down.' });
      await expect(connect(server)).rejects.toThrow(/503/);
    });
  });
});
