/**
 * `sockjs-express/redis`: the Redis adapter. Processes find each other's
 * HTTP sessions through keys in Redis and talk over Redis pub/sub, one
 * channel per process plus one for broadcasts. Needs `ioredis` (an optional
 * peer dependency, 5 or 6; importing this entry without it throws an error
 * that says so) and a standalone Redis (or Sentinel), not Redis Cluster.
 *
 * ```ts
 * import { sockjs } from 'sockjs-express';
 * import { redisAdapter } from 'sockjs-express/redis';
 *
 * const echo = sockjs({ adapter: redisAdapter({ url: 'redis://127.0.0.1:6379', prefix: 'echo' }) }, onSession);
 * ```
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import createDebug from 'debug';
import './peer';
import Redis, { type RedisOptions } from 'ioredis';
import type { Adapter, Bus, JoinOptions, Ownership } from '../adapter';
import { InvalidOptionError } from '../errors';
import { CLAIM, RELEASE, SWEEP } from './scripts';

const debug = createDebug('sockjs:redis');

/** Options of {@link redisAdapter}. */
export interface RedisAdapterOptions {
  /**
   * The Redis server, as ioredis takes it (`redis://[:password@]host:port[/db]`,
   * `rediss://` for TLS).
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * What this endpoint's keys and channels start with. Every process of one
   * endpoint uses the same prefix; two endpoints (say `/echo` and `/chat`)
   * need two prefixes.
   * @default 'sockjs'
   */
  prefix?: string;
  /**
   * This process's name in the cluster: letters, digits, `.`, `_`, `:` and
   * `-`, unique among the processes. It starts every `session.id` this process makes.
   * @default 12 random hex digits
   */
  node?: string;
  /**
   * Milliseconds after which a process that stopped refreshing its key in
   * Redis counts as dead: its sessions are closed for the clients that come
   * back. Processes refresh it three times per period. Keep it below
   * `disconnectDelay`, so a dead process's sessions close within that delay.
   * @default half the handler's disconnectDelay, at most 3000
   */
  nodeTimeout?: number;
  /** More ioredis options (TLS, Sentinel, retries), for both connections. */
  redis?: RedisOptions;
}

/** How long after a failed join the next attempt starts. */
const JOIN_RETRY_MS = 1000;
/** How long `leave()` tries to tell Redis before it just disconnects. */
const LEAVE_TIMEOUT_MS = 2000;

const NODE = /^[A-Za-z0-9._:-]{1,100}$/;
const PREFIX = /^[\x21-\x7e]{1,100}$/;

function fail(name: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new InvalidOptionError(`sockjs-express/redis: option "${name}" must be ${expected}, got ${shown}`);
}

/**
 * The Redis adapter for the `adapter` option of `sockjs()`. It connects
 * when the handler is created and disconnects in `handler.close()`.
 * @throws InvalidOptionError for a malformed option
 */
export function redisAdapter(options: RedisAdapterOptions = {}): Adapter {
  if (options === null || typeof options !== 'object') fail('options', 'an object', options);
  const { url = 'redis://127.0.0.1:6379', prefix = 'sockjs', node = randomBytes(6).toString('hex'), nodeTimeout, redis = {} } = options;
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) fail('url', 'a redis:// or rediss:// URL', url);
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) fail('prefix', '1-100 printable ASCII characters', prefix);
  if (typeof node !== 'string' || !NODE.test(node)) fail('node', '1-100 of A-Z a-z 0-9 . _ : -', node);
  if (nodeTimeout !== undefined && (!Number.isInteger(nodeTimeout) || nodeTimeout < 30 || nodeTimeout > 2 ** 31 - 1)) {
    fail('nodeTimeout', 'an integer of at least 30 (ms)', nodeTimeout);
  }
  if (redis === null || typeof redis !== 'object') fail('redis', 'an object of ioredis options', redis);
  let joined = false;
  return {
    join(join: JoinOptions): Bus {
      if (joined) throw new InvalidOptionError('sockjs-express/redis: one adapter serves one handler; make one per sockjs()');
      joined = true;
      const timeout = nodeTimeout ?? Math.max(30, Math.min(3000, Math.floor(join.disconnectDelay / 2)));
      return new RedisBus({ url, prefix, node, nodeTimeout: timeout, redis }, join);
    },
  };
}

interface BusSettings {
  readonly url: string;
  readonly prefix: string;
  readonly node: string;
  readonly nodeTimeout: number;
  readonly redis: RedisOptions;
}

/** One process's connections to Redis: commands and publishing on one, subscriptions on the other. */
class RedisBus implements Bus {
  readonly node: string;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #keys: string;
  readonly #settings: BusSettings;
  readonly #join: JoinOptions;
  /** Every call below waits for it: subscribed, and the first heartbeat written. */
  #ready: Promise<void>;
  #joinFailed = false;
  readonly #heartbeat: NodeJS.Timeout;
  #left = false;

