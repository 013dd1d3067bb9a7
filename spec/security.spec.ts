/**
 * Who may use an endpoint and how sessions end: the origin policy
 * (`allowedOrigins`) on every route and on websocket upgrades, iframe framing,
 * session binding, websocket pings against dead peers, `'close'` exactly once
 * however a session ends, and `'error'` that never crashes a process.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import request from 'supertest';
import WebSocket from 'ws';
import { TransportError, type Options, type Session, type SessionBinding } from '../lib';
import { echo, mountAtS, post, sessionPath, terminateClients, wsConnect, type Endpoint, type Running } from './helpers';
import { runChild } from './support/child';

const running: Running[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** An echo handler at `/s`. */
async function serve(options: Options = {}): Promise<Endpoint> {
  const endpoint = await mountAtS(echo(options));
  running.push(endpoint.server);
  return endpoint;
}

const APP = 'https://app.example';
const EVIL = 'https://evil.example';
const POLICY: Options = { allowedOrigins: [APP, 'https://*.partner.example'] };

/** One request per route under the prefix, as a browser would send it (without Origin/Referer). */
const ROUTES: Array<[string, 'get' | 'post' | 'options', (session: string) => string]> = [
  ['greeting', 'get', () => '/s/'],
  ['info', 'get', () => '/s/info'],
  ['info preflight', 'options', () => '/s/info'],
  ['iframe', 'get', () => '/s/iframe.html'],
  ['xhr', 'post', (session) => `${session}/xhr`],
  ['xhr preflight', 'options', (session) => `${session}/xhr`],
  ['xhr_streaming', 'post', (session) => `${session}/xhr_streaming`],
  ['xhr_send', 'post', (session) => `${session}/xhr_send`],
  ['eventsource', 'get', (session) => `${session}/eventsource`],
  ['htmlfile', 'get', (session) => `${session}/htmlfile?c=cb`],
  ['jsonp', 'get', (session) => `${session}/jsonp?c=cb`],
  ['jsonp_send', 'post', (session) => `${session}/jsonp_send`],
];

/** Sends one request and resolves with its status, headers and the first chunk of its body. */
function peek(base: string, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: method.toUpperCase(), headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let body = '';
      const done = (): void => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        req.destroy();
      };
      res.once('data', (chunk: string) => {
        body = chunk;
        done();
      });
      res.once('end', done);
    });
    req.end(method === 'post' ? '["x"]' : undefined);
  });
}

