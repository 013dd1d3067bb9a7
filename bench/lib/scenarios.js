'use strict';
/**
 * The scenarios. Each runs against one started server and returns one
 * round's numbers; the runner alternates servers and takes medians.
 * Clients reach a server through `server.nextPort()`: one port for a
 * ServerProcess, the processes in turn for a Cluster (section 'cluster').
 */
const generator = require('./clients');
const { Recorder, percentile, sleep, now } = require('./stats');

const ALL = ['ours', 'sockjs-node', 'bare-ws'];
/** The servers whose clients speak plain websocket, not SockJS. */
const BARE = new Set(['bare-ws', 'socket-floor']);

/** The client a server's sessions need: `'bare'` websocket or `'sockjs'`. */
function clientKind(server) {
  return BARE.has(server) ? 'bare' : 'sockjs';
}
/**
 * The HTTP transports: the SockJS servers (ours also inside Express 5 and 4,
 * where users mount it, and in Express 5 with the app on every request), and
 * the floors (Node's HTTP stack, and an Express route) for scale.
 */
const HTTP = ['ours', 'ours-express', 'ours-express4', 'ours-express-every', 'sockjs-node', 'http-floor', 'express-floor'];
/** Scale-out: the Redis adapter on one process and on three, and one process without it for reference. */
const CLUSTER = ['ours', 'ours-redis', 'ours-redis-3'];
/** ours with its metrics collected, beside ours, in the scenarios that measure their cost. */
const STATS = ['ours-stats'];

/** Opens `count` clients, `concurrency` handshakes at a time. */
async function openMany(count, concurrency, open) {
  const clients = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      clients.push(await open());
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
  return clients;
}

/** Bytes of ASCII text, so a message's size on the wire is what the scenario says. */
function payloadOf(size) {
  return 'x'.repeat(size);
}

/**
 * A closed-loop echo: `clients` sessions with `inFlight` messages each,
 * warmed up, then measured for `duration` seconds. `cluster`: also Redis's
 * and the load generator's CPU per message.
 */
function echo(client, { size, clients, inFlight, cluster = false }) {
  return async (server, name, settings) => {
    const recorder = new Recorder();
    const payload = payloadOf(size);
    const target = () => server.nextPort();
    const open = () => client(target, clientKind(name), payload, inFlight, recorder);
    const sessions = await openMany(clients, 10, open);
    for (const session of sessions) session.start();
    await sleep(settings.warmup * 1000);
    const before = await server.request('stats');
    const errors = recorder.errors;
    recorder.recording = true;
    const start = now();
    const clientBefore = process.cpuUsage();
    await sleep(settings.duration * 1000);
    recorder.recording = false;
    const clientUsed = process.cpuUsage(clientBefore);
    const seconds = (now() - start) / 1000;
    const after = await server.request('stats');
    for (const session of sessions) session.stop();
    return {
      result: {
        cpuPerMsg: (after.cpuMicros - before.cpuMicros) / recorder.count,
        systemPerMsg: (after.systemMicros - before.systemMicros) / recorder.count,
        msgPerSec: recorder.count / seconds,
        p50: percentile(recorder.latencies, 50),
        p99: percentile(recorder.latencies, 99),
        rssMB: after.rss / 2 ** 20,
        errors: recorder.errors - errors,
        connections: after.connections - before.connections,
        requestsPerMsg: (after.requests - before.requests) / recorder.count,
        // A Cluster's stats carry redis-server's CPU; the load generator's is this process's own.
        ...(cluster && {
          redisCpuPerMsg: (after.redisMicros - before.redisMicros) / recorder.count,
          clientCpuPerMsg: (clientUsed.user + clientUsed.system) / recorder.count,
        }),
      },
      close: () => sessions.forEach((session) => session.close()),
    };
  };
}

/**
 * How long an idle server is left before its memory is read: V8 keeps the
 * young generation it grew during a burst of allocation (empty after GC, but
 * resident) until its memory reducer shrinks it, about 8 s after the burst
 * (`--gc-memory-reducer-start-delay-ms`, 8000 by default).
 */
const SETTLE_MS = 10_000;

/**
 * Memory per idle websocket session: RSS and heap growth with `count` open,
 * after GC, both readings taken once the server has sat idle for SETTLE_MS.
 * Also RSS 0.5 s after the last one opened, before V8 has given the young
 * generation's pages back.
 */
