/**
 * The options of `sockjs()`: one interface with documented defaults, one
 * merge, one validation pass that throws a `TypeError` naming the option.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZlibOptions } from 'node:zlib';
import type { Adapter } from './adapter';
import { setJsessionidCookie } from './binding';
import { InvalidOptionError } from './errors';
import { originMatcher } from './origin';

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
 * Compression settings for `websocketOptions.perMessageDeflate`, as `ws`
 * takes them (RFC 7692 parameters, zlib settings, a size threshold).
 */
export interface PerMessageDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number;
  zlibDeflateOptions?: Pick<ZlibOptions, 'flush' | 'finishFlush' | 'chunkSize' | 'windowBits' | 'level' | 'memLevel' | 'strategy'>;
  zlibInflateOptions?: ZlibOptions;
  /** Messages smaller than this many bytes are sent uncompressed. @default 1024 */
  threshold?: number;
  /** Compression jobs `ws` runs at once. @default 10 */
  concurrencyLimit?: number;
}

/**
 * The `ws` server options a user may set, typed here so that the package's
 * types need no `@types/ws`. The ones sockjs-express owns (`noServer`,
 * `server`, `port`, `host`, `path`, `maxPayload`, `backlog`, `clientTracking`)
 * are refused: the upgrade is routed by the handler and the message size is
 * `maxMessageSize`. Each field means what the `ws` documentation says.
 */
export interface WebsocketOptions {
  /** Compression (permessage-deflate): `true`, or its settings. @default false */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Picks the subprotocol from the ones the client offered, or `false` for none. */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  /** Skip `ws`'s UTF-8 check of incoming text; a session then never sees `1007`. @default false */
  skipUTF8Validation?: boolean;
  /** Emit several messages of one network read synchronously. @default true */
  allowSynchronousEvents?: boolean;
  /** Answer client pings with pongs. @default true */
  autoPong?: boolean;
}

/** The `ws` options sockjs-express accepts in `websocketOptions`. */
const WEBSOCKET_OPTIONS: ReadonlySet<string> = new Set<keyof WebsocketOptions>([
  'perMessageDeflate',
  'handleProtocols',
  'skipUTF8Validation',
  'allowSynchronousEvents',
  'autoPong',
]);

/** A function that sets the JSESSIONID cookie (or anything else) on session responses. */
export type JsessionidFunction = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Decides whether a browser page on `origin` (the request's `Origin`, or the
 * origin of its `Referer` where browsers send no `Origin`) may use the endpoint.
 */
export type OriginPolicy = (origin: string, req: IncomingMessage) => boolean;

/**
 * Which pages may use the endpoint: `'*'` (any), a list of exact origins
 * (`'https://app.example'`, `'null'`) and patterns with one leading wildcard
 * label (`'https://*.example.com'`, any port: `'http://localhost:*'`), or a function.
 */
export type AllowedOrigins = '*' | readonly string[] | OriginPolicy;

/** What follow-up HTTP requests of a session must share with its first one. */
export type SessionBinding = false | 'address' | 'cookie';

/** When the app's middleware runs for the HTTP requests of a session (the `middleware` option). */
export type MiddlewareRuns = 'session-open' | 'every-request';

/**
 * Options of {@link sockjs}. Every field is optional. `Context` is the type
 * of `session.context`, what the `context` option returns.
 */
