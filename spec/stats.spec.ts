/**
 * `handler.stats()`: what a handler counts, checked against the traffic each
 * test sends through a real server on several transports.
 */
import express from 'express';
import request from 'supertest';
import { memoryAdapter, sockjs, type Adapter, type Options, type Session } from '../lib';
import { redisAdapter } from '../lib/redis';
import { describeWithRedis, startRedis, type Redis } from './support/redis';
import { closeOf, listen, mountAtS, post, sessionPath, stream, terminateClients, wsConnect, type Endpoint, type Running } from './helpers';

const running: Running[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(options: Options, onSession: (session: Session) => void = () => undefined): Promise<Endpoint> {
  const endpoint = await mountAtS(sockjs(options, onSession));
  running.push(endpoint.server);
  return endpoint;
}

/** Echoes every message, and closes with `4001 "bye"` on `bye`. */
function echoing(session: Session): void {
  session.on('data', (message) => {
    if (message === 'bye') session.close(4001, 'bye');
    else session.send(message);
  });
}

const NO_TRANSPORTS = {
  websocket: 0,
  'xhr-streaming': 0,
  'xhr-polling': 0,
  eventsource: 0,
  htmlfile: 0,
  'jsonp-polling': 0,
  'raw-websocket': 0,
};

describe('#stats', () => {
  it('starts at zero, and has no cluster part without an adapter', async () => {
    const { handler } = await serve({});
    expect(handler.stats()).toEqual({
      node: handler.node,
      sessions: {
        open: NO_TRANSPORTS,
        opened: NO_TRANSPORTS,
        closed: 0,
        closedByCode: {},
        closedByLimit: { queue: 0, inbox: 0, messageSize: 0 },
      },
      messages: { received: 0, sent: 0 },
      bytes: { received: 0, sent: 0 },
      refused: { byHandler: {}, byMiddleware: {} },
      bufferedAmount: 0,
      cluster: undefined,
    });
  });

  it('counts sessions by transport, messages and their UTF-8 bytes each way, and closes by code', async () => {
    const endpoint = await serve({}, echoing);
    const { handler, url } = endpoint;

    // websocket: two messages in one frame, both echoed; then the client closes.
    const ws = await wsConnect(`${url.replace('http', 'ws')}${sessionPath()}/websocket`);
    expect(await ws.next()).toBe('o');
    ws.ws.send(JSON.stringify(['héllo', 'x']));
    // Sent in one tick, the two echoes share a frame.
    expect(await ws.next()).toBe('a["héllo","x"]');

    // xhr-streaming: one message echoed, then `bye` closes the session with 4001.
    const path = `/s${sessionPath()}`;
    const streaming = await stream(`${endpoint.base}${path}/xhr_streaming`);
    await streaming.until((text) => text.endsWith('o\n'));
    expect((await post(`${endpoint.base}${path}/xhr_send`, '["€uro"]')).status).toBe(204);
    await streaming.until((text) => text.includes('a["€uro"]'));

    // xhr-polling: opened, still open at the snapshot.
    const polling = `/s${sessionPath()}`;
    expect((await request(endpoint.server.base).post(`${polling}/xhr`)).text).toBe('o\n');

    const open = handler.stats();
    expect(open.sessions.open).toEqual({ ...NO_TRANSPORTS, websocket: 1, 'xhr-streaming': 1, 'xhr-polling': 1 });
    expect(open.sessions.opened).toEqual({ ...NO_TRANSPORTS, websocket: 1, 'xhr-streaming': 1, 'xhr-polling': 1 });
    expect(open.messages).toEqual({ received: 3, sent: 3 });
    // héllo is 6 bytes, x 1, €uro 6: each way.
    expect(open.bytes).toEqual({ received: 13, sent: 13 });

    const byTransport = (name: string): Session => [...handler.sessions.values()].filter((one) => one.transport === name)[0];
    const closed = closeOf(byTransport('xhr-streaming'));
    const wsClosed = closeOf(byTransport('websocket'));
    expect((await post(`${endpoint.base}${path}/xhr_send`, '["bye"]')).status).toBe(204);
    await closed;
    ws.ws.close(1000);
    await wsClosed;

    const after = handler.stats();
    expect(after.sessions.open).toEqual({ ...NO_TRANSPORTS, 'xhr-polling': 1 });
    expect(after.sessions.closed).toBe(2);
    expect(after.sessions.closedByCode).toEqual({ '1000': 1, '4001': 1 });
    expect(after.messages).toEqual({ received: 4, sent: 3 });
    expect(after.bytes).toEqual({ received: 16, sent: 13 });
    streaming.abort();
  });

  it('counts every session a broadcast reached as one message sent', async () => {
    const { handler, server } = await serve({});
    for (let i = 0; i < 3; i++) {
      expect((await request(server.base).post(`/s${sessionPath()}/xhr`)).text).toBe('o\n');
    }
    expect(handler.broadcast('hé')).toBe(3);
    expect(handler.stats().messages.sent).toBe(3);
    expect(handler.stats().bytes.sent).toBe(9);
  });

  it('adds up what waits for clients as bufferedAmount', async () => {
    let opened: Session | undefined;
    const { handler, server } = await serve({}, (session) => (opened = session));
    expect((await request(server.base).post(`/s${sessionPath()}/xhr`)).text).toBe('o\n');
    opened?.send('waiting');
    opened?.send('ü');
    expect(handler.stats().bufferedAmount).toBe(9);
  });

  it('counts the handler refusals by status: origin policy, unknown session, method, message size', async () => {
    const { handler, server } = await serve({ allowedOrigins: ['https://good.example'], maxMessageSize: 10 });
    await request(server.base).get('/s/info').set('Origin', 'https://evil.example').expect(403);
    await request(server.base).get('/s/info').set('Origin', 'https://evil.example').expect(403);
    await request(server.base).post(`/s${sessionPath()}/xhr_send`).send('["x"]').expect(404);
    await request(server.base).put('/s/info').expect(405);
    const path = `/s${sessionPath()}`;
    await request(server.base).post(`${path}/xhr`).expect(200);
    await request(server.base).post(`${path}/xhr_send`).send('["more than ten bytes"]').expect(413);
    const refusedWs = wsConnect(`ws://127.0.0.1:${server.port}/s${sessionPath()}/websocket`, { Origin: 'https://evil.example' });
    await expect(refusedWs).rejects.toThrow(/403/);

    const stats = handler.stats();
    expect(stats.refused.byHandler).toEqual({ '403': 3, '404': 1, '405': 1, '413': 1 });
    expect(stats.refused.byMiddleware).toEqual({});
    expect(stats.sessions.closedByLimit).toEqual({ queue: 0, inbox: 0, messageSize: 1 });
    expect(stats.sessions.closedByCode).toEqual({ '1009': 1 });
  });

  it('counts the websocket handshakes middleware answered apart from the handler’s own', async () => {
    const handler = sockjs({}, () => undefined);
    const app = express();
    app.use((req, res, next) => (req.headers.authorization === 'yes' ? next() : res.status(401).end()));
    const server = await listen({ '/s': handler }, app);
    running.push(server);
    const base = `ws://127.0.0.1:${server.port}/s`;
    await expect(wsConnect(`${base}${sessionPath()}/websocket`)).rejects.toThrow(/401/);
    await expect(wsConnect(`${base}${sessionPath()}/websocket`)).rejects.toThrow(/401/);
    const ws = await wsConnect(`${base}${sessionPath()}/websocket`, { Authorization: 'yes' });
    expect(await ws.next()).toBe('o');
    const stats = handler.stats();
    expect(stats.refused.byMiddleware).toEqual({ '401': 2 });
    expect(stats.refused.byHandler).toEqual({});
    expect(stats.sessions.opened.websocket).toBe(1);
  });

  it('counts sessions closed for the queue and the inbox limits', async () => {
    let opened: Session | undefined;
    const { handler, server } = await serve({ maxQueuedBytes: 100, highWaterMark: 50 }, (session) => (opened = session));
    // Queue: nobody polls, and more than 100 bytes are sent.
    expect((await request(server.base).post(`/s${sessionPath()}/xhr`)).text).toBe('o\n');
    const queued = opened as Session;
    const queueClosed = closeOf(queued);
    queued.send('x'.repeat(60));
    queued.send('x'.repeat(60));
    expect(await queueClosed).toEqual([1008, 'Queue limit exceeded']);
    // Inbox: the application never reads, and the client sends more than 100 bytes.
    const path = `/s${sessionPath()}`;
    expect((await request(server.base).post(`${path}/xhr`)).text).toBe('o\n');
    const unread = opened as Session;
    const inboxClosed = closeOf(unread);
    await request(server.base).post(`${path}/xhr_send`).send(JSON.stringify(['y'.repeat(60), 'y'.repeat(60)]));
    expect(await inboxClosed).toEqual([1008, 'Inbox limit exceeded']);

    const stats = handler.stats();
    expect(stats.sessions.closedByLimit).toEqual({ queue: 1, inbox: 1, messageSize: 0 });
    expect(stats.sessions.closedByCode).toEqual({ '1008': 2 });
  });

  it('counts relayed requests and forwarded sends with an adapter', async () => {
    const adapter = memoryAdapter();
    const owner = sockjs({ adapter }, echoing);
    const other = sockjs({ adapter }, echoing);
    const a = await listen({ '/s': owner });
    const b = await listen({ '/s': other });
    running.push(a, b);
    const path = `/s${sessionPath()}`;
    expect((await request(a.base).post(`${path}/xhr`)).text).toBe('o\n');
    expect((await post(`${b.base}${path}/xhr_send`, '["hi"]')).status).toBe(204);
    expect((await request(b.base).post(`${path}/xhr`)).text).toBe('a["hi"]\n');

    expect(other.stats().cluster).toEqual({ relayedRequests: 1, forwardedSends: 1 });
    expect(owner.stats().cluster).toEqual({ relayedRequests: 0, forwardedSends: 0 });
    // The owner's session got the message and sent it, whoever carried it.
    expect(owner.stats().messages).toEqual({ received: 1, sent: 1 });
    expect(other.stats().messages).toEqual({ received: 0, sent: 0 });
  });
});

describe('#clusterStats', () => {
  it('is this process’s stats alone without an adapter', async () => {
    const { handler, server } = await serve({});
    expect((await request(server.base).post(`/s${sessionPath()}/xhr`)).text).toBe('o\n');
    const cluster = await handler.clusterStats();
    expect(cluster).toEqual({ nodes: [handler.stats()], total: handler.stats(), backendRoundTripMs: undefined });
  });

  describe('with memoryAdapter()', () => {
    clusterStatsSpec(() => {
      const adapter = memoryAdapter();
      return [adapter, adapter, adapter];
    });
  });
});

describeWithRedis('#clusterStats with redisAdapter()', () => {
  let redis: Redis | undefined;
  let prefixes = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  clusterStatsSpec(() => {
    const prefix = `stats${++prefixes}`;
    return [0, 1, 2].map((i) => redisAdapter({ url: redis?.url, prefix, node: `n${i}` }));
  });
});

/** `handler.clusterStats()` over three processes whose adapters `adapters()` makes. */
function clusterStatsSpec(adapters: () => Adapter[]): void {
  it('adds up every live process, and leaves out one that left', async () => {
    const handlers = adapters().map((adapter) => sockjs({ adapter }, echoing));
    const servers = await Promise.all(handlers.map((handler) => listen({ '/s': handler })));
    running.push(...servers);
    // One websocket session on each process, one message each; an xhr-polling session on the last.
    for (const server of servers) {
      const ws = await wsConnect(`ws://127.0.0.1:${server.port}/s${sessionPath()}/websocket`);
      expect(await ws.next()).toBe('o');
      ws.ws.send('["hi"]');
      expect(await ws.next()).toBe('a["hi"]');
    }
    expect((await request(servers[2].base).post(`/s${sessionPath()}/xhr`)).text).toBe('o\n');

    const stats = await handlers[0].clusterStats();
    expect(stats.nodes.map((one) => one.node).sort()).toEqual(handlers.map((handler) => handler.node).sort());
    expect(stats.total.node).toBe(handlers[0].node);
    expect(stats.total.sessions.open).toEqual({ ...NO_TRANSPORTS, websocket: 3, 'xhr-polling': 1 });
    expect(stats.total.messages).toEqual({ received: 3, sent: 3 });
    expect(stats.total.cluster).toEqual({ relayedRequests: 0, forwardedSends: 0 });
    expect(stats.backendRoundTripMs).toBeGreaterThanOrEqual(0);

    await handlers[2].close();
    const after = await handlers[0].clusterStats();
    expect(after.nodes.map((one) => one.node).sort()).toEqual([handlers[0].node, handlers[1].node].sort());
    expect(after.total.sessions.open).toEqual({ ...NO_TRANSPORTS, websocket: 2 });
  });
}
