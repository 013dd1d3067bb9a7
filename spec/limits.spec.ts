/**
 * The limits that keep one session's memory bounded: `maxMessageSize` on
 * incoming bodies, `maxQueuedBytes` on what waits for the client (queue and
 * transport buffer) and on the unread `recv()` inbox, and backpressure
 * (`send()` returning `false` above `highWaterMark`, `'drain'`, `bufferedAmount`).
 */
import http, { type IncomingMessage } from 'node:http';
import request from 'supertest';
import { sockjs, type Options, type Session } from '../lib';
import { mountAtS, sessionPath, terminateClients, wsConnect, type Endpoint, type Running, type WsClient } from './helpers';

const running: Running[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  terminateClients();
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** A handler at `/s` whose sessions the test drives itself (`onSession` may add listeners). */
async function serve(options: Options, onSession: (session: Session) => void = () => undefined): Promise<Endpoint> {
  const endpoint = await mountAtS(sockjs(options, onSession));
  running.push(endpoint.server);
  return endpoint;
}

/** Resolves with the session's close code and reason (and counts how often it closed). */
function closeOf(session: Session): Promise<{ code: number; reason: string; count: () => number }> {
  let count = 0;
  return new Promise((resolve) =>
    session.on('close', (code, reason) => {
      count++;
      resolve({ code, reason, count: () => count });
    }),
  );
}

async function openWebsocket(endpoint: Endpoint): Promise<{ client: WsClient; session: Session }> {
  const session = endpoint.nextSession();
  const client = await wsConnect(`${endpoint.url.replace('http', 'ws')}${sessionPath()}/websocket`);
  expect(await client.next()).toBe('o');
  return { client, session: await session };
}

/** Opens an xhr-polling session: its first poll returns `o` and nothing is attached afterwards. */
async function openPolling(endpoint: Endpoint): Promise<{ path: string; session: Session }> {
  const path = `/s${sessionPath()}`;
  const session = endpoint.nextSession();
  const res = await request(endpoint.server.base).post(`${path}/xhr`);
  expect(res.text).toBe('o\n');
  return { path, session: await session };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Sends `chunk` once a turn until the session is no longer open (the
 * kernel's socket buffers take some megabytes first; past them only the limit
 * stops the sender). Resolves with the most `bufferedAmount` ever read.
 * `send` sends one chunk (`session.send` unless given).
 */
async function sendUntilClosed(session: Session, chunk: string, send = (text: string) => void session.send(text)): Promise<number> {
  let most = 0;
  let sent = 0;
  while (session.state === 'open') {
    send(chunk);
    most = Math.max(most, session.bufferedAmount);
    sent += chunk.length;
    if (sent > 512 * 1024 * 1024) throw new Error('half a gigabyte sent and the session is still open');
    await tick();
  }
  return most;
}

describe('maxMessageSize', () => {
  it.each([
    ['form-encoded', 'form', (body: string) => `d=${encodeURIComponent(body)}`],
    ['raw', 'text', (body: string) => body],
  ])('refuses a %s jsonp_send body over the limit with 413 and closes the session with 1009, which the next poll reports', async (_name, type, encode) => {
    const endpoint = await serve({ maxMessageSize: 64 });
    const { path, session } = await openPolling(endpoint);
    const closed = closeOf(session);
    const reply = await request(endpoint.server.base)
      .post(`${path}/jsonp_send`)
      .type(type)
      .send(encode(JSON.stringify(['x'.repeat(100)])));
    expect([reply.status, reply.text]).toEqual([413, 'Payload too large.']);
    expect(await closed).toMatchObject({ code: 1009, reason: 'Message too big' });
    expect((await request(endpoint.server.base).post(`${path}/xhr`)).text).toBe('c[1009,"Message too big"]\n');
  });

  it.each([
    ['chunked, without a Content-Length', {}],
    ['with a Content-Length past the limit', { 'Content-Length': String(10 * 1024 * 1024) }],
  ])('answers 413 to an upload %s before the client finishes sending it (nothing buffered past the limit)', async (_name, headers: Record<string, string>) => {
    const endpoint = await serve({ maxMessageSize: 1024 });
    const { path } = await openPolling(endpoint);
    const reply = new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.request(`${endpoint.server.base}${path}/xhr_send`, { method: 'POST', headers, agent: false });
      cleanups.push(() => req.destroy());
      req.on('response', resolve);
      req.on('error', reject);
      // 4 KiB sent of a body that never ends: only a server that stops reading can answer.
      req.write('["' + 'x'.repeat(4096));
    });
    expect((await reply).statusCode).toBe(413);
  });

  it('closes a websocket session with 1009 for a message over the limit', async () => {
    const endpoint = await serve({ maxMessageSize: 64 });
    const { client, session } = await openWebsocket(endpoint);
    const closed = closeOf(session);
    client.ws.send(JSON.stringify(['x'.repeat(100)]));
    expect(await closed).toMatchObject({ code: 1009, reason: 'Message too big' });
    expect((await client.closed).code).toBe(1009);
  });
});

