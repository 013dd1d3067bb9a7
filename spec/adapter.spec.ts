/**
 * The adapters, process by process: several handlers, each on its own HTTP
 * server, as separate processes would be, sharing one in-memory cluster
 * (`memoryAdapter()`, which runs anywhere) or one real redis-server. Every
 * session is opened on one of them and used through the others. The cluster
 * specs run on both; what only Redis has (keys, sweeps, outages) on Redis.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import IORedis from 'ioredis';
import { ClusterUnavailableError, InvalidOptionError, memoryAdapter, sockjs, type Adapter, type Session } from '../lib';
import { redisAdapter } from '../lib/redis';
import { SWEEP } from '../lib/redis/scripts';
import { closeOf, echo, mountAtS, nextSession, post, sessionPath, stream, wsConnect, type Endpoint } from './helpers';
import { runChild } from './support/child';
import { freePort } from './support/nginx';
import { pollUntil } from './support/poll';
import { describeWithRedis, startRedis, type Redis } from './support/redis';

jest.setTimeout(30000);

let redis: Redis;
let prefixes = 0;
const running: Endpoint[] = [];

/** One echo process per adapter, each on its own HTTP server. */
async function start(adapters: Adapter[], options: Parameters<typeof echo>[0] = {}): Promise<Endpoint[]> {
  const nodes: Endpoint[] = [];
  for (const adapter of adapters) {
    const node = await mountAtS(echo({ ...options, adapter }));
    running.push(node);
    nodes.push(node);
  }
  return nodes;
}

/** Adapters for `count` processes sharing a fresh prefix on the spec's Redis (or on `url`), named `n0`, `n1`, ... */
function redisAdapters(count: number, url = redis.url): Adapter[] {
  const prefix = `spec${++prefixes}`;
  return Array.from({ length: count }, (_, i) => redisAdapter({ url, prefix, node: `n${i}` }));
}

/** `count` handlers of one fresh in-memory cluster (node ids `n0`, `n1`, ...). */
function memoryAdapters(count: number): Adapter[] {
  return Array<Adapter>(count).fill(memoryAdapter());
}

/** Opens an xhr-polling session on `node`: its URL path and the session. */
async function openOn(node: Endpoint): Promise<{ where: string; session: Session }> {
  const where = sessionPath();
  const opened = nextSession(node.handler);
  await post(`${node.url}${where}/xhr`);
  return { where, session: await opened };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.server.close()));
});

describe('without an adapter', () => {
  it('loads no Redis code', () => {
    const loaded = execFileSync(
      process.execPath,
      ['-e', "require('./dist'); console.log(Object.keys(require.cache).filter((f) => /ioredis|[\\\\/]redis[\\\\/]/.test(f)).length)"],
      { cwd: path.join(__dirname, '..'), encoding: 'utf8' },
    );
    expect(loaded.trim()).toBe('0');
  });

  it('sends by session id and lists its own sessions', async () => {
    const node = await mountAtS(echo());
    running.push(node);
    const opened = nextSession(node.handler);
    const where = sessionPath();
    await post(`${node.url}${where}/xhr`);
    const session = await opened;
    expect(await node.handler.clusterSessions()).toEqual([{ id: session.id, node: node.handler.node, transport: 'xhr-polling' }]);
    expect(await node.handler.send(session.id, 'direct')).toBe(true);
    expect(await node.handler.send('no-such-id', 'x')).toBe(false);
    expect((await post(`${node.url}${where}/xhr`)).body).toBe('a["direct"]\n');
  });
});

describe('redisAdapter options', () => {
  it.each([
    [{ url: 'http://127.0.0.1:6379' }, /option "url"/],
    [{ prefix: 'with space' }, /option "prefix"/],
    [{ node: 'a/b' }, /option "node"/],
    [{ nodeTimeout: 5 }, /option "nodeTimeout"/],
  ])('refuses %p', (options, message) => {
    expect(() => redisAdapter(options)).toThrow(InvalidOptionError);
    expect(() => redisAdapter(options)).toThrow(message);
  });

  it('refuses an adapter that is not one', () => {
    expect(() => sockjs({ adapter: {} as never })).toThrow(/option "adapter"/);
  });
});

