/**
 * The polling transports (xhr-polling and jsonp-polling) and the sending
 * routes they use, against a real server: frames, content types, session
 * life (2010 for a second receiver, 1002 after an abort, heartbeats,
 * disconnectDelay) and the refusals of bad payloads and callbacks.
 */
import type { Server, ServerResponse } from 'node:http';
import request from 'supertest';
import { sockjs, type Options, type SessionHandler, type SockJSHandler } from '../lib';
import { closeOf, echo, exactRequest, listen, nextSession, sessionPath, sleep, type ExactRequest, type Running } from './helpers';
import { pollUntil } from './support/poll';

const NO_CACHE = 'no-store, no-cache, no-transform, must-revalidate, max-age=0';
const JAVASCRIPT = 'application/javascript; charset=UTF-8';
const TEXT = 'text/plain; charset=UTF-8';

interface Endpoint {
  /** `http://127.0.0.1:<port>/sockjs` */
  readonly url: string;
  /** A fresh session URL under {@link url}. */
  readonly session: string;
  readonly handler: SockJSHandler;
  readonly server: Server;
}

let running: Running[] = [];
let pending: Array<() => void> = [];

/** Starts a handler (an echo unless `onSession` is given) at `/sockjs`. */
async function serve(options: Options = {}, onSession?: SessionHandler): Promise<Endpoint> {
  const handler = onSession ? sockjs(options, onSession) : echo(options);
  const server = await listen({ '/sockjs': handler });
  running.push(server);
  const url = `${server.base}/sockjs`;
  return { url, session: url + sessionPath(), handler, server: server.server };
}

afterEach(async () => {
  for (const abort of pending) abort();
  pending = [];
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

/** {@link exactRequest}, its abort run after each test. */
function send(method: string, url: string, options: { headers?: Record<string, string>; chunks?: string[] } = {}): ExactRequest {
  const sent = exactRequest(method, url, options);
  pending.push(sent.abort);
  return sent;
}

/**
 * Resolves once `server`'s next request is attached to its session as a
 * receiver: the receiver's first act is to give the held response its
 * Content-Type, which no event announces (nothing is sent until a frame).
 * The poll of an open session takes the direct path, which the server's
 * `'request'` listeners never see, so the spy wraps the server's `emit`.
 */
function attached(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const emit = server.emit;
    const spy = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'request') {
        server.emit = emit;
        const res = args[1] as ServerResponse;
        pollUntil('the poll attached', () => res.hasHeader('content-type')).then(() => resolve(), reject);
      }
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    };
    server.emit = spy as typeof server.emit;
  });
}

const xhr = (session: string) => request(session).post('/xhr');
const xhrSend = (session: string, body: string) =>
  request(session).post('/xhr_send').set('Content-Type', 'text/plain').send(body);
const jsonp = (session: string, callback = 'cb') => request(session).get(`/jsonp?c=${callback}`);
const jsonpSend = (session: string, form: string) => request(session).post('/jsonp_send').type('form').send(form);

