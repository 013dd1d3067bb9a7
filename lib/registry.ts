/**
 * The sessions of one handler: by public id for the application, and by the
 * URL's session id for the HTTP transports that spread one session over many
 * requests. Websocket sessions live exactly as long as their websocket, so
 * they are never looked up by URL id (two may share one, as the protocol allows).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from './errors';
import type { ApplicationHooks } from './application';
import { messageFrame } from './framing';
import type { FrameFormat, Receiver } from './receiver';
import { Session, type SessionContext, type SessionRequest } from './session';
import { sessionUuid } from './session-id';
import type { Counters } from './stats';
import { Ticker } from './ticker';

/** A request that went through Express or Connect, which keep the unstripped URL. */
export type MountedRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string };

/** Takes what a session needs to remember of its opening request. */
export function describeRequest(req: IncomingMessage): SessionRequest {
  return {
    url: (req as MountedRequest).originalUrl ?? req.url ?? '',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
  };
}

/** Code and reason a client gets for a session whose process died or left. */
export const SERVER_GONE = { code: 1001, reason: 'Server gone' } as const;

/**
 * The answer to the one question the HTTP transports ask: where is the
 * session of this URL id? Without an adapter it is always `here`.
 */
export type Whereabouts =
  /** In this process, if anywhere: the registry has it, or makes it. */
  | { readonly kind: 'here' }
  /** In another process, reached through `session`. */
  | { readonly kind: 'elsewhere'; readonly session: RemoteSession }
  /** Its process died or left: the client gets {@link SERVER_GONE}. */
  | { readonly kind: 'gone' }
  /** The cluster could not be asked in time: the client gets `503`. */
  | { readonly kind: 'unavailable' };

/** A session of another process, as the transports of this one use it. */
export interface RemoteSession {
  /**
   * Serves a receiving request of the session: the owner attaches it like
   * one of its own, and writes to it through `response.open()`.
   */
  receive(response: RelayedResponse): void;
  /**
   * Hands messages from the client to the session. Resolves whether it took
   * them; rejects with `ClusterUnavailableError` when the cluster did not answer.
   */
  deliver(messages: readonly string[]): Promise<boolean>;
  /** Closes the session for a protocol reason. */
  refuse(code: number, reason: string): void;
}

/** A receiving HTTP response that another process's session writes to. */
export interface RelayedResponse {
  readonly res: ServerResponse;
  readonly format: FrameFormat;
  /** The jsonp or htmlfile callback, or `''`. */
  readonly callback: string;
  readonly responseLimit: number;
  /** Starts the response (status, headers, prelude) once the owner took it. */
  open(): ResponseWriter;
  /**
   * The process asked has no such session (or not for this client); nothing
   * was written. The directory may know better by now.
   */
  missing(): void;
}

/** Writes the frames the owner of a relayed response sends (an HTTP receiver of this process). */
export interface ResponseWriter {
  /** Writes one frame; `false` when the response is done with it. */
  write(frame: string): boolean;
  end(): void;
}

/** Answers where the session of a URL id is. */
export interface Locator {
  /**
   * Where the HTTP session `urlId` is, for a client with binding `key`. For
   * a receiving request (`claim`), a URL id nobody owns becomes this
   * process's. May answer at once.
   */
  locate(urlId: string, key: string | undefined, claim: boolean): Whereabouts | Promise<Whereabouts>;
}

const HERE: Whereabouts = { kind: 'here' };

/** The session limits a registry applies: the handler's options of these names. */
export interface RegistryLimits {
  readonly disconnectDelay: number;
  readonly maxQueuedBytes: number;
  readonly highWaterMark: number;
  readonly heartbeatDelay: number;
  /** Where the sessions count what they do (see `stats.ts`). */
  readonly counters: Counters;
}

/** What the registry tells the cluster, when there is one. */
export interface RegistryCluster {
  newSessionId(): string;
  released(urlId: string): void;
}

/**
 * The sessions of one process. As a {@link Locator} (without an adapter),
 * every session is here, if anywhere.
 */
export class Registry implements Locator {
  /** Live sessions by their public id. */
  readonly sessions = new Map<string, Session>();
  readonly #byUrlId = new Map<string, Session>();
  readonly #urlIds = new WeakMap<Session, string>();
  /** The binding key of each HTTP session (with `sessionBinding`). */
  readonly #bindings = new WeakMap<Session, string>();
  readonly #context: SessionContext;

