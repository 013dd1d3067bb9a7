/**
 * What a handler counts about itself, for `handler.stats()`. The counting
 * happens where the work already is: plain integer fields of one object per
 * handler, bumped on a session's open and close, on every message in and
 * out (with the byte length the code has at hand), and on every refusal.
 * There are no timers and nothing is allocated per message. What is a
 * state rather than a count (sessions open now, bytes buffered) is read
 * from the live sessions when a snapshot is taken.
 */
import type { ServerResponse } from 'node:http';
import { TRANSPORT_NAMES } from './options';
import type { SessionTransport } from './receiver';
import type { Session } from './session';

/** Every value of `session.transport`, in a fixed order. */
export const SESSION_TRANSPORTS: readonly SessionTransport[] = [...TRANSPORT_NAMES, 'raw-websocket'];
const TRANSPORT_INDEX = Object.fromEntries(SESSION_TRANSPORTS.map((name, index) => [name, index])) as Record<SessionTransport, number>;

/** A count for every transport, including those with none. */
export type TransportCounts = Record<SessionTransport, number>;

/** Sessions the server closed because a limit was passed. */
export interface LimitCloses {
  /** More than `maxQueuedBytes` waited for the client: `1008 "Queue limit exceeded"`. */
  queue: number;
  /** More than `maxQueuedBytes` of messages waited unread by the application: `1008 "Inbox limit exceeded"`. */
  inbox: number;
  /** A client sent more than `maxMessageSize` at once: `1009 "Message too big"`. */
  messageSize: number;
}

/** What the cluster did for this process, with an `adapter`. */
export interface ClusterCounts {
  /** Receiving requests this process served for sessions other processes own. */
  relayedRequests: number;
  /** Sends (`xhr_send`, `jsonp_send`) this process forwarded to the process owning their session. */
  forwardedSends: number;
}

/**
 * A snapshot of one handler in one process, as `handler.stats()` returns
 * it. Counts (`opened`, `closed`, messages, bytes, refusals) run from the
 * handler's creation; `open` and `bufferedAmount` are as of the snapshot.
 */
export interface HandlerStats {
  /** The process's node id (`handler.node`). */
  node: string;
  sessions: {
    /** Sessions open now, by the transport of their current (or last) receiving connection. */
    open: TransportCounts;
    /** Sessions opened, by the transport they opened with. */
    opened: TransportCounts;
    /** Sessions closed, whatever the code. */
    closed: number;
    /**
     * Sessions closed, by close code (as a string: `'1000'`, `'3000'`...):
     * the code of the close frame the server sent, or of the websocket the
     * client closed (see the README's close codes).
     */
    closedByCode: Record<string, number>;
    /** Sessions the server closed because a limit was passed (also counted under their code). */
    closedByLimit: LimitCloses;
  };
  messages: {
    /** Messages from clients handed to this process's sessions. */
    received: number;
    /** Messages sent to clients by this process's sessions (`send`, `broadcast`, `handler.send`). */
    sent: number;
  };
  bytes: {
    /** UTF-8 bytes of the messages received (the messages, not their framing). */
    received: number;
    /** UTF-8 bytes of the messages sent (the messages, not their framing). */
    sent: number;
  };
  refused: {
    /**
     * Requests and websocket handshakes the handler answered with a status
     * of 400 or more, by status: 403 the origin policy (`allowedOrigins`),
     * 404 no such session or another client's (`sessionBinding`), 405 a
     * method the route does not take, 413 a send over `maxMessageSize`, 500
     * a malformed send or callback, 503 the handler closed or the cluster unavailable.
     */
    byHandler: Record<string, number>;
    /**
     * Websocket handshakes the app answered before they reached the handler
     * (middleware's 401, 403, 429..., or the app's 404), by status. HTTP
     * requests the app's middleware refuses never reach the handler, and are
     * not counted: count them in that middleware.
     */
    byMiddleware: Record<string, number>;
  };
  /** Bytes waiting for clients, over every open session (see `session.bufferedAmount`). */
  bufferedAmount: number;
  /** What the cluster did for this process; `undefined` without an `adapter`. */
  cluster: ClusterCounts | undefined;
}

/** What `handler.clusterStats()` returns: every live process's stats and their sum. */
export interface ClusterStats {
  /** The `handler.stats()` of every live process that answered, this one included (without an `adapter`, only this one). */
  nodes: HandlerStats[];
  /** Every count and every `open` figure summed over `nodes`; `node` is this process's id. */
  total: HandlerStats;
  /** Milliseconds the cluster's backend (Redis, with `redisAdapter()`) took to list the live processes; `undefined` without an `adapter`. */
  backendRoundTripMs: number | undefined;
}

const LIMIT_REASONS: Readonly<Record<string, keyof LimitCloses>> = {
  '1008 Queue limit exceeded': 'queue',
  '1008 Inbox limit exceeded': 'inbox',
  '1009 Message too big': 'messageSize',
};

/** The counters of one handler (not exported from the package). */
export class Counters {
  readonly #opened: number[] = SESSION_TRANSPORTS.map(() => 0);
  readonly #closedByCode = new Map<number, number>();
  readonly #closedByLimit: LimitCloses = { queue: 0, inbox: 0, messageSize: 0 };
  readonly #refusedByHandler = new Map<number, number>();
  readonly #refusedByMiddleware = new Map<number, number>();
  closed = 0;
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** Present with an `adapter`. */
  readonly cluster: ClusterCounts | undefined;

