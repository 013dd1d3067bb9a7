/**
 * The leak workload, run by spec/leaks.spec.ts in a child process started with
 * `node --expose-gc` (jest cannot collect garbage on demand). It opens and
 * ends SESSIONS sessions over every transport in every way, and prints one
 * JSON line with what it measured before and after: heap after gc, active
 * timers and handles, the handler's upgrade listener on the http server,
 * registry size, how often each session's 'close' fired and with which code.
 *
 *   node --expose-gc --no-flush-bytecode -r ts-node/register/transpile-only spec/support/leak-workload.ts [sessions]
 *
 * `--no-flush-bytecode` keeps V8 from dropping the bytecode of idle functions
 * between the two measurements, which alone moved the heap by about -400 KB.
 */
import { createHook } from 'node:async_hooks';
import http from 'node:http';
import type { Socket } from 'node:net';
import { sockjs, type Session } from '../../lib';
import { listen } from '../helpers';
import { pollUntil } from './poll';
import { WIRE_TRANSPORTS, openWire, type WireTransport } from './wire';

/** How a session ends. */
export const ENDINGS = ['client-close', 'server-close', 'abort', 'timeout'] as const;
export type Ending = (typeof ENDINGS)[number];

/** What the workload prints. */
export interface LeakReport {
  sessions: number;
  connections: number;
  /** Sessions whose 'close' fired exactly once / more than once / never (so far). */
  closedOnce: number;
  closedTwice: number;
  registryAfter: number;
  heapBaseline: number;
  heapAfter: number;
  resourcesBaseline: string[];
  resourcesAfter: string[];
  /** Live timers and sockets by type, unref'd ones included (which getActiveResourcesInfo leaves out). */
  handlesBaseline: Record<string, number>;
  handlesAfter: Record<string, number>;
  /** `'upgrade'` listeners on the http server after the run, and once the handler was closed. */
  upgradeListenersAfter: number;
  upgradeListenersAfterClose: number;
  /** The codes the server's sessions closed with, per transport and ending (`<transport> <ending>`). */
  closeCodes: Record<string, number[]>;
}

const CONCURRENCY = 40;
/** How long ended sessions and their sockets may take to go. */
const UNTIL_EMPTY = { timeoutMs: 60_000 };
/** Echoed back large enough to end a streaming response (responseLimit below). */
const ROLLOVER = 'x'.repeat(300);

/** Timers and sockets alive now, by async resource type, tracked from their creation to their end. */
const TRACKED = new Set(['Timeout', 'Immediate', 'TCPWRAP', 'TCPSERVERWRAP']);
const liveHandles = new Map<number, string>();
createHook({
  init(asyncId, type) {
    if (TRACKED.has(type)) liveHandles.set(asyncId, type);
  },
  destroy(asyncId) {
    liveHandles.delete(asyncId);
  },
}).enable();

function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of liveHandles.values()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}


async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 10_000);
  let connections = 0;
  let closedOnce = 0;
  let closedTwice = 0;
  const handler = sockjs(
    { disconnectDelay: 2000, heartbeatDelay: 200, responseLimit: 256, rawWebsocket: true },
    (session: Session) => {
      connections++;
      let closes = 0;
      /** How the client means to end it: its first message says. */
      let ending = '';
      session.on('close', (code) => {
        closes++;
        if (closes === 1) closedOnce++;
        if (closes === 2) closedTwice++;
        const codes = (closeCodes[`${session.transport} ${ending}`] ??= []);
        if (!codes.includes(code)) codes.push(code);
      });
      session.on('data', (message) => {
        if (ending === '' && message.startsWith('hello ')) ending = message.slice('hello '.length);
        if (message === 'close-me') session.close();
        else session.send(message);
      });
    },
  );
  const running = await listen({ '/leak': handler });
  const base = `${running.base}/leak`;
  // The server's sockets, to wait until every one has closed.
  const sockets = new Set<Socket>();
  running.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const closeCodes: Record<string, number[]> = {};

  /** Runs sessions `from`..`to` (exclusive), CONCURRENCY at a time. */
  async function run(from: number, to: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true });
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const i = next++;
        const transport = WIRE_TRANSPORTS[i % WIRE_TRANSPORTS.length];
        const ending = ENDINGS[Math.floor(i / WIRE_TRANSPORTS.length) % ENDINGS.length];
        await oneSession(base, transport, ending, agent);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pollUntil('the registry to empty', () => handler.sessions.size === 0, UNTIL_EMPTY);
    agent.destroy();
    await pollUntil('the server sockets to close', () => sockets.size === 0, UNTIL_EMPTY);
  }

  // Warm up every code path first, so lazily built code and caches count in the baseline.
  const warmUp = WIRE_TRANSPORTS.length * ENDINGS.length * 50;
  await run(0, warmUp);
  const heapBaseline = await settledHeap();
  const resourcesBaseline = process.getActiveResourcesInfo().sort();
  const handlesBaseline = handleCounts();
  for (const key of Object.keys(closeCodes)) delete closeCodes[key];
  const startedBefore = connections;
  const closedBefore = closedOnce;

  await run(warmUp, warmUp + total);
  const heapAfter = await settledHeap();
  const report: LeakReport = {
    sessions: total,
    connections: connections - startedBefore,
    closedOnce: closedOnce - closedBefore,
    closedTwice,
    registryAfter: handler.sessions.size,
    heapBaseline,
    heapAfter,
    resourcesBaseline,
    resourcesAfter: process.getActiveResourcesInfo().sort(),
    handlesBaseline,
    handlesAfter: handleCounts(),
    upgradeListenersAfter: running.server.listenerCount('upgrade'),
    upgradeListenersAfterClose: 0,
    closeCodes,
  };
  await running.close();
  report.upgradeListenersAfterClose = running.server.listenerCount('upgrade');
  process.stdout.write(JSON.stringify(report) + '\n');
}

/** Opens one session, checks it echoes, and ends it the given way. */
async function oneSession(base: string, transport: WireTransport, ending: Ending, agent: http.Agent): Promise<void> {
  let echoed!: (message: string) => void;
  let nextEcho = new Promise<string>((resolve) => (echoed = resolve));
  const wire = openWire(base, transport, { message: (m) => echoed(m) }, agent);
  await wire.opened;
  const echo = async (message: string): Promise<void> => {
    await wire.send([message]);
    const got = await nextEcho;
    nextEcho = new Promise<string>((resolve) => (echoed = resolve));
    if (got !== message) throw new Error(`${transport}: sent ${message}, got ${got}`);
  };
  await echo(`hello ${ending}`);
  switch (ending) {
    case 'client-close':
      wire.close();
      break;
    case 'server-close': {
      await wire.send(['close-me']);
      const end = await wire.ended;
      if (typeof end === 'string' || end.code !== 3000) throw new Error(`${transport}: closed with ${JSON.stringify(end)}`);
      break;
    }
    case 'abort':
      wire.abort();
      break;
    case 'timeout':
      // The echo of a message past the response limit ends the receiving response; nobody comes back.
      wire.leave();
      if (transport !== 'websocket' && transport !== 'raw-websocket') await wire.send([ROLLOVER]);
      break;
  }
  await wire.ended;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
