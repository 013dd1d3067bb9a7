/**
 * Errors in the application's own code: a `'data'` (or other session)
 * listener that throws, and a `'connection'` listener (`onSession`) that
 * throws or rejects. On every transport the session closes with
 * `1011 "Internal error"` and the handler emits `'error'` with the error and
 * the session; without an `'error'` listener the error is an uncaught
 * exception (tested in a child process). Never a fake status.
 */
import request from 'supertest';
import { sockjs, type Session, type SessionHandler, type SockJSHandler } from '../lib';
import { runChild } from './support/child';
import { mountAtS, sessionPath, terminateClients, wsConnect, type Endpoint } from './helpers';

const running: Endpoint[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((endpoint) => endpoint.server.close()));
});

/** What the handler reported through `'error'`. */
interface Reported {
  readonly error: unknown;
  readonly session: Session | undefined;
}

async function serve(onSession: SessionHandler, options = {}): Promise<{ endpoint: Endpoint; handler: SockJSHandler; reported: Reported[] }> {
  const handler = sockjs(options, onSession);
  const reported: Reported[] = [];
  handler.on('error', (error, session) => reported.push({ error, session }));
  const endpoint = await mountAtS(handler);
  running.push(endpoint);
  return { endpoint, handler, reported };
}

/** Resolves with the session's close code and reason. */
function closeOf(session: Session): Promise<[number, string]> {
  return new Promise((resolve) => session.once('close', (code, reason) => resolve([code, reason])));
}

const boom = new Error('boom from a data listener');

/** Takes messages until one is `bad`, whose listener throws. */
function throwingOnBad(received: string[]): SessionHandler {
  return (session) =>
    session.on('data', (message) => {
      if (message === 'bad') throw boom;
      received.push(message);
    });
}

describe("a 'data' listener that throws", () => {
  it.each([
    ['xhr_send', 204, ''],
    ['jsonp_send', 200, 'ok'],
  ])('over %s: the send is answered as taken, the session closes with 1011, the handler emits the error with the session', async (route, status, text) => {
    const received: string[] = [];
    const { endpoint, reported } = await serve(throwingOnBad(received));
    const path = `/s${sessionPath()}`;
    const opened = endpoint.nextSession();
    expect((await request(endpoint.base).post(`${path}/xhr`)).text).toBe('o\n');
    const session = await opened;
    const closed = closeOf(session);
    const body = route === 'xhr_send' ? '["one","bad","two"]' : `d=${encodeURIComponent('["one","bad","two"]')}`;
    const type = route === 'xhr_send' ? 'text/plain' : 'application/x-www-form-urlencoded';
    const reply = await request(endpoint.base).post(`${path}/${route}`).set('Content-Type', type).send(body);
    expect([reply.status, reply.text]).toEqual([status, text]);
    expect(await closed).toEqual([1011, 'Internal error']);
    expect(received).toEqual(['one']);
    expect(reported).toEqual([{ error: boom, session }]);
    expect((await request(endpoint.base).post(`${path}/xhr`)).text).toBe('c[1011,"Internal error"]\n');
  });

  it('over a websocket: the client reads c[1011,"Internal error"], the handler emits the error with the session', async () => {
    const received: string[] = [];
    const { endpoint, reported } = await serve(throwingOnBad(received));
    const opened = endpoint.nextSession();
    const client = await wsConnect(`${endpoint.url.replace('http', 'ws')}${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
    const session = await opened;
    const closed = closeOf(session);
    client.ws.send('["one","bad","two"]');
    expect(await client.next()).toBe('c[1011,"Internal error"]');
    expect(await closed).toEqual([1011, 'Internal error']);
    expect(received).toEqual(['one']);
    expect(reported).toEqual([{ error: boom, session }]);
  });

  it('over the raw websocket: the websocket closes with 1011', async () => {
    const { endpoint, reported } = await serve(throwingOnBad([]), { rawWebsocket: true });
    const client = await wsConnect(`${endpoint.url.replace('http', 'ws')}/websocket`);
    client.ws.send('bad');
    expect(await client.closed).toEqual({ code: 1011, reason: 'Internal error' });
    expect(reported.map(({ error }) => error)).toEqual([boom]);
  });
});

describe("a 'connection' listener that fails", () => {
  it.each([
    ['throws', () => {
      throw boom;
    }],
    ['returns a promise that rejects', () => Promise.reject(boom)],
  ])('%s: the session closes with 1011 after its open frame, the handler emits the error', async (_name, onSession) => {
    const { endpoint, reported } = await serve(onSession);
    const opened = endpoint.nextSession();
    const client = await wsConnect(`${endpoint.url.replace('http', 'ws')}${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
    expect(await client.next()).toBe('c[1011,"Internal error"]');
    expect(reported).toEqual([{ error: boom, session: await opened }]);
  });
});

describe("without an 'error' listener on the handler", () => {
  it.each(['xhr_send', 'websocket'])(
    "the error of a throwing 'data' listener over %s is an uncaught exception, as Node reports any",
    async (transport) => {
      const child = runChild('throwing-listener.ts', [transport]);
      const { code, stderr } = await child.exited;
      expect(child.stdout()).toContain('session open');
      expect(code).toBe(1);
      expect(stderr).toContain('Error: boom from a data listener');
    },
  );
});

describe('a recv() loop in an async onSession', () => {
  it.each(['websocket', 'xhr'])('ends with its session (%s client leaving) and the process carries on', async (transport) => {
    const child = runChild('recv-loop.ts', [transport]);
    await child.line(/^echoed hi$/);
    await child.line(/^closed \d+$/);
    await child.line(/^survived$/);
    const { code, stderr } = await child.exited;
    expect([code, stderr]).toEqual([0, '']);
  });
});
