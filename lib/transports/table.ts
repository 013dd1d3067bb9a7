/**
 * The transport table: every session route of the protocol as data. The
 * handler builds its routes from it, and `/info` and the allow-list of
 * transports read it; no route is written by hand.
 */
import type { TransportName } from '../options';
import { eventsource } from './eventsource';
import { htmlfile } from './htmlfile';
import type { HttpReceiverFormat } from './http-receiver';
import { jsonpPolling } from './jsonp-polling';
import { xhrPolling } from './xhr-polling';
import { xhrStreaming } from './xhr-streaming';

/** What a session route does. */
export type SessionRouteAction =
  | { readonly kind: 'receive'; readonly format: HttpReceiverFormat; readonly callback: boolean }
  | { readonly kind: 'send'; readonly sender: 'xhr' | 'jsonp' }
  | { readonly kind: 'websocket' };

/** One route under `/<server_id>/<session_id>/`. */
export interface SessionRoute {
  /** The last path segment, e.g. `xhr_streaming`. */
  readonly name: string;
  /** The method the route answers (others get `405`). */
  readonly method: 'GET' | 'POST';
  /** The route is served when any of these transports is. */
  readonly transports: readonly TransportName[];
  /** Whether the route answers CORS preflights (`OPTIONS`). Such routes send CORS headers. */
  readonly preflight: boolean;
  /**
   * Send CORS headers without answering preflights: a cross-origin
   * `EventSource` needs `Access-Control-Allow-Origin` but sends no preflight.
   */
  readonly cors?: true;
  readonly action: SessionRouteAction;
}

export const SESSION_ROUTES: readonly SessionRoute[] = [
  { name: 'websocket', method: 'GET', transports: ['websocket'], preflight: false, action: { kind: 'websocket' } },
  {
    name: 'xhr',
    method: 'POST',
    transports: ['xhr-polling'],
    preflight: true,
    action: { kind: 'receive', format: xhrPolling, callback: false },
  },
  {
    name: 'xhr_streaming',
    method: 'POST',
    transports: ['xhr-streaming'],
    preflight: true,
    action: { kind: 'receive', format: xhrStreaming, callback: false },
  },
  {
    name: 'xhr_send',
    method: 'POST',
    transports: ['xhr-polling', 'xhr-streaming', 'eventsource', 'htmlfile'],
    preflight: true,
    action: { kind: 'send', sender: 'xhr' },
  },
  {
    name: 'eventsource',
    method: 'GET',
    transports: ['eventsource'],
    preflight: false,
    cors: true,
    action: { kind: 'receive', format: eventsource, callback: false },
  },
  {
    name: 'htmlfile',
    method: 'GET',
    transports: ['htmlfile'],
    preflight: false,
    action: { kind: 'receive', format: htmlfile, callback: true },
  },
  {
    name: 'jsonp',
    method: 'GET',
    transports: ['jsonp-polling'],
    preflight: true,
    action: { kind: 'receive', format: jsonpPolling, callback: true },
  },
  {
    name: 'jsonp_send',
    method: 'POST',
    transports: ['jsonp-polling'],
    preflight: true,
    action: { kind: 'send', sender: 'jsonp' },
  },
];

/**
 * The path of a session route: both ids non-empty and free of dots. Nothing
 * is captured, so the router never percent-decodes (and never chokes on) an id.
 */
export function sessionRoutePath(name: string): RegExp {
  return new RegExp(`^/[^/.]+/[^/.]+/${name}$`);
}

/** The session id of a URL whose path {@link sessionRoutePath} matched, as sent. */
export function sessionIdOf(url: string): string {
  const start = url.indexOf('/', 1) + 1;
  return url.slice(start, url.indexOf('/', start));
}

/** The response format of a receiving transport, by name (`undefined` for websocket). */
export function receiverFormat(transport: string): HttpReceiverFormat | undefined {
  for (const route of SESSION_ROUTES) {
    if (route.action.kind === 'receive' && route.action.format.transport === transport) return route.action.format;
  }
  return undefined;
}
