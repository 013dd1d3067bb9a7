/**
 * The streaming transports (xhr-streaming, eventsource, htmlfile) against a
 * real server: preludes, framing, response limits, markup safety; plus the
 * JSESSIONID option, HTTP/1.0 streaming and the JSON escaping of frames.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import request from 'supertest';
import { sockjs, type Options, type SessionHandler, type SockJSHandler } from '../lib';
import { echo, listen, nextSession, sessionPath, stream, type Running, type Stream } from './helpers';

const NO_CACHE = 'no-store, no-cache, no-transform, must-revalidate, max-age=0';
const PRELUDE = 'h'.repeat(2048) + '\n';

interface Endpoint {
  readonly url: string;
  /** A fresh session URL under {@link url}. */
  readonly session: string;
  readonly port: number;
  readonly handler: SockJSHandler;
}

let running: Running[] = [];
let streams: Stream[] = [];
let sockets: net.Socket[] = [];

/** Starts a handler (an echo unless `onSession` is given) at `/sockjs`. */
async function serve(options: Options = {}, onSession?: SessionHandler): Promise<Endpoint> {
  const handler = onSession ? sockjs(options, onSession) : echo(options);
  const server = await listen({ '/sockjs': handler });
  running.push(server);
  const url = `${server.base}/sockjs`;
  return { url, session: url + sessionPath(), port: server.port, handler };
}

/** Opens a streaming response that afterEach aborts. */
async function open(url: string, method = 'POST', headers: Record<string, string> = {}): Promise<Stream> {
  const opened = await stream(url, { method, headers });
  streams.push(opened);
  return opened;
}

