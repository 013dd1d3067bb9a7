/**
 * `sockjs-express/metrics`: a handler's stats as Prometheus metrics, on a
 * `prom-client` registry the application passes in. `prom-client` is an
 * optional peer dependency (15.x), loaded only by this entry; importing it
 * without `prom-client` installed throws an error that says to install it.
 *
 * The metrics are read from `handler.stats()` when the registry is scraped
 * (prom-client's `collect()`), once per scrape, so they cost nothing per
 * message.
 *
 * ```ts
 * import { Registry } from 'prom-client';
 * import { collectMetrics } from 'sockjs-express/metrics';
 *
 * const registry = new Registry();
 * collectMetrics(chat, { registry, handler: 'chat' });
 * app.get('/metrics', async (_req, res) => {
 *   res.type(registry.contentType).send(await registry.metrics());
 * });
 * ```
 * @packageDocumentation
 */
import './peer';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SockJSHandler } from '../handler';
import { InvalidArgumentError } from '../errors';
import { SESSION_TRANSPORTS, type HandlerStats, type LimitCloses } from '../stats';

/** Options of {@link collectMetrics}. */
export interface MetricsOptions {
  /** The `prom-client` registry to register the collectors on (not prom-client's global one unless you pass it). */
  registry: Registry;
  /**
   * The value of the `handler` label on every series, so that several
   * handlers can share one registry; each must have its own.
   * @default 'sockjs'
   */
  handler?: string;
  /**
   * Close codes of your own (3000–4999) that get their own `code` label on
   * `sockjs_sessions_closed_total`; other codes not in
   * {@link KNOWN_CLOSE_CODES} count as `code="other"`, so the label stays bounded.
   * @default []
   */
  closeCodes?: readonly number[];
}

/** The close codes `sockjs_sessions_closed_total` labels by their number: the protocol's, this server's own, and 1005 (a websocket closed without a code). */
export const KNOWN_CLOSE_CODES: readonly number[] = [1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 2010, 3000];

const LIMIT_LABELS: Readonly<Record<keyof LimitCloses, string>> = { queue: 'queue', inbox: 'inbox', messageSize: 'message_size' };

/** One handler as the metrics of a registry read it. */
interface Source {
  readonly handler: SockJSHandler;
  readonly label: string;
  readonly codes: ReadonlySet<number>;
}

/** The handlers of each registry, and the snapshot each took for the scrape under way. */
const sourcesOf = new WeakMap<Registry, Source[]>();
const snapshots = new WeakMap<Source, HandlerStats>();

/** One snapshot per handler per scrape: every collector of a scrape runs in one synchronous pass. */
function statsOf(source: Source): HandlerStats {
  let stats = snapshots.get(source);
  if (stats === undefined) {
    stats = source.handler.stats();
    snapshots.set(source, stats);
    queueMicrotask(() => snapshots.delete(source));
  }
  return stats;
}

type Values = (stats: HandlerStats, source: Source) => Iterable<[labels: Record<string, string>, value: number]>;

interface Definition {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: readonly string[];
  readonly values: Values;
}

/** A metric with no label but `handler`; no series when `read` gives `undefined`. */
function unlabelled(name: string, type: Definition['type'], help: string, read: (stats: HandlerStats) => number | undefined): Definition {
  return {
    name,
    help,
    type,
    labels: [],
    values: (stats) => {
      const value = read(stats);
      return value === undefined ? [] : [[{}, value]];
    },
  };
}