  readonly #cluster: RegistryCluster | undefined;

  /**
   * @param application runs the `'connection'` listeners and reports what the application's code throws
   * @param cluster with an adapter: names sessions after this process and
   *   learns when an HTTP session's URL id is free again
   */
  constructor(limits: RegistryLimits, application: ApplicationHooks, cluster?: RegistryCluster) {
    this.#cluster = cluster;
    this.#context = {
      newId: cluster ? () => cluster.newSessionId() : sessionUuid,
      heartbeats: new Ticker(limits.heartbeatDelay, (session) => session.heartbeat()),
      disconnectDelay: limits.disconnectDelay,
      maxQueuedBytes: limits.maxQueuedBytes,
      highWaterMark: limits.highWaterMark,
      counters: limits.counters,
      opened: (session) => {
        limits.counters.opened(session.transport);
        application.opened(session);
      },
      ended: (session) => this.#forget(session),
      failed: application.failed,
    };
  }

  locate(): Whereabouts {
    return HERE;
  }

  /** Whether an HTTP session with this URL id lives here. */
  has(urlId: string): boolean {
    return this.#byUrlId.has(urlId);
  }

  /**
   * The HTTP session behind a URL session id, if any and if `key` (see
   * `bindingKey`) is the one it was bound to.
   */
  find(urlId: string, key?: string): Session | undefined {
    const session = this.#byUrlId.get(urlId);
    if (session && key !== undefined && this.#bindings.get(session) !== key) return undefined;
    return session;
  }

  /** Whether a request with binding `key` may use the URL id: a new one, or its own session's. */
  admits(urlId: string, key: string | undefined): boolean {
    return !this.#byUrlId.has(urlId) || this.find(urlId, key) !== undefined;
  }

  /**
   * Attaches an HTTP receiver to the session `urlId`, creating it (bound to
   * `key`, keeping `context`) when new. The caller checked {@link admits}.
   */
  receive(urlId: string, req: IncomingMessage, receiver: Receiver, key?: string, context?: unknown): Session {
    let session = this.#byUrlId.get(urlId);
    if (!session) {
      session = Session.create(this.#context, describeRequest(req), receiver.transport, context);
      this.#byUrlId.set(urlId, session);
      this.#urlIds.set(session, urlId);
      if (key !== undefined) this.#bindings.set(session, key);
      this.sessions.set(session.id, session);
    }
    session.attach(receiver);
    return session;
  }

  /**
   * Starts a websocket session, which lives as long as its receiver.
   * `context` is what the `context` option made of the handshake.
   */
  connect(req: IncomingMessage, receiver: Receiver, context: unknown): Session {
    const session = Session.create(this.#context, describeRequest(req), receiver.transport, context);
    this.sessions.set(session.id, session);
    session.attach(receiver);
    return session;
  }

  /** Sends one message to every open session, encoding its frame once. */
  broadcast(message: string): number {
    if (typeof message !== 'string') {
      throw new InvalidArgumentError(`sockjs: broadcast() takes a string, got ${typeof message}`);
    }
    let frame: string | undefined;
    let bytes: Buffer | undefined;
    let size = 0;
    let count = 0;
    for (const session of this.sessions.values()) {
      if (session.state !== 'open') continue;
      if (frame === undefined || bytes === undefined) {
        frame = messageFrame([message]);
        bytes = Buffer.from(frame);
        size = Buffer.byteLength(message);
      }
      if (session.sendFramed(message, frame, bytes, size)) count++;
    }
    return count;
  }

  /** Ends every session with a close frame. */
  shutdown(code: number, reason: string): void {
    for (const session of [...this.sessions.values()]) session.shutdown(code, reason);
  }

  /** Ends every HTTP session (the ones with a URL id) with a close frame; websocket sessions stay. */
  shutdownHttp(code: number, reason: string): void {
    for (const session of [...this.#byUrlId.values()]) session.shutdown(code, reason);
  }

  #forget(session: Session): void {
    this.sessions.delete(session.id);
    const urlId = this.#urlIds.get(session);
    if (urlId !== undefined && this.#byUrlId.get(urlId) === session) {
      this.#byUrlId.delete(urlId);
      this.#cluster?.released(urlId);
    }
  }
}
