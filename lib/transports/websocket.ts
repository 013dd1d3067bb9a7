/**
 * websocket: `GET <session>/websocket` upgraded to a websocket that carries
 * SockJS frames both ways; and the raw websocket at `<prefix>/websocket`,
 * which carries messages as they are. `ws` does all websocket framing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import createDebug from 'debug';
import { TransportError } from '../errors';
import { parseMessages } from '../framing';
import { sendText } from '../http';
import type { Receiver, SessionTransport } from '../receiver';
import { MESSAGE_TOO_BIG, type Session } from '../session';
import { Ticker } from '../ticker';

const debug = createDebug('sockjs:websocket');

/** The websocket pings of one handler: one shared timer, and how long a pong may take. */
export interface Pings {
  readonly ticker: Ticker<WebsocketReceiver>;
  readonly timeout: number;
}

/** Pings for websockets every `interval` ms (none for 0), each answered within `timeout` ms. */
export function websocketPings(interval: number, timeout: number): Pings | undefined {
  if (interval === 0) return undefined;
  return { ticker: new Ticker(interval, (receiver) => receiver.ping()), timeout };
}

/** Code and reason of a session whose websocket did not answer a ping in time. */
export const PING_TIMEOUT = { code: 1006, reason: 'Ping timeout' } as const;

/**
 * What a session reports when `ws` refuses what the client sent: the code
 * `ws` closes the websocket with (RFC 6455, 7.4.1) and a reason.
 */
function protocolClose(error: Error & { code?: string }): { code: number; reason: string } {
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return MESSAGE_TOO_BIG;
  if (error.code === 'WS_ERR_INVALID_UTF8') return { code: 1007, reason: 'Invalid UTF-8' };
  return { code: 1002, reason: 'Websocket protocol error' };
}