/**
 * What every adapter must do, run on each: `adapters(count)` makes the
 * adapters of `count` processes of one fresh cluster.
 */
function clusterSpecs(adapters: (count: number) => Adapter[]): void {
  const cluster = (count: number, options: Parameters<typeof echo>[0] = {}): Promise<Endpoint[]> => start(adapters(count), options);

  /** Each receiving transport: how to ask for it, and the sending route that goes with it. */
  const RECEIVERS = [
    { route: 'xhr', method: 'POST', send: 'xhr_send' },
    { route: 'xhr_streaming', method: 'POST', send: 'xhr_send' },
    { route: 'eventsource', method: 'GET', send: 'xhr_send' },
    { route: 'htmlfile?c=cb', method: 'GET', send: 'xhr_send' },
    { route: 'jsonp?c=cb', method: 'GET', send: 'jsonp_send' },
  ] as const;

  it.each(RECEIVERS)('serves $route for a session of another process', async ({ route, method, send }) => {
    const [a, b, c] = await cluster(3);
    const where = sessionPath();
    const opened = nextSession(a.handler);
    expect((await post(`${a.url}${where}/xhr`)).body).toBe('o\n');
    const session = await opened;
    expect(session.id.startsWith('n0/')).toBe(true);
    const messages = '["m1","\u00e9\u2028"]';
    const sent = await fetch(`${b.url}${where}/${send}`, {
      method: 'POST',
      body: send === 'jsonp_send' ? 'd=' + encodeURIComponent(messages) : messages,
      headers: send === 'jsonp_send' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
    });
    expect(sent.status).toBe(send === 'jsonp_send' ? 200 : 204);
    const relayed = await stream(`${c.url}${where}/${route}`, { method });
    let text = '';
    while (messagesIn(text).length < 2) text += (await relayed.next(5000)) ?? '';
    expect(messagesIn(text)).toEqual(['m1', '\u00e9\u2028']);
  });

  it('relays each receiving transport without losing or repeating a message across responses', async () => {
    const [a, b, c] = await cluster(3, { responseLimit: 300 });
    const { where, session } = await openOn(a);
    const expected = Array.from({ length: 60 }, (_, i) => `message ${i} \u00fc`);
    let got: string[] = [];
    const sending = (async () => {
      for (const message of expected) {
        session.send(message);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    // Alternate processes and transports: streaming ends at the limit, polling after a frame.
    const routes = ['xhr_streaming', 'xhr', 'eventsource', 'htmlfile?c=cb', 'jsonp?c=cb'];
    for (let i = 0; got.length < expected.length; i++) {
      const node = [b, c][i % 2];
      const route = routes[i % routes.length];
      const response = await stream(`${node.url}${where}/${route}`, { method: route.startsWith('xhr') ? 'POST' : 'GET' });
      let text = '';
      for (let chunk = await response.next(5000); chunk !== null; chunk = await response.next(5000)) {
        text += chunk;
        // The last streaming response would wait for more: close the session to end it.
        if (got.length + messagesIn(text).length === expected.length) session.close();
      }
      got = got.concat(messagesIn(text));
    }
    await sending;
    expect(got).toEqual(expected);
  });

  it('closes the owner\'s session with 1002 when the client cuts off a relayed response', async () => {
    const [a, b] = await cluster(2);
    const { where, session } = await openOn(a);
    const held = await stream(`${b.url}${where}/xhr_streaming`);
    await held.until((text) => text.includes('h'.repeat(10)));
    const closing = closeOf(session);
    held.abort();
    expect(await closing).toEqual([1002, 'Connection interrupted']);
  });

  it('finds a session again after the owner it remembered for that URL id no longer has it', async () => {
    const [a, b, c] = await cluster(3, { disconnectDelay: 200 });
    const { where, session } = await openOn(a);
    // b learns (and remembers) that a owns it.
    expect((await post(`${b.url}${where}/xhr_send`, '["first"]')).status).toBe(204);
    session.close();
    expect((await post(`${a.url}${where}/xhr`)).body).toBe('a["first"]\n');
    expect((await post(`${a.url}${where}/xhr`)).body).toBe('c[3000,"Go away!"]\n');
    await pollUntil('the closed session forgotten', () => a.handler.sessions.size === 0, { timeoutMs: 15000 });
    // The URL id is free again, and a new session under it opens on c.
    const reopened = nextSession(c.handler);
    expect((await post(`${c.url}${where}/xhr`)).body).toBe('o\n');
    const second = await reopened;
    expect((await post(`${b.url}${where}/xhr_send`, '["second"]')).status).toBe(204);
    expect((await post(`${b.url}${where}/xhr`)).body).toBe('a["second"]\n');
    expect(second.state).toBe('open');
  });

  it('answers a second receiving request relayed while one is open with c[2010]', async () => {
    const [a, b] = await cluster(2);
    const where = sessionPath();
    const first = await stream(`${a.url}${where}/xhr_streaming`);
    await first.until((text) => text.includes('o\n'));
    const second = await post(`${b.url}${where}/xhr`);
    expect(second.body).toBe('c[2010,"Another connection still open"]\n');
    first.abort();
  });

  it('closes the owner\'s session with 1009 for a send over maxMessageSize through another process', async () => {
    const [a, b] = await cluster(2, { maxMessageSize: 100 });
    const { where, session } = await openOn(a);
    const closing = closeOf(session);
    const response = await post(`${b.url}${where}/xhr_send`, JSON.stringify(['x'.repeat(200)]));
    expect(response.status).toBe(413);
    expect(await closing).toEqual([1009, 'Message too big']);
  });

  it('holds sessionBinding across processes', async () => {
    const [a, b] = await cluster(2, { sessionBinding: 'cookie', jsessionid: true });
    const where = sessionPath();
    await fetch(`${a.url}${where}/xhr`, { method: 'POST', headers: { Cookie: 'JSESSIONID=alice' } });
    const stranger = { method: 'POST', headers: { Cookie: 'JSESSIONID=mallory' } };
    expect((await fetch(`${b.url}${where}/xhr_send`, { ...stranger, body: '["x"]' })).status).toBe(404);
    expect((await fetch(`${b.url}${where}/xhr`, stranger)).status).toBe(404);
    const owner = { method: 'POST', headers: { Cookie: 'JSESSIONID=alice' } };
    expect((await fetch(`${b.url}${where}/xhr_send`, { ...owner, body: '["x"]' })).status).toBe(204);
    expect(await (await fetch(`${b.url}${where}/xhr`, owner)).text()).toBe('a["x"]\n');
  });

  it('sends by session id and broadcasts to every process, once per session', async () => {
    const [a, b, c] = await cluster(3);
    const { where, session: polling } = await openOn(a);
    const ws = await wsConnect(`${b.url.replace('http', 'ws')}/000/ws1/websocket`);
    expect(await ws.next()).toBe('o');
    const [websocket] = [...b.handler.sessions.values()];

    expect(await c.handler.send(polling.id, 'to polling')).toBe(true);
    expect(await c.handler.send(websocket.id, 'to websocket')).toBe(true);
    expect(await c.handler.send(`n0/not-a-session`, 'x')).toBe(false);
    expect(await c.handler.send('gone-node/x', 'x')).toBe(false);
    expect(c.handler.broadcast('to all \ud800')).toBe(0);
    expect(await ws.next()).toBe('a["to websocket"]');
    expect(await ws.next()).toBe('a["to all \\ud800"]');
    const polled = await post(`${c.url}${where}/xhr`);
    expect(polled.body).toBe('a["to polling","to all \\ud800"]\n');
    // Nothing more came for either: the broadcast reached each session once.
    expect(await c.handler.send(polling.id, 'last')).toBe(true);
    expect((await post(`${b.url}${where}/xhr`)).body).toBe('a["last"]\n');
    ws.ws.close();
  });

  it('lists every process\'s sessions with their owner and the process relaying their request', async () => {
    const [a, b] = await cluster(2);
    const { where, session: polling } = await openOn(a);
    const held = await stream(`${b.url}${where}/xhr_streaming`);
    await held.until((text) => text.includes('h'.repeat(10)));
    const ws = await wsConnect(`${b.url.replace('http', 'ws')}/000/ws2/websocket`);
    await ws.next();
    const [websocket] = [...b.handler.sessions.values()];
    const listed = await pollUntil('the relayed session listed with via', async () => {
      const list = await a.handler.clusterSessions();
      return list.some((s) => s.via === 'n1') ? list : undefined;
    }, { timeoutMs: 15000 });
    expect(listed.sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { id: polling.id, node: 'n0', transport: 'xhr-streaming', via: 'n1' },
      { id: websocket.id, node: 'n1', transport: 'websocket' },
    ]);
    held.abort();
    ws.ws.close();
  });

  it('hands relayed responses back when a process leaves, so their sessions carry on', async () => {
    const [a, b, c] = await cluster(3);
    const { where, session } = await openOn(a);
    const held = await stream(`${b.url}${where}/xhr_streaming`);
    await held.until((text) => text.includes('h'.repeat(10)));
    await b.server.close();
    running.splice(running.indexOf(b), 1);
    // The response ended cleanly (no close frame) and the session is still open.
    let rest = '';
    for (let chunk = await held.next(5000); chunk !== null; chunk = await held.next(5000)) rest += chunk;
    expect(rest).not.toContain('c[');
    expect(session.state).toBe('open');
    session.send('after the handover');
    expect((await post(`${c.url}${where}/xhr`)).body).toBe('a["after the handover"]\n');
  });

  it('closes a leaving process\'s sessions for clients that come back through another', async () => {
    const [a, b] = await cluster(2);
    const where = sessionPath();
    await post(`${a.url}${where}/xhr`);
    await a.server.close();
    running.splice(running.indexOf(a), 1);
    expect((await post(`${b.url}${where}/xhr`)).body).toBe('c[1001,"Server gone"]\n');
    expect((await post(`${b.url}${where}/xhr_send`, '["x"]')).status).toBe(404);
    expect(await b.handler.clusterSessions()).toEqual([]);
  });
}

describe('memoryAdapter', () => {
  clusterSpecs(memoryAdapters);

  it('frees a left process\'s URL ids after its disconnectDelay', async () => {
    const [a, b] = await start(memoryAdapters(2), { disconnectDelay: 100 });
    const where = sessionPath();
    await post(`${a.url}${where}/xhr`);
    await a.server.close();
    running.splice(running.indexOf(a), 1);
    expect((await post(`${b.url}${where}/xhr`)).body).toBe('c[1001,"Server gone"]\n');
    const opened = await pollUntil('the URL id free again', async () => {
      const reply = await post(`${b.url}${where}/xhr`);
      return reply.body === 'o\n' ? reply : undefined;
    }, { timeoutMs: 15000 });
    expect(opened.status).toBe(200);
    expect(b.handler.sessions.size).toBe(1);
  });
});

describeWithRedis('redisAdapter', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('refuses one adapter for two handlers', async () => {
    const adapter = redisAdapter({ url: redis.url, prefix: 'twice' });
    const first = sockjs({ adapter });
    expect(() => sockjs({ adapter })).toThrow(/one adapter serves one handler/);
    await first.close();
  });

  clusterSpecs((count) => redisAdapters(count));

  it('leaves no key behind in Redis once sessions and processes are gone', async () => {
    const [a, b] = await start(redisAdapters(2), { disconnectDelay: 200 });
    const prefix = `spec${prefixes}`;
    const client = new IORedis(redis.url);
    try {
      const ids = [sessionPath(), sessionPath(), sessionPath()];
      for (const where of ids) {
        await post(`${a.url}${where}/xhr`);
        await post(`${b.url}${where}/xhr_send`, '["x"]');
      }
      expect((await client.keys(`${prefix}:url:*`)).length).toBe(3);
      expect(await client.scard(`${prefix}:urls:n0`)).toBe(3);
      // No receiving request comes back: each session times out and frees its URL id.
      await pollUntil('URL ids freed', async () => (await client.keys(`${prefix}:url:*`)).length === 0, { timeoutMs: 15000 });
      expect(await client.scard(`${prefix}:urls:n0`)).toBe(0);
      await Promise.all(running.splice(0).map((node) => node.server.close()));
      expect(await client.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('ends its HTTP sessions when the others count it dead while it still runs', async () => {
    const [a, b] = await start(redisAdapters(2));
    const prefix = `spec${prefixes}`;
    const { where, session } = await openOn(a);
    const ws = await wsConnect(`${a.url.replace('http', 'ws')}/000/ws3/websocket`);
    await ws.next();
    // As if n0 had stalled past nodeTimeout: another process's sweep counts it dead.
    const client = new IORedis(redis.url);
    try {
      await SWEEP.run(client, [`${prefix}:nodes`], [`${prefix}:`, 5000, 'n0']);
      await client.publish(`${prefix}:down`, 'n0');
      expect(await closeOf(session)).toEqual([1001, 'Server gone']);
    } finally {
      client.disconnect();
    }
    expect((await post(`${b.url}${where}/xhr`)).body).toBe('c[1001,"Server gone"]\n');
    // Its websocket sessions hold no state in Redis and carry on; n0 is back in the cluster.
    ws.ws.send('["still here"]');
    expect(await ws.next()).toBe('a["still here"]');
    const listed = await pollUntil('n0 listed again after its next heartbeat', async () => {
      const list = await b.handler.clusterSessions();
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 15000 });
    expect(listed.map((s) => [s.node, s.transport])).toEqual([['n0', 'websocket']]);
    ws.ws.close();
  });

  it('takes a new receiving request at once when the process that held the last one was killed', async () => {
    const prefix = `spec${++prefixes}`;
    const owner = await mountAtS(echo({ adapter: redisAdapter({ url: redis.url, prefix, node: 'owner' }) }));
    running.push(owner);
    const holder = runChild('cluster-node.ts', [redis.url, prefix]);
    try {
      const [, port, node] = await holder.line(/^listening (\d+) (\S+)/);
      const { where, session } = await openOn(owner);
      // The poll is held on the other process, relayed from the owner.
      // (A held poll sends no headers until its frame, so nothing here waits for them.)
      const held = http.request(`http://127.0.0.1:${port}/echo${where}/xhr`, { method: 'POST', agent: false });
      held.on('error', () => undefined);
      held.end();
      await pollUntil('the poll relayed', async () => (await owner.handler.clusterSessions())[0]?.via === node, { timeoutMs: 15000 });
      holder.process.kill('SIGKILL');
      await holder.exited;
      // Well within nodeTimeout: no sweep has run, yet the owner does not answer 2010.
      const polling = post(`${owner.url}${where}/xhr`);
      await pollUntil('the dead relay dropped', async () => (await owner.handler.clusterSessions())[0]?.via === undefined, { timeoutMs: 2000 });
      session.send('after');
      expect((await polling).body).toBe('a["after"]\n');
    } finally {
      holder.process.kill('SIGKILL');
    }
  });

  it('joins once Redis comes up, when it was not there at first', async () => {
    const port = await freePort();
    // ioredis gives up on its first command at once, as it would after its retries.
    const adapter = (node: string): Adapter =>
      redisAdapter({ url: `redis://127.0.0.1:${port}`, prefix: 'late', node, redis: { maxRetriesPerRequest: 0 } });
    const [a, b] = [await mountAtS(echo({ adapter: adapter('n0') })), await mountAtS(echo({ adapter: adapter('n1') }))];
    running.push(a, b);
    const where = sessionPath();
    expect(await post(`${a.url}${where}/xhr`)).toEqual({ status: 503, body: 'Cluster unavailable.' });
    const late = await startRedis(port);
    try {
      await pollUntil('a session opened', async () => (await post(`${a.url}${where}/xhr`)).body === 'o\n', { timeoutMs: 15000 });
      expect((await post(`${b.url}${where}/xhr_send`, '["late"]')).status).toBe(204);
      expect((await post(`${b.url}${where}/xhr`)).body).toBe('a["late"]\n');
    } finally {
      await Promise.all(running.splice(0).map((node) => node.server.close()));
      await late.stop();
    }
  });

  it("emits a ClusterUnavailableError as 'error' when a broadcast cannot reach the other processes", async () => {
    const own = await startRedis();
    try {
      // No retries: a command fails as soon as a reconnection attempt does.
      const adapter = redisAdapter({ url: own.url, prefix: `spec${++prefixes}`, redis: { maxRetriesPerRequest: 0 } });
      const node = await mountAtS(echo({ adapter }));
      running.push(node);
      await node.handler.clusterSessions();
      const failed = new Promise<unknown[]>((resolve) => node.handler.once('error', (...args: unknown[]) => resolve(args)));
      await own.stop();
      expect(node.handler.broadcast('x')).toBe(0);
      const [error, session] = await failed;
      expect(error).toBeInstanceOf(ClusterUnavailableError);
      expect(error).toMatchObject({ code: 'SOCKJS_ERR_CLUSTER_UNAVAILABLE' });
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(session).toBeUndefined();
    } finally {
      await own.stop();
    }
  });

  it('answers 503 for sessions elsewhere while Redis is down, and keeps serving its own', async () => {
    const own = await startRedis();
    try {
      // Long enough for the sessions to outlive the 5 s the cluster is waited for.
      const [a, b] = await start(redisAdapters(2, own.url), { disconnectDelay: 60000 });
      const here = sessionPath();
      const elsewhere = sessionPath();
      await post(`${a.url}${here}/xhr`);
      await post(`${a.url}${elsewhere}/xhr`);
      await post(`${b.url}${elsewhere}/xhr_send`, '["before"]');
      await own.stop();
      const unavailable = { name: 'ClusterUnavailableError', code: 'SOCKJS_ERR_CLUSTER_UNAVAILABLE' };
      const [poll, sent, listed] = await Promise.all([
        post(`${b.url}${elsewhere}/xhr`),
        b.handler.send('n0/some-session', 'x').catch((error: unknown) => error),
        b.handler.clusterSessions().catch((error: unknown) => error),
      ]);
      expect(poll).toEqual({ status: 503, body: 'Cluster unavailable.' });
      expect(sent).toBeInstanceOf(ClusterUnavailableError);
      expect(sent).toMatchObject(unavailable);
      expect(listed).toMatchObject(unavailable);
      expect((await post(`${a.url}${here}/xhr_send`, '["local"]')).status).toBe(204);
      expect((await post(`${a.url}${here}/xhr`)).body).toBe('a["local"]\n');
    } finally {
      await own.stop();
    }
  });
});

/** The messages in the `a[...]` frames of a receiving response of any transport. */
function messagesIn(text: string): string[] {
  const messages: string[] = [];
  // Frames appear as JSON text in every format; htmlfile and jsonp wrap them in a string literal.
  for (const match of text.matchAll(/a\[(?:"(?:[^"\\]|\\.)*",?)*\]|"a\[(?:[^"\\]|\\.)*\]"/g)) {
    const frame = match[0].startsWith('"') ? (JSON.parse(match[0]) as string) : match[0];
    messages.push(...(JSON.parse(frame.slice(1)) as string[]));
  }
  return messages;
}
