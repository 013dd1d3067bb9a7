/**
 * The options of `sockjs()`: one interface with documented defaults, one
 * merge, one validation pass that throws a `TypeError` naming the option.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions as WebSocketServerOptions } from 'ws';
import { InvalidOptionError } from './errors';

/** The names of the SockJS transports, as sockjs-client spells them. */
export type TransportName =
  | 'websocket'
  | 'xhr-streaming'
  | 'xhr-polling'
  | 'eventsource'
  | 'htmlfile'
  | 'jsonp-polling';

/** Every transport, in the order sockjs-client prefers them. */
export const TRANSPORT_NAMES: readonly TransportName[] = [
  'websocket',
  'xhr-streaming',
  'xhr-polling',
  'eventsource',
  'htmlfile',
  'jsonp-polling',
];

/**
 * The `ws` server options a user may set. The ones sockjs-express owns
 * (`noServer`, `server`, `port`, `host`, `path`, `maxPayload`) are left out:
 * the upgrade is routed by the handler and the message size is `maxMessageSize`.
 */
export type WebsocketOptions = Omit<
  WebSocketServerOptions,
  'noServer' | 'server' | 'port' | 'host' | 'path' | 'maxPayload' | 'backlog'
>;

/** A function that sets the JSESSIONID cookie (or anything else) on session responses. */
export type JsessionidFunction = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link sockjs}. Every field is optional. */
export interface Options {
  /**
   * Serve the `websocket` transport. Some load balancers do not carry
   * websockets; turn it off there and `/info` tells clients so.
   * @default true
   */
  websocket?: boolean;
  /**
   * Serve a raw websocket (no SockJS framing) at `<prefix>/websocket`, for
   * programs that are not sockjs-client.
   * @default false
   */
  rawWebsocket?: boolean;
  /**
   * Set a `JSESSIONID` cookie on every session response, for load balancers
   * that keep sessions sticky by that cookie. `true` reflects the client's
   * cookie or sets `JSESSIONID=dummy; Path=/`; a function does what it likes.
   * `/info` says `cookie_needed: true` unless this is `false`.
   * @default false
   */
  jsessionid?: boolean | JsessionidFunction;
  /**
   * Where the iframe page loads sockjs-client from. Point it at the same
   * build your pages use; it must be an absolute `http(s)` URL or start with `/`.
   * @default 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js'
   */
  sockjsUrl?: string;
  /**
   * Milliseconds between heartbeat frames (`h`) while a receiving connection
   * is open, so proxies do not time it out.
   * @default 25000
   */
  heartbeatDelay?: number;
  /**
   * Milliseconds a session lives without a receiving connection before it is
   * closed (and, once closed, before its close frame is forgotten).
   * @default 5000
   */
  disconnectDelay?: number;
  /**
   * Bytes a streaming response (xhr-streaming, eventsource, htmlfile) may
   * carry before it is ended and the client opens a new one.
   * @default 131072
   */
  responseLimit?: number;
  /**
   * Largest incoming request body or websocket message, in bytes. Larger HTTP
   * sends get `413`; larger websocket messages close the connection with 1009.
   * @default 1048576
   */
  maxMessageSize?: number;
  /**
   * Options handed to the `ws` server (e.g. `perMessageDeflate`), the
   * counterpart of sockjs-go's `WebsocketUpgrader`.
   * @default {}
   */
  websocketOptions?: WebsocketOptions;
  /**
   * Milliseconds a websocket write may stay unflushed before the connection
   * is dropped as dead. `0` means never.
   * @default 0
   */
  websocketWriteTimeout?: number;
  /**
   * A fixed `Access-Control-Allow-Origin` value. Empty: reflect the request's
   * `Origin` (or `*` when it has none), as the SockJS protocol expects.
   * @default ''
   */
  origin?: string;
  /**
   * Decides per request whether CORS headers are sent. When it returns
   * `false` no CORS headers are set. When given, `origin` is not used.
   * @default undefined
   */
  checkOrigin?: (req: IncomingMessage) => boolean;
  /**
   * The transports to serve, by sockjs-client's names. A transport left out
   * answers `404` (and `/info` says `websocket: false` without `websocket`).
   * @default every transport
   */
  transports?: readonly TransportName[];
}

/** Options after defaults are merged and validated. */
export interface ResolvedOptions {
  readonly websocket: boolean;
  readonly rawWebsocket: boolean;
  readonly jsessionid: false | JsessionidFunction;
  readonly sockjsUrl: string;
  readonly heartbeatDelay: number;
  readonly disconnectDelay: number;
  readonly responseLimit: number;
  readonly maxMessageSize: number;
  readonly websocketOptions: WebsocketOptions;
  readonly websocketWriteTimeout: number;
  readonly origin: string;
  readonly checkOrigin: ((req: IncomingMessage) => boolean) | undefined;
  readonly transports: ReadonlySet<TransportName>;
}