describe('allowedOrigins', () => {
  it.each(ROUTES)('refuses %s from a page outside the policy with 403', async (_name, method, path) => {
    const { base } = await serve(POLICY);
    const res = await peek(base, method, path(`/s${sessionPath()}`), { Origin: EVIL, Referer: `${EVIL}/page` });
    expect(res.status).toBe(403);
    expect(res.body).toBe('Origin not allowed.');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(ROUTES)('serves %s to a page the policy allows', async (_name, method, path) => {
    const { base } = await serve(POLICY);
    for (const origin of [APP, 'https://eu.partner.example']) {
      const res = await peek(base, method, path(`/s${sessionPath()}`), { Origin: origin, Referer: `${origin}/page` });
      expect([origin, res.status]).not.toEqual([origin, 403]);
    }
  });

  it.each(ROUTES)('serves %s to any page by default (the protocol reflects every origin)', async (_name, method, path) => {
    const { base } = await serve();
    const res = await peek(base, method, path(`/s${sessionPath()}`), { Origin: EVIL });
    expect(res.status).not.toBe(403);
  });

  it.each([
    ['jsonp', (session: string) => `${session}/jsonp?c=cb`],
    ['htmlfile', (session: string) => `${session}/htmlfile?c=cb`],
    ['iframe', () => '/s/iframe.html'],
  ])('judges %s, which pages load without an Origin, by its Referer and refuses it with neither', async (_name, path) => {
    const { base } = await serve(POLICY);
    const route = (): string => path(`/s${sessionPath()}`);
    expect(await peek(base, 'get', route(), {})).toMatchObject({ status: 403, body: 'Origin or Referer required.' });
    expect(await peek(base, 'get', route(), { Referer: `${EVIL}/x` })).toMatchObject({ status: 403, body: 'Origin not allowed.' });
    expect((await peek(base, 'get', route(), { Referer: `${APP}/chat?room=1` })).status).toBe(200);
  });

  it('lets requests without an Origin through on the routes browsers always send one on (non-browser clients)', async () => {
    const { base } = await serve(POLICY);
    const session = `/s${sessionPath()}`;
    expect((await request(base).post(`${session}/xhr`)).text).toBe('o\n');
    expect((await request(base).post(`${session}/xhr_send`).send('["x"]')).status).toBe(204);
    expect((await request(base).get('/s/info')).status).toBe(200);
  });

  it("always serves the server's own origin (the iframe transports run on it)", async () => {
    const { base } = await serve(POLICY);
    const res = await request(base).post(`/s${sessionPath()}/xhr`).set('Origin', base);
    expect(res.text).toBe('o\n');
    const iframe = await request(base).get('/s/iframe.html').set('Referer', `${base}/s/iframe.html`);
    expect(iframe.status).toBe(200);
    expect(iframe.headers['content-security-policy']).toBe("frame-ancestors 'self'");
  });

  it('lets only the allowed page that asked for it frame the iframe page', async () => {
    const { base } = await serve(POLICY);
    const res = await request(base).get('/s/iframe.html').set('Referer', `${APP}/chat`);
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toBe(`frame-ancestors 'self' ${APP}`);
    expect(res.headers.vary).toMatch(/Referer/);
    const byDefault = await request((await serve()).base).get('/s/iframe.html');
    expect(byDefault.headers['content-security-policy']).toBeUndefined();
  });

  it('asks a policy function about the page origin', async () => {
    const asked: string[] = [];
    const { base } = await serve({ allowedOrigins: (origin) => (asked.push(origin), origin === APP) });
    expect((await request(base).get('/s/info').set('Origin', APP)).status).toBe(200);
    expect((await request(base).get('/s/info').set('Origin', EVIL)).status).toBe(403);
    expect((await request(base).get(`/s${sessionPath()}/jsonp?c=cb`).set('Referer', `${APP}/x`)).status).toBe(200);
    expect(asked).toEqual([APP, EVIL, APP]);
  });

  /** Opens a websocket with `origin`; resolves with the status of a refused handshake, or 101. */
  function upgrade(base: string, path: string, origin: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}${path}`, origin === undefined ? {} : { origin });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', (error) => reject(error));
    });
  }

  it('refuses websocket upgrades from pages outside the policy with 403, framed and raw', async () => {
    const { base } = await serve({ ...POLICY, rawWebsocket: true });
    for (const path of [`/s${sessionPath()}/websocket`, '/s/websocket']) {
      expect(await upgrade(base, path, EVIL)).toBe(403);
      expect(await upgrade(base, path, APP)).toBe(101);
      expect(await upgrade(base, path, undefined)).toBe(101);
    }
    expect(await upgrade((await serve()).base, `/s${sessionPath()}/websocket`, EVIL)).toBe(101);
  });
});

describe('sessionBinding', () => {
  /** A POST from `localAddress` (any 127.x address reaches the server on Linux). */
  const from = (localAddress: string, base: string, path: string, body?: string) => post(`${base}${path}`, body, localAddress);

  const bindings: Array<[SessionBinding, number, string]> = [
    [false, 204, 'a["x"]\n'],
    ['address', 404, 'Not found.'],
  ];
  it.each(bindings)('with %p, answers a session request from another address with %p', async (sessionBinding, status, polled) => {
    const { base } = await serve({ sessionBinding });
    const session = `/s${sessionPath()}`;
    expect((await from('127.0.0.1', base, `${session}/xhr`)).body).toBe('o\n');
    expect((await from('127.0.0.2', base, `${session}/xhr_send`, '["x"]')).status).toBe(status);
    expect((await from('127.0.0.2', base, `${session}/xhr`)).body).toBe(polled);
  });

  it('with address, serves the address the session began from', async () => {
    const { base } = await serve({ sessionBinding: 'address' });
    const session = `/s${sessionPath()}`;
    expect((await from('127.0.0.2', base, `${session}/xhr`)).body).toBe('o\n');
    expect((await from('127.0.0.2', base, `${session}/xhr_send`, '["x"]')).status).toBe(204);
    expect((await from('127.0.0.2', base, `${session}/xhr`)).body).toBe('a["x"]\n');
  });

  it('with cookie, answers 404 to requests carrying another JSESSIONID (or none)', async () => {
    const { base } = await serve({ sessionBinding: 'cookie' });
    const session = `/s${sessionPath()}`;
    const mine = 'JSESSIONID=abc123';
    expect((await request(base).post(`${session}/xhr`).set('Cookie', mine)).text).toBe('o\n');
    expect((await request(base).post(`${session}/xhr_send`).set('Cookie', 'JSESSIONID=other').send('["x"]')).status).toBe(404);
    expect((await request(base).post(`${session}/xhr_send`).send('["x"]')).status).toBe(404);
    expect((await request(base).post(`${session}/xhr`).set('Cookie', 'a=1; JSESSIONID=other')).status).toBe(404);
    expect((await request(base).post(`${session}/xhr_send`).set('Cookie', `a=1; ${mine}`).send('["y"]')).status).toBe(204);
    expect((await request(base).post(`${session}/xhr`).set('Cookie', mine)).text).toBe('a["y"]\n');
  });

  it('with cookie and jsessionid, binds a session to the cookie its first response set', async () => {
    const { base } = await serve({ sessionBinding: 'cookie', jsessionid: true });
    const session = `/s${sessionPath()}`;
    const first = await request(base).post(`${session}/xhr`);
    expect(first.headers['set-cookie']).toEqual(['JSESSIONID=dummy; Path=/']);
    expect((await request(base).post(`${session}/xhr_send`).set('Cookie', 'JSESSIONID=dummy').send('["x"]')).status).toBe(204);
    expect((await request(base).post(`${session}/xhr_send`).set('Cookie', 'JSESSIONID=x').send('["x"]')).status).toBe(404);
  });
});

describe('websocket pings', () => {
  it('closes the session of a client that stops answering pings, once, with 1006 Ping timeout', async () => {
    const endpoint = await serve({ websocketPingInterval: 50, websocketPingTimeout: 100 });
    const opened = endpoint.nextSession();
    const ws = new WebSocket(`${endpoint.base.replace('http', 'ws')}/s${sessionPath()}/websocket`, { autoPong: false });
    ws.on('error', () => undefined);
    const clientClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const session = await opened;
    const closes: Array<[number, string]> = [];
    const closed = new Promise<void>((resolve) =>
      session.on('close', (code, reason) => {
        closes.push([code, reason]);
        resolve();
      }),
    );
    await closed;
    await clientClosed;
    expect(closes).toEqual([[1006, 'Ping timeout']]);
    expect(endpoint.handler.sessions.size).toBe(0);
  });

  it('keeps a client that answers pings', async () => {
    const endpoint = await serve({ websocketPingInterval: 20, websocketPingTimeout: 100 });
    const opened = endpoint.nextSession();
    const client = await wsConnect(`${endpoint.base.replace('http', 'ws')}/s${sessionPath()}/websocket`);
    const session = await opened;
    let pings = 0;
    await new Promise<void>((resolve) => client.ws.on('ping', () => ++pings === 10 && resolve()));
    expect(session.state).toBe('open');
    client.ws.send('["still here"]');
    expect(await client.next()).toBe('o');
    expect(await client.next()).toBe('a["still here"]');
  });
});

describe("'close'", () => {
  type Ending = (context: { endpoint: Endpoint; session: Session; end: () => void; cut: () => void; send: (frame: string) => void }) => Promise<unknown> | void;

  /** `silent-websocket`: a websocket client that never answers pings. */
  type Transport = 'websocket' | 'silent-websocket' | 'xhr_streaming';

  /** Opens a session over `transport`, ends it as `ending` says, and checks how 'close' fired. */
  async function closesOnce(transport: Transport, options: Options, ending: Ending): Promise<[number, string]> {
    const endpoint = await serve({ disconnectDelay: 100, ...options });
    const opened = endpoint.nextSession();
    const path = `/s${sessionPath()}`;
    let end: () => void;
    let cut = (): void => undefined;
    let send = (_frame: string): void => undefined;
    if (transport === 'silent-websocket') {
      const ws = new WebSocket(`${endpoint.base.replace('http', 'ws')}${path}/websocket`, { autoPong: false });
      ws.on('error', () => undefined);
      end = () => ws.close();
    } else if (transport === 'websocket') {
      const client = await wsConnect(`${endpoint.base.replace('http', 'ws')}${path}/websocket`);
      end = () => client.ws.close(4001, 'bye');
      cut = () => client.ws.terminate();
      send = (frame) => client.ws.send(frame);
    } else {
      const req = http.request(`${endpoint.base}${path}/xhr_streaming`, { method: 'POST', agent: false });
      req.on('error', () => undefined);
      req.on('response', (res) => res.on('error', () => undefined).resume());
      req.end();
      end = () => req.destroy();
    }
    const session = await opened;
    const closes: Array<[number, string]> = [];
    const forgotten = new Promise<void>((resolve) => {
      session.on('close', (code, reason) => closes.push([code, reason]));
      const check = setInterval(() => {
        if (!endpoint.handler.sessions.has(session.id)) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await ending({ endpoint, session, end, cut, send });
    await forgotten;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(closes).toHaveLength(1);
    expect(session.state).toBe('closed');
    return closes[0];
  }

  const cases: Array<[string, Transport, Options, Ending, [number, string]]> = [
    ['the websocket client closes', 'websocket', {}, ({ end }) => end(), [4001, 'bye']],
    ['the websocket connection is cut off', 'websocket', {}, ({ cut }) => cut(), [1006, '']],
    ['the recv() inbox overflows', 'websocket', { maxQueuedBytes: 10, highWaterMark: 0 }, ({ session, send }) => {
      void session.recv().catch(() => undefined);
      send('["first"]');
      send(JSON.stringify(['x'.repeat(11)]));
    }, [1008, 'Inbox limit exceeded']],
    ['the HTTP client aborts mid-stream', 'xhr_streaming', {}, ({ end }) => end(), [1002, 'Connection interrupted']],
    ['the server closes (websocket)', 'websocket', {}, ({ session }) => void session.close(4000, 'done'), [4000, 'done']],
    ['the server closes (HTTP)', 'xhr_streaming', {}, ({ session }) => void session.close(), [3000, 'Go away!']],
    ['no receiving request comes back', 'xhr_streaming', { responseLimit: 1 }, () => undefined, [1006, 'Session timed out']],
    ['the queue overflows (websocket)', 'websocket', { maxQueuedBytes: 10, highWaterMark: 0 }, ({ session }) => void session.send('x'.repeat(11)), [1008, 'Queue limit exceeded']],
    ['the queue overflows (HTTP)', 'xhr_streaming', { maxQueuedBytes: 10, highWaterMark: 0 }, ({ session }) => void session.send('x'.repeat(11)), [1008, 'Queue limit exceeded']],
    ['the websocket peer stops answering pings', 'silent-websocket', { websocketPingInterval: 30, websocketPingTimeout: 60 }, () => undefined, [1006, 'Ping timeout']],
    ['the handler closes (websocket)', 'websocket', {}, ({ endpoint }) => endpoint.handler.close(), [1001, 'Server shutting down']],
    ['the handler closes (HTTP)', 'xhr_streaming', {}, ({ endpoint }) => endpoint.handler.close(), [1001, 'Server shutting down']],
  ];

  it.each(cases)('fires exactly once when %s', async (_name, transport, options, ending, expected) => {
    expect(await closesOnce(transport, options, ending)).toEqual(expected);
  });
});

describe("'error'", () => {
  /** A websocket session whose client sends a text frame with invalid UTF-8, which `ws` reports as an error. */
  async function invalidUtf8(listen: (session: Session) => void): Promise<{ session: Session; closed: Promise<number> }> {
    const endpoint = await serve();
    const opened = endpoint.nextSession();
    const client = await wsConnect(`${endpoint.base.replace('http', 'ws')}/s${sessionPath()}/websocket`);
    const session = await opened;
    listen(session);
    const closed = new Promise<number>((resolve) => session.once('close', (code) => resolve(code)));
    client.ws.send(Buffer.from([0x22, 0xff, 0x22]), { binary: false });
    return { session, closed };
  }

  it('reaches an error listener as a TransportError with a code; the session closes', async () => {
    const errors: unknown[] = [];
    const { closed } = await invalidUtf8((session) => session.on('error', (error) => errors.push(error)));
    await closed;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TransportError);
    expect(errors[0]).toMatchObject({ code: 'SOCKJS_ERR_TRANSPORT', name: 'TransportError' });
    expect((errors[0] as Error).cause).toMatchObject({ code: 'WS_ERR_INVALID_UTF8' });
  });

  it('does not crash a process whose session has no error listener', async () => {
    const child = runChild('no-error-listener.ts');
    expect((await child.line(/^closed.*$/))[0]).toBe('closed 1007 listeners=0');
    await child.line(/^survived$/);
    const { code, stderr } = await child.exited;
    expect([code, stderr]).toEqual([0, '']);
  });
});
