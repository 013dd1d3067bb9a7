/**
 * The demo's live stats: a SockJS handler (at /stats-feed) that streams the
 * chat room's `handler.stats()` to the stats page (demo/public/stats.html),
 * which charts them with uPlot.
 *
 * Once a second the feed samples the chat handler and broadcasts a point:
 *   { "type": "point", "point": { "t": 1733150000, "open": { "websocket": 2, ... }, "in": 4, "out": 8 } }
 * `t` is in seconds, `open` the sessions open by transport, `in` and `out`
 * the messages per second received and sent since the last point. A page that
 * connects first gets the last five minutes: { "type": "history", "points": [...] }.
 * The feed only sends; what a client sends is ignored.
 */
import { sockjs, type HandlerStats, type SockJSHandler, type TransportName } from '../lib';
import { sockjsClientPath } from './sockjs-client';

/** One sample of the chat room. */
export interface StatsPoint {
  /** Seconds since the epoch. */
  readonly t: number;
  /** Sessions open by transport. */
  readonly open: Readonly<Record<TransportName, number>>;
  /** Messages per second from clients, over the last interval. */
  readonly in: number;
  /** Messages per second to clients, over the last interval. */
  readonly out: number;
}

/** What the feed sends. */
export type StatsMessage = { type: 'history'; points: StatsPoint[] } | { type: 'point'; point: StatsPoint };

/** Points kept for a page that connects: five minutes at one a second. */
const HISTORY = 300;

/** The feed's handler, to mount, and how to stop it. */
export interface StatsFeed {
  readonly handler: SockJSHandler;
  /** Stops sampling and closes the feed's sessions. */
  close(): Promise<void>;
}

/** The SockJS transports the demo serves (not the raw websocket). */
const TRANSPORTS: readonly TransportName[] = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'htmlfile', 'jsonp-polling'];

/** The feed for `watched`'s stats, sampled every `intervalMs`. */
export function statsFeed(watched: { stats(): HandlerStats }, intervalMs = 1000): StatsFeed {
  const history: StatsPoint[] = [];
  let last = watched.stats();
  let lastTime = Date.now();

  const feed = sockjs({ sockjsUrl: sockjsClientPath, allowedOrigins: [] }, (session) => {
    session.send(JSON.stringify({ type: 'history', points: history } satisfies StatsMessage));
  });

  const sample = (): void => {
    const now = Date.now();
    const stats = watched.stats();
    const seconds = Math.max((now - lastTime) / 1000, 0.001);
    const open = Object.fromEntries(TRANSPORTS.map((name) => [name, stats.sessions.open[name]])) as Record<TransportName, number>;
    const point: StatsPoint = {
      t: Math.round(now / 1000),
      open,
      in: Math.round((stats.messages.received - last.messages.received) / seconds),
      out: Math.round((stats.messages.sent - last.messages.sent) / seconds),
    };
    last = stats;
    lastTime = now;
    history.push(point);
    if (history.length > HISTORY) history.shift();
    feed.broadcast(JSON.stringify({ type: 'point', point } satisfies StatsMessage));
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();

  return {
    handler: feed,
    close(): Promise<void> {
      clearInterval(timer);
      return feed.close();
    },
  };
}
