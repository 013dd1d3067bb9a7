/**
 * The sessions of one handler: by public id for the application, and by the
 * URL's session id for the HTTP transports that spread one session over many
 * requests. Websocket sessions live exactly as long as their websocket, so
 * they are never looked up by URL id (two may share one, as the protocol allows).
 */
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from './errors';
import type { ApplicationHooks } from './application';
import { messageFrame } from './framing';
import type { Receiver } from './receiver';
import { Session, type SessionContext, type SessionRequest } from './session';
import { sessionUuid } from './session-id';
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

/** What the registry tells the cluster, when there is one. */
export interface RegistryCluster {
  newSessionId(): string;
  released(urlId: string): void;
}

export class Registry {
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
  constructor(
    limits: Pick<SessionContext, 'disconnectDelay' | 'maxQueuedBytes' | 'highWaterMark'> & { heartbeatDelay: number },
    application: ApplicationHooks,
    cluster?: RegistryCluster,
  ) {
    this.#cluster = cluster;
    this.#context = {
      newId: cluster ? () => cluster.newSessionId() : sessionUuid,
      heartbeats: new Ticker(limits.heartbeatDelay, (session) => session.heartbeat()),
      disconnectDelay: limits.disconnectDelay,
      maxQueuedBytes: limits.maxQueuedBytes,
      highWaterMark: limits.highWaterMark,
      opened: application.opened,
      ended: (session) => this.#forget(session),
      failed: application.failed,
    };
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
   * `key`) when new. The caller checked {@link admits}.
   */
  receive(urlId: string, req: IncomingMessage, receiver: Receiver, key?: string): Session {
    let session = this.#byUrlId.get(urlId);
    if (!session) {
      session = Session.create(this.#context, describeRequest(req), receiver.transport);
      this.#byUrlId.set(urlId, session);
      this.#urlIds.set(session, urlId);
      if (key !== undefined) this.#bindings.set(session, key);
      this.sessions.set(session.id, session);
    }
    session.attach(receiver);
    return session;
  }

  /** Starts a websocket session, which lives as long as its receiver. */
  connect(req: IncomingMessage, receiver: Receiver): Session {
    const session = Session.create(this.#context, describeRequest(req), receiver.transport);
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
    let count = 0;
    for (const session of this.sessions.values()) {
      if (session.state !== 'open') continue;
      if (frame === undefined || bytes === undefined) {
        frame = messageFrame([message]);
        bytes = Buffer.from(frame);
      }
      if (session.sendFramed(message, frame, bytes)) count++;
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
