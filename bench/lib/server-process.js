'use strict';
/** A benchmark server as a child process, driven over IPC. */
const { fork } = require('node:child_process');
const path = require('node:path');

const SERVERS = {
  ours: { label: 'sockjs-express (in Connect)', file: 'ours.js' },
  'ours-express': { label: 'sockjs-express (in Express 5)', file: 'ours.js', args: ['--express'] },
  'ours-express4': { label: 'sockjs-express (in Express 4)', file: 'ours.js', args: ['--express4'] },
  // The app on every request (`middleware: 'every-request'`), for scale: what the direct path saves.
  'ours-express-every': { label: "sockjs-express (in Express 5, middleware: 'every-request')", file: 'ours.js', args: ['--express', '--every-request'] },
  // ours with prom-client's collectors on its stats, scraped once a second.
  'ours-stats': { label: 'sockjs-express (in Connect) + metrics scraped every second', file: 'ours.js', args: ['--metrics'] },
  'sockjs-node': { label: 'sockjs-node 0.3.24', file: 'sockjs-node.js' },
  'bare-ws': { label: 'bare ws', file: 'bare-ws.js' },
  'http-floor': { label: 'node:http floor (no SockJS headers)', file: 'http-floor.js' },
  'express-floor': { label: 'Express 5 floor (a route answering minimally, no SockJS headers)', file: 'express-floor.js' },
  // Broadcast only: bare ws's connections, the message written as one prebuilt frame straight to each socket.
  'socket-floor': { label: 'socket writes floor (one prebuilt frame per socket)', file: 'bare-ws.js', args: ['--socket-writes'] },
  // The cluster scenarios (bench/lib/cluster.js): `processes` of them, on one redis-server with `redis`.
  'ours-redis': { label: 'sockjs-express + Redis adapter, 1 process', file: 'ours.js', processes: 1, redis: true },
  'ours-redis-3': { label: 'sockjs-express + Redis adapter, 3 processes', file: 'ours.js', processes: 3, redis: true },
};

class ServerProcess {
  /**
   * Starts server `name`; resolves once it listens.
   * @param {string} name a key of SERVERS
   * @param {{ profileDir?: string, args?: string[] }} options `profileDir`: run under `--cpu-prof`,
   *   profiles there; `args`: more command-line arguments for the server
   */
  static start(name, options = {}) {
    const execArgv = ['--expose-gc'];
    if (options.profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
    const child = fork(path.join(__dirname, '..', 'servers', SERVERS[name].file), [...(SERVERS[name].args ?? []), ...(options.args ?? [])], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${name} server exited (${code}) before listening`)));
      child.once('message', (message) => resolve(new ServerProcess(child, message.port)));
    });
  }

  constructor(child, port) {
    this.child = child;
    this.port = port;
    this.nextId = 0;
    this.pending = new Map();
    child.on('message', (message) => {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      resolve?.(message);
    });
  }

  /** The port for the next client or request: always this one (a Cluster spreads them). */
  nextPort() {
    return this.port;
  }

  /** Sends `cmd` to the server; resolves with its answer. */
  request(cmd, extra = {}) {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, cmd, ...extra });
    });
  }

  /** Asks the server to exit (so a profile gets written); kills it after 10 s. */
  stop() {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.send({ cmd: 'exit' });
    });
  }
}

module.exports = { ServerProcess, SERVERS };