/** Every metric: name, help, type, labels besides `handler`, and how a snapshot gives its values. */
const DEFINITIONS: readonly Definition[] = [
  {
    name: 'sockjs_sessions_open',
    help: 'Sessions open now, by transport.',
    type: 'gauge',
    labels: ['transport'],
    values: (stats) => SESSION_TRANSPORTS.map((transport) => [{ transport }, stats.sessions.open[transport]]),
  },
  {
    name: 'sockjs_sessions_opened_total',
    help: 'Sessions opened, by the transport they opened with.',
    type: 'counter',
    labels: ['transport'],
    values: (stats) => SESSION_TRANSPORTS.map((transport) => [{ transport }, stats.sessions.opened[transport]]),
  },
  {
    name: 'sockjs_sessions_closed_total',
    help: 'Sessions closed, by close code (codes not listed count as "other").',
    type: 'counter',
    labels: ['code'],
    values: closedByCode,
  },
  {
    name: 'sockjs_sessions_closed_by_limit_total',
    help: 'Sessions the server closed because a limit was passed: queue, inbox or message_size.',
    type: 'counter',
    labels: ['limit'],
    values: (stats) =>
      (Object.keys(LIMIT_LABELS) as (keyof LimitCloses)[]).map((limit) => [{ limit: LIMIT_LABELS[limit] }, stats.sessions.closedByLimit[limit]]),
  },
  unlabelled('sockjs_messages_received_total', 'counter', 'Messages received from clients.', (stats) => stats.messages.received),
  unlabelled('sockjs_messages_sent_total', 'counter', 'Messages sent to clients (a broadcast counts once per session).', (stats) => stats.messages.sent),
  unlabelled('sockjs_received_bytes_total', 'counter', 'UTF-8 bytes of the messages received from clients.', (stats) => stats.bytes.received),
  unlabelled('sockjs_sent_bytes_total', 'counter', 'UTF-8 bytes of the messages sent to clients.', (stats) => stats.bytes.sent),
  {
    name: 'sockjs_refused_total',
    help: 'Requests and websocket handshakes refused, by status and by whom: the handler, or the app\'s middleware (handshakes only).',
    type: 'counter',
    labels: ['status', 'by'],
    values: (stats) => [
      ...Object.entries(stats.refused.byHandler).map(([status, value]): [Record<string, string>, number] => [{ status, by: 'handler' }, value]),
      ...Object.entries(stats.refused.byMiddleware).map(([status, value]): [Record<string, string>, number] => [{ status, by: 'middleware' }, value]),
    ],
  },
  unlabelled('sockjs_buffered_bytes', 'gauge', 'Bytes waiting for clients over every open session.', (stats) => stats.bufferedAmount),
  unlabelled(
    'sockjs_cluster_relayed_requests_total',
    'counter',
    'Receiving requests served for sessions another process owns (with an adapter).',
    (stats) => stats.cluster?.relayedRequests,
  ),
  unlabelled(
    'sockjs_cluster_forwarded_sends_total',
    'counter',
    'Sends forwarded to the process owning their session (with an adapter).',
    (stats) => stats.cluster?.forwardedSends,
  ),
];

function* closedByCode(stats: HandlerStats, source: Source): Iterable<[Record<string, string>, number]> {
  let other = 0;
  const known = new Map<number, number>([...source.codes].map((code) => [code, 0]));
  for (const [code, value] of Object.entries(stats.sessions.closedByCode)) {
    const number = Number(code);
    if (known.has(number)) known.set(number, (known.get(number) ?? 0) + value);
    else other += value;
  }
  for (const [code, value] of known) yield [{ code: String(code) }, value];
  yield [{ code: 'other' }, other];
}

/** Registers the metrics of a registry once: their collectors read every handler registered on it. */
function register(registry: Registry): Source[] {
  const sources: Source[] = [];
  for (const definition of DEFINITIONS) {
    const labelNames = ['handler', ...definition.labels];
    const collect = function (this: Counter | Gauge): void {
      this.reset();
      for (const source of sources) {
        for (const [labels, value] of definition.values(statsOf(source), source)) {
          const all = { handler: source.label, ...labels };
          if (this instanceof Gauge) this.set(all, value);
          else this.inc(all, value);
        }
      }
    };
    const config = { name: definition.name, help: definition.help, labelNames, registers: [registry], collect };
    if (definition.type === 'gauge') new Gauge(config);
    else new Counter(config);
  }
  return sources;
}

/**
 * Registers Prometheus collectors for `handler` on `options.registry`:
 * every metric in the README's table, with a `handler` label. Several
 * handlers may share a registry, each with its own `handler` label.
 * Returns a function that stops collecting for this handler.
 * @throws InvalidArgumentError when `handler` is not a SockJS handler, or its label is taken on this registry
 */
export function collectMetrics(handler: SockJSHandler, options: MetricsOptions): () => void {
  if (typeof handler !== 'function' || typeof (handler as Partial<SockJSHandler>).stats !== 'function') {
    throw new InvalidArgumentError('sockjs: collectMetrics() takes a handler made by sockjs()');
  }
  const { registry, handler: label = 'sockjs', closeCodes = [] } = options;
  if (typeof label !== 'string' || label === '') throw new InvalidArgumentError('sockjs: collectMetrics() option "handler" must be a non-empty string');
  for (const code of closeCodes) {
    if (!Number.isInteger(code) || code < 1000 || code > 4999) {
      throw new InvalidArgumentError(`sockjs: collectMetrics() option "closeCodes" must list close codes from 1000 to 4999, got ${String(code)}`);
    }
  }
  let sources = sourcesOf.get(registry);
  if (sources === undefined) {
    sources = register(registry);
    sourcesOf.set(registry, sources);
  }
  if (sources.some((source) => source.label === label)) {
    throw new InvalidArgumentError(`sockjs: collectMetrics(): the registry already has a handler labelled "${label}"; give each its own "handler" option`);
  }
  const source: Source = { handler, label, codes: new Set([...KNOWN_CLOSE_CODES, ...closeCodes]) };
  sources.push(source);
  const list = sources;
  return () => {
    const index = list.indexOf(source);
    if (index >= 0) list.splice(index, 1);
  };
}