describe('maxQueuedBytes', () => {
  it('closes a session whose queue would pass the limit while no request is attached, with 1008', async () => {
    const endpoint = await serve({ maxQueuedBytes: 1000, highWaterMark: 1000 });
    const { path, session } = await openPolling(endpoint);
    const closed = closeOf(session);
    expect(session.send('a'.repeat(400))).toBe(true);
    expect(session.send('b'.repeat(400))).toBe(true);
    expect(session.bufferedAmount).toBe(800);
    expect(session.send('c'.repeat(400))).toBe(false);
    expect(await closed).toMatchObject({ code: 1008, reason: 'Queue limit exceeded' });
    expect(session.bufferedAmount).toBe(0);
    expect(session.send('d')).toBe(false);
    const poll = await request(endpoint.server.base).post(`${path}/xhr`);
    expect(poll.text).toBe('c[1008,"Queue limit exceeded"]\n');
  });

  it('holds broadcasts to the same limit', async () => {
    const limit = 64 * 1024;
    const endpoint = await serve({ maxQueuedBytes: limit, highWaterMark: 1024, websocketPingInterval: 0 });
    const { client, session } = await openWebsocket(endpoint);
    const closed = closeOf(session);
    expect(endpoint.handler.broadcast('b'.repeat(50))).toBe(1);
    expect(await client.next()).toBe(`a${JSON.stringify(['b'.repeat(50)])}`);
    client.ws.pause();
    const most = await sendUntilClosed(session, 'é'.repeat(4096), (text) => void endpoint.handler.broadcast(text));
    expect(await closed).toMatchObject({ code: 1008, reason: 'Queue limit exceeded' });
    expect(most).toBeLessThanOrEqual(limit);
  });

  it('counts UTF-8 bytes, not characters', async () => {
    const endpoint = await serve({ maxQueuedBytes: 100, highWaterMark: 100 });
    const { session } = await openPolling(endpoint);
    const closed = closeOf(session);
    expect(session.send('é'.repeat(40))).toBe(true); // 80 bytes
    expect(session.send('é'.repeat(11))).toBe(false); // 102 bytes
    expect((await closed).code).toBe(1008);
  });

  it('bounds the memory of a websocket client that stops reading: the session closes at the limit', async () => {
    const limit = 256 * 1024;
    const endpoint = await serve({ maxQueuedBytes: limit, highWaterMark: 16 * 1024, websocketPingInterval: 0 });
    const { client, session } = await openWebsocket(endpoint);
    const closed = closeOf(session);
    client.ws.pause();
    const most = await sendUntilClosed(session, 'x'.repeat(16 * 1024));
    expect(await closed).toMatchObject({ code: 1008, reason: 'Queue limit exceeded' });
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(limit);
    expect(session.bufferedAmount).toBe(0);
    client.ws.resume();
    await client.closed;
  });

  it('bounds the memory of an xhr-streaming client that stops reading', async () => {
    const limit = 256 * 1024;
    const endpoint = await serve({ maxQueuedBytes: limit, highWaterMark: 16 * 1024, responseLimit: 2 ** 30 });
    const opened = endpoint.nextSession();
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.request(`${endpoint.url}${sessionPath()}/xhr_streaming`, { method: 'POST', agent: false });
      cleanups.push(() => req.destroy());
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const session = await opened;
    response.pause();
    const closed = closeOf(session);
    const most = await sendUntilClosed(session, 'y'.repeat(16 * 1024));
    expect(await closed).toMatchObject({ code: 1008, reason: 'Queue limit exceeded' });
    expect(most).toBeLessThanOrEqual(limit);
  });
});