  constructor(clustered: boolean) {
    this.cluster = clustered ? { relayedRequests: 0, forwardedSends: 0 } : undefined;
  }

  /** A session opened over `transport`. */
  opened(transport: SessionTransport): void {
    this.#opened[TRANSPORT_INDEX[transport]]++;
  }

  /** A session began closing with `code` and `reason`. */
  closing(code: number, reason: string): void {
    this.closed++;
    this.#closedByCode.set(code, (this.#closedByCode.get(code) ?? 0) + 1);
    if (code === 1008 || code === 1009) {
      const limit = LIMIT_REASONS[`${code} ${reason}`];
      if (limit !== undefined) this.#closedByLimit[limit]++;
    }
  }

  /** The handler answered a request or handshake with `status` (400 or more). */
  refusedByHandler(status: number): void {
    this.#refusedByHandler.set(status, (this.#refusedByHandler.get(status) ?? 0) + 1);
  }

  /** The app answered a websocket handshake with `status` before it reached the handler. */
  refusedByMiddleware(status: number): void {
    this.#refusedByMiddleware.set(status, (this.#refusedByMiddleware.get(status) ?? 0) + 1);
  }

  /** The snapshot, reading open sessions and buffered bytes from `sessions`. */
  snapshot(node: string, sessions: Iterable<Session>): HandlerStats {
    const open = zeroCounts();
    let bufferedAmount = 0;
    for (const session of sessions) {
      if (session.state !== 'open') continue;
      open[session.transport]++;
      bufferedAmount += session.bufferedAmount;
    }
    const opened = zeroCounts();
    SESSION_TRANSPORTS.forEach((name, index) => (opened[name] = this.#opened[index]));
    return {
      node,
      sessions: {
        open,
        opened,
        closed: this.closed,
        closedByCode: record(this.#closedByCode),
        closedByLimit: { ...this.#closedByLimit },
      },
      messages: { received: this.messagesReceived, sent: this.messagesSent },
      bytes: { received: this.bytesReceived, sent: this.bytesSent },
      refused: { byHandler: record(this.#refusedByHandler), byMiddleware: record(this.#refusedByMiddleware) },
      bufferedAmount,
      cluster: this.cluster && { ...this.cluster },
    };
  }
}

function zeroCounts(): TransportCounts {
  return Object.fromEntries(SESSION_TRANSPORTS.map((name) => [name, 0])) as TransportCounts;
}

function record(counts: ReadonlyMap<number, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const key of [...counts.keys()].sort((a, b) => a - b)) result[String(key)] = counts.get(key) ?? 0;
  return result;
}

/**
 * The counters of the handler a response belongs to: set on every request
 * that reaches a handler, so that the plain answers of `http.ts` count their
 * refusals, and so that an upgrade's answer can tell the handler's own from
 * the app's middleware's.
 */
const kCounters = Symbol('sockjs.counters');
type CountedResponse = ServerResponse & { [kCounters]?: Counters };

/** Marks `res` as reaching the handler that counts with `counters`. */
export function countFor(res: ServerResponse, counters: Counters): void {
  (res as CountedResponse)[kCounters] = counters;
}

/** Whether `res` reached a handler. */
export function reachedHandler(res: ServerResponse): boolean {
  return (res as CountedResponse)[kCounters] !== undefined;
}

/** Counts a refusal with `status` for the handler `res` reached, if any. */
export function countRefusal(res: ServerResponse, status: number): void {
  (res as CountedResponse)[kCounters]?.refusedByHandler(status);
}

/** Adds up snapshots of several processes (`handler.clusterStats()`): counts are summed, maps merged. */
export function sumStats(node: string, all: readonly HandlerStats[]): HandlerStats {
  const total = new Counters(false).snapshot(node, []);
  const cluster: ClusterCounts = { relayedRequests: 0, forwardedSends: 0 };
  if (all.some((one) => one.cluster !== undefined)) total.cluster = cluster;
  for (const one of all) {
    for (const name of SESSION_TRANSPORTS) {
      total.sessions.open[name] += one.sessions.open[name];
      total.sessions.opened[name] += one.sessions.opened[name];
    }
    total.sessions.closed += one.sessions.closed;
    addInto(total.sessions.closedByCode, one.sessions.closedByCode);
    for (const key of Object.keys(total.sessions.closedByLimit) as (keyof LimitCloses)[]) {
      total.sessions.closedByLimit[key] += one.sessions.closedByLimit[key];
    }
    total.messages.received += one.messages.received;
    total.messages.sent += one.messages.sent;
    total.bytes.received += one.bytes.received;
    total.bytes.sent += one.bytes.sent;
    addInto(total.refused.byHandler, one.refused.byHandler);
    addInto(total.refused.byMiddleware, one.refused.byMiddleware);
    total.bufferedAmount += one.bufferedAmount;
    cluster.relayedRequests += one.cluster?.relayedRequests ?? 0;
    cluster.forwardedSends += one.cluster?.forwardedSends ?? 0;
  }
  return total;
}

function addInto(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
}