export interface Options<Context = undefined> {
  /**
   * What a session keeps of what the app's middleware established for the
   * request that opened it: called once per session, on every transport
   * (websocket handshakes included), with that request and response as the
   * middleware left them (`req.user`, `req.session`, `res.locals`, route
   * parameters of the mount path). Its result is `session.context`. Keep it
   * small: it lives as long as the session. A throw goes to the app's error
   * handlers (`next(error)`) and no session opens.
   * @default undefined (`session.context` is `undefined`)
   */
  context?(req: IncomingMessage, res: ServerResponse): Context;
  /**
   * Serve the protocol at the root of the app or Connect stack the handler is
   * mounted in (`app.use(handler)` with no path). Without it such a mount is
   * refused with a `SOCKJS_ERR_ROOT_MOUNT` error passed to `next()`, because
   * the protocol's routes (`/`, `/info`, `/<a>/<b>/xhr` ...) would answer
   * requests meant for the app. A handler used as a plain `http` request
   * listener owns its server, and serves at the root either way.
   * @default false
   */
  root?: boolean;
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
   * sends get `413`; larger websocket messages close the connection. Either way
   * the session closes with 1009 "Message too big".
   * @default 1048576
   */
  maxMessageSize?: number;
  /**
   * Most bytes (UTF-8) one session may hold for its client: messages queued
   * while no receiving request is attached, plus what the transport has not
   * written to the network yet (e.g. a websocket whose client stopped
   * reading). Past it the session closes with `1008 "Queue limit exceeded"`
   * and its buffers are dropped. The same bound holds for messages waiting in
   * the `recv()` inbox, which close the session with `1008 "Inbox limit exceeded"`.
   * @default 4194304
   */
  maxQueuedBytes?: number;
  /**
   * Bytes buffered for the client (see `session.bufferedAmount`) above which
   * `session.send()` returns `false`; `'drain'` follows once they are written.
   * At most `maxQueuedBytes`.
   * @default 65536
   */
  highWaterMark?: number;
  /**
   * Options handed to the `ws` server (e.g. `perMessageDeflate`), the
   * counterpart of sockjs-go's `WebsocketUpgrader`.
   * @default {}
   */
  websocketOptions?: WebsocketOptions;
  /**
   * Milliseconds between websocket pings. A client that has not answered
   * with a pong within `websocketPingTimeout` is cut off and its session
   * closes with `1006 "Ping timeout"`, reclaiming half-open connections. `0` turns pings off.
   * @default 25000
   */
  websocketPingInterval?: number;
  /**
   * Milliseconds a websocket client has to answer a ping.
   * @default 10000
   */
  websocketPingTimeout?: number;
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
   * Which browser pages may use the endpoint. `'*'` lets any page do so (the
   * protocol's behaviour). Otherwise a request whose `Origin` is outside the
   * policy gets `403` on every route, websocket upgrades included; `jsonp`,
   * `htmlfile` and the iframe page, which browsers load cross-origin without
   * an `Origin`, are judged by their `Referer` (and refused without one); the
   * iframe page may only be framed by the allowed page (CSP `frame-ancestors`).
   * Requests naming the server's own host and requests with neither header
   * (non-browser clients) pass. See the README's Security section.
   * @default '*'
   */
  allowedOrigins?: AllowedOrigins;
  /**
   * Binds the follow-up HTTP requests of a session (sends and receives) to
   * its first request: `'address'`, the same remote address; `'cookie'`, the
   * same `JSESSIONID` cookie (or none, as the first had). Others get `404`.
   * @default false
   */
  sessionBinding?: SessionBinding;
  /**
   * When the app's middleware runs for a session's HTTP requests.
   * `'session-open'`: for the request that opens a session (and every
   * websocket handshake); the later requests of a session open in this
   * process (`xhr_send`, `jsonp_send`, the next poll or streaming request)
   * under the same mount path take a direct path that skips the app. The
   * handler's own checks still run there: CORS headers, `jsessionid`,
   * `allowedOrigins`, `sessionBinding`, methods and body limits.
   * `'every-request'`: every HTTP request goes through the app (websocket
   * frames never do, in either mode). See the README's security model.
   * @default 'session-open'
   */
  middleware?: MiddlewareRuns;
  /**
   * The transports to serve, by sockjs-client's names; at least one. A
   * transport left out answers `404`. Leave `websocket` out where a load
   * balancer does not carry websockets: `/info` then says `websocket: false`.
   * @default every transport
   */
  transports?: readonly TransportName[];
  /**
   * Shares sessions with other processes, e.g. `redisAdapter({ url })` from
   * `sockjs-express/redis`: broadcasts and `handler.send()` reach every
   * process, and any process serves any session's requests, so a load
   * balancer needs no sticky sessions. One adapter per handler. See the
   * README's Deployment section.
   * @default undefined (this process only)
   */
  adapter?: Adapter;
}

/** Options after defaults are merged and validated. */
export interface ResolvedOptions {
  readonly context: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  readonly root: boolean;
  readonly rawWebsocket: boolean;
  readonly jsessionid: false | JsessionidFunction;
  readonly sockjsUrl: string;
  readonly heartbeatDelay: number;
  readonly disconnectDelay: number;
  readonly responseLimit: number;
  readonly maxMessageSize: number;
  readonly maxQueuedBytes: number;
  readonly highWaterMark: number;
  readonly websocketPingInterval: number;
  readonly websocketPingTimeout: number;
  readonly websocketOptions: WebsocketOptions;
  readonly websocketWriteTimeout: number;
  readonly origin: string;
  /** `undefined` for `'*'`; otherwise the policy as a function. */
  readonly allowedOrigins: OriginPolicy | undefined;
  readonly sessionBinding: SessionBinding;
  readonly middleware: MiddlewareRuns;
  readonly transports: ReadonlySet<TransportName>;
  readonly adapter: Adapter | undefined;
}

/** The defaults, in one literal. */
export const DEFAULTS = {
  root: false,
  rawWebsocket: false,
  jsessionid: false,
  sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js',
  heartbeatDelay: 25_000,
  disconnectDelay: 5_000,
  responseLimit: 128 * 1024,
  maxMessageSize: 1024 * 1024,
  maxQueuedBytes: 4 * 1024 * 1024,
  highWaterMark: 64 * 1024,
  websocketOptions: {},
  websocketPingInterval: 25_000,
  websocketPingTimeout: 10_000,
  websocketWriteTimeout: 0,
  origin: '',
  allowedOrigins: '*',
  sessionBinding: false,
  middleware: 'session-open',
  transports: TRANSPORT_NAMES,
} as const satisfies Required<Omit<Options, 'adapter' | 'context'>>;

const KNOWN = new Set<string>([...Object.keys(DEFAULTS), 'adapter', 'context']);
/** Longest timer Node accepts; larger values would fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

function fail(name: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' || Array.isArray(value) ? JSON.stringify(value) : String(value);
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

/** An origin as browsers send it, or a pattern with a leading `*.` label and/or a `:*` port. */
const ORIGIN_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?$/i;

function allowedOrigins(value: unknown): OriginPolicy | undefined {
  if (value === '*') return undefined;
  if (typeof value === 'function') return value as OriginPolicy;
  if (!Array.isArray(value)) fail('allowedOrigins', "'*', an array of origins or a function", value);
  for (const origin of value as unknown[]) {
    if (typeof origin !== 'string' || (origin !== 'null' && !ORIGIN_PATTERN.test(origin))) {
      fail('allowedOrigins', 'a list of origins like "https://a.example" or "https://*.example.com"', origin);
    }
  }
  return originMatcher(value as string[]);
}

function sessionBinding(value: unknown): SessionBinding {
  if (value !== false && value !== 'address' && value !== 'cookie') {
    fail('sessionBinding', "false, 'address' or 'cookie'", value);
  }
  return value;
}

function middleware(value: unknown): MiddlewareRuns {
  if (value !== 'session-open' && value !== 'every-request') {
    fail('middleware', "'session-open' or 'every-request'", value);
  }
  return value;
}

function transports(value: unknown): ReadonlySet<TransportName> {
  if (!Array.isArray(value)) fail('transports', 'an array of transport names', value);
  if (value.length === 0) fail('transports', `a list of at least one of ${TRANSPORT_NAMES.join(', ')}`, value);
  const known = new Set<string>(TRANSPORT_NAMES);
  const chosen = new Set<TransportName>();
  for (const name of value as unknown[]) {
    if (typeof name !== 'string' || !known.has(name)) {
      fail('transports', `a list of ${TRANSPORT_NAMES.join(', ')}`, name);
    }
    chosen.add(name as TransportName);
  }
  return chosen;
}

/**
 * What to do instead of an option sockjs-express does not have: sockjs-node's
 * names, and ours that were folded into others. snake_case names of ours
 * (`heartbeat_delay`) are answered with the camelCase one.
 */
const INSTEAD: Readonly<Record<string, string>> = {
  websocket: "leave 'websocket' out of transports, e.g. transports: ['xhr-streaming', 'xhr-polling']",
  prefix: "mount the handler at its path instead: app.use('/echo', sockjs(...))",
  log: 'logging goes through the debug module: run with DEBUG=sockjs:*',
  faye_server_options: 'use websocketOptions (options for ws)',
  disable_cors: 'CORS headers follow the SockJS protocol; allowedOrigins chooses which pages may connect',
};

/** The message for an option name sockjs-express does not know. */
function unknownOption(name: string): string {
  const camel = name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
  const instead = Object.hasOwn(INSTEAD, name) ? INSTEAD[name] : camel !== name && KNOWN.has(camel) ? `use "${camel}"` : undefined;
  return `sockjs: unknown option "${name}"${instead === undefined ? '' : `: ${instead}`}`;
}

/**
 * Merges `options` over {@link DEFAULTS} and checks every field. Unknown
 * names and wrong types throw an {@link InvalidOptionError} (a `TypeError`)
 * whose message names the option.
 */
export function resolveOptions(options: Options<unknown> = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('sockjs: options must be an object');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new InvalidOptionError(unknownOption(name));
  }
  const merged = { ...DEFAULTS, ...stripUndefined(options) };
  const maxQueuedBytes = integer('maxQueuedBytes', merged.maxQueuedBytes, 1, 2 ** 31);
  if (typeof merged.origin !== 'string' || /[\r\n]/.test(merged.origin)) {
    fail('origin', 'a string without line breaks', merged.origin);
  }
  const wsOptions: unknown = merged.websocketOptions;
  if (wsOptions === null || typeof wsOptions !== 'object' || Array.isArray(wsOptions)) {
    fail('websocketOptions', 'an object', wsOptions);
  }
  for (const name of Object.keys(wsOptions)) {
    if (!WEBSOCKET_OPTIONS.has(name)) {
      fail('websocketOptions', `an object with only ${[...WEBSOCKET_OPTIONS].join(', ')} (sockjs-express sets the rest)`, name);
    }
  }
  if (merged.context !== undefined && typeof merged.context !== 'function') {
    fail('context', 'a function (req, res) => what the session keeps', merged.context);
  }
  return {
    context: merged.context,
    root: boolean('root', merged.root),
    rawWebsocket: boolean('rawWebsocket', merged.rawWebsocket),
    jsessionid: jsessionid(merged.jsessionid),
    sockjsUrl: sockjsUrl(merged.sockjsUrl),
    heartbeatDelay: integer('heartbeatDelay', merged.heartbeatDelay, 1, MAX_DELAY),
    disconnectDelay: integer('disconnectDelay', merged.disconnectDelay, 1, MAX_DELAY),
    responseLimit: integer('responseLimit', merged.responseLimit, 1, 2 ** 31),
    maxMessageSize: integer('maxMessageSize', merged.maxMessageSize, 1, 2 ** 31),
    maxQueuedBytes,
    highWaterMark: integer('highWaterMark', merged.highWaterMark, 0, maxQueuedBytes),
    websocketPingInterval: integer('websocketPingInterval', merged.websocketPingInterval, 0, MAX_DELAY),
    websocketPingTimeout: integer('websocketPingTimeout', merged.websocketPingTimeout, 1, MAX_DELAY),
    websocketOptions: wsOptions as WebsocketOptions,
    websocketWriteTimeout: integer('websocketWriteTimeout', merged.websocketWriteTimeout, 0, MAX_DELAY),
    origin: merged.origin,
    allowedOrigins: allowedOrigins(merged.allowedOrigins),
    sessionBinding: sessionBinding(merged.sessionBinding),
    middleware: middleware(merged.middleware),
    transports: transports(merged.transports),
    adapter: adapter(options.adapter),
  };
}

function adapter(value: unknown): Adapter | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || typeof (value as Partial<Adapter>).join !== 'function') {
    fail('adapter', 'an adapter such as redisAdapter() from sockjs-express/redis', value);
  }
  return value as Adapter;
}

function stripUndefined(options: Options<unknown>): Options<unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = value;
  }
  return out as Options<unknown>;
}
