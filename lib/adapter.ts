/**
 * The adapter contract: what a handler needs from the outside world to share
 * its sessions with other processes. An adapter is a directory of the HTTP
 * sessions' URL ids (which process owns each) and a message bus between
 * processes; everything SockJS-specific on top of it lives in `lib/cluster/`.
 * This package ships two: `redisAdapter()` from `sockjs-express/redis`, and
 * `memoryAdapter()`, a cluster of handlers within one process (for tests).
 * Without one, no cluster code runs.
 */

/** Where a URL session id lives, as the directory knows it. */
export type Ownership =
  /** Nobody owns it (only from {@link Bus.owner}; {@link Bus.claim} then takes it). */
  | { readonly kind: 'none' }
  /** A live process owns it; `node` may be this process. */
  | { readonly kind: 'node'; readonly node: string }
  /** Its owner died or left less than a disconnect delay ago: the session is over. */
  | { readonly kind: 'gone' };

/** What a bus calls back on the handler that joined it. */
export interface BusListener {
  /** A message another process (or this one, for broadcasts it sent) posted to this process. */
  message(message: string): void;
  /** A process stopped answering, or left; its sessions are over. */
  nodeDown(node: string): void;
}

/**
 * One process's link to the cluster, made by {@link Adapter.join}. Every
 * method may reject when the backend is unreachable; the handler answers
 * such requests with `503`.
 */
export interface Bus {
  /** This process's node id: no `/`, unique in the cluster. */
  readonly node: string;
  /** Who owns the URL session id `urlId`; claims it for this process when nobody does. */
  claim(urlId: string): Promise<Ownership>;
  /** Who owns the URL session id `urlId`, without claiming it. */
  owner(urlId: string): Promise<Ownership>;
  /** This process's session `urlId` ended: nobody owns the id any more. */
  release(urlId: string): void;
  /** Posts `message` to `node`; resolves `false` when no live process took it. */
  post(node: string, message: string): Promise<boolean>;
  /** Posts `message` to every live process, this one included. */
  postAll(message: string): Promise<void>;
  /** The live processes, this one included. */
  nodes(): Promise<string[]>;
  /**
   * Leaves the cluster: this process's URL ids are marked gone for a
   * disconnect delay, and the connections to the backend close.
   */
  leave(): Promise<void>;
}

/** What a handler tells an adapter when it joins. */
export interface JoinOptions {
  /** The handler's `disconnectDelay`: how long a dead process's sessions are remembered as gone. */
  readonly disconnectDelay: number;
  readonly listener: BusListener;
}

/**
 * A cluster backend for the `adapter` option, such as `redisAdapter()` from
 * `sockjs-express/redis` (one adapter per handler) or `memoryAdapter()`
 * (one adapter for every handler of its in-process cluster).
 */
export interface Adapter {
  /** Connects a handler to the cluster as one process; called by `sockjs()`, once per handler. */
  join(options: JoinOptions): Bus;
}