afterEach(async () => {
  for (const opened of streams) opened.abort();
  for (const socket of sockets) socket.destroy();
  streams = [];
  sockets = [];
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

async function xhrSend(session: string, body: string): Promise<void> {
  const res = await request(session).post('/xhr_send').set('Content-Type', 'text/plain').send(body);
  expect(res.status).toBe(204);
}

/** Reads one whole piece of a stream: until its text ends with `end`. */
const read = (s: Stream, end: string): Promise<string> => s.until((text) => text.endsWith(end));

/** Parses an htmlfile script block back into the frame it carries. */
function unwrapScript(block: string): string {
  const match = /^<script>\np\((".*")\);\n<\/script>\r\n$/s.exec(block);
  if (!match) throw new Error(`not an htmlfile frame: ${JSON.stringify(block)}`);
  return JSON.parse(match[1]) as string;
}

describe('#xhr_streaming', () => {
  it('streams the 2 KiB prelude, the o frame, then one frame per send, uncached with CORS', async () => {
    const { session } = await serve();
    const s = await open(`${session}/xhr_streaming`, 'POST', { Origin: 'https://app.example' });
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toBe('application/javascript; charset=UTF-8');
    expect(s.res.headers['cache-control']).toBe(NO_CACHE);
    expect(s.res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(s.res.headers['access-control-allow-credentials']).toBe('true');
    expect(await s.next()).toBe(PRELUDE);
    expect(await s.next()).toBe('o\n');
    await xhrSend(session, '["x"]');
    expect(await s.next()).toBe('a["x"]\n');
    await xhrSend(session, '["y","z"]');
    expect(await s.next()).toBe('a["y","z"]\n');
  });

  it('ends the response past responseLimit, and the next request resumes the session', async () => {
    const { session } = await serve({ responseLimit: 4096 });
    const first = await open(`${session}/xhr_streaming`);
    expect(await first.next()).toBe(PRELUDE);
    expect(await first.next()).toBe('o\n');
    const message = 'x'.repeat(128);
    for (let i = 0; i < 31; i++) {
      await xhrSend(session, JSON.stringify([message]));
      expect(await read(first, '\n')).toBe(`a["${message}"]\n`);
    }
    expect(await first.next()).toBeNull();
    await xhrSend(session, '["m1"]');
    await xhrSend(session, '["m2"]');
    const second = await open(`${session}/xhr_streaming`);
    expect(await second.next()).toBe(PRELUDE);
    expect(await second.next()).toBe('a["m1","m2"]\n');
  });

  it('refuses a second streaming request with the 2010 frame and ends it, the first stays open', async () => {
    const { session } = await serve();
    const first = await open(`${session}/xhr_streaming`);
    await first.until((text) => text.endsWith('o\n'));
    const second = await open(`${session}/xhr_streaming`);
    expect(await second.until((text) => text.endsWith(']\n'))).toBe(PRELUDE + 'c[2010,"Another connection still open"]\n');
    expect(await second.next()).toBeNull();
    await xhrSend(session, '["still"]');
    expect(await first.next()).toBe('a["still"]\n');
  });

  it('sends the close frame of a closed session to every request and ends each', async () => {
    const { session } = await serve({}, (s) => s.close());
    const first = await open(`${session}/xhr_streaming`);
    expect(await first.until((text) => text.endsWith(']\n'))).toBe(PRELUDE + 'o\nc[3000,"Go away!"]\n');
    expect(await first.next()).toBeNull();
    const second = await open(`${session}/xhr_streaming`);
    expect(await second.until((text) => text.endsWith(']\n'))).toBe(PRELUDE + 'c[3000,"Go away!"]\n');
    expect(await second.next()).toBeNull();
  });

  it('closes the session with 1002 when the client aborts the stream', async () => {
    const { session, handler } = await serve();
    const opened = nextSession(handler);
    const first = await open(`${session}/xhr_streaming`);
    await first.until((text) => text.endsWith('o\n'));
    const app = await opened;
    const reason = new Promise<[number, string]>((resolve) => app.once('close', (code, why) => resolve([code, why])));
    first.abort();
    expect(await reason).toEqual([1002, 'Connection interrupted']);
    const next = await open(`${session}/xhr_streaming`);
    expect(await next.until((text) => text.endsWith(']\n'))).toBe(PRELUDE + 'c[1002,"Connection interrupted"]\n');
  });
});

describe('#eventsource', () => {
  it('streams the CRLF prelude and one data event per frame, uncached', async () => {
    const { session } = await serve();
    const s = await open(`${session}/eventsource`, 'GET');
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toBe('text/event-stream');
    expect(s.res.headers['cache-control']).toBe(NO_CACHE);
    expect(s.res.headers.expires).toBeUndefined();
    expect(await s.next()).toBe('\r\n');
    expect(await s.next()).toBe('data: o\r\n\r\n');
    await xhrSend(session, '["x"]');
    expect(await s.next()).toBe('data: a["x"]\r\n\r\n');
  });

  it('keeps each event on one data line when messages hold line breaks and control characters', async () => {
    const { session } = await serve();
    const s = await open(`${session}/eventsource`, 'GET');
    await s.until((text) => text.endsWith('data: o\r\n\r\n'));
    await xhrSend(session, '["  \\u0000\\n\\r \\u2028 \\u0085 end"]');
    const event = await read(s, '\r\n\r\n');
    expect(event).toBe('data: a["  \\u0000\\n\\r \\u2028 \u0085 end"]\r\n\r\n');
    expect(event.slice(0, -4).split(/\r\n|\r|\n/)).toHaveLength(1);
    expect(JSON.parse(event.slice('data: a'.length, -4))).toEqual(['  \u0000\n\r \u2028 \u0085 end']);
  });

  it('answers a cross-origin GET with CORS headers, as a cross-origin EventSource needs', async () => {
    const { session } = await serve();
    const s = await open(`${session}/eventsource`, 'GET', { Origin: 'https://app.example' });
    expect(s.res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(s.res.headers['access-control-allow-credentials']).toBe('true');
  });

  it('writes % as %25, since sockjs-client decodeURIs each event', async () => {
    const { session } = await serve();
    const s = await open(`${session}/eventsource`, 'GET');
    await s.until((text) => text.endsWith('data: o\r\n\r\n'));
    await xhrSend(session, '["100% %41 %25 %"]');
    const event = await read(s, '\r\n\r\n');
    expect(event).toBe('data: a["100%25 %2541 %2525 %25"]\r\n\r\n');
    expect(JSON.parse(decodeURI(event.slice('data: a'.length, -4)))).toEqual(['100% %41 %25 %']);
  });

  it('ends the response past responseLimit, and the next request resumes the session', async () => {
    const { session } = await serve({ responseLimit: 4096 });
    const first = await open(`${session}/eventsource`, 'GET');
    await first.until((text) => text.endsWith('data: o\r\n\r\n'));
    const big = 'x'.repeat(4096);
    await xhrSend(session, JSON.stringify([big]));
    expect(await read(first, '\r\n\r\n')).toBe(`data: a["${big}"]\r\n\r\n`);
    expect(await first.next()).toBeNull();
    await xhrSend(session, '["after"]');
    const second = await open(`${session}/eventsource`, 'GET');
    expect(await second.until((text) => text.endsWith('\r\n\r\n'))).toBe('\r\ndata: a["after"]\r\n\r\n');
  });
});

describe('#htmlfile', () => {
  it('streams a padded page bound to the callback, then one script block per frame', async () => {
    const { session } = await serve();
    const s = await open(`${session}/htmlfile?c=%63allback`, 'GET');
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(s.res.headers['cache-control']).toBe(NO_CACHE);
    const head = (await s.next()) ?? '';
    expect(head.length).toBeGreaterThan(1024);
    expect(head.startsWith('<!doctype html>\n')).toBe(true);
    expect(head).toContain('var c = parent.callback;');
    expect(await s.next()).toBe('<script>\np("o");\n</script>\r\n');
    await xhrSend(session, '["x"]');
    expect(await s.next()).toBe('<script>\np("a[\\"x\\"]");\n</script>\r\n');
  });

  it('never lets a message close the script block, and delivers it unchanged', async () => {
    const { session } = await serve();
    const s = await open(`${session}/htmlfile?c=cb`, 'GET');
    await s.until((text) => text.includes('p("o")'));
    const message = '</script><script>alert(1)</script><!--';
    await xhrSend(session, JSON.stringify([message]));
    const block = await read(s, '</script>\r\n');
    expect(block).not.toContain(message);
    expect(block.match(/<\/script>/g)).toHaveLength(1);
    expect(block).toContain('\\u003c/script\\u003e');
    const frame = unwrapScript(block);
    expect(JSON.parse(frame.slice(1))).toEqual([message]);
  });

  it.each([
    ['', '"callback" parameter required'],
    ['?c=', '"callback" parameter required'],
    ['?c=%20', 'invalid "callback" parameter'],
    ['?c=*', 'invalid "callback" parameter'],
    ['?c=abc(', 'invalid "callback" parameter'],
    ['?c=abc%28', 'invalid "callback" parameter'],
  ])('refuses the query %j with 500', async (query, error) => {
    const { url } = await serve();
    const res = await request(url).get(`/a/a/htmlfile${query}`);
    expect(res.status).toBe(500);
    expect(res.text).toBe(error);
  });

  it('ends the response past responseLimit, and the next request resumes the session', async () => {
    const { session } = await serve({ responseLimit: 4096 });
    const first = await open(`${session}/htmlfile?c=cb`, 'GET');
    await first.until((text) => text.endsWith('p("o");\n</script>\r\n'));
    const big = 'x'.repeat(4096);
    await xhrSend(session, JSON.stringify([big]));
    expect(await read(first, '</script>\r\n')).toBe(`<script>\np("a[\\"${big}\\"]");\n</script>\r\n`);
    expect(await first.next()).toBeNull();
    await xhrSend(session, '["after"]');
    const second = await open(`${session}/htmlfile?c=cb`, 'GET');
    const text = await second.until((t) => t.endsWith('</script>\r\n') && t.includes('p('));
    expect(text.endsWith('<script>\np("a[\\"after\\"]");\n</script>\r\n')).toBe(true);
    expect(text).not.toContain('p("o")');
  });
});

/** Opens `transport` on a fresh session and returns the response headers. */
type Probe = (session: string, headers: Record<string, string>) => Promise<IncomingHttpHeaders>;

const streamed =
  (suffix: string, method: string): Probe =>
  async (session, headers) =>
    (await open(session + suffix, method, headers)).res.headers;

const PROBES: Array<[string, Probe]> = [
  ['xhr', async (session, headers) => (await request(session).post('/xhr').set(headers)).headers],
  ['xhr_streaming', streamed('/xhr_streaming', 'POST')],
  ['eventsource', streamed('/eventsource', 'GET')],
  ['htmlfile', streamed('/htmlfile?c=cb', 'GET')],
  ['jsonp', async (session, headers) => (await request(session).get('/jsonp?c=cb').set(headers)).headers],
  [
    'xhr_send',
    async (session, headers) => {
      await request(session).post('/xhr');
      return (await request(session).post('/xhr_send').set(headers).send('["x"]')).headers;
    },
  ],
  [
    'jsonp_send',
    async (session, headers) => {
      await request(session).get('/jsonp?c=cb');
      return (await request(session).post('/jsonp_send').set(headers).type('form').send('d=%5B%5D')).headers;
    },
  ],
];

describe('#jsessionid', () => {
  it.each(PROBES)('sets JSESSIONID=dummy on %s when the option is on', async (_name, probe) => {
    const { session } = await serve({ jsessionid: true });
    expect((await probe(session, {}))['set-cookie']).toEqual(['JSESSIONID=dummy; Path=/']);
  });

  it.each(PROBES)('reflects the JSESSIONID the client sent on %s', async (_name, probe) => {
    const { session } = await serve({ jsessionid: true });
    const headers = await probe(session, { Cookie: 'other=1; JSESSIONID=abcdef' });
    expect(headers['set-cookie']).toEqual(['JSESSIONID=abcdef; Path=/']);
  });

  it.each(PROBES)('sets no cookie on %s when the option is off', async (_name, probe) => {
    const { session } = await serve();
    expect((await probe(session, { Cookie: 'JSESSIONID=abcdef' }))['set-cookie']).toBeUndefined();
  });

  it('never sets a cookie on the greeting, /info or the iframe page', async () => {
    const { url } = await serve({ jsessionid: true });
    for (const path of ['', '/', '/info', '/iframe.html']) {
      const res = await request(url).get(path).set('Cookie', 'JSESSIONID=abcdef');
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('calls a jsessionid function with the request and response of each session route', async () => {
    const calls: Array<[http.IncomingMessage, http.ServerResponse]> = [];
    const { session, url } = await serve({
      jsessionid: (req, res) => {
        calls.push([req, res]);
        res.setHeader('Set-Cookie', 'SERVERID=b2; Path=/');
      },
    });
    await request(url).get('/info');
    const res = await request(session).post('/xhr');
    expect(res.headers['set-cookie']).toEqual(['SERVERID=b2; Path=/']);
    expect(calls).toHaveLength(1);
    const [req, reply] = calls[0];
    expect(req).toBeInstanceOf(http.IncomingMessage);
    expect(reply).toBeInstanceOf(http.ServerResponse);
    expect(req.method).toBe('POST');
    expect(req.url).toMatch(/\/xhr$/);
  });
});

/** Sends raw request text and collects everything until the server closes the socket. */
function exchange(port: number, text: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    sockets.push(socket);
    let data = '';
    const timer = setTimeout(() => reject(new Error(`socket still open; got ${JSON.stringify(data)}`)), 3000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      clearTimeout(timer);
      const split = data.indexOf('\r\n\r\n');
      resolve({ head: data.slice(0, split), body: data.slice(split + 4) });
    });
  });
}

describe('#http10', () => {
  it('streams to an HTTP/1.0 client without chunking or length, then closes the socket', async () => {
    const { port } = await serve({}, (s) => s.close());
    const path = `/sockjs${sessionPath()}/xhr_streaming`;
    const { head, body } = await exchange(port, `POST ${path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`);
    expect(head).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(head).not.toMatch(/^transfer-encoding:/im);
    expect(head).not.toMatch(/^content-length:/im);
    expect(body).toBe(PRELUDE + 'o\nc[3000,"Go away!"]\n');
  });

  it('answers the greeting to an HTTP/1.0 client unchunked, ended by its length or by closing', async () => {
    const { port } = await serve();
    const { head, body } = await exchange(port, 'GET /sockjs HTTP/1.0\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(head).not.toMatch(/^transfer-encoding:/im);
    expect(head).toMatch(/^(content-length: 19|connection: close)$/im);
    expect(body).toBe('Welcome to SockJS!\n');
  });
});

/** `\uXXXX`, lowercase, for every UTF-16 unit of `text`. */
const escaped = (text: string): string =>
  [...Array(text.length).keys()].map((i) => '\\u' + text.charCodeAt(i).toString(16).padStart(4, '0')).join('');

const range = (from: number, to: number): string =>
  String.fromCharCode(...Array.from({ length: to - from + 1 }, (_, i) => from + i));

describe('#jsonEscaping', () => {
  /** Echoes `message` over xhr-streaming and returns the raw frame line. */
  async function roundTrip(message: string): Promise<string> {
    const { session } = await serve();
    const s = await open(`${session}/xhr_streaming`);
    await s.until((text) => text.endsWith('o\n'));
    await xhrSend(session, JSON.stringify([message]));
    return read(s, '\n');
  }

  it('writes the characters browsers mangle, and a lone surrogate, as lowercase \\u escapes', async () => {
    const message =
      range(0x200c, 0x200f) + range(0x2028, 0x202f) + range(0x2060, 0x206f) + range(0xfff0, 0xffff) + '\ud800';
    const frame = await roundTrip(message);
    expect(frame).toBe(`a["${escaped(message)}"]\n`);
    expect(JSON.parse(frame.slice(1))).toEqual([message]);
  });

  it('never writes a C0 control character raw (JSON escapes, short or \\u form)', async () => {
    const message = range(0x00, 0x1f);
    const frame = await roundTrip(message);
    expect(JSON.parse(frame.slice(1))).toEqual([message]);
    expect(frame.slice(0, -1)).not.toMatch(/[\u0000-\u001f]/);
    expect(frame).toContain('\\u0000');
  });
});