  constructor(settings: BusSettings, join: JoinOptions) {
    this.node = settings.node;
    this.#settings = settings;
    this.#join = join;
    this.#keys = `${settings.prefix}:`;
    this.#redis = connect(settings, 'commands');
    this.#subscriber = connect(settings, 'subscriber');
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#key('down')) join.listener.nodeDown(message);
      else join.listener.message(message);
    });
    this.#ready = this.#joining();
    this.#heartbeat = setInterval(() => {
      this.#beat().catch((error: unknown) => debug('heartbeat failed: %O', error));
    }, Math.max(10, Math.floor(settings.nodeTimeout / 3)));
    this.#heartbeat.unref();
  }

  /**
   * Subscribes and writes the first heartbeat. A failure (Redis not up yet, or
   * ioredis gave up retrying) fails the calls waiting for it, and joining
   * starts over a second later, so a process started before Redis recovers.
   */
  #joining(): Promise<void> {
    const ready = this.#subscriber
      .subscribe(this.#key(`node:${this.node}`), this.#key('all'), this.#key('down'))
      .then(() => this.#beat());
    ready.catch((error: unknown) => {
      debug('joining failed: %O', error);
      this.#joinFailed = true;
      setTimeout(() => void this.#readiness().catch(() => undefined), JOIN_RETRY_MS).unref();
    });
    return ready;
  }

  /** {@link #ready}, joining again first if the last attempt failed. */
  #readiness(): Promise<void> {
    if (this.#joinFailed && !this.#left) {
      this.#joinFailed = false;
      this.#ready = this.#joining();
    }
    return this.#ready;
  }

  async claim(urlId: string): Promise<Ownership> {
    return this.#lookUp(urlId, true);
  }

  async owner(urlId: string): Promise<Ownership> {
    return this.#lookUp(urlId, false);
  }

  release(urlId: string): void {
    if (this.#left) return;
    RELEASE.run(this.#redis, [this.#key(`url:${urlId}`), this.#key(`urls:${this.node}`)], [this.node, urlId]).catch(
      (error: unknown) => debug('release failed: %O', error),
    );
  }

  async post(node: string, message: string): Promise<boolean> {
    await this.#readiness();
    return (await this.#redis.publish(this.#key(`node:${node}`), message)) > 0;
  }

  async postAll(message: string): Promise<void> {
    await this.#readiness();
    await this.#redis.publish(this.#key('all'), message);
  }

  async nodes(): Promise<string[]> {
    await this.#readiness();
    return this.#redis.smembers(this.#key('nodes'));
  }

  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#heartbeat);
    const farewell = (async () => {
      await this.#readiness();
      await SWEEP.run(this.#redis, [this.#key('nodes')], [this.#keys, this.#join.disconnectDelay, this.node]);
      await this.#redis.publish(this.#key('down'), this.node);
      // quit() lets what is already sent go first.
      await Promise.all([this.#redis.quit(), this.#subscriber.quit()]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, LEAVE_TIMEOUT_MS)));
    await Promise.race([farewell.catch((error: unknown) => debug('leaving failed: %O', error)), late]);
    clearTimeout(timer);
    // Whatever is still pending (Redis unreachable) is dropped.
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  async #lookUp(urlId: string, claim: boolean): Promise<Ownership> {
    await this.#readiness();
    const owner = await CLAIM.run(
      this.#redis,
      [this.#key(`url:${urlId}`), this.#key(`urls:${this.node}`)],
      [this.node, this.#key('alive:'), this.#join.disconnectDelay, urlId, claim ? '1' : '0'],
    );
    if (typeof owner !== 'string') return { kind: 'none' };
    return owner.startsWith('!') ? { kind: 'gone' } : { kind: 'node', node: owner };
  }

  /** Refreshes this process's liveness and sweeps processes that stopped refreshing theirs. */
  async #beat(): Promise<void> {
    if (this.#left) return;
    await this.#redis
      .multi()
      .set(this.#key(`alive:${this.node}`), '1', 'PX', this.#settings.nodeTimeout)
      .sadd(this.#key('nodes'), this.node)
      .exec();
    const down = await SWEEP.run(this.#redis, [this.#key('nodes')], [this.#keys, this.#join.disconnectDelay, '']);
    if (!Array.isArray(down)) return;
    for (const node of down) {
      if (typeof node !== 'string') continue;
      debug('%s swept dead node %s', this.node, node);
      await this.#redis.publish(this.#key('down'), node);
    }
  }

  /** A key or channel of this endpoint. */
  #key(name: string): string {
    return this.#keys + name;
  }
}

/** An ioredis connection whose errors are logged rather than thrown at the process. */
function connect(settings: BusSettings, role: string): Redis {
  const redis = new Redis(settings.url, { ...settings.redis, connectionName: `sockjs:${settings.node}:${role}` });
  redis.on('error', (error: Error) => debug('%s connection: %s', role, error.message));
  return redis;
}
