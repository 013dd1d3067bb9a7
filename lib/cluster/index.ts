/**
 * The cluster: what a handler with an `adapter` adds on top of its own
 * registry. HTTP sessions are owned by the process that saw their first
 * receiving request; any other process serves their requests anyway, by
 * forwarding sends to the owner and relaying the owner's frames into its
 * receiving responses. The transports only ask {@link Cluster.locate} where
 * a session is; the owners it remembers, the forwarding and the owner's side
 * of relayed responses are this file's, the relaying side `./relay.ts`'s.
 * Broadcasts, sends by session id and the session list go over the same
 * bus. Messaging itself (requests, replies, timeouts) is `./messenger.ts`'s.
 */
import type { ApplicationHooks } from '../application';
import createDebug from 'debug';
import type { Adapter, Ownership } from '../adapter';
import { ClusterUnavailableError } from '../errors';
import { parseMessages } from '../framing';
import type { FrameFormat } from '../receiver';
import {
  Registry,
  SERVER_GONE,
  type Locator,
  type RegistryLimits,
  type RemoteSession,
  type Whereabouts,
} from '../registry';
import { sessionUuid } from '../session-id';
import type { Session } from '../session';
import type { ClusterCounts, Counters, HandlerStats } from '../stats';
import { decode, type ClusterSession, type Header } from './envelope';
import { Messenger } from './messenger';
import { Relays } from './relay';
import { RemoteReceiver } from './remote-receiver';

export type { ClusterSession } from './envelope';

const debug = createDebug('sockjs:cluster');

/** How many owners of other processes' sessions are remembered (the least recently learnt go first). */
const OWNERS_REMEMBERED = 10_000;

const HERE: Whereabouts = { kind: 'here' };
const GONE: Whereabouts = { kind: 'gone' };
const UNAVAILABLE: Whereabouts = { kind: 'unavailable' };

/** What a handler with an adapter gives its cluster. */
export interface ClusterOptions {
  readonly adapter: Adapter;
  /** The limits of the cluster's own registry. */
  readonly limits: RegistryLimits;
  /** Runs the application's code for every new session of this process, and reports what it throws. */
  readonly application: ApplicationHooks;
  /** The frame format of a receiving transport by name, for requests other processes relay. */
  readonly formats: (transport: string) => FrameFormat | undefined;
}

export class Cluster implements Locator {
  /** This process's sessions, named after it. */
  readonly registry: Registry;
  readonly #messenger: Messenger;
  readonly #formats: (transport: string) => FrameFormat | undefined;
  /** Receiving requests this process relays for other owners. */
  readonly #relays: Relays;
  /** Receivers of local sessions whose requests other processes hold, by `node` and relay name. */
  readonly #remotes = new Map<string, RemoteReceiver>();
  /** The remote receiver each local session is attached to, when another process holds its request. */
  readonly #carriers = new Map<Session, RemoteReceiver>();
  /**
   * Owners of other processes' sessions this process asked the directory
   * about lately, by URL id, so that the next requests of those sessions
   * skip the look-up. An owner that turns out to have no such session is
   * forgotten and asked again.
   */
  readonly #owners = new Map<string, string>();
  #leaving = false;
  /** What this process did for the cluster, for `handler.stats()`. */
  readonly #counters: ClusterCounts;
  /** The handler's counters, for the stats other processes ask for. */
  readonly #allCounters: Counters;