describe('backpressure', () => {
  it('returns false from send() above highWaterMark and emits drain once the frame is written', async () => {
    const endpoint = await serve({ highWaterMark: 1000 });
    const { client, session } = await openWebsocket(endpoint);
    const drained = new Promise<void>((resolve) => session.once('drain', resolve));
    expect(session.send('a'.repeat(600))).toBe(true);
    expect(session.send('b'.repeat(600))).toBe(false);
    expect(session.bufferedAmount).toBe(1200);
    await drained;
    expect(session.bufferedAmount).toBeLessThanOrEqual(1000);
    expect(await client.next()).toBe(`a${JSON.stringify(['a'.repeat(600), 'b'.repeat(600)])}`);
  });

  it('waits for the next poll before draining a polling session', async () => {
    const endpoint = await serve({ highWaterMark: 100 });
    const { path, session } = await openPolling(endpoint);
    let drains = 0;
    session.on('drain', () => drains++);
    expect(session.send('m'.repeat(200))).toBe(false);
    await tick();
    expect([drains, session.bufferedAmount]).toEqual([0, 200]);
    const poll = await request(endpoint.server.base).post(`${path}/xhr`);
    expect(poll.text).toBe(`a${JSON.stringify(['m'.repeat(200)])}\n`);
    expect([drains, session.bufferedAmount]).toEqual([1, 0]);
  });

  it("counts the websocket's unsent bytes in bufferedAmount and drains when a paused client reads again", async () => {
    const highWaterMark = 16 * 1024;
    const endpoint = await serve({ highWaterMark, maxQueuedBytes: 2 ** 31, websocketPingInterval: 0 });
    const { client, session } = await openWebsocket(endpoint);
    client.ws.pause();
    const chunk = 'z'.repeat(64 * 1024);
    let sent = 0;
    // Fill the kernel's buffers until bytes stay in ws after the session flushed its queue.
    for (;;) {
      session.send(chunk);
      sent++;
      await tick();
      if (session.bufferedAmount > highWaterMark) break;
      if (sent > 8192) throw new Error('512 MiB sent and nothing stayed buffered');
    }
    expect(session.send(chunk)).toBe(false);
    sent++;
    const drained = new Promise<void>((resolve) => session.once('drain', resolve));
    let received = 0;
    const all = new Promise<void>((resolve) => {
      client.ws.on('message', (data) => {
        received += (data.toString().match(/z{65536}/g) ?? []).length;
        if (received === sent) resolve();
      });
    });
    client.ws.resume();
    await drained;
    expect(session.bufferedAmount).toBeLessThanOrEqual(highWaterMark);
    await all;
    expect(session.state).toBe('open');
  });
});

describe('the recv() inbox', () => {
  it('closes the session with 1008 once more than maxQueuedBytes wait unread; what is buffered stays readable', async () => {
    const endpoint = await serve({ maxQueuedBytes: 1000, highWaterMark: 1000 });
    const { client, session } = await openWebsocket(endpoint);
    const first = session.recv();
    const closed = closeOf(session);
    client.ws.send(JSON.stringify(['0']));
    expect(await first).toBe('0');
    for (let i = 1; i <= 5; i++) client.ws.send(JSON.stringify([String(i).repeat(300)]));
    expect(await closed).toMatchObject({ code: 1008, reason: 'Inbox limit exceeded' });
    expect(await client.next()).toBe('c[1008,"Inbox limit exceeded"]');
    for (let i = 1; i <= 4; i++) expect(await session.recv()).toBe(String(i).repeat(300));
    await expect(session.recv()).rejects.toMatchObject({ code: 'SOCKJS_ERR_SESSION_NOT_OPEN' });
  });

  it('bounds what is kept before the application reads: past maxQueuedBytes the session closes with 1008', async () => {
    const endpoint = await serve({ maxQueuedBytes: 1000, highWaterMark: 1000 });
    const { client, session } = await openWebsocket(endpoint);
    const closed = closeOf(session);
    for (let i = 1; i <= 5; i++) client.ws.send(JSON.stringify([String(i).repeat(300)]));
    expect(await closed).toMatchObject({ code: 1008, reason: 'Inbox limit exceeded' });
    for (let i = 1; i <= 4; i++) expect(await session.recv()).toBe(String(i).repeat(300));
    await expect(session.recv()).rejects.toMatchObject({ code: 'SOCKJS_ERR_SESSION_NOT_OPEN' });
  });

  it("holds nothing for sessions that read with a 'data' listener and never call recv()", async () => {
    const endpoint = await serve({ maxQueuedBytes: 1000, highWaterMark: 1000 });
    const { client, session } = await openWebsocket(endpoint);
    const seen: string[] = [];
    const all = new Promise<void>((resolve) =>
      session.on('data', (message) => {
        seen.push(message);
        if (seen.length === 5) resolve();
      }),
    );
    for (let i = 1; i <= 5; i++) client.ws.send(JSON.stringify([String(i).repeat(300)]));
    await all;
    expect(session.state).toBe('open');
  });
});