/** The defaults, in one literal. */
export const DEFAULTS = {
  websocket: true,
  rawWebsocket: false,
  jsessionid: false,
  sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js',
  heartbeatDelay: 25_000,
  disconnectDelay: 5_000,
  responseLimit: 128 * 1024,
  maxMessageSize: 1024 * 1024,
  websocketOptions: {},
  websocketWriteTimeout: 0,
  origin: '',
  checkOrigin: undefined,
  transports: TRANSPORT_NAMES,
} as const satisfies Required<Omit<Options, 'checkOrigin'>> & Pick<Options, 'checkOrigin'>;

const KNOWN = new Set<string>(Object.keys(DEFAULTS));
/** Longest timer Node accepts; larger values would fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

function fail(name: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new InvalidOptionError(`sockjs: option "${name}" must be ${expected}, got ${shown}`);
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(name, 'a boolean', value);
  return value;
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function jsessionid(value: unknown): false | JsessionidFunction {
  if (typeof value === 'function') return value as JsessionidFunction;
  return boolean('jsessionid', value) ? setJsessionidCookie : false;
}

function sockjsUrl(value: unknown): string {
  if (typeof value !== 'string' || !/^(https?:\/\/|\/)[^"'<>\s]*$/i.test(value)) {
    fail('sockjsUrl', 'an http(s) URL or a path starting with "/" (no quotes, angle brackets or spaces)', value);
  }
  return value;
}

function transports(value: unknown, websocket: boolean): ReadonlySet<TransportName> {
  if (!Array.isArray(value)) fail('transports', 'an array of transport names', value);
  const known = new Set<string>(TRANSPORT_NAMES);
  const chosen = new Set<TransportName>();
  for (const name of value as unknown[]) {
    if (typeof name !== 'string' || !known.has(name)) {
      fail('transports', `a list of ${TRANSPORT_NAMES.join(', ')}`, name);
    }
    chosen.add(name as TransportName);
  }
  if (!websocket) chosen.delete('websocket');
  return chosen;
}

/**
 * Merges `options` over {@link DEFAULTS} and checks every field. Unknown
 * names and wrong types throw an {@link InvalidOptionError} (a `TypeError`)
 * whose message names the option.
 */
export function resolveOptions(options: Options = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('sockjs: options must be an object');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new InvalidOptionError(`sockjs: unknown option "${name}"`);
  }
  const merged = { ...DEFAULTS, ...stripUndefined(options) };
  const websocket = boolean('websocket', merged.websocket);
  const checkOrigin = merged.checkOrigin;
  if (checkOrigin !== undefined && typeof checkOrigin !== 'function') {
    fail('checkOrigin', 'a function', checkOrigin);
  }
  if (typeof merged.origin !== 'string' || /[\r\n]/.test(merged.origin)) {
    fail('origin', 'a string without line breaks', merged.origin);
  }
  const wsOptions: unknown = merged.websocketOptions;
  if (wsOptions === null || typeof wsOptions !== 'object' || Array.isArray(wsOptions)) {
    fail('websocketOptions', 'an object', wsOptions);
  }
  for (const owned of ['noServer', 'server', 'port', 'host', 'path', 'maxPayload', 'backlog']) {
    if (owned in wsOptions) {
      fail('websocketOptions', `an object without "${owned}" (sockjs-express sets it)`, owned);
    }
  }
  return {
    websocket,
    rawWebsocket: boolean('rawWebsocket', merged.rawWebsocket),
    jsessionid: jsessionid(merged.jsessionid),
    sockjsUrl: sockjsUrl(merged.sockjsUrl),
    heartbeatDelay: integer('heartbeatDelay', merged.heartbeatDelay, 1, MAX_DELAY),
    disconnectDelay: integer('disconnectDelay', merged.disconnectDelay, 1, MAX_DELAY),
    responseLimit: integer('responseLimit', merged.responseLimit, 1, 2 ** 31),
    maxMessageSize: integer('maxMessageSize', merged.maxMessageSize, 1, 2 ** 31),
    websocketOptions: wsOptions as WebsocketOptions,
    websocketWriteTimeout: integer('websocketWriteTimeout', merged.websocketWriteTimeout, 0, MAX_DELAY),
    origin: merged.origin,
    checkOrigin,
    transports: transports(merged.transports, websocket),
  };
}

function stripUndefined(options: Options): Options {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = value;
  }
  return out as Options;
}

/**
 * The `jsessionid: true` behaviour: reflect the client's `JSESSIONID` cookie
 * (parsed by cookie-parser) or set a dummy one, always with `Path=/`.
 */
export function setJsessionidCookie(req: IncomingMessage, res: ServerResponse): void {
  const cookies = (req as IncomingMessage & { cookies?: Record<string, unknown> }).cookies;
  const sent = cookies?.JSESSIONID;
  const value = typeof sent === 'string' && sent !== '' ? sent : 'dummy';
  res.appendHeader('Set-Cookie', `JSESSIONID=${encodeURIComponent(value)}; Path=/`);
}
