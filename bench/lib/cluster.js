'use strict';
/**
 * A server as a set of processes for the cluster scenarios: SERVERS[name]
 * says how many (`processes`, default 1) and whether they share a fresh
 * redis-server through the Redis adapter (`redis`). It answers the runner
 * like one ServerProcess: `port` is the first process's, `request` goes to
 * the first process, except `stats`, which adds up every process's numbers
 * and puts redis-server's CPU time beside them as `redisMicros`.
 * `nextPort()` hands out the processes' ports in turn, the way a round-robin
 * balancer without stickiness spreads connections and requests.
 */
const { ServerProcess, SERVERS } = require('./server-process');
const { RedisServer } = require('./redis-server');

class Cluster {
  /**
   * Starts redis-server (if the server uses it), then the processes; resolves once all listen.
   * @param {string} name a key of SERVERS
   * @param {{ profileDir?: string }} options as for ServerProcess.start
   */
  static async start(name, options = {}) {
    const { processes = 1, redis: usesRedis = false } = SERVERS[name];
    const redis = usesRedis ? await RedisServer.start() : undefined;
    const args = redis ? ['--redis', redis.url] : [];
    const started = await Promise.allSettled(
      Array.from({ length: processes }, () => ServerProcess.start(name, { ...options, args })),
    );
    const cluster = new Cluster(
      started.filter((s) => s.status === 'fulfilled').map((s) => s.value),
      redis,
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await cluster.stop();
      throw failed.reason;
    }
    return cluster;
  }

  constructor(servers, redis) {
    this.servers = servers;
    this.redis = redis;
    this.ports = servers.map((server) => server.port);
    this.port = this.ports[0];
    this.turn = 0;
  }

  nextPort() {
    return this.ports[this.turn++ % this.ports.length];
  }

  async request(cmd, extra = {}) {
    if (cmd !== 'stats') return this.servers[0].request(cmd, extra);
    const [answers, redisMicros] = await Promise.all([
      Promise.all(this.servers.map((server) => server.request('stats'))),
      this.redis ? this.redis.cpuMicros() : NaN,
    ]);
    const sum = { redisMicros };
    for (const answer of answers) {
      for (const [key, value] of Object.entries(answer)) if (key !== 'id' && typeof value === 'number') sum[key] = (sum[key] ?? 0) + value;
    }
    return sum;
  }

  /** Stops every process, then redis-server. */
  async stop() {
    await Promise.all(this.servers.map((server) => server.stop()));
    await this.redis?.stop();
  }
}

module.exports = { Cluster };
