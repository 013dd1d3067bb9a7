/**
 * The HTTP routes that are not transports: the greeting, /info, the iframe
 * page, CORS preflights, 405s for wrong methods and 404s for paths outside
 * the protocol. Every test talks to a real server on 127.0.0.1.
 */
import request from 'supertest';
import type { Options } from '../lib';
import { echo, listen, sessionPath, type Running } from './helpers';

const PREFIX = '/echo';
const NO_CACHE = 'no-store, no-cache, no-transform, must-revalidate, max-age=0';
const ONE_YEAR = 'public, max-age=31536000';
const SOCKJS_URL = 'https://cdn.example.test/sockjs-client-1.6.1.min.js';

let running: Running[] = [];

/** Starts an echo handler at {@link PREFIX}; returns its URL. Closed in afterEach. */
async function serve(options: Options = {}): Promise<string> {
  const server = await listen({ [PREFIX]: echo(options) });
  running.push(server);
  return server.base + PREFIX;
}

afterEach(async () => {
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

/** Asserts the protocol's 405: an Allow header, no content type, no body. */
function expect405(res: request.Response, allow: string): void {
  expect(res.status).toBe(405);
  expect(res.headers.allow).toBe(allow);
  expect(res.headers['content-type']).toBeUndefined();
  expect(res.text).toBe('');
}

/** Asserts that no `Access-Control-*` header is present. */
function expectNoCors(res: request.Response): void {
  expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
}

/** The JSON body of an /info answer. */
function infoBody(res: request.Response): Record<string, unknown> {
  return JSON.parse(res.text) as Record<string, unknown>;
}

describe('#greeting', () => {
  it.each(['', '/'])('welcomes a GET on the prefix + %j as text/plain without cookies', async (suffix) => {
    const url = await serve();
    const res = await request(url).get(suffix);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=UTF-8');
    expect(res.text).toBe('Welcome to SockJS!\n');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it.each(['/a', '/a.html', '//', '///', '/a/a', '/a/a/', '/a/'])('refuses %j with 404', async (suffix) => {
    const url = await serve();
    const res = await request(url).get(suffix);
    expect(res.status).toBe(404);
  });
});

describe('#methodNotAllowed', () => {
  const session = '/000/s1';
  it.each([
    ['POST', '/', 'GET'],
    ['DELETE', '', 'GET'],
    ['POST', '/info', 'OPTIONS, GET'],
    ['PUT', '/info', 'OPTIONS, GET'],
    ['POST', '/iframe.html', 'GET'],
    ['DELETE', '/iframe-1.0.html', 'GET'],
    ['GET', `${session}/xhr`, 'OPTIONS, POST'],
    ['PUT', `${session}/xhr`, 'OPTIONS, POST'],
    ['GET', `${session}/xhr_streaming`, 'OPTIONS, POST'],
    ['GET', `${session}/xhr_send`, 'OPTIONS, POST'],
    ['GET', `${session}/jsonp_send`, 'OPTIONS, POST'],
    ['POST', `${session}/jsonp`, 'OPTIONS, GET'],
    ['POST', `${session}/eventsource`, 'GET'],
    ['POST', `${session}/htmlfile?c=cb`, 'GET'],
    ['POST', `${session}/websocket`, 'GET'],
  ])('refuses %s %j with 405, Allow %j and no body', async (method, path, allow) => {
    const url = await serve();
    const res = await request(url)[method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'](path);
    expect405(res, allow);
  });
});

describe('HEAD on a receiving route', () => {
  // Found by spec/fuzz.spec.ts: Express answers HEAD with the GET route, so a
  // HEAD request opened a session whose frames went nowhere, and held it open.
  it.each([
    ['/000/h1/eventsource', 'GET'],
    ['/000/h2/htmlfile?c=cb', 'GET'],
    ['/000/h3/jsonp?c=cb', 'OPTIONS, GET'],
  ])('refuses HEAD %j with 405, Allow %j, and opens no session', async (path, allow) => {
    const handler = echo();
    const server = await listen({ [PREFIX]: handler });
    running.push(server);
    const res = await request(server.base + PREFIX).head(path);
    expect({ status: res.status, allow: res.headers.allow, sessions: handler.sessions.size }).toEqual({ status: 405, allow, sessions: 0 });
  });
});

describe('#info', () => {
  it('describes the server as uncached JSON with CORS for the calling origin', async () => {
    const url = await serve();
    const res = await request(url).get('/info').set('Origin', 'https://app.example');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(res.headers['cache-control']).toBe(NO_CACHE);
    expect(res.headers.expires).toBeUndefined();
    expect(res.headers['last-modified']).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const body = infoBody(res);
    expect(Object.keys(body).sort()).toEqual(['cookie_needed', 'entropy', 'origins', 'websocket']);
    expect(body).toMatchObject({ websocket: true, cookie_needed: false, origins: ['*:*'] });
  });

  it('answers * without credentials when the request has no Origin', async () => {
    const url = await serve();
    const res = await request(url).get('/info');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('gives a new 32-bit unsigned integer as entropy on every call', async () => {
    const url = await serve();
    const values: unknown[] = [];
    for (let i = 0; i < 4; i++) values.push(infoBody(await request(url).get('/info')).entropy);
    for (const value of values) {
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(2 ** 32);
    }
    expect(new Set(values).size).toBe(values.length);
  });

  it.each<[string, Options]>([
    ['a transports list without websocket', { transports: ['xhr-streaming', 'xhr-polling'] }],
  ])('says websocket false when disabled by %s', async (_name, options) => {
    const url = await serve(options);
    const res = await request(url).get('/info');
    expect(infoBody(res)).toMatchObject({ websocket: false, cookie_needed: false });
  });

  it.each<[string, Options]>([
    ['jsessionid: true', { jsessionid: true }],
    ['a jsessionid function', { jsessionid: () => undefined }],
  ])('says cookie_needed true with %s, and sets no cookie itself', async (_name, options) => {
    const url = await serve(options);
    const res = await request(url).get('/info');
    expect(infoBody(res)).toMatchObject({ websocket: true, cookie_needed: true });
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('#preflight', () => {
  const routes: Array<[string, string]> = [
    ['/info', 'OPTIONS, GET'],
    ['/abc/abc/xhr', 'OPTIONS, POST'],
    ['/abc/abc/xhr_streaming', 'OPTIONS, POST'],
    ['/abc/abc/xhr_send', 'OPTIONS, POST'],
    // jsonp is a GET route: its preflight offers GET.
    ['/abc/abc/jsonp', 'OPTIONS, GET'],
    ['/abc/abc/jsonp_send', 'OPTIONS, POST'],
  ];

  describe.each(routes)('OPTIONS %s', (path, methods) => {
    it.each(['https://app.example', 'null'])('answers 204, cacheable for a year, reflecting origin %j', async (origin) => {
      const url = await serve();
      const res = await request(url)
        .options(path)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', methods.split(', ')[1]);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers['cache-control']).toBe(ONE_YEAR);
      expect(Date.parse(res.headers.expires)).toBeGreaterThan(Date.now() + 364 * 24 * 3600 * 1000);
      expect(res.headers['access-control-max-age']).toBe('31536000');
      expect(res.headers['access-control-allow-methods']).toBe(methods);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
    });

    it('echoes Access-Control-Request-Headers exactly into Access-Control-Allow-Headers', async () => {
      const url = await serve();
      const res = await request(url)
        .options(path)
        .set('Origin', 'https://app.example')
        .set('Access-Control-Request-Headers', 'a, b, c');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-headers']).toBe('a, b, c');
    });
  });

  it('sends no Access-Control-Allow-Headers when Access-Control-Request-Headers is empty', async () => {
    const url = await serve();
    const res = await request(url)
      .options('/abc/abc/xhr')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Headers', '');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('answers * without credentials when the preflight has no Origin', async () => {
    const url = await serve();
    const res = await request(url).options('/abc/abc/xhr_send');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers the configured origin whatever the request says when `origin` is set', async () => {
    const url = await serve({ origin: 'https://fixed.example' });
    const preflight = await request(url).options('/abc/abc/xhr').set('Origin', 'https://other.example');
    expect(preflight.headers['access-control-allow-origin']).toBe('https://fixed.example');
    const info = await request(url).get('/info').set('Origin', 'https://other.example');
    expect(info.headers['access-control-allow-origin']).toBe('https://fixed.example');
    const poll = await request(url).post(`${sessionPath()}/xhr`);
    expect(poll.headers['access-control-allow-origin']).toBe('https://fixed.example');
  });

  it('reflects an origin the origin policy allows, ignoring `origin` for the policy', async () => {
    const url = await serve({ allowedOrigins: ['https://app.example'] });
    const res = await request(url).options('/abc/abc/xhr').set('Origin', 'https://app.example');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const refused = await request(url).options('/abc/abc/xhr').set('Origin', 'https://evil.example');
    expect(refused.status).toBe(403);
    expectNoCors(refused);
  });
});

describe('#iframe', () => {
  it.each([
    '/iframe.html',
    '/iframe-a.html',
    '/iframe-.html',
    '/iframe-0.1.2.html',
    '/iframe-0.1.2abc-dirty.2144.html',
    '/iframe.html?t=1',
    '/iframe-a.html?t=1234',
    '/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123',
  ])('serves %s as a cacheable page that boots the configured client', async (path) => {
    const url = await serve({ sockjsUrl: SOCKJS_URL });
    const res = await request(url).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(res.text).toContain(`<script src="${SOCKJS_URL}"></script>`);
    expect(res.text).toContain('SockJS.bootstrap_iframe();');
    expect(res.headers['cache-control']).toBe(ONE_YEAR);
    expect(Date.parse(res.headers.expires)).toBeGreaterThan(Date.now() + 364 * 24 * 3600 * 1000);
    expect(res.headers.etag).toMatch(/^"[^"]+"$/);
    expect(res.headers['last-modified']).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('keeps the same ETag across requests and answers a matching If-None-Match with a bare 304', async () => {
    const url = await serve({ sockjsUrl: SOCKJS_URL });
    const first = await request(url).get('/iframe.html');
    const second = await request(url).get('/iframe-1.2.3.html');
    expect(second.headers.etag).toBe(first.headers.etag);
    const cached = await request(url).get('/iframe.html').set('If-None-Match', first.headers.etag);
    expect(cached.status).toBe(304);
    expect(cached.text).toBe('');
    expect(cached.headers['content-type']).toBeUndefined();
  });

  it('serves the page again when If-None-Match names another version', async () => {
    const url = await serve();
    const res = await request(url).get('/iframe.html').set('If-None-Match', '"stale"');
    expect(res.status).toBe(200);
    expect(res.text).toContain('SockJS.bootstrap_iframe();');
  });

  it('changes the ETag when sockjsUrl changes', async () => {
    const a = await request(await serve({ sockjsUrl: SOCKJS_URL })).get('/iframe.html');
    const b = await request(await serve({ sockjsUrl: '/static/sockjs.js' })).get('/iframe.html');
    expect(b.text).toContain('<script src="/static/sockjs.js"></script>');
    expect(b.headers.etag).not.toBe(a.headers.etag);
  });

  it.each(['/iframe.htm', '/IFRAME.HTML', '/iframe.HTML', '/iframe-/.html', '/iframe', '/IFRAME', '/iframe.xml'])(
    'refuses %s with 404',
    async (path) => {
      const url = await serve();
      expect((await request(url).get(path)).status).toBe(404);
    },
  );
});

describe('#sessionPaths', () => {
  it.each(['//xhr', '///xhr', '////xhr', '/a./a/xhr', '/a/a./xhr', '/./.', '/././xhr', '/xhr', '/a/xhr', '/a/b/c/xhr'])(
    'refuses GET and POST on %s with 404',
    async (path) => {
      const url = await serve();
      expect((await request(url).get(path)).status).toBe(404);
      expect((await request(url).post(path)).status).toBe(404);
    },
  );

  it.each(['/a/a', '/_/_', '/1/2', '/abcdefgh_i-j%20/abcdefg_i-j%20'])('opens a session at %s', async (ids) => {
    const url = await serve();
    const res = await request(url).post(`${ids}${Date.now()}/xhr`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('o\n');
  });

  it('refuses every route of a transport left out of `transports` with 404', async () => {
    const url = await serve({ transports: ['xhr-polling'] });
    const path = sessionPath();
    expect((await request(url).post(`${path}/xhr_streaming`)).status).toBe(404);
    expect((await request(url).get(`${path}/eventsource`)).status).toBe(404);
    expect((await request(url).get(`${path}/jsonp?c=cb`)).status).toBe(404);
    expect((await request(url).post(`${path}/xhr`)).text).toBe('o\n');
  });
});