/** Close codes `ws` lets a server send. */
function isSendableCode(code: number): boolean {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A websocket as a session's receiver. */
export class WebsocketReceiver implements Receiver {
  readonly transport: SessionTransport;
  readonly raw: boolean;
  readonly #ws: WebSocket;
  readonly #socket: Duplex;
  readonly #writeTimeout: number;
  readonly #pings: Pings | undefined;
  #session: Session | undefined;
  #stalled: NodeJS.Timeout | undefined;
  /** This receiver's slot in the ping ticker while pinging; -1 otherwise. */
  #pingSlot = -1;
  #pongDue: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, socket: Duplex, raw: boolean, writeTimeout: number, pings: Pings | undefined) {
    this.#ws = ws;
    this.#socket = socket;
    this.raw = raw;
    this.transport = raw ? 'raw-websocket' : 'websocket';
    this.#writeTimeout = writeTimeout;
    this.#pings = pings;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  onDrain(callback: () => void): void {
    this.#socket.once('drain', callback);
  }

  abort(): void {
    this.#stopTimers();
    this.#ws.terminate();
  }

  write(frame: string, ascii = false, bytes?: Buffer): boolean {
    if (this.raw) return true;
    // Bytes go to `ws` as they are, in a text frame: a broadcast's, encoded
    // once for every session; or an ASCII frame's Latin-1 bytes, one copy that
    // walks the `'a' + json` string as it is, where a string would be
    // flattened, measured (Buffer.byteLength) and UTF-8 encoded by `ws`.
    return this.#send(bytes ?? (ascii ? Buffer.from(frame, 'latin1') : frame));
  }

  writeRaw(message: string): void {
    this.#send(message);
  }

  end(code: number, reason: string): void {
    this.#stopTimers();
    if (this.raw && isSendableCode(code)) this.#ws.close(code, reason);
    else this.#ws.close(1000);
  }

  /**
   * Wires the websocket's events to `session`. The listeners are shared
   * functions that find this receiver through `receivers`, not closures made
   * per websocket: an idle session should hold as little as possible.
   */
  bind(session: Session): void {
    const ws = this.#ws;
    this.#session = session;
    receivers.set(ws, this);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (this.#pings) {
      ws.on('pong', onPong);
      this.#pingSlot = this.#pings.ticker.add(this);
    }
  }

  /** A websocket message from the client. @internal */
  received(data: RawData, isBinary: boolean): void {
    const session = this.#session;
    if (!session) return;
    if (isBinary) {
      session.end(1003, 'Binary messages are not supported.');
      this.#ws.close(1003, 'Binary messages are not supported.');
      return;
    }
    const text = rawText(data);
    if (this.raw) {
      session.deliver([text]);
      return;
    }
    if (text === '') return;
    const messages = parseMessages(text);
    if (messages === null) {
      session.end(1002, 'Broken JSON encoding.');
      this.#ws.close(1002, 'Broken JSON encoding.');
      return;
    }
    session.deliver(messages);
  }

  /** `ws` refused what the client sent, or the socket failed. @internal */
  failed(error: Error): void {
    debug('websocket error: %s', error.message);
    const session = this.#session;
    if (!session) return;
    session.fail(new TransportError(error));
    const { code, reason } = protocolClose(error);
    session.end(code, reason);
  }

  /** The websocket closed. @internal */
  closed(code: number, reason: Buffer): void {
    this.#stopTimers();
    this.#session?.end(code, reason.toString());
  }

  /** The answer to a ping arrived. @internal */
  ponged(): void {
    clearTimeout(this.#pongDue);
    this.#pongDue = undefined;
  }

  /** Pings (the ticker calls it every interval); a pong not back within the timeout cuts the websocket off. @internal */
  ping(): void {
    const ws = this.#ws;
    const pings = this.#pings;
    if (!pings || this.#pongDue !== undefined || ws.readyState !== ws.OPEN) return;
    ws.ping();
    this.#pongDue = setTimeout(() => {
      debug('no pong within %d ms', pings.timeout);
      this.#session?.end(PING_TIMEOUT.code, PING_TIMEOUT.reason);
      this.abort();
    }, pings.timeout);
    this.#pongDue.unref();
  }

  #stopTimers(): void {
    this.#clearStall();
    if (this.#pingSlot !== -1) {
      this.#pings?.ticker.remove(this, this.#pingSlot);
      this.#pingSlot = -1;
    }
    clearTimeout(this.#pongDue);
    this.#pongDue = undefined;
  }

  #send(data: string | Buffer): boolean {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return false;
    ws.send(data, TEXT);
    if (this.#writeTimeout > 0 && this.#stalled === undefined && this.#socket.writableNeedDrain) {
      this.#stalled = setTimeout(() => {
        debug('write timed out after %d ms', this.#writeTimeout);
        ws.terminate();
      }, this.#writeTimeout);
      this.#socket.once('drain', () => this.#clearStall());
    }
    return true;
  }

  #clearStall(): void {
    if (this.#stalled !== undefined) {
      clearTimeout(this.#stalled);
      this.#stalled = undefined;
    }
  }
}

/** `ws.send` options: a text frame, also when the frame is given as bytes. */
const TEXT = { binary: false } as const;

/** The receiver of each bound websocket, for the shared listeners below. */
const receivers = new WeakMap<WebSocket, WebsocketReceiver>();

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  receivers.get(this)?.received(data, isBinary);
}

function onError(this: WebSocket, error: Error): void {
  receivers.get(this)?.failed(error);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  receivers.get(this)?.closed(code, reason);
}

function onPong(this: WebSocket): void {
  receivers.get(this)?.ponged();
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * A websocket path reached as a plain HTTP request (no upgrade happened):
 * answers the protocol's `400`s.
 */
export function refusePlainRequest(req: IncomingMessage, res: ServerResponse): void {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    sendText(res, 400, 'Can "Upgrade" only to "WebSocket".');
    return;
  }
  sendText(res, 400, '"Connection" must be "Upgrade".');
}
