/**
 * A SockJS session: the unit the application talks to. It owns the outgoing
 * queue, the heartbeat and disconnect timers and the state; receivers come
 * and go underneath it.
 *
 *   opening ──attach──> open ──close() / client gone──> closing ──> closed
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import createDebug from 'debug';
import { InvalidArgumentError, SessionNotOpenError, type SockJSError } from './errors';
import { HEARTBEAT_FRAME, OPEN_FRAME, closeFrame, messageFrame } from './framing';
import type { Receiver, SessionTransport } from './receiver';
import type { Counters } from './stats';
import type { Ticker } from './ticker';

const debug = createDebug('sockjs:session');

/** The life stages of a session, as sockjs-go names them. */
export type SessionState = 'opening' | 'open' | 'closing' | 'closed';

/** What a session remembers of the request that opened it. */
export interface SessionRequest {
  /** The request URL as the server received it (with the mount path). */
  readonly url: string;
  /** The request headers, cookies included. */
  readonly headers: IncomingMessage['headers'];
  /** The client's address, as the socket saw it. */
  readonly remoteAddress: string | undefined;
  /** The client's port, as the socket saw it. */
  readonly remotePort: number | undefined;
}

/** Close frame for a second receiving request while one is attached. */
const ANOTHER_CONNECTION = closeFrame(2010, 'Another connection still open');
/** Code and reason when a receiving request is cut off by the client. */
export const INTERRUPTED = { code: 1002, reason: 'Connection interrupted' } as const;
/** Code and reason when no receiving connection came back in time. */
export const TIMED_OUT = { code: 1006, reason: 'Session timed out' } as const;
/** Code and reason when more than `maxQueuedBytes` wait for the client. */
export const QUEUE_OVERFLOW = { code: 1008, reason: 'Queue limit exceeded' } as const;
/** Code and reason when a client sent more than `maxMessageSize` at once (HTTP send or websocket message). */
export const MESSAGE_TOO_BIG = { code: 1009, reason: 'Message too big' } as const;
/** Code and reason when more than `maxQueuedBytes` of messages wait unread (in the `recv()` inbox, or held before the application reads). */
export const INBOX_OVERFLOW = { code: 1008, reason: 'Inbox limit exceeded' } as const;
/** Code and reason when the application's own code threw for a session (RFC 6455's "internal error"). */
export const APPLICATION_ERROR = { code: 1011, reason: 'Internal error' } as const;

/**
 * How a session leaves `'open'`: what becomes of the messages still queued
 * (`send`: they go out before the close frame; `drop`), of the attached
 * receiver (`end`: ended after the close frame; `abort`: cut off without
 * one; `gone`: it went away, and is let go without a word), and of the
 * session (`linger`: closing, answering later receiving requests with its
 * close frame until `disconnectDelay` passes; `forget`: closed now).
 */
interface Exit {
  readonly queue: 'send' | 'drop';
  readonly receiver: 'end' | 'abort' | 'gone';
  readonly then: 'linger' | 'forget';
}

/** Every way a session closes. The first close frame set is the one the client reads. */
const EXITS = {
  /** `close()` and `refuse()` (1009, 1008 inbox, 1011). */
  close: { queue: 'send', receiver: 'end', then: 'linger' },
  /** More than `maxQueuedBytes` for the client (1008). */
  overflow: { queue: 'drop', receiver: 'abort', then: 'linger' },
  /** The client cut its receiving request off (1002). */
  interrupted: { queue: 'send', receiver: 'gone', then: 'linger' },
  /** The websocket under the session closed. */
  websocketClosed: { queue: 'drop', receiver: 'gone', then: 'forget' },
  /** `handler.close()` (1001). */
  shutdown: { queue: 'send', receiver: 'end', then: 'forget' },
  /** No receiving request within `disconnectDelay` (1006), or the lingering is over. */
  timedOut: { queue: 'send', receiver: 'gone', then: 'forget' },
} as const satisfies Record<string, Exit>;

