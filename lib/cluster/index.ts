/**
 * The cluster: what a handler with an `adapter` adds on top of its own
 * registry. HTTP sessions are owned by the process that saw their first
 * receiving request; any other process serves their requests anyway, by
 * forwarding sends to the owner and relaying the owner's frames into its
 * receiving responses. Broadcasts, sends by session id and the session list
 * go over the same bus.
 */
import type { ServerResponse } from 'node:http';
import createDebug from 'debug';
import type { Adapter, Bus, Ownership } from '../adapter';
import { ClusterUnavailableError } from '../errors';
import { parseMessages } from '../framing';
import { sessionUuid } from '../session-id';
import type { Session } from '../session';
import type { HttpReceiverFormat } from '../transports/http-receiver';
import { receiverFormat } from '../transports/table';
import { decode, encode, type ClusterSession, type Envelope, type Header } from './envelope';
import { Relay, SERVER_GONE } from './relay';
import { RemoteReceiver } from './remote-receiver';

export type { ClusterSession } from './envelope';

const debug = createDebug('sockjs:cluster');

/** How long a request to another process may take before the client gets `503`. */
const REQUEST_TIMEOUT_MS = 5000;
/** How long a leaving process waits for owners to stop sending to its relays. */
const HANDOVER_TIMEOUT_MS = 1000;
/** How many owners of other processes' sessions are remembered (the least recently learnt go first). */
const OWNERS_REMEMBERED = 10_000;

/** What the cluster needs of the handler's own registry. */
export interface LocalSessions {
  readonly sessions: ReadonlyMap<string, Session>;
  /** The HTTP session `urlId`, if it exists here and `key` is its binding. */
  find(urlId: string, key?: string): Session | undefined;
  broadcast(message: string): number;
  /** Ends every HTTP session here with a close frame. */
  shutdownHttp(code: number, reason: string): void;
}

interface Pending {
  readonly node: string;
  resolve(reply: Envelope | undefined): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

export class Cluster {
  readonly #bus: Bus;
  #local: LocalSessions | undefined;
  #sequence = 0;
  readonly #pending = new Map<string, Pending>();
  /** Receiving requests this process relays for other owners, by relay name. */
  readonly #relays = new Map<string, Relay>();
  /** Receivers of local sessions whose requests other processes hold, by `node` and relay name. */
  readonly #remotes = new Map<string, RemoteReceiver>();
  /** The remote receiver each local session is attached to, when another process holds its request. */
  readonly #carriers = new Map<Session, RemoteReceiver>();
  /**
   * Owners of other processes' sessions this process asked Redis about lately,
   * by URL id, so that the next requests of those sessions skip the look-up. An
   * owner that turns out to have no such session is forgotten and asked again.
   */
  readonly #owners = new Map<string, string>();
  #leaving = false;

  constructor(adapter: Adapter, disconnectDelay: number) {
    this.#bus = adapter.join({
      disconnectDelay,
      listener: { message: (message) => this.#receive(message), nodeDown: (node) => this.#nodeDown(node) },
    });
  }

  /** This process's node id. */
  get node(): string {
    return this.#bus.node;
  }

  /** Starts answering other processes about `local`'s sessions. */
  serve(local: LocalSessions): void {
    this.#local = local;
  }

  /** A session id that names this process as the owner. */
  newSessionId(): string {
    return `${this.node}/${sessionUuid()}`;
  }

