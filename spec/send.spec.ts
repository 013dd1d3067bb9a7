/**
 * The sending routes (`xhr_send`, `jsonp_send`) against bad input: bodies
 * that spell the words the server uses for its own failures, bodies over
 * `maxMessageSize` sent by a client that keeps sending, and bodies that a
 * body parser mounted in front of the handler has already read.
 */
import http from 'node:http';
import express from 'express';
import request from 'supertest';
import { sockjs, type Options, type Session } from '../lib';
import { listen, sessionPath, type Running } from './helpers';

const running: Running[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

interface Polling {
  readonly base: string;
  /** `/s/<server>/<session>` */
  readonly path: string;
  readonly session: Session;
  /** Every message the session emitted as `'data'`. */
  readonly received: string[];
}

/** An app with `middleware` in front of a handler at `/s`, and a session opened by one xhr poll. */
async function openPolling(options: Pick<Options, 'maxMessageSize' | 'middleware'> = {}, ...middleware: express.RequestHandler[]): Promise<Polling> {
  const received: string[] = [];
  const app = express();
  for (const use of middleware) app.use(use);
  const handler = sockjs(options, (session) => session.on('data', (message) => received.push(message)));
  const server = await listen({ '/s': handler }, app);
  running.push(server);
  const path = `/s${sessionPath()}`;
  const opened = new Promise<Session>((resolve) => handler.once('connection', resolve));
  expect((await request(server.base).post(`${path}/xhr`)).text).toBe('o\n');
  return { base: server.base, path, session: await opened, received };
}

/** POSTs `body` with `type`, failing after 5 s rather than waiting for jest's timeout. */
function postBody(url: string, type: string, body: string): Promise<request.Response> {
  return request(url).post('').set('Content-Type', type).timeout(5000).send(body);
}

describe('a body that spells a word the server uses internally', () => {
  it.each([
    ['xhr_send', 'aborted'],
    ['xhr_send', 'too-large'],
    ['jsonp_send', 'aborted'],
    ['jsonp_send', 'too-large'],
  ])('answers a %s body "%s" as the broken JSON it is, and the session stays open', async (route, body) => {
    const { base, path, session } = await openPolling();
    const reply = await postBody(`${base}${path}/${route}`, 'text/plain', body);
    expect([reply.status, reply.text]).toEqual([500, 'Broken JSON encoding.']);
    expect(session.state).toBe('open');
  });

  it('delivers the message "too-large" as a message', async () => {
    const { base, path, received } = await openPolling();
    const reply = await postBody(`${base}${path}/xhr_send`, 'text/plain', '["too-large","aborted"]');
    expect(reply.status).toBe(204);
    expect(received).toEqual(['too-large', 'aborted']);
  });
});

/**
 * What a client that uploads `size` bytes of body to `url` reads back: the
 * status and body of the answer, or the error that came instead. Like many
 * HTTP clients (browsers among them), it sends its whole body, honouring
 * backpressure, before it reads the answer: its socket is paused until then.
 */
function upload(url: string, size: number, declare: boolean): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
    if (declare) headers['Content-Length'] = String(size);
    const req = http.request(url, { method: 'POST', headers, agent: false });
    req.on('socket', (socket) => {
      socket.pause();
      req.once('finish', () => socket.resume());
    });
    let done = false;
    const finish = (result: { status: number; body: string } | { error: string }): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => finish({ status: res.statusCode ?? 0, body }));
      res.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = (): void => {
      while (sent < size && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

describe('a body over maxMessageSize from a client that keeps sending', () => {
  it.each([
    ['declared in Content-Length', true],
    ['chunked', false],
  ])('is refused with a 413 the client can read (%s, 64 MiB)', async (_name, declare) => {
    const { base, path, session } = await openPolling();
    const answer = await upload(`${base}${path}/xhr_send`, 64 * 1024 * 1024, declare);
    expect(answer).toEqual({ status: 413, body: 'Payload too large.' });
    expect(session.state).not.toBe('open');
  });
});

// Parsers run on an open session's sends only when middleware sees every request.
describe("a body a parser in front of the handler has already read (middleware: 'every-request')", () => {
  const EVERY = { middleware: 'every-request' } as const;
  it.each([
    ['express.text()', 'xhr_send', 'text/plain', '["a","b"]', 204, express.text()],
    ["express.json({ type: '*/*' })", 'xhr_send', 'text/plain', '["a","b"]', 204, express.json({ type: '*/*' })],
    ["express.raw({ type: '*/*' })", 'xhr_send', 'text/plain', '["a","b"]', 204, express.raw({ type: '*/*' })],
    ['express.urlencoded()', 'jsonp_send', 'application/x-www-form-urlencoded', `d=${encodeURIComponent('["a","b"]')}`, 200, express.urlencoded()],
    ["express.text({ type: '*/*' })", 'jsonp_send', 'application/x-www-form-urlencoded', `d=${encodeURIComponent('["a","b"]')}`, 200, express.text({ type: '*/*' })],
    ['express.json()', 'jsonp_send', 'application/json', '["a","b"]', 200, express.json()],
  ])('is used as %s left it, over %s', async (_name, route, type, body, status, parser) => {
    const { base, path, received } = await openPolling(EVERY, parser);
    const reply = await postBody(`${base}${path}/${route}`, type, body);
    expect(reply.status).toBe(status);
    expect(received).toEqual(['a', 'b']);
  });

  it('answers 500 at once when what the parser left cannot say what was sent', async () => {
    const { base, path, received } = await openPolling(EVERY, express.urlencoded({ type: '*/*' }));
    const reply = await postBody(`${base}${path}/xhr_send`, 'text/plain', '["a","b"]');
    expect([reply.status, reply.text]).toEqual([500, 'Payload already read by other middleware.']);
    expect(received).toEqual([]);
  });

  it('refuses a parsed body over maxMessageSize with 413', async () => {
    const { base, path, session } = await openPolling({ ...EVERY, maxMessageSize: 64 }, express.text());
    const reply = await postBody(`${base}${path}/xhr_send`, 'text/plain', JSON.stringify(['x'.repeat(100)]));
    expect([reply.status, reply.text]).toEqual([413, 'Payload too large.']);
    expect(session.state).not.toBe('open');
  });
});