function idle({ count }) {
  return async (server, name) => {
    const kind = clientKind(name);
    const open = () => generator.idleWebsocket(server.port, kind, () => {});
    // Warm the handshake path up so compiled code is not counted per connection.
    for (const warm of await openMany(200, 20, open)) warm.close();
    await sleep(SETTLE_MS);
    const before = await server.request('gc');
    const sessions = await openMany(count, 50, open);
    await sleep(500);
    const burst = await server.request('gc');
    await sleep(SETTLE_MS);
    const after = await server.request('gc');
    const perSession = (bytes) => bytes / count / 1024;
    return {
      result: {
        rssPerConnKB: perSession(after.rss - before.rss),
        heapPerConnKB: perSession(after.heapUsed + after.external - before.heapUsed - before.external),
        burstRssPerConnKB: perSession(burst.rss - before.rss),
        rssMB: after.rss / 2 ** 20,
        // Logged per round, not tabled: V8's young generation (resident) and old generation, settled and 0.5 s after opening.
        newSpacePerConnKB: perSession(after.newSpace - before.newSpace),
        oldSpacePerConnKB: perSession(after.oldSpace - before.oldSpace),
        burstNewSpacePerConnKB: perSession(burst.newSpace - before.newSpace),
      },
      close: () => sessions.forEach((session) => session.close()),
    };
  };
}