  /**
   * Before a new receiving request is attached to `session`: when another
   * process holds its current one, finds out whether that process is alive.
   * If it is gone (killed, and not yet swept), the session loses that request
   * first, so the new one is taken rather than refused with 2010.
   * `undefined` when there is nothing to find out.
   */
  checkCarrier(session: Session | undefined): Promise<void> | undefined {
    const remote = session === undefined ? undefined : this.#carriers.get(session);
    if (remote === undefined) return undefined;
    return this.#post(remote.node, encode({ op: 'ping' })).then(
      (taken) => {
        if (!taken) remote.lost();
      },
      () => undefined,
    );
  }

  /** Who owns `urlId`; claims it for this process when nobody does. */
  async claim(urlId: string): Promise<Ownership> {
    return this.#learn(urlId, await this.#ask(() => this.#bus.claim(urlId)));
  }

  /** Who owns `urlId`. */
  async owner(urlId: string): Promise<Ownership> {
    return this.#learn(urlId, await this.#ask(() => this.#bus.owner(urlId)));
  }

  /** The owner of `urlId` (another process) as last learnt, without asking Redis. */
  rememberedOwner(urlId: string): string | undefined {
    return this.#owners.get(urlId);
  }

  /** The remembered owner of `urlId` did not have the session: ask again next time. */
  forgetOwner(urlId: string): void {
    this.#owners.delete(urlId);
  }

  #learn(urlId: string, ownership: Ownership): Ownership {
    if (ownership.kind === 'node' && ownership.node !== this.node) {
      this.#owners.delete(urlId);
      this.#owners.set(urlId, ownership.node);
      if (this.#owners.size > OWNERS_REMEMBERED) this.#owners.delete(this.#owners.keys().next().value as string);
    } else {
      this.#owners.delete(urlId);
    }
    return ownership;
  }

  /**
   * This process's HTTP session `urlId` ended. Not while leaving: the bus
   * then marks every URL id of this process gone instead, so their clients
   * get a close frame from the other processes rather than a new session.
   */
  released(urlId: string): void {
    if (!this.#leaving) this.#bus.release(urlId);
  }

  /**
   * Serves a receiving request for session `urlId` of `owner` on `res`: the
   * owner attaches it like a local response and this process writes the
   * frames it relays. `onMissing` runs instead of a `404` when the owner has
   * no such session (for an owner that was only remembered).
   */
  relay(
    owner: string,
    urlId: string,
    key: string | undefined,
    format: HttpReceiverFormat,
    callback: string,
    responseLimit: number,
    res: ServerResponse,
    onMissing?: () => void,
  ): void {
    // The client left while the owner was looked up: nothing to attach ('close' has fired).
    if (res.destroyed) return;
    const name = this.#nextName();
    const relay = new Relay(owner, res, format, callback, responseLimit, onMissing && (() => (this.forgetOwner(urlId), onMissing())));
    this.#relays.set(name, relay);
    res.once('close', () => {
      if (this.#relays.get(name) !== relay) return;
      this.#relays.delete(name);
      if (relay.settled) return;
      // Cut off by the client, or never started: the owner's session loses it.
      const interrupted = !relay.accepted || !res.writableEnded;
      this.#tell(owner, encode({ op: 'detach', r: name, from: this.node, i: interrupted }));
    });
    // Until the owner has the request: Redis may be unreachable. After that the owner
    // answers (a poll may wait for its frame as long as the heartbeat), or is found dead.
    const timer = setTimeout(() => {
      if (!relay.accepted && !relay.settled) relay.unavailable();
    }, REQUEST_TIMEOUT_MS).unref();
    const attach: Header = { op: 'attach', r: name, from: this.node, u: urlId, t: format.transport, c: callback, l: responseLimit };
    this.#post(owner, encode(key === undefined ? attach : { ...attach, k: key })).then(
      (taken) => {
        clearTimeout(timer);
        if (!taken) this.#forgetRelay(name)?.gone();
      },
      () => {
        clearTimeout(timer);
        relay.unavailable();
      },
    );
  }

  /**
   * Hands messages from a client to session `urlId` on `owner`. Resolves
   * whether the session took them; rejects with {@link ClusterUnavailableError}.
   */
  async deliver(owner: string, urlId: string, key: string | undefined, messages: readonly string[]): Promise<boolean> {
    const header = { op: 'deliver', r: this.#nextName(), from: this.node, u: urlId } as const;
    const reply = await this.#request(owner, key === undefined ? header : { ...header, k: key }, JSON.stringify(messages));
    return reply?.header.op === 'reply' && reply.header.ok;
  }

  /** Closes session `urlId` on `owner` for a protocol reason. */
  refuse(owner: string, urlId: string, key: string | undefined, code: number, reason: string): void {
    const header = { op: 'refuse', u: urlId, code, reason } as const;
    this.#tell(owner, encode(key === undefined ? header : { ...header, k: key }));
  }

  /** Sends `message` to session `id` wherever it lives; resolves whether an open session took it. */
  async send(id: string, message: string): Promise<boolean> {
    const slash = id.lastIndexOf('/');
    const owner = slash > 0 ? id.slice(0, slash) : '';
    if (owner === '' || owner === this.node) return sendHere(this.#local?.sessions.get(id), message);
    const reply = await this.#request(owner, { op: 'send', r: this.#nextName(), from: this.node, id }, JSON.stringify(message));
    return reply?.header.op === 'reply' && reply.header.ok;
  }

  /** Sends `message` to every other process's sessions. */
  broadcast(message: string): Promise<void> {
    return this.#bus.postAll(encode({ op: 'broadcast', from: this.node }, JSON.stringify(message)));
  }

  /** Every session of every live process. */
  async sessions(): Promise<ClusterSession[]> {
    const nodes = await this.#ask(() => this.#bus.nodes());
    const lists = await Promise.all(
      nodes.map(async (node) => {
        if (node === this.node) return this.#localSessions();
        const reply = await this.#request(node, { op: 'list', r: this.#nextName(), from: this.node });
        return reply === undefined ? [] : (JSON.parse(reply.payload) as ClusterSession[]);
      }),
    );
    return lists.flat();
  }

  /**
   * Leaves the cluster: the responses this process relays end cleanly once
   * their owners stop sending (so their clients carry on through other
   * processes), then the bus marks this process's sessions gone.
   */
  async leave(): Promise<void> {
    this.#leaving = true;
    const relays = [...this.#relays];
    await Promise.all(
      relays.map(async ([name, relay]) => {
        const header = { op: 'release', r: this.#nextName(), from: this.node, relay: name } as const;
        await this.#request(relay.owner, header, '', HANDOVER_TIMEOUT_MS).catch(() => undefined);
        this.#forgetRelay(name)?.handOver();
      }),
    );
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
    await this.#bus.leave();
  }

  #nextName(): string {
    return String(++this.#sequence);
  }

  #forgetRelay(name: string): Relay | undefined {
    const relay = this.#relays.get(name);
    this.#relays.delete(name);
    return relay;
  }

  /**
   * Runs a bus call, turning its failure, or no answer within the request
   * timeout (a backend that is down may queue calls for a long time), into
   * {@link ClusterUnavailableError}.
   */
  async #ask<T>(call: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    });
    try {
      return await Promise.race([call(), timeout]);
    } catch (error) {
      debug('backend failed: %s', error instanceof Error ? error.message : String(error));
      throw new ClusterUnavailableError('sockjs: the cluster backend is unavailable', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  #post(node: string, message: string): Promise<boolean> {
    return this.#bus.post(node, message);
  }

  /** Posts without waiting: a message that cannot go (the backend is down) is only logged. */
  #tell(node: string, message: string): void {
    this.#bus.post(node, message).catch((error: unknown) => debug('posting to %s failed: %O', node, error));
  }

  /** Posts a request and waits for its reply; `undefined` when `node` is gone. */
  #request(node: string, header: Header & { r: string }, payload = '', timeoutMs = REQUEST_TIMEOUT_MS): Promise<Envelope | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(header.r);
        reject(new ClusterUnavailableError(`sockjs: node ${node} did not answer`));
      }, timeoutMs);
      const pending: Pending = { node, resolve, reject, timer };
      this.#pending.set(header.r, pending);
      const settle = (reply: Envelope | undefined, error?: Error): void => {
        if (this.#pending.get(header.r) !== pending) return;
        this.#pending.delete(header.r);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(reply);
      };
      this.#post(node, encode(header, payload)).then(
        (taken) => {
          if (!taken) settle(undefined);
        },
        (error: unknown) => settle(undefined, new ClusterUnavailableError('sockjs: the cluster backend is unavailable', { cause: error })),
      );
    });
  }

  #reply(to: string, r: string, ok: boolean, payload = ''): void {
    this.#tell(to, encode({ op: 'reply', r, ok }, payload));
  }

  #localSessions(): ClusterSession[] {
    const via = new Map<Session, string>();
    for (const remote of this.#remotes.values()) if (remote.session) via.set(remote.session, remote.node);
    const list: ClusterSession[] = [];
    for (const session of this.#local?.sessions.values() ?? []) {
      const carrier = via.get(session);
      const entry = { id: session.id, node: this.node, transport: session.transport };
      list.push(carrier === undefined ? entry : { ...entry, via: carrier });
    }
    return list;
  }

  /** A message from another process. */
  #receive(message: string): void {
    const envelope = decode(message);
    if (envelope === undefined) {
      debug('dropped a malformed message');
      return;
    }
    const { header, payload } = envelope;
    const local = this.#local;
    switch (header.op) {
      case 'reply': {
        const pending = this.#pending.get(header.r);
        if (pending) {
          this.#pending.delete(header.r);
          clearTimeout(pending.timer);
          pending.resolve(envelope);
        }
        return;
      }
      case 'accept':
        this.#relays.get(header.r)?.accept();
        return;
      case 'frame':
        this.#relays.get(header.r)?.frame(payload);
        return;
      case 'end':
        this.#forgetRelay(header.r)?.end();
        return;
      case 'abort':
        this.#forgetRelay(header.r)?.abort();
        return;
      case 'missing':
        this.#forgetRelay(header.r)?.missing();
        return;
      case 'attach': {
        const check = this.checkCarrier(local?.find(header.u, header.k));
        if (check) void check.then(() => this.#attach(header));
        else this.#attach(header);
        return;
      }
      case 'ping':
        return;
      case 'detach': {
        const remote = this.#remotes.get(remoteKey(header.from, header.r));
        const session = remote?.session;
        remote?.finish();
        if (remote) session?.detach(remote, header.i);
        return;
      }
      case 'release': {
        const remote = this.#remotes.get(remoteKey(header.from, header.relay));
        const session = remote?.session;
        remote?.finish();
        if (remote) session?.detach(remote, false);
        this.#reply(header.from, header.r, true);
        return;
      }
      case 'deliver': {
        const session = local?.find(header.u, header.k);
        const open = session?.state === 'open';
        const messages = open ? parseMessages(payload) : null;
        if (messages !== null) session?.deliver(messages);
        this.#reply(header.from, header.r, messages !== null);
        return;
      }
      case 'refuse':
        local?.find(header.u, header.k)?.refuse(header.code, header.reason);
        return;
      case 'send':
        this.#reply(header.from, header.r, sendHere(local?.sessions.get(header.id), parseString(payload)));
        return;
      case 'broadcast': {
        const message = header.from === this.node ? undefined : parseString(payload);
        if (message !== undefined) local?.broadcast(message);
        return;
      }
      case 'list':
        this.#reply(header.from, header.r, true, JSON.stringify(this.#localSessions()));
        return;
    }
  }

  /** Another process holds a receiving request for a session here. */
  #attach(header: Extract<Header, { op: 'attach' }>): void {
    const format = receiverFormat(header.t);
    const session = this.#local?.find(header.u, header.k);
    if (format === undefined || session === undefined) {
      this.#tell(header.from, encode({ op: 'missing', r: header.r }));
      return;
    }
    const key = remoteKey(header.from, header.r);
    const remote = new RemoteReceiver(header.from, header.r, format, header.c, header.l, (node, message) => this.#post(node, message), (done) => {
      if (this.#remotes.get(key) === done) this.#remotes.delete(key);
      if (this.#carriers.get(session) === done) this.#carriers.delete(session);
    });
    remote.session = session;
    this.#remotes.set(key, remote);
    // A poll's response starts with its frame; only a streaming one starts (headers, prelude) at once.
    if (format.streaming) remote.accept();
    const carrier = this.#carriers.get(session);
    this.#carriers.set(session, remote);
    session.attach(remote);
    // Answered at once (a close frame, 2010, a polling frame): the session kept its carrier, if any.
    if (!remote.active) {
      if (carrier?.active) this.#carriers.set(session, carrier);
      else if (this.#carriers.get(session) === remote) this.#carriers.delete(session);
    }
  }

  /** A process died or left: relays it owned end with the close frame; relays it held are lost. */
  #nodeDown(node: string): void {
    if (node === this.node) {
      // Swept while alive (this process stalled past nodeTimeout): the other processes
      // now answer its HTTP sessions with "Server gone", so they end here too.
      if (!this.#leaving) this.#local?.shutdownHttp(SERVER_GONE.code, SERVER_GONE.reason);
      return;
    }
    debug('node %s is down', node);
    for (const [urlId, owner] of [...this.#owners]) if (owner === node) this.#owners.delete(urlId);
    for (const remote of [...this.#remotes.values()]) if (remote.node === node) remote.lost();
    for (const [name, relay] of [...this.#relays]) {
      if (relay.owner === node) this.#forgetRelay(name)?.gone();
    }
    for (const [r, pending] of [...this.#pending]) {
      if (pending.node !== node) continue;
      this.#pending.delete(r);
      clearTimeout(pending.timer);
      pending.resolve(undefined);
    }
  }
}

function remoteKey(node: string, relay: string): string {
  return `${node}\n${relay}`;
}

/** A JSON string payload; `undefined` for anything else. */
function parseString(payload: string): string | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `message` for a local session; whether it was open. */
function sendHere(session: Session | undefined, message: string | undefined): boolean {
  if (session?.state !== 'open' || message === undefined) return false;
  session.send(message);
  return true;
}