/** Timers and hooks a session gets from its registry. @internal */
export interface SessionContext {
  /** Sends every attached session's heartbeat, once per `heartbeatDelay`. */
  readonly heartbeats: Ticker<Session>;
  readonly disconnectDelay: number;
  readonly maxQueuedBytes: number;
  readonly highWaterMark: number;
  /** The handler's counters: messages, bytes and closes. */
  readonly counters: Counters;
  /** Makes the session's public id. */
  newId(): string;
  /** The session sent its open frame. */
  opened(session: Session): void;
  /** The session is over and must be forgotten. */
  ended(session: Session): void;
  /** The application's own code threw `error` while handling the session (which is closing). */
  failed(session: Session, error: unknown): void;
}

interface Waiter {
  resolve(message: string): void;
  reject(error: Error): void;
}

/** Events of a {@link Session}. */
export interface SessionEvents {
  /** A message from the client. */
  data: [message: string];
  /**
   * The session is closing (its close frame is on its way to the client, after
   * what was queued): emitted exactly once, as it leaves `'open'`; `state` is
   * `'closing'` then, and becomes `'closed'` once the session is forgotten.
   */
  close: [code: number, reason: string];
  /** What was buffered for the client fell back to `highWaterMark` after `send()` returned `false`. */
  drain: [];
  /** The connection under the session failed; emitted only while an `'error'` listener exists. */
  error: [error: SockJSError];
}

/**
 * One client connection, whatever transport carries it. Emits `'data'` for
 * every message from the client and `'close'` once when it ends.
 */
export class Session<Context = unknown> extends EventEmitter<SessionEvents> {
  /**
   * A server-made identifier (not the URL's session id, which the protocol
   * keeps from applications): a UUID, unique in this process; with an
   * `adapter`, the owning process's node id, `/`, and a UUID, unique in the cluster.
   */
  readonly id: string;
  /** What the session remembers of the request that opened it. */
  readonly request: SessionRequest;
  /**
   * What the `context` option returned for the request that opened the
   * session, after the app's middleware ran for it; `undefined` without that option.
   */
  readonly context: Context;

  #state: SessionState = 'opening';
  #transport: SessionTransport;
  #receiver: Receiver | undefined;
  #queue: string[] = [];
  /** UTF-8 bytes of the messages in `#queue`. */
  #queuedBytes = 0;
  /** Every message queued since the last frame is ASCII (see `messageFrame`). */
  #queueAscii = true;
  #flushScheduled = false;
  #needDrain = false;
  /** The receiver whose `'drain'` this session waits for, if any. */
  #drainWatched: Receiver | undefined;
  #closeFrame: string | undefined;
  #closeCode = 0;
  #closeReason = '';
  /** The session's slot in the heartbeat ticker while it has a receiver; -1 otherwise. */
  #heartbeatSlot = -1;
  #disconnect: NodeJS.Timeout | undefined;
  /** Messages waiting for `recv()`; made by its first call. */
  #inbox: string[] | undefined;
  /** Messages that came before the application read (no `recv()` yet, no `'data'` listener). */
  #held: string[] | undefined;
  /** UTF-8 bytes of the messages in `#inbox` and `#held`. */
  #inboxBytes = 0;
  #failed = false;
  /** `recv()` calls waiting for a message; made by the first that waits. */
  #waiters: Waiter[] | undefined;
  readonly #context: SessionContext;

