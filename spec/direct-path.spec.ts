/**
 * The direct path (`middleware: 'session-open'`, the default): the app's
 * middleware runs when a session opens, and the later requests of that open
 * session skip the app; `middleware: 'every-request'` keeps the app on every
 * request. Real Express apps on port 0, requests with exact headers: what
 * middleware sees, what still guards the direct path (sessionBinding, the
 * origin policy, the mount path) and that its answers are the app path's.
 */
import express from 'express';
import { echo, exactRequest, listen, post, sessionPath, stream, type Reply, type Running } from './helpers';
import type { Options } from '../lib';

let running: Running[] = [];

afterEach(async () => {
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

/** A request with exactly these headers and body, no keep-alive. */
function call(method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return exactRequest(method, url, { headers, chunks: body === undefined ? [] : [body] }).reply;
}

/** The echo handler at `/s` behind middleware that counts the requests it sees and can refuse them. */
interface Counted {
  readonly url: string;
  readonly server: Running;
  /** Requests middleware saw. */
  seen(): number;
  /** From now on middleware answers `401`, as after a logout. */
  revoke(): void;
}

async function counted(options: Options = {}): Promise<Counted> {
  let seen = 0;
  let revoked = false;
  const app = express();
  app.disable('x-powered-by');
  app.use('/s', (_req, res, next) => {
    seen++;
    if (revoked) res.status(401).send('Log in first.');
    else next();
  });
  const server = await listen({ '/s': echo(options) }, app);
  running.push(server);
  return { url: server.base + '/s' + sessionPath(), server, seen: () => seen, revoke: () => (revoked = true) };
}

const JSON_TEXT = { 'Content-Type': 'text/plain' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const form = (messages: string[]): string => `d=${encodeURIComponent(JSON.stringify(messages))}`;

/**
 * One session of each HTTP transport, driven to an echo: the requests it
 * makes after the opening one, and the frames seen. Resolves with how many
 * requests the session made in all.
 */
const SESSIONS: Record<string, (url: string) => Promise<number>> = {
  async 'xhr-polling'(url) {
    expect((await call('POST', `${url}/xhr`)).text).toBe('o\n');
    expect((await call('POST', `${url}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(204);
    expect((await call('POST', `${url}/xhr`)).text).toBe('a["a"]\n');
    expect((await call('POST', `${url}/xhr_send`, JSON_TEXT, '["b"]')).status).toBe(204);
    expect((await call('POST', `${url}/xhr`)).text).toBe('a["b"]\n');
    return 5;
  },
  async 'jsonp-polling'(url) {
    expect((await call('GET', `${url}/jsonp?c=cb`)).text).toBe('/**/cb("o");\r\n');
    const sent = await call('POST', `${url}/jsonp_send`, FORM, form(['a']));
    expect([sent.status, sent.text]).toEqual([200, 'ok']);
    expect((await call('GET', `${url}/jsonp?c=cb`)).text).toBe('/**/cb("a[\\"a\\"]");\r\n');
    return 3;
  },
  async 'xhr-streaming'(url) {
    const s = await stream(`${url}/xhr_streaming`);
    await s.until((text) => text.endsWith('o\n'));
    expect((await call('POST', `${url}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(204);
    expect((await call('POST', `${url}/xhr_send`, JSON_TEXT, '["b"]')).status).toBe(204);
    expect(await s.until((text) => text.includes('a["b"]'))).toBe('a["a"]\na["b"]\n');
    s.abort();
    return 3;
  },
  async eventsource(url) {
    const s = await stream(`${url}/eventsource`, { method: 'GET' });
    await s.until((text) => text.endsWith('data: o\r\n\r\n'));
    expect((await call('POST', `${url}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(204);
    expect(await s.until((text) => text.includes('a["a"]'))).toBe('data: a["a"]\r\n\r\n');
    s.abort();
    return 2;
  },
};

describe("middleware: 'session-open' (the default)", () => {
  it.each(Object.keys(SESSIONS))('runs middleware once, for the opening request, over %s', async (transport) => {
    const endpoint = await counted();
    await SESSIONS[transport](endpoint.url);
    expect(endpoint.seen()).toBe(1);
  });

  it('lets a later request of an open session through after middleware would refuse it, as documented', async () => {
    const endpoint = await counted();
    expect((await call('POST', `${endpoint.url}/xhr`)).text).toBe('o\n');
    endpoint.revoke();
    expect((await call('POST', `${endpoint.url}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(204);
    expect((await call('POST', `${endpoint.url}/xhr`)).text).toBe('a["a"]\n');
    // A new session still needs middleware's consent.
    expect((await call('POST', `${endpoint.server.base}/s${sessionPath()}/xhr`)).status).toBe(401);
  });

  it('sends preflights, /info and unknown sessions through the app', async () => {
    const endpoint = await counted();
    expect((await call('POST', `${endpoint.url}/xhr`)).text).toBe('o\n');
    expect((await call('OPTIONS', `${endpoint.url}/xhr_send`, { Origin: 'http://a.example' })).status).toBe(204);
    expect((await call('GET', `${endpoint.server.base}/s/info`)).status).toBe(200);
    expect((await call('POST', `${endpoint.server.base}/s${sessionPath()}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(404);
    expect(endpoint.seen()).toBe(4);
  });
});

describe("middleware: 'every-request'", () => {
  it.each(Object.keys(SESSIONS))('runs middleware for every request over %s', async (transport) => {
    const endpoint = await counted({ middleware: 'every-request' });
    const requests = await SESSIONS[transport](endpoint.url);
    expect(endpoint.seen()).toBe(requests);
  });

  it('refuses the later requests of an open session once middleware refuses', async () => {
    const endpoint = await counted({ middleware: 'every-request' });
    expect((await call('POST', `${endpoint.url}/xhr`)).text).toBe('o\n');
    endpoint.revoke();
    expect((await call('POST', `${endpoint.url}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(401);
    expect((await call('POST', `${endpoint.url}/xhr`)).status).toBe(401);
  });
});

describe('what guards the direct path', () => {
  it("refuses with 404 a follow-up carrying another JSESSIONID (sessionBinding: 'cookie'), middleware not asked", async () => {
    const endpoint = await counted({ sessionBinding: 'cookie', jsessionid: true });
    expect((await call('POST', `${endpoint.url}/xhr`, { Cookie: 'JSESSIONID=alice' })).text).toBe('o\n');
    const stranger = await call('POST', `${endpoint.url}/xhr_send`, { ...JSON_TEXT, Cookie: 'JSESSIONID=mallory' }, '["a"]');
    expect([stranger.status, stranger.text]).toEqual([404, 'Not found.']);
    expect((await call('POST', `${endpoint.url}/xhr`, { Cookie: 'JSESSIONID=mallory' })).status).toBe(404);
    const owner = await call('POST', `${endpoint.url}/xhr_send`, { ...JSON_TEXT, Cookie: 'JSESSIONID=alice' }, '["b"]');
    expect([owner.status, owner.headers['set-cookie']]).toEqual([204, ['JSESSIONID=alice; Path=/']]);
    expect((await call('POST', `${endpoint.url}/xhr`, { Cookie: 'JSESSIONID=alice' })).text).toBe('a["b"]\n');
    expect(endpoint.seen()).toBe(1);
  });

  it("refuses with 404 a follow-up from another address (sessionBinding: 'address'), middleware not asked", async () => {
    const endpoint = await counted({ sessionBinding: 'address' });
    expect((await post(`${endpoint.url}/xhr`, undefined, '127.0.0.1')).body).toBe('o\n');
    expect(await post(`${endpoint.url}/xhr_send`, '["a"]', '127.0.0.2')).toEqual({ status: 404, body: 'Not found.' });
    expect((await post(`${endpoint.url}/xhr_send`, '["b"]', '127.0.0.1')).status).toBe(204);
    expect((await post(`${endpoint.url}/xhr`, undefined, '127.0.0.1')).body).toBe('a["b"]\n');
    expect(endpoint.seen()).toBe(1);
  });

  it('applies the origin policy to every request, middleware not asked', async () => {
    const endpoint = await counted({ allowedOrigins: ['http://good.example'] });
    const good = { Origin: 'http://good.example' };
    expect((await call('POST', `${endpoint.url}/xhr`, good)).text).toBe('o\n');
    const foreign = await call('POST', `${endpoint.url}/xhr_send`, { ...JSON_TEXT, Origin: 'http://evil.example' }, '["a"]');
    expect([foreign.status, foreign.text]).toEqual([403, 'Origin not allowed.']);
    const noReferer = await call('GET', `${endpoint.url}/jsonp?c=cb`);
    expect([noReferer.status, noReferer.text]).toEqual([403, 'Origin or Referer required.']);
    expect((await call('POST', `${endpoint.url}/xhr_send`, { ...JSON_TEXT, ...good }, '["b"]')).status).toBe(204);
    expect((await call('POST', `${endpoint.url}/xhr`, good)).text).toBe('a["b"]\n');
    expect(endpoint.seen()).toBe(1);
  });

  it('does not serve a session opened under one mount path on the direct path under another', async () => {
    const handler = echo();
    const app = express();
    let seenAtB = 0;
    app.use('/b', (_req, res) => {
      seenAtB++;
      res.status(401).send('Log in first.');
    });
    const server = await listen({ '/a': handler, '/b': handler }, app);
    running.push(server);
    const session = sessionPath();
    expect((await call('POST', `${server.base}/a${session}/xhr`)).text).toBe('o\n');
    const elsewhere = await call('POST', `${server.base}/b${session}/xhr_send`, JSON_TEXT, '["a"]');
    expect([elsewhere.status, elsewhere.text, seenAtB]).toEqual([401, 'Log in first.', 1]);
    expect((await call('POST', `${server.base}/a${session}/xhr_send`, JSON_TEXT, '["b"]')).status).toBe(204);
    expect((await call('POST', `${server.base}/a${session}/xhr`)).text).toBe('a["b"]\n');
  });
});

describe('the answers of the direct path', () => {
  /** What may differ between two answers of two servers: the date. */
  const comparable = (reply: Reply): Reply => {
    const { date: _date, ...headers } = reply.headers;
    return { ...reply, headers };
  };

  it.each([
    ['xhr_send', 'POST', '/xhr_send', { ...JSON_TEXT, Origin: 'http://a.example', Cookie: 'JSESSIONID=j' }, '["a"]'],
    ['xhr_send without Origin', 'POST', '/xhr_send', JSON_TEXT, '["a"]'],
    ['xhr_send with broken JSON', 'POST', '/xhr_send', JSON_TEXT, '["a'],
    ['xhr_send without a payload', 'POST', '/xhr_send', JSON_TEXT, ''],
    ['xhr_send over maxMessageSize', 'POST', '/xhr_send', JSON_TEXT, JSON.stringify(['x'.repeat(100)])],
    ['jsonp_send', 'POST', '/jsonp_send', { ...FORM, Cookie: 'JSESSIONID=j' }, form(['a'])],
    ['a poll', 'POST', '/xhr', { Origin: 'http://a.example' }, undefined],
    ['a jsonp poll', 'GET', '/jsonp?c=cb', {}, undefined],
    ['a jsonp poll with a bad callback', 'GET', '/jsonp?c=%3Cscript', {}, undefined],
    ['a foreign page', 'POST', '/xhr_send', { ...JSON_TEXT, Origin: 'http://evil.example' }, '["a"]'],
  ])('are those of the app path: %s', async (_name, method, route, headers: Record<string, string>, body) => {
    const options: Options = {
      jsessionid: true,
      maxMessageSize: 64,
      heartbeatDelay: 200,
      allowedOrigins: (origin) => origin !== 'http://evil.example',
    };
    const direct = await counted(options);
    const app = await counted({ ...options, middleware: 'every-request' });
    const session = sessionPath();
    const replies: Reply[] = [];
    for (const endpoint of [direct, app]) {
      const url = endpoint.server.base + '/s' + session;
      expect((await call('POST', `${url}/xhr`, { Cookie: 'JSESSIONID=j' })).text).toBe('o\n');
      // A message waiting, so that a poll answers at once.
      await call('POST', `${url}/xhr_send`, { ...JSON_TEXT, Cookie: 'JSESSIONID=j' }, '["m"]');
      replies.push(comparable(await call(method, url + route, headers, body)));
    }
    expect(replies[0]).toEqual(replies[1]);
    expect([direct.seen(), app.seen()]).toEqual([1, 3]);
  });
});

describe('the gate', () => {
  it("is one per server, shared by its handlers; the last handler's close() puts the server's emit back", async () => {
    const first = echo();
    const second = echo();
    const app = express();
    let seen = 0;
    app.use((_req, _res, next) => (seen++, next()));
    const server = await listen({ '/one': first, '/two': second }, app);
    running.push(server);
    const one = `${server.base}/one${sessionPath()}`;
    const two = `${server.base}/two${sessionPath()}`;
    expect((await call('POST', `${one}/xhr`)).text).toBe('o\n');
    expect((await call('POST', `${two}/xhr`)).text).toBe('o\n');
    expect(Object.hasOwn(server.server, 'emit')).toBe(true);
    expect((await call('POST', `${one}/xhr_send`, JSON_TEXT, '["a"]')).status).toBe(204);
    expect((await call('POST', `${two}/xhr_send`, JSON_TEXT, '["b"]')).status).toBe(204);
    expect(seen).toBe(2);
    await first.close();
    expect((await call('POST', `${two}/xhr`)).text).toBe('a["b"]\n');
    expect(seen).toBe(2);
    await second.close();
    expect(Object.hasOwn(server.server, 'emit')).toBe(false);
  });
});