  constructor(options: ClusterOptions) {
    const bus = options.adapter.join({
      disconnectDelay: options.limits.disconnectDelay,
      listener: { message: (message) => this.#receive(message), nodeDown: (node) => this.#nodeDown(node) },
    });
    this.#messenger = new Messenger(bus);
    this.#relays = new Relays(this.#messenger, (urlId) => this.#owners.delete(urlId));
    this.#formats = options.formats;
    this.#allCounters = options.limits.counters;
    this.#counters = options.limits.counters.cluster ?? { relayedRequests: 0, forwardedSends: 0 };
    this.registry = new Registry(options.limits, options.application, {
      newSessionId: () => `${this.node}/${sessionUuid()}`,
      released: (urlId) => {
        // While leaving, the bus marks every URL id of this process gone instead, so
        // their clients get a close frame from the other processes rather than a new session.
        if (!this.#leaving) bus.release(urlId);
      },
    });
  }

  /** This process's node id. */
  get node(): string {
    return this.#messenger.node;
  }

  /**
   * Where the HTTP session `urlId` is. A session here whose current
   * receiving request another process holds is answered once that process
   * is known to be alive or not: if it is gone, the session loses that
   * request first, so a new one is taken rather than refused with 2010.
   */
  locate(urlId: string, key: string | undefined, claim: boolean): Whereabouts | Promise<Whereabouts> {
    if (this.registry.has(urlId)) {
      const check = claim ? this.#checkCarrier(this.registry.find(urlId, key)) : undefined;
      return check === undefined ? HERE : check.then(() => HERE);
    }
    const remembered = this.#owners.get(urlId);
    if (remembered !== undefined) return this.#elsewhere(remembered, urlId, key, true);
    return this.#lookUp(urlId, key, claim);
  }

  /** Asks the directory who owns `urlId`, claiming it for a receiving request. */
  async #lookUp(urlId: string, key: string | undefined, claim: boolean): Promise<Whereabouts> {
    let owner: Ownership;
    try {
      owner = this.#learn(urlId, await this.#messenger.ask((bus) => (claim ? bus.claim(urlId) : bus.owner(urlId))));
    } catch (error) {
      if (error instanceof ClusterUnavailableError) return UNAVAILABLE;
      throw error;
    }
    if (owner.kind === 'node' && owner.node !== this.node) return this.#elsewhere(owner.node, urlId, key, false);
    return owner.kind === 'gone' ? GONE : HERE;
  }

  /** The session `urlId` on `owner`, as the transports use it. */
  #elsewhere(owner: string, urlId: string, key: string | undefined, remembered: boolean): Whereabouts {
    const session: RemoteSession = {
      receive: (response) => {
        this.#counters.relayedRequests++;
        this.#relays.start({ owner, urlId, key, response, remembered });
      },
      deliver: async (messages) => {
        this.#counters.forwardedSends++;
        if (await this.#deliver(owner, urlId, key, messages)) return true;
        if (!remembered) return false;
        // The remembered owner no longer has it: ask who does now.
        this.#owners.delete(urlId);
        const now = this.#learn(urlId, await this.#messenger.ask((bus) => bus.owner(urlId)));
        return now.kind === 'node' && now.node !== this.node && now.node !== owner && this.#deliver(now.node, urlId, key, messages);
      },
      refuse: (code, reason) => {
        this.#messenger.tell(owner, { op: 'refuse', urlId, ...(key === undefined ? {} : { key }), code, reason });
      },
    };
    return { kind: 'elsewhere', session };
  }

  /** Remembers the owner of `urlId` when it is another process. */
  #learn(urlId: string, ownership: Ownership): Ownership {
    this.#owners.delete(urlId);
    if (ownership.kind === 'node' && ownership.node !== this.node) {
      this.#owners.set(urlId, ownership.node);
      if (this.#owners.size > OWNERS_REMEMBERED) this.#owners.delete(this.#owners.keys().next().value as string);
    }
    return ownership;
  }

  /**
   * Before a new receiving request is attached to `session`: when another
   * process holds its current one, finds out whether that process is alive.
   * `undefined` when there is nothing to find out.
   */
  #checkCarrier(session: Session | undefined): Promise<void> | undefined {
    const remote = session === undefined ? undefined : this.#carriers.get(session);
    if (remote === undefined) return undefined;
    return this.#messenger.post(remote.node, { op: 'ping' }).then(
      (taken) => {
        if (!taken) remote.lost();
      },
      // The backend is down: whether the carrier lives is unknown, so it keeps the session.
      (error: unknown) => debug('checking on %s failed: %O', remote.node, error),
    );
  }

  /** Hands messages from a client to session `urlId` on `owner`; resolves whether the session took them. */
  async #deliver(owner: string, urlId: string, key: string | undefined, messages: readonly string[]): Promise<boolean> {
    const header = { op: 'deliver', ref: this.#messenger.ref(), from: this.node, urlId, ...(key === undefined ? {} : { key }) } as const;
    const reply = await this.#messenger.request(owner, header, JSON.stringify(messages));
    return reply?.header.op === 'reply' && reply.header.ok;
  }

  /** Sends `message` to session `id` wherever it lives; resolves whether an open session took it. */
  async send(id: string, message: string): Promise<boolean> {
    const slash = id.lastIndexOf('/');
    const owner = slash > 0 ? id.slice(0, slash) : '';
    if (owner === '' || owner === this.node) return sendHere(this.registry.sessions.get(id), message);
    const reply = await this.#messenger.request(owner, { op: 'send', ref: this.#messenger.ref(), from: this.node, id }, JSON.stringify(message));
    return reply?.header.op === 'reply' && reply.header.ok;
  }

  /** Sends `message` to every other process's sessions. */
  broadcast(message: string): Promise<void> {
    // Every process gets it, this one too; this one's sessions already have it.
    return this.#messenger.postAll({ op: 'broadcast', from: this.node }, JSON.stringify(message));
  }

  /** Every session of every live process. */
  async sessions(): Promise<ClusterSession[]> {
    const { answers } = await this.#askEveryNode('list', () => this.#localSessions());
    return answers.flat();
  }

  /**
   * The `handler.stats()` of every live process, and how long the backend
   * took to list them (milliseconds).
   */
  async stats(): Promise<{ nodes: HandlerStats[]; backendRoundTripMs: number }> {
    const { answers, backendRoundTripMs } = await this.#askEveryNode('stats', () => this.#localStats());
    return { nodes: answers, backendRoundTripMs };
  }

  /**
   * Asks every live process for its answer to `op`, this one through
   * `local`; a process that left meanwhile is left out. Also times the
   * backend's listing of the live processes.
   */
  async #askEveryNode<T>(op: 'list' | 'stats', local: () => T): Promise<{ answers: T[]; backendRoundTripMs: number }> {
    const started = performance.now();
    const nodes = await this.#messenger.ask((bus) => bus.nodes());
    const backendRoundTripMs = performance.now() - started;
    const answers = await Promise.all(
      nodes.map(async (node) => {
        if (node === this.node) return [local()];
        const reply = await this.#messenger.request(node, { op, ref: this.#messenger.ref(), from: this.node });
        return reply === undefined ? [] : [JSON.parse(reply.payload) as T];
      }),
    );
    return { answers: answers.flat(), backendRoundTripMs };
  }

  #localStats(): HandlerStats {
    return this.#allCounters.snapshot(this.node, this.registry.sessions.values());
  }

  /**
   * Leaves the cluster: the responses this process relays end cleanly once
   * their owners stop sending (so their clients carry on through other
   * processes), then the bus marks this process's sessions gone.
   */
  async leave(): Promise<void> {
    this.#leaving = true;
    await this.#relays.handOver();
    await this.#messenger.leave();
  }

  #localSessions(): ClusterSession[] {
    const via = new Map<Session, string>();
    for (const remote of this.#remotes.values()) if (remote.session) via.set(remote.session, remote.node);
    const list: ClusterSession[] = [];
    for (const session of this.registry.sessions.values()) {
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
    const registry = this.registry;
    switch (header.op) {
      case 'reply':
        this.#messenger.replied({ header, payload });
        return;
      case 'accept':
      case 'frame':
      case 'end':
      case 'abort':
      case 'missing':
        this.#relays.message(header, payload);
        return;
      case 'attach': {
        const check = this.#checkCarrier(registry.find(header.urlId, header.key));
        if (check) void check.then(() => this.#attach(header));
        else this.#attach(header);
        return;
      }
      case 'ping':
        return;
      case 'detach':
        this.#remotes.get(remoteKey(header.from, header.ref))?.detach(header.interrupted);
        return;
      case 'release':
        this.#remotes.get(remoteKey(header.from, header.relay))?.detach(false);
        this.#messenger.reply(header.from, header.ref, true);
        return;
      case 'deliver': {
        const session = registry.find(header.urlId, header.key);
        const messages = session?.state === 'open' ? parseMessages(payload) : null;
        if (messages !== null) session?.deliver(messages);
        this.#messenger.reply(header.from, header.ref, messages !== null);
        return;
      }
      case 'refuse':
        registry.find(header.urlId, header.key)?.refuse(header.code, header.reason);
        return;
      case 'send':
        this.#messenger.reply(header.from, header.ref, sendHere(registry.sessions.get(header.id), parseString(payload)));
        return;
      case 'broadcast': {
        const message = header.from === this.node ? undefined : parseString(payload);
        if (message !== undefined) registry.broadcast(message);
        return;
      }
      case 'list':
        this.#messenger.reply(header.from, header.ref, true, JSON.stringify(this.#localSessions()));
        return;
      case 'stats':
        this.#messenger.reply(header.from, header.ref, true, JSON.stringify(this.#localStats()));
        return;
    }
  }

  /** Another process holds a receiving request for a session here. */
  #attach(header: Extract<Header, { op: 'attach' }>): void {
    const format = this.#formats(header.transport);
    const session = this.registry.find(header.urlId, header.key);
    if (format === undefined || session === undefined) {
      this.#messenger.tell(header.from, { op: 'missing', ref: header.ref });
      return;
    }
    const key = remoteKey(header.from, header.ref);
    const request = { node: header.from, relay: header.ref, format, callback: header.callback, responseLimit: header.responseLimit };
    const remote = new RemoteReceiver(request, this.#messenger, (done) => {
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
      if (!this.#leaving) this.registry.shutdownHttp(SERVER_GONE.code, SERVER_GONE.reason);
      return;
    }
    debug('node %s is down', node);
    for (const [urlId, owner] of [...this.#owners]) if (owner === node) this.#owners.delete(urlId);
    for (const remote of [...this.#remotes.values()]) if (remote.node === node) remote.lost();
    this.#relays.ownerDown(node);
    this.#messenger.nodeDown(node);
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
