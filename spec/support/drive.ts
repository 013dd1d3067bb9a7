/**
 * Drives sockjs-client, in Node or in a browser page: open with one forced
 * transport, echo a message list, wait for a close. Every function here is
 * self-contained (it calls only the others listed in {@link driverFunctions}),
 * so the browser specs load their sources into the page and build and compare
 * messages there: strings Node and the browser cannot pass to each other
 * unchanged (lone surrogates) never leave the page.
 */

/** Where two message lists first differ, in a line that does not dump 100 KB strings. */
export function firstDifference(got: readonly string[], expected: readonly string[]): string | undefined {
  for (let i = 0; i < Math.max(got.length, expected.length); i++) {
    const a = got[i];
    const b = expected[i];
    if (a === b) continue;
    if (a === undefined || b === undefined) {
      return `message ${i}: ${a === undefined ? 'missing' : 'extra'} (got ${got.length} of ${expected.length})`;
    }
    let at = 0;
    while (at < a.length && a.charCodeAt(at) === b.charCodeAt(at)) at++;
    const unit = (s: string): string => (at < s.length ? `U+${s.charCodeAt(at).toString(16).padStart(4, '0')}` : 'end');
    return `message ${i} (length ${b.length}) differs at ${at}: got ${unit(a)} (length ${a.length}), expected ${unit(b)}`;
  }
  return undefined;
}

/** What sockjs-client's `SockJS` object offers, in the browser build and in Node. */
export interface SockJSLike {
  readonly transport?: string;
  onopen: (() => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(message: string): void;
  close(): void;
}

/** The `SockJS` constructor. */
export type SockJSClass = new (url: string, protocols: null, options: { transports: string[] }) => SockJSLike;

/** What happened to one connection. */
export interface Outcome {
  opened: boolean;
  /** `sock.transport` once open. */
  transport: string | null;
  close: { code: number; reason: string } | null;
  /** Messages received. */
  count: number;
  /** Why the exchange did not finish, if it did not. */
  error?: string;
  /** Where the received messages first differ from the sent ones (echoes only). */
  difference?: string;
}

interface Connection {
  sock: SockJSLike;
  opened: boolean;
  transport: string | null;
  received: string[];
  close: { code: number; reason: string } | null;
  closed: Promise<void>;
}

/** Opens `url` with only `transport` allowed and records what happens. */
export function sockjsConnect(SockJS: SockJSClass, url: string, transport: string): Connection {
  const sock = new SockJS(url, null, { transports: [transport] });
  const conn: Connection = { sock, opened: false, transport: null, received: [], close: null, closed: Promise.resolve() };
  conn.closed = new Promise((resolve) => {
    sock.onopen = () => {
      conn.opened = true;
      conn.transport = sock.transport ?? null;
    };
    sock.onmessage = (event) => {
      conn.received.push(event.data);
    };
    sock.onclose = (event) => {
      conn.close = { code: event.code, reason: event.reason };
      resolve();
    };
  });
  return conn;
}

/** Resolves with a message saying what timed out, after `ms`; `cancel` stops it. */
export function sockjsTimeout(ms: number, what: string): { expired: Promise<string>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${what} timed out after ${ms} ms`), ms);
  });
  return { expired, cancel: () => clearTimeout(timer) };
}

/** Waits for the close event, or `ms`; resolves with the outcome. */
export async function sockjsUntilClosed(conn: Connection, ms: number, error?: string): Promise<Outcome> {
  const limit = sockjsTimeout(ms, 'close');
  const late = await Promise.race([conn.closed.then(() => undefined), limit.expired]);
  limit.cancel();
  const { opened, transport, close } = conn;
  return { opened, transport, close, count: conn.received.length, error: error ?? late };
}

/**
 * Opens, sends `messages`, waits for every one back, closes, and compares.
 * Sends are pipelined up to 32768 code units unanswered (a longer message goes
 * alone): sockjs-client batches queued messages into one request and form
 * encoding (jsonp-polling) takes up to 9 bytes per code unit, so every request
 * stays well under the server's default `maxMessageSize`.
 */
export async function sockjsEcho(
  SockJS: SockJSClass,
  url: string,
  transport: string,
  messages: readonly string[],
  ms: number,
): Promise<Outcome> {
  const WINDOW = 32768;
  const conn = sockjsConnect(SockJS, url, transport);
  let sent = 0;
  let units = 0;
  const sendMore = (): void => {
    const received = conn.received.length;
    if (received === sent) units = 0;
    while (sent < messages.length && (received === sent || units + messages[sent].length <= WINDOW)) {
      units += messages[sent].length;
      conn.sock.send(messages[sent++]);
      if (units > WINDOW) break;
    }
  };
  const all = new Promise<undefined>((resolve) => {
    const { onopen, onmessage } = conn.sock;
    conn.sock.onopen = () => {
      onopen?.();
      sendMore();
    };
    conn.sock.onmessage = (event) => {
      onmessage?.(event);
      if (conn.received.length === messages.length) resolve(undefined);
      else sendMore();
    };
  });
  const limit = sockjsTimeout(ms, 'echo');
  const error = await Promise.race([
    all,
    conn.closed.then(() => 'closed before every message came back'),
    limit.expired,
  ]);
  limit.cancel();
  conn.sock.close();
  const outcome = await sockjsUntilClosed(conn, ms, error);
  return { ...outcome, difference: firstDifference(conn.received, messages) };
}

/** Opens and waits for the close event, whoever closes (the server, or a refusal). */
export function sockjsOpenUntilClosed(SockJS: SockJSClass, url: string, transport: string, ms: number): Promise<Outcome> {
  return sockjsUntilClosed(sockjsConnect(SockJS, url, transport), ms);
}

/** Every function above and what they call, for loading into a page by their sources. */
export const driverFunctions: readonly ((...args: never[]) => unknown)[] = [
  sockjsConnect,
  sockjsTimeout,
  sockjsUntilClosed,
  sockjsEcho,
  sockjsOpenUntilClosed,
  firstDifference,
];
