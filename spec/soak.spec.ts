/**
 * No lost messages: many clients over every transport at once, with a
 * 128-byte response limit so streaming responses roll over after a frame or
 * two and clients re-open their receiving request all the time. Each client
 * sends numbered messages, the server sends numbered messages to each
 * session, and both sides must see every message exactly once, in order,
 * before the close. Broadcasts run all along, interleaved with the sends:
 * each client must see an unbroken run of them, in order, none twice.
 */
import http from 'node:http';
import { sockjs, type Session, type SockJSHandler } from '../lib';
import { listen, type Running } from './helpers';
import { WIRE_TRANSPORTS, openWire, type WireTransport } from './support/wire';

const CLIENTS_PER_TRANSPORT = 7;
/** Messages each client sends, and messages the server sends to each session. */
const FROM_CLIENT = 150;
const FROM_SERVER = 150;
/** Text the escaping must carry unchanged: quotes, markup, line separators, non-BMP. */
const AWKWARD = '"<\\/script>&\u2028\u00e9\ud83d\ude00';

const clientMessage = (client: string, n: number): string => `${client}:${n}:${AWKWARD}`;
const serverMessage = (n: number): string => `s${n}${AWKWARD.repeat(n % 3)}`;
const numbered = (count: number, make: (n: number) => string): string[] => Array.from({ length: count }, (_, n) => make(n));

/** What the server saw of one session. */
interface ServerSide {
  readonly received: string[];
  sent: number;
  /** How often `send()` reported the high-water mark passed. */
  waits: number;
  closes: number;
}

let running: Running | undefined;
let agent: http.Agent | undefined;
let broadcasting: NodeJS.Timeout | undefined;

afterEach(async () => {
  clearTimeout(broadcasting);
  agent?.destroy();
  await running?.close();
  running = undefined;
});

/**
 * Buffered bytes past which `send()` asks the server to wait for `'drain'`:
 * low, so that a session's queue passes it often while its client re-polls.
 */
const HIGH_WATER_MARK = 64;

/**
 * The server: sends FROM_SERVER numbered messages at random moments, waiting
 * for `'drain'` whenever `send()` reports the queue past its high-water mark
 * (the message itself was queued), and closes once it has sent and read them all.
 */
function soakHandler(sides: Map<Session, ServerSide>) {
  return sockjs({ responseLimit: 128, highWaterMark: HIGH_WATER_MARK, disconnectDelay: 30_000, rawWebsocket: true }, (session) => {
    const side: ServerSide = { received: [], sent: 0, waits: 0, closes: 0 };
    sides.set(session, side);
    const finishIfDone = (): void => {
      if (side.sent === FROM_SERVER && side.received.length === FROM_CLIENT) session.close();
    };
    session.on('data', (message) => {
      side.received.push(message);
      finishIfDone();
    });
    session.on('close', () => side.closes++);
    const sendNext = (): void => {
      if (side.sent === FROM_SERVER) return finishIfDone();
      // A session that closed early ends its client, whose checks below then fail.
      if (session.state !== 'open') return;
      const belowHighWaterMark = session.send(serverMessage(side.sent));
      side.sent++;
      if (!belowHighWaterMark) {
        side.waits++;
        session.once('drain', sendNext);
      }
      // Sometimes in the same tick (one frame), sometimes later (after a rollover).
      else if (Math.random() < 0.5) sendNext();
      else setTimeout(sendNext, Math.floor(Math.random() * 3));
    };
    setImmediate(sendNext);
  });
}

/** Broadcasts `b0`, `b1`, ... to every open session, one every few milliseconds, until afterEach. */
function broadcastForever(handler: SockJSHandler): void {
  let k = 0;
  const tick = (): void => {
    handler.broadcast(`b${k++}`);
    broadcasting = setTimeout(tick, 1 + Math.floor(Math.random() * 3));
  };
  tick();
}

/** Whether `list` is `b<k>`, `b<k+1>`, ... with no gap and no repeat. */
const unbroken = (list: string[]): boolean => list.every((m, i) => i === 0 || Number(m.slice(1)) === Number(list[i - 1].slice(1)) + 1);

/** One client: opens, sends its messages in batches of 1 to 3, waits for the server's close. */
async function soakClient(base: string, transport: WireTransport, name: string): Promise<{ received: string[]; end: unknown }> {
  const received: string[] = [];
  const wire = openWire(base, transport, { message: (m) => received.push(m) }, agent as http.Agent);
  await wire.opened;
  const mine = numbered(FROM_CLIENT, (n) => clientMessage(name, n));
  for (let at = 0; at < mine.length; ) {
    const batch = mine.slice(at, at + 1 + Math.floor(Math.random() * 3));
    await wire.send(batch);
    at += batch.length;
  }
  return { received, end: await wire.ended };
}

describe('soak', () => {
  it(`delivers every message exactly once and in order, both ways, over every transport (${CLIENTS_PER_TRANSPORT * WIRE_TRANSPORTS.length} clients, responseLimit 128)`, async () => {
    const sides = new Map<Session, ServerSide>();
    const handler = soakHandler(sides);
    running = await listen({ '/soak': handler });
    broadcastForever(handler);
    agent = new http.Agent({ keepAlive: true });
    const base = `${running.base}/soak`;

    const clients = WIRE_TRANSPORTS.flatMap((transport) =>
      Array.from({ length: CLIENTS_PER_TRANSPORT }, (_, i) => ({ transport, name: `${transport}-${i}` })),
    );
    const results = await Promise.all(clients.map(({ transport, name }) => soakClient(base, transport, name)));

    const expectedFromServer = numbered(FROM_SERVER, serverMessage);
    clients.forEach(({ transport }, i) => {
      const { received, end } = results[i];
      const broadcasts = received.filter((m) => /^b\d+$/.test(m));
      expect({ transport, end, own: received.filter((m) => !/^b\d+$/.test(m)), broadcastsUnbroken: unbroken(broadcasts) }).toEqual({
        transport,
        end: { code: 3000, reason: 'Go away!' },
        own: expectedFromServer,
        broadcastsUnbroken: true,
      });
      expect(broadcasts.length).toBeGreaterThan(0);
    });

    // Every session ended, once each, having read exactly what its client sent.
    expect(sides.size).toBe(clients.length);
    const seen = new Set<string>();
    for (const side of sides.values()) {
      const name = side.received[0]?.split(':')[0] ?? '';
      seen.add(name);
      expect({ name, received: side.received, closes: side.closes }).toEqual({
        name,
        received: numbered(FROM_CLIENT, (n) => clientMessage(name, n)),
        closes: 1,
      });
    }
    expect(seen).toEqual(new Set(clients.map((c) => c.name)));
    // The high-water mark was passed, so the servers' waits for 'drain' were part of the run.
    expect([...sides.values()].reduce((sum, side) => sum + side.waits, 0)).toBeGreaterThan(0);
    // HTTP sessions keep their close frame for disconnectDelay; none is open.
    expect([...handler.sessions.values()].filter((session) => session.state === 'open')).toEqual([]);
  }, 120_000);
});
