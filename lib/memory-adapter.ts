/**
 * The in-memory adapter: a cluster whose processes are handlers of one
 * Node process. Every handler that joins the same `memoryAdapter()` is a
 * process of its own, with its own node id, directory entries and bus
 * messages, exactly as handlers on one Redis would be; only nothing leaves
 * this process. It lets an application (and this package's specs) test
 * session spreading, relaying, `send(id)` and broadcasts across several
 * handlers without a Redis server.
 */
import type { Adapter, Bus, BusListener, JoinOptions, Ownership } from './adapter';

/** What the directory knows of a URL id: its owner, or that its owner left (for a disconnect delay). */
type Entry = { readonly kind: 'node'; readonly node: string } | { readonly kind: 'gone'; readonly timer: NodeJS.Timeout };

/** The state every handler of one in-memory cluster shares. */
class MemoryCluster {
  /** The joined processes that have not left, by node id. */
  readonly live = new Map<string, MemoryBus>();
  readonly directory = new Map<string, Entry>();
  #joined = 0;

  join(options: JoinOptions): Bus {
    const bus = new MemoryBus(this, `n${this.#joined++}`, options);
    this.live.set(bus.node, bus);
    return bus;
  }

  /** Marks `urlId` gone for `delay` ms; after that nobody owns it. */
  markGone(urlId: string, delay: number): void {
    const timer = setTimeout(() => {
      if (this.directory.get(urlId) === entry) this.directory.delete(urlId);
    }, delay).unref();
    const entry: Entry = { kind: 'gone', timer };
    this.directory.set(urlId, entry);
  }
}

/** One handler's link to a {@link MemoryCluster}. */
class MemoryBus implements Bus {
  readonly node: string;
  readonly #cluster: MemoryCluster;
  readonly #listener: BusListener;
  readonly #disconnectDelay: number;
  /** The URL ids this process claimed and has not released. */
  readonly #owned = new Set<string>();

  constructor(cluster: MemoryCluster, node: string, options: JoinOptions) {
    this.#cluster = cluster;
    this.node = node;
    this.#listener = options.listener;
    this.#disconnectDelay = options.disconnectDelay;
  }

  async claim(urlId: string): Promise<Ownership> {
    return this.#lookUp(urlId, true);
  }

  async owner(urlId: string): Promise<Ownership> {
    return this.#lookUp(urlId, false);
  }

  release(urlId: string): void {
    this.#owned.delete(urlId);
    const entry = this.#cluster.directory.get(urlId);
    if (entry?.kind === 'node' && entry.node === this.node) this.#cluster.directory.delete(urlId);
  }

  async post(node: string, message: string): Promise<boolean> {
    const target = this.#cluster.live.get(node);
    if (target === undefined) return false;
    target.#arrive(message);
    return true;
  }

  async postAll(message: string): Promise<void> {
    for (const target of this.#cluster.live.values()) target.#arrive(message);
  }

  async nodes(): Promise<string[]> {
    return [...this.#cluster.live.keys()];
  }

  async leave(): Promise<void> {
    if (this.#cluster.live.get(this.node) !== this) return;
    this.#cluster.live.delete(this.node);
    for (const urlId of this.#owned) this.#cluster.markGone(urlId, this.#disconnectDelay);
    this.#owned.clear();
    for (const other of this.#cluster.live.values()) setImmediate(() => other.#listener.nodeDown(this.node));
  }

  #lookUp(urlId: string, claim: boolean): Ownership {
    const entry = this.#cluster.directory.get(urlId);
    if (entry?.kind === 'gone') return { kind: 'gone' };
    if (entry?.kind === 'node') return { kind: 'node', node: entry.node };
    if (!claim) return { kind: 'none' };
    this.#cluster.directory.set(urlId, { kind: 'node', node: this.node });
    this.#owned.add(urlId);
    return { kind: 'node', node: this.node };
  }

  /**
   * A message for this process. It arrives on a later turn of the event
   * loop, as one from a real bus would, and in the order it was posted.
   */
  #arrive(message: string): void {
    setImmediate(() => {
      if (this.#cluster.live.get(this.node) === this) this.#listener.message(message);
    });
  }
}

/**
 * An adapter whose cluster lives in this process: every `sockjs()` handler
 * given the same `memoryAdapter()` acts as one process of a cluster (node
 * ids `n0`, `n1`, ... in the order they were created). For tests of an
 * application's cluster behaviour without a Redis server; it shares nothing
 * with other Node processes.
 *
 * ```ts
 * const cluster = memoryAdapter();
 * const a = sockjs({ adapter: cluster }, onSession);
 * const b = sockjs({ adapter: cluster }, onSession);
 * ```
 */
export function memoryAdapter(): Adapter {
  const cluster = new MemoryCluster();
  return { join: (options) => cluster.join(options) };
}