describe('#xhr', () => {
  it('opens a session with an o frame, uncached, with CORS for the origin', async () => {
    const { session } = await serve();
    const res = await xhr(session).set('Origin', 'https://app.example');
    expect(res.status).toBe(200);
    expect(res.text).toBe('o\n');
    expect(res.headers['content-type']).toBe(JAVASCRIPT);
    expect(res.headers['cache-control']).toBe(NO_CACHE);
    expect(res.headers.expires).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('ignores the server id: a message sent via /000/<id> is received via /999/<id>', async () => {
    const { url } = await serve();
    const id = sessionPath().split('/')[2];
    expect((await xhr(`${url}/000/${id}`)).text).toBe('o\n');
    expect((await xhrSend(`${url}/000/${id}`, '["a"]')).status).toBe(204);
    expect((await xhr(`${url}/999/${id}`)).text).toBe('a["a"]\n');
  });

  it('takes ids as sent, without percent-decoding them (a malformed escape is just an id)', async () => {
    const { url } = await serve();
    const session = `${url}/a/%ZZ${Date.now()}`;
    expect((await xhr(session)).text).toBe('o\n');
    expect((await xhrSend(session, '["a"]')).status).toBe(204);
    expect((await xhr(session)).text).toBe('a["a"]\n');
  });

  it('delivers messages sent while no poll waits to the next poll, in order, in one frame', async () => {
    const { session, handler } = await serve({}, () => undefined);
    const opened = nextSession(handler);
    await xhr(session);
    const app = await opened;
    app.send('one');
    await sleep(5);
    app.send('two');
    app.send('three');
    await sleep(5);
    expect((await xhr(session)).text).toBe('a["one","two","three"]\n');
  });

  it('refuses a second poll with c[2010] while the first keeps waiting and later gets the message', async () => {
    const { session, server } = await serve();
    await xhr(session);
    const arrived = attached(server);
    const first = send('POST', `${session}/xhr`);
    await arrived;
    const second = await xhr(session);
    expect(second.status).toBe(200);
    expect(second.text).toBe('c[2010,"Another connection still open"]\n');
    expect((await xhrSend(session, '["late"]')).status).toBe(204);
    expect((await first.reply).text).toBe('a["late"]\n');
  });

  it('answers every poll of a session the application closed with c[3000,"Go away!"]', async () => {
    const { session } = await serve({}, (s) => s.close());
    expect((await xhr(session)).text).toBe('o\n');
    for (let i = 0; i < 3; i++) {
      const res = await xhr(session);
      expect(res.status).toBe(200);
      expect(res.text).toBe('c[3000,"Go away!"]\n');
    }
  });

  it('closes the session with 1002 when the client aborts a waiting poll', async () => {
    const { session, handler, server } = await serve();
    const opened = nextSession(handler);
    await xhr(session);
    const closed = closeOf(await opened);
    const arrived = attached(server);
    const waiting = send('POST', `${session}/xhr`);
    await arrived;
    waiting.abort();
    expect(await closed).toEqual([1002, 'Connection interrupted']);
    expect((await xhr(session)).text).toBe('c[1002,"Connection interrupted"]\n');
  });

  it('answers a waiting poll with a heartbeat after heartbeatDelay', async () => {
    const { session } = await serve({ heartbeatDelay: 100 });
    await xhr(session);
    expect((await xhr(session)).text).toBe('h\n');
  });

  it('times out an unpolled session after disconnectDelay, and the same id then opens a new one', async () => {
    const { session, handler } = await serve({ disconnectDelay: 100 });
    const opened = nextSession(handler);
    await xhr(session);
    const first = await opened;
    expect(handler.sessions.get(first.id)).toBe(first);
    expect(await closeOf(first)).toEqual([1006, 'Session timed out']);
    expect(handler.sessions.has(first.id)).toBe(false);
    const reopened = nextSession(handler);
    expect((await xhr(session)).text).toBe('o\n');
    expect((await reopened).id).not.toBe(first.id);
  });
});

describe('#xhr_send', () => {
  it("never answers 503 for an exception thrown by the application's 'data' listener, without an adapter", async () => {
    const handler = sockjs((session) =>
      session.on('data', () => {
        throw new Error('application bug');
      }),
    );
    const reported: unknown[] = [];
    handler.on('error', (error) => reported.push((error as Error).message));
    const server = await listen({ '/sockjs': handler });
    running.push(server);
    const session = `${server.base}/sockjs${sessionPath()}`;
    await xhr(session);
    const res = await xhrSend(session, '["x"]');
    // The messages were taken; what the application did with them is its own error (see application-errors.spec).
    expect({ status: res.status, reported }).toEqual({ status: 204, reported: ['application bug'] });
    expect((await xhr(session)).text).toBe('c[1011,"Internal error"]\n');
  });

  it('answers 204 with an empty text/plain body, uncached, with CORS for the origin', async () => {
    const { session } = await serve();
    await xhr(session);
    const res = await xhrSend(session, '["x"]').set('Origin', 'https://app.example');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(res.headers['content-type']).toBe(TEXT);
    expect(res.headers['cache-control']).toBe(NO_CACHE);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect((await xhr(session)).text).toBe('a["x"]\n');
  });

  it('batches the messages of several sends into one frame, in order', async () => {
    const { session } = await serve();
    await xhr(session);
    expect((await xhrSend(session, '["a","b"]')).status).toBe(204);
    expect((await xhrSend(session, '["c"]')).status).toBe(204);
    expect((await xhr(session)).text).toBe('a["a","b","c"]\n');
  });

  it('accepts the payload whatever the Content-Type, or none', async () => {
    const { session } = await serve();
    await xhr(session);
    const types = ['text/plain', 'T', 'application/json', 'application/xml', '', 'text/xml; charset=utf-8', undefined];
    for (const type of types) {
      const headers: Record<string, string> = type === undefined ? {} : { 'Content-Type': type };
      const res = await send('POST', `${session}/xhr_send`, { headers, chunks: ['["a"]'] }).reply;
      expect(res.status).toBe(204);
    }
    expect((await xhr(session)).text).toBe(`a[${types.map(() => '"a"').join(',')}]\n`);
  });

  it('accepts an empty array and delivers nothing', async () => {
    const { session } = await serve();
    await xhr(session);
    expect((await xhrSend(session, '[]')).status).toBe(204);
    expect((await xhrSend(session, '["a"]')).status).toBe(204);
    expect((await xhr(session)).text).toBe('a["a"]\n');
  });

  it.each([
    ['an empty body', '', 'Payload expected.'],
    ['broken JSON', '["x', 'Broken JSON encoding.'],
    ['a number in the array', '["a",1]', 'Broken JSON encoding.'],
    ['null in the array', '[null]', 'Broken JSON encoding.'],
    ['an object', '{"a":"b"}', 'Broken JSON encoding.'],
  ])('refuses %s with 500 and delivers nothing', async (_name, body, error) => {
    const { session } = await serve();
    await xhr(session);
    const res = await xhrSend(session, body);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe(TEXT);
    expect(res.text).toBe(error);
    expect((await xhrSend(session, '["after"]')).status).toBe(204);
    expect((await xhr(session)).text).toBe('a["after"]\n');
  });

  it('refuses a send to an unknown session with 404', async () => {
    const { session } = await serve();
    expect((await xhrSend(session, '["x"]')).status).toBe(404);
  });

  it('refuses a body over maxMessageSize with 413 and closes the session with 1009 after what was queued', async () => {
    const big = JSON.stringify(['x'.repeat(100)]);
    const { session } = await serve({ maxMessageSize: 64 });
    await xhr(session);
    expect((await xhrSend(session, '["before"]')).status).toBe(204);
    expect((await xhrSend(session, big)).status).toBe(413);
    expect((await xhr(session)).text).toBe('a["before"]\n');
    expect((await xhr(session)).text).toBe('c[1009,"Message too big"]\n');
    expect((await xhrSend(session, '["after"]')).status).toBe(404);

    const { session: other } = await serve({ maxMessageSize: 64 });
    await xhr(other);
    const chunked = send('POST', `${other}/xhr_send`, { chunks: [big.slice(0, 40), big.slice(40)] });
    expect((await chunked.reply).status).toBe(413);
    expect((await xhr(other)).text).toBe('c[1009,"Message too big"]\n');
  });
});

/** Splits a JSONP reply into its callback and the frame it carries. */
function unwrapJsonp(text: string): { callback: string; frame: string } {
  const match = /^\/\*\*\/([\w.]+)\((".*")\);\r\n$/s.exec(text);
  if (!match) throw new Error(`not a JSONP frame: ${JSON.stringify(text)}`);
  return { callback: match[1], frame: JSON.parse(match[2]) as string };
}

describe('#jsonp', () => {
  it('opens a session with the o frame wrapped in the callback, uncached', async () => {
    const { session } = await serve();
    const res = await jsonp(session, '%63allback');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(JAVASCRIPT);
    expect(res.headers['cache-control']).toBe(NO_CACHE);
    expect(res.headers.expires).toBeUndefined();
    expect(res.text).toBe('/**/callback("o");\r\n');
  });

  it('accepts a dotted callback path', async () => {
    const { session } = await serve();
    expect((await jsonp(session, 'a.b_c.D9')).text).toBe('/**/a.b_c.D9("o");\r\n');
  });

  it('refuses a poll without a callback with 500', async () => {
    const { session } = await serve();
    for (const query of ['', '?c=', '?callback=cb']) {
      const res = await request(session).get(`/jsonp${query}`);
      expect(res.status).toBe(500);
      expect(res.text).toBe('"callback" parameter required');
    }
  });

  it.each([
    ['an encoded space', '%20'],
    ['a star', '*'],
    ['a parenthesis', 'abc('],
    ['an encoded parenthesis', 'abc%28'],
    ['a hyphen', 'a-b'],
    ['a semicolon', 'a;b'],
    ['markup', '%3Cscript%3E'],
    ['257 characters', 'x'.repeat(257)],
  ])('refuses a callback with %s with 500', async (_name, callback) => {
    const { session } = await serve();
    const res = await jsonp(session, callback);
    expect(res.status).toBe(500);
    expect(res.text).toBe('invalid "callback" parameter');
  });

  it('answers every poll of a session the application closed with the 3000 close frame', async () => {
    const { session } = await serve({}, (s) => s.close());
    expect((await jsonp(session, 'x')).text).toBe('/**/x("o");\r\n');
    expect((await jsonp(session, 'x')).text).toBe('/**/x("c[3000,\\"Go away!\\"]");\r\n');
    expect((await jsonp(session, 'x')).text).toBe('/**/x("c[3000,\\"Go away!\\"]");\r\n');
  });

  it('escapes < and > so a message cannot end the script, and delivers it unchanged', async () => {
    const { session } = await serve();
    await jsonp(session);
    const message = '</script><script>alert(1)</script>&<!--';
    expect((await jsonpSend(session, `d=${encodeURIComponent(JSON.stringify([message]))}`)).text).toBe('ok');
    const res = await jsonp(session);
    expect(res.text).not.toMatch(/[<>]/);
    expect(res.text).toContain('\\u003c/script\\u003e');
    const { callback, frame } = unwrapJsonp(res.text);
    expect(callback).toBe('cb');
    expect(frame[0]).toBe('a');
    expect(JSON.parse(frame.slice(1))).toEqual([message]);
  });
});

describe('#jsonp_send', () => {
  it('takes the d form field and answers 200 ok as text/plain, uncached', async () => {
    const { session } = await serve();
    await jsonp(session, 'x');
    const res = await jsonpSend(session, 'd=%5B%22x%22%5D');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
    expect(res.headers['content-type']).toBe(TEXT);
    expect(res.headers['cache-control']).toBe(NO_CACHE);
    expect((await jsonp(session, 'x')).text).toBe('/**/x("a[\\"x\\"]");\r\n');
  });

  it('takes a text/plain body as the payload, as it is', async () => {
    const { session } = await serve();
    await jsonp(session, 'x');
    expect((await jsonpSend(session, 'd=%5B%22abc%22%5D')).text).toBe('ok');
    const raw = await request(session).post('/jsonp_send').set('Content-Type', 'text/plain').send('["%61bc"]');
    expect(raw.status).toBe(200);
    expect(raw.text).toBe('ok');
    expect((await jsonp(session, 'x')).text).toBe('/**/x("a[\\"abc\\",\\"%61bc\\"]");\r\n');
  });

  it.each(['', 'd=', 'p=p'])('refuses the form %j with 500 Payload expected.', async (form) => {
    const { session } = await serve();
    await jsonp(session);
    const res = await jsonpSend(session, form);
    expect(res.status).toBe(500);
    expect(res.text).toBe('Payload expected.');
  });

  it('refuses broken JSON in d with 500 and the session keeps working', async () => {
    const { session } = await serve();
    await jsonp(session, 'x');
    const res = await jsonpSend(session, 'd=%5B%22x');
    expect(res.status).toBe(500);
    expect(res.text).toBe('Broken JSON encoding.');
    expect((await jsonpSend(session, 'd=%5B%5D')).text).toBe('ok');
    expect((await jsonpSend(session, 'd=%5B%22b%22%5D')).text).toBe('ok');
    expect((await jsonp(session, 'x')).text).toBe('/**/x("a[\\"b\\"]");\r\n');
  });

  it('refuses a send to an unknown session with 404', async () => {
    const { session } = await serve();
    expect((await jsonpSend(session, 'd=%5B%22x%22%5D')).status).toBe(404);
  });
});