  /** Sessions come from the handler: see {@link Session.create}. */
  private constructor(context: SessionContext, request: SessionRequest, transport: SessionTransport, appContext: Context) {
    super();
    this.#context = context;
    this.id = context.newId();
    this.request = request;
    this.context = appContext;
    this.#transport = transport;
    (this as EventEmitter).on('newListener', Session.#onNewListener);
  }

  /** Makes a session for the registry. @internal */
  static create(context: SessionContext, request: SessionRequest, transport: SessionTransport, appContext: unknown): Session {
    return new Session(context, request, transport, appContext);
  }

  /** A first `'data'` listener gets the held messages, once it is in place (on the next tick). */
  static #onNewListener(this: Session, event: string | symbol): void {
    if (event === 'data' && this.#held !== undefined) process.nextTick(() => this.#releaseHeld());
  }

  /** `'opening'`, `'open'`, `'closing'` or `'closed'`. */
  get state(): SessionState {
    return this.#state;
  }

  /** The transport of the current (or last) receiving connection. */
  get transport(): SessionTransport {
    return this.#transport;
  }

  /**
   * Bytes waiting for the client: messages queued in the session plus what
   * the transport has not written to the network (for websockets, `ws`'s
   * `bufferedAmount`).
   */
  get bufferedAmount(): number {
    return this.#queuedBytes + (this.#receiver?.bufferedAmount ?? 0);
  }

  /**
   * Queues `message` for the client. Messages sent in one tick go out in one
   * frame. Returns `false` when the session is not open (nothing is sent), and
   * when {@link bufferedAmount} is above `highWaterMark` (the message is
   * queued; wait for `'drain'` before sending more). A message that would take
   * the buffered bytes past `maxQueuedBytes` is dropped and closes the session
   * with `1008 "Queue limit exceeded"`.
   */
  send(message: string): boolean {
    if (typeof message !== 'string') {
      throw new InvalidArgumentError(`sockjs: session.send() takes a string, got ${typeof message}`);
    }
    if (this.#state !== 'open') return false;
    const size = Buffer.byteLength(message);
    const buffered = this.#admit(size);
    if (buffered < 0) return false;
    this.#count(size);
    const receiver = this.#receiver;
    if (receiver?.raw) {
      receiver.writeRaw?.(message);
    } else {
      this.#queue.push(message);
      this.#queuedBytes += size;
      // As many UTF-8 bytes as UTF-16 units only when every character is ASCII.
      if (size !== message.length) this.#queueAscii = false;
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        process.nextTick(() => this.#flush());
      }
    }
    return this.#belowHighWaterMark(buffered);
  }

  /**
   * The bytes buffered once `size` more are added, or `-1` (and the session
   * closes) when they would pass `maxQueuedBytes`.
   */
  #admit(size: number): number {
    const buffered = this.bufferedAmount + size;
    if (buffered <= this.#context.maxQueuedBytes) return buffered;
    this.#overflow();
    return -1;
  }

  /** `false` (and a `'drain'` to come) while more than `highWaterMark` bytes are buffered. */
  #belowHighWaterMark(buffered: number): boolean {
    if (buffered <= this.#context.highWaterMark) return true;
    this.#needDrain = true;
    this.#watchDrain();
    return false;
  }

  #watchDrain(): void {
    const receiver = this.#receiver;
    if (!receiver || this.#drainWatched === receiver) return;
    this.#drainWatched = receiver;
    receiver.onDrain(() => {
      if (this.#drainWatched === receiver) this.#drainWatched = undefined;
      this.#checkDrain();
    });
  }

  #checkDrain(): void {
    if (!this.#needDrain || this.#state !== 'open') return;
    if (this.bufferedAmount > this.#context.highWaterMark) {
      this.#watchDrain();
      return;
    }
    this.#needDrain = false;
    this.#tell('drain');
  }

  /** The outgoing limit was passed: drop every buffer, close, and cut the connection off. */
  #overflow(): void {
    this.#leave(EXITS.overflow, QUEUE_OVERFLOW.code, QUEUE_OVERFLOW.reason);
  }

  /**
   * The one way out of `'open'` (see {@link EXITS}). The first close sets the
   * close frame, code and reason and emits `'close'`; a later one only does
   * what its exit says to the queue, the receiver and the session.
   */
  #leave(exit: Exit, code: number, reason: string): void {
    if (this.#state === 'closed') return;
    if (exit.queue === 'drop') {
      this.#queue = [];
      this.#queuedBytes = 0;
    }
    const receiver = this.#receiver;
    if (exit.receiver !== 'end') this.#release();
    const first = this.#closeFrame === undefined;
    if (first) this.#beginClose(code, reason);
    if (exit.receiver === 'abort') receiver?.abort();
    // The close frame follows what is queued, and ends the receiver.
    if (exit.receiver === 'end' && first) this.#flush();
    if (exit.then === 'forget') {
      const left = this.#receiver;
      this.#release();
      left?.end(this.#closeCode, this.#closeReason);
      this.#finish();
    } else if (!this.#receiver && !this.#disconnect) {
      this.#startDisconnectTimer();
    }
  }

  /**
   * Emits `'error'`, at most once per session and only when someone listens
   * for it: never throws for want of a listener. @internal
   */
  fail(error: SockJSError): void {
    debug('%s error: %s', this.id, error.message);
    if (this.#failed) return;
    this.#failed = true;
    if (this.listenerCount('error') > 0) this.#tell('error', error);
  }

  /**
   * The application's own code threw (or rejected with) `error` while
   * handling this session: the session closes with `1011 "Internal error"`
   * after what is queued, and the handler reports the error. @internal
   */
  applicationFailed(error: unknown): void {
    debug('%s the application failed: %O', this.id, error);
    this.refuse(APPLICATION_ERROR.code, APPLICATION_ERROR.reason);
    this.#context.failed(this, error);
  }

  /**
   * Emits one of the application's events; what a listener throws closes the
   * session instead of escaping. Returns `false` when a listener threw.
   */
  #tell<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): boolean {
    try {
      (this.emit as (event: K, ...args: SessionEvents[K]) => boolean)(event, ...args);
      return true;
    } catch (error) {
      this.applicationFailed(error);
      return false;
    }
  }

  /**
   * Closes the session: the client gets `c[code,"reason"]` and `'close'` is
   * emitted. Messages already sent are delivered first. Returns `false` when
   * the session was already closing.
   * @param code 1000 or 3000–4999 [3000]
   * @param reason at most 123 bytes of UTF-8 ['Go away!']
   */
  close(code = 3000, reason = 'Go away!'): boolean {
    if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
      throw new InvalidArgumentError(`sockjs: close code must be 1000 or 3000-4999, got ${String(code)}`);
    }
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) {
      throw new InvalidArgumentError('sockjs: close reason must be a string of at most 123 bytes');
    }
    if (this.#state === 'closing' || this.#state === 'closed') return false;
    this.#leave(EXITS.close, code, reason);
    return true;
  }

  /**
   * Closes for a protocol reason, with a code `close()` keeps for itself (1009 for a
   * send over `maxMessageSize`): what is queued goes first, then `c[code,"reason"]`.
   * @internal
   */
  refuse(code: number, reason: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#leave(EXITS.close, code, reason);
  }

  /**
   * The next message from the client. Rejects with `SessionNotOpenError`
   * (code `SOCKJS_ERR_SESSION_NOT_OPEN`) once the session has closed and
   * every buffered message was read. Messages are buffered for `recv()` from
   * its first call on; those that came before the application read at all
   * (no `recv()`, no `'data'` listener) were kept for it.
   */
  recv(): Promise<string> {
    this.#inbox ??= [];
    this.#releaseHeld();
    const next = this.#inbox.shift();
    if (next !== undefined) {
      this.#inboxBytes -= Buffer.byteLength(next);
      return Promise.resolve(next);
    }
    if (this.#state !== 'open' && this.#state !== 'opening') {
      return Promise.reject(new SessionNotOpenError());
    }
    return new Promise((resolve, reject) => (this.#waiters ??= []).push({ resolve, reject }));
  }

  /** `for await (const message of session)`: every message until the session closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (error) {
        if (error instanceof SessionNotOpenError) return;
        throw error;
      }
    }
  }

  /**
   * Hands the session a receiving connection. A second receiver while one is
   * attached gets the 2010 close frame; a closed session answers with its
   * close frame. @internal
   */
  attach(receiver: Receiver): void {
    if (this.#closeFrame !== undefined && this.#queue.length === 0) {
      receiver.write(this.#closeFrame);
      receiver.end(this.#closeCode, this.#closeReason);
      return;
    }
    if (this.#receiver) {
      receiver.write(ANOTHER_CONNECTION);
      receiver.end(2010, 'Another connection still open');
      return;
    }
    this.#receiver = receiver;
    this.#transport = receiver.transport;
    this.#clearDisconnectTimer();
    if (this.#state === 'opening') {
      this.#state = 'open';
      if (!receiver.raw) this.#write(OPEN_FRAME);
      debug('%s open over %s', this.id, receiver.transport);
      this.#context.opened(this);
    }
    this.#flush();
    if (this.#receiver === receiver && !receiver.raw) this.#heartbeatSlot = this.#context.heartbeats.add(this);
  }

  /**
   * The receiving connection went away. `interrupted` means the client cut
   * it off mid-response: the session then closes with 1002. @internal
   */
  detach(receiver: Receiver, interrupted: boolean): void {
    if (this.#receiver !== receiver) return;
    this.#release();
    if (interrupted && this.#state === 'open') this.#leave(EXITS.interrupted, INTERRUPTED.code, INTERRUPTED.reason);
    if (this.#state !== 'closed') this.#startDisconnectTimer();
  }

  /**
   * The websocket under this session closed: the session ends now, with the
   * websocket's code and reason unless it was already closing. @internal
   */
  end(code: number, reason: string): void {
    this.#leave(EXITS.websocketClosed, code, reason);
  }

  /**
   * Sends one message whose frame the caller built and encoded once for many
   * sessions (broadcast; `bytes` is `frame` in UTF-8, `size` the message's UTF-8 bytes). Falls back to the queue when
   * frames are pending, so order holds. The frame counts against
   * `maxQueuedBytes` like any send. Returns whether the session took it. @internal
   */
  sendFramed(message: string, frame: string, bytes: Buffer, size: number): boolean {
    const receiver = this.#receiver;
    if (this.#state !== 'open' || !receiver || receiver.raw || this.#queue.length > 0) {
      this.send(message);
      return this.#state === 'open';
    }
    const buffered = this.#admit(bytes.length);
    if (buffered < 0) return false;
    this.#count(size);
    this.#write(frame, bytes.length === frame.length, bytes);
    this.#belowHighWaterMark(buffered);
    return true;
  }

  /** Counts one message of `size` UTF-8 bytes sent. */
  #count(size: number): void {
    const counters = this.#context.counters;
    counters.messagesSent++;
    counters.bytesSent += size;
  }

  /** Writes a heartbeat frame; the registry's ticker calls it. @internal */
  heartbeat(): void {
    this.#write(HEARTBEAT_FRAME);
  }

  /** Ends the session at once, whatever its state (graceful shutdown). @internal */
  shutdown(code: number, reason: string): void {
    this.#leave(EXITS.shutdown, code, reason);
  }

  #flush(): void {
    this.#flushScheduled = false;
    while (this.#receiver) {
      if (this.#queue.length > 0) {
        const ascii = this.#queueAscii;
        const frame = messageFrame(this.#queue, ascii);
        this.#queue = [];
        this.#queueAscii = true;
        this.#queuedBytes = 0;
        this.#write(frame, ascii);
        continue;
      }
      if (this.#closeFrame !== undefined) {
        const receiver = this.#receiver;
        this.#write(this.#closeFrame);
        this.#release();
        receiver.end(this.#closeCode, this.#closeReason);
        if (this.#state !== 'closed') this.#startDisconnectTimer();
      }
      break;
    }
    if (this.#needDrain) this.#checkDrain();
  }

  /** Writes a frame to the attached receiver; lets go of it when it is done. */
  #write(frame: string, ascii = false, bytes?: Buffer): void {
    const receiver = this.#receiver;
    if (!receiver) return;
    if (!receiver.write(frame, ascii, bytes)) {
      this.#release();
      if (this.#state !== 'closed') this.#startDisconnectTimer();
    }
  }

  #beginClose(code: number, reason: string): void {
    this.#closeFrame = closeFrame(code, reason);
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#state = 'closing';
    this.#context.counters.closing(code, reason);
    debug('%s closing %d %s', this.id, code, reason);
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters) for (const waiter of waiters) waiter.reject(new SessionNotOpenError());
    this.#tell('close', code, reason);
  }

  #finish(): void {
    this.#clearDisconnectTimer();
    this.#state = 'closed';
    debug('%s closed', this.id);
    this.#context.ended(this);
  }

  #release(): void {
    this.#receiver = undefined;
    this.#drainWatched = undefined;
    if (this.#heartbeatSlot !== -1) {
      this.#context.heartbeats.remove(this, this.#heartbeatSlot);
      this.#heartbeatSlot = -1;
    }
  }

  #startDisconnectTimer(): void {
    this.#clearDisconnectTimer();
    this.#disconnect = setTimeout(() => {
      this.#disconnect = undefined;
      this.#leave(EXITS.timedOut, TIMED_OUT.code, TIMED_OUT.reason);
    }, this.#context.disconnectDelay);
    this.#disconnect.unref();
  }

  #clearDisconnectTimer(): void {
    if (this.#disconnect) {
      clearTimeout(this.#disconnect);
      this.#disconnect = undefined;
    }
  }

  /**
   * Hands messages from the client to the application. Until it reads (a
   * first `recv()` or `'data'` listener) they are held for its first reader,
   * within `maxQueuedBytes`. @internal
   */
  deliver(messages: readonly string[]): void {
    const counters = this.#context.counters;
    for (const message of messages) {
      if (this.#state !== 'open') return;
      counters.messagesReceived++;
      counters.bytesReceived += Buffer.byteLength(message);
      if (this.#held === undefined && (this.#inbox !== undefined || this.listenerCount('data') > 0)) {
        this.#hand(message);
      } else {
        (this.#held ??= []).push(message);
        this.#countUnread(message);
      }
    }
  }

  /**
   * Gives one message to a waiting `recv()` or the inbox, and to `'data'`
   * listeners. `counted` says its bytes are counted already (it was held).
   * Returns `false` when that closed the session (the inbox overflowed or a
   * listener threw).
   */
  #hand(message: string, counted = false): boolean {
    const waiter = this.#waiters?.shift();
    if (waiter) {
      waiter.resolve(message);
    } else if (this.#inbox) {
      this.#inbox.push(message);
      // The inbox keeps it: it counts from now on, or still does if it was held.
      if (!counted && !this.#countUnread(message)) return false;
      return this.#tell('data', message);
    }
    if (counted) this.#inboxBytes -= Buffer.byteLength(message);
    return this.#tell('data', message);
  }

  /** Counts `message` as unread; past `maxQueuedBytes` the session closes (1008) and this returns `false`. */
  #countUnread(message: string): boolean {
    this.#inboxBytes += Buffer.byteLength(message);
    if (this.#inboxBytes <= this.#context.maxQueuedBytes) return true;
    this.refuse(INBOX_OVERFLOW.code, INBOX_OVERFLOW.reason);
    return false;
  }

  /** The application reads now: the held messages go to it, in order, as if they came now. */
  #releaseHeld(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    for (const message of held) {
      if (!this.#hand(message, true)) return;
    }
  }
}