/** Resolves as `promise` does, or rejects with `message()` after `ms`. */
function within(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One message to `count` websocket sessions, `times` times: time until the
 * last one has it. The runner asks the server (a Cluster's first process)
 * to broadcast; `cluster`: the sessions are spread over the processes, and
 * redis-server's CPU is read too.
 */
function broadcast({ count, times, cluster = false }) {
  return async (server, name, settings) => {
    const total = Math.min(count, settings.maxConnections);
    const kind = clientKind(name);
    let received = 0;
    let allArrived = () => {};
    const onMessage = (frame) => {
      if (frame === 'h') return;
      if (++received === total) allArrived();
    };
    let local = 0;
    const open = () => {
      const port = server.nextPort();
      if (port === server.port) local++;
      return generator.idleWebsocket(port, kind, onMessage);
    };
    const sessions = await openMany(total, 100, open);
    const times_ = [];
    const syncMs = [];
    const cpu = [];
    const systemCpu = [];
    const clientCpu = [];
    const redisCpu = [];
    for (let i = 0; i < times; i++) {
      await sleep(200);
      received = 0;
      const arrived = new Promise((resolve) => (allArrived = resolve));
      const before = await server.request('stats');
      const clientBefore = process.cpuUsage();
      const start = now();
      const reply = await server.request('broadcast', { message: payloadOf(64) });
      await within(arrived, 30_000, () => `${name} broadcast: ${received} of ${total} sessions had it after 30 s`);
      times_.push(now() - start);
      const clientUsed = process.cpuUsage(clientBefore);
      clientCpu.push((clientUsed.user + clientUsed.system) / 1000);
      syncMs.push(reply.syncMs);
      const after = await server.request('stats');
      cpu.push((after.cpuMicros - before.cpuMicros) / 1000);
      systemCpu.push((after.systemMicros - before.systemMicros) / 1000);
      if (cluster) redisCpu.push((after.redisMicros - before.redisMicros) / 1000);
      // broadcast() counts the sessions of the process that was asked.
      if (reply.count !== local) throw new Error(`${name} broadcast reached ${reply.count} of ${local} local sessions`);
    }
    const stats = await server.request('stats');
    return {
      result: {
        lastMs: percentile(times_, 50),
        syncMs: percentile(syncMs, 50),
        cpuMs: percentile(cpu, 50),
        systemMs: percentile(systemCpu, 50),
        clientCpuMs: percentile(clientCpu, 50),
        ...(cluster && { redisCpuMs: percentile(redisCpu, 50) }),
        sessions: total,
        rssMB: stats.rss / 2 ** 20,
      },
      close: () => sessions.forEach((session) => session.close()),
    };
  };
}

const SCENARIOS = [
  {
    key: 'ws64',
    title: 'websocket echo, 64 B',
    detail: '50 sessions, 8 messages in flight each',
    servers: [...ALL, ...STATS],
    kind: 'echo',
    run: echo(generator.websocketEcho, { size: 64, clients: 50, inFlight: 8 }),
  },
  {
    key: 'ws4k',
    title: 'websocket echo, 4 KB',
    detail: '50 sessions, 8 messages in flight each',
    servers: ALL,
    kind: 'echo',
    run: echo(generator.websocketEcho, { size: 4096, clients: 50, inFlight: 8 }),
  },
  {
    key: 'xhrStreaming',
    title: 'xhr-streaming echo, 64 B, sockjs-client-like sending',
    detail: '50 sessions, 8 messages in flight each; one xhr_send at a time carries every waiting message, 25 ms apart, as sockjs-client sends',
    servers: [...HTTP, ...STATS],
    kind: 'echo',
    run: echo(generator.xhrStreamingClientEcho, { size: 64, clients: 50, inFlight: 8 }),
  },
  {
    key: 'xhrPolling',
    title: 'xhr-polling echo, 64 B, sockjs-client-like sending',
    detail: '50 sessions, 8 messages in flight each; one xhr_send at a time carries every waiting message, 25 ms apart, as sockjs-client sends',
    servers: HTTP,
    kind: 'echo',
    run: echo(generator.xhrPollingClientEcho, { size: 64, clients: 50, inFlight: 8 }),
  },
  {
    key: 'xhrStreaming1',
    title: 'xhr-streaming echo, 64 B, one message per xhr_send',
    detail: '50 sessions, 1 message in flight each, every message its own xhr_send',
    servers: HTTP,
    kind: 'echo',
    run: echo(generator.xhrStreamingEcho, { size: 64, clients: 50, inFlight: 1 }),
  },
  {
    key: 'xhrPolling1',
    title: 'xhr-polling echo, 64 B, one message per xhr_send',
    detail: '50 sessions, 1 message in flight each, every message its own xhr_send',
    servers: HTTP,
    kind: 'echo',
    run: echo(generator.xhrPollingEcho, { size: 64, clients: 50, inFlight: 1 }),
  },
  {
    key: 'idle',
    title: 'idle websocket sessions',
    detail: '4000 open, memory growth after GC, read after the server sat idle for 10 s',
    servers: ALL,
    kind: 'idle',
    run: idle({ count: 4000 }),
  },
  {
    key: 'broadcast',
    title: 'broadcast to 10 000 websocket sessions',
    detail: '64 B message, median of 5 broadcasts',
    servers: [...ALL, 'socket-floor'],
    kind: 'broadcast',
    run: broadcast({ count: 10_000, times: 5 }),
  },
  {
    key: 'clusterWs',
    section: 'cluster',
    title: 'cluster: websocket echo, 64 B',
    detail: '50 sessions opened on the processes in turn, 8 messages in flight each; a websocket session lives on the process it connected to',
    servers: CLUSTER,
    kind: 'clusterEcho',
    run: echo(generator.websocketEcho, { size: 64, clients: 50, inFlight: 8, cluster: true }),
  },
  {
    key: 'clusterXhrStreaming',
    section: 'cluster',
    title: 'cluster: xhr-streaming echo, 64 B, sockjs-client-like sending',
    detail: '50 sessions, 8 messages in flight each, sent as in xhrStreaming; every xhr_send and every xhr_streaming request goes to the next process in turn, no stickiness',
    servers: CLUSTER,
    kind: 'clusterEcho',
    run: echo(generator.xhrStreamingClientEcho, { size: 64, clients: 50, inFlight: 8, cluster: true }),
  },
  {
    key: 'clusterXhrPolling',
    section: 'cluster',
    title: 'cluster: xhr-polling echo, 64 B, sockjs-client-like sending',
    detail: '50 sessions, 8 messages in flight each, sent as in xhrPolling; every xhr_send and every poll goes to the next process in turn, no stickiness',
    servers: CLUSTER,
    kind: 'clusterEcho',
    run: echo(generator.xhrPollingClientEcho, { size: 64, clients: 50, inFlight: 8, cluster: true }),
  },
  {
    key: 'clusterBroadcast',
    section: 'cluster',
    title: 'cluster: broadcast to 10 000 websocket sessions',
    detail: 'sessions opened on the processes in turn; the first process broadcasts a 64 B message; median of 5 broadcasts',
    servers: CLUSTER,
    kind: 'clusterBroadcast',
    run: broadcast({ count: 10_000, times: 5, cluster: true }),
  },
];

module.exports = { SCENARIOS, clientKind, openMany };
