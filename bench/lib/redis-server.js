'use strict';
/**
 * A throwaway redis-server for the cluster scenarios: Debian's binary on a
 * free port of 127.0.0.1, nothing saved to disk, stopped after the run.
 * Its CPU time comes from its own `INFO cpu` (getrusage, microseconds),
 * which /proc/<pid>/stat would give only in 10 ms clock ticks.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { sleep } = require('./stats');

const BINARY = '/usr/bin/redis-server';

/** A port nobody listens on right now (redis-server cannot take port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Sends one inline command; resolves with the reply's text (a bulk string's body, or the status line). */
function command(port, line) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.setEncoding('utf8');
    socket.once('error', fail);
    socket.setTimeout(5000, () => fail(new Error(`redis-server on ${port}: no answer to ${line}`)));
    socket.on('data', (chunk) => {
      reply += chunk;
      const head = reply.indexOf('\r\n');
      if (head < 0) return;
      if (reply[0] === '-') return fail(new Error(`redis-server: ${reply.slice(1, head)}`));
      // A bulk string ($<bytes>) is whole once its body and CRLF arrived; a status line (+...) at once.
      const body = reply[0] === '$' ? reply.slice(head + 2) : reply.slice(1, head);
      if (reply[0] === '$' && Buffer.byteLength(body) < Number(reply.slice(1, head)) + 2) return;
      socket.end();
      resolve(body);
    });
    socket.write(`${line}\r\n`);
  });
}

class RedisServer {
  /** True when the redis-server binary is installed. */
  static available() {
    return fs.existsSync(BINARY);
  }

  /** Starts a redis-server; resolves once it answers PING. Retries if another process took the port first. */
  static async start() {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockjs-bench-redis-'));
      const child = spawn(
        BINARY,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const server = new RedisServer(child, port, dir);
      if (await server.ready()) return server;
      await server.stop();
      if (attempt === 3) throw new Error(`redis-server did not start on 127.0.0.1 (last port ${port})`);
    }
  }

  constructor(child, port, dir) {
    this.child = child;
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Waits up to 5 s for PONG; false if the process exited first (port taken) or never answered. */
  async ready() {
    for (let waited = 0; waited < 5000 && this.child.exitCode === null; waited += 20) {
      const pong = await command(this.port, 'PING').catch(() => '');
      if (pong === 'PONG') return true;
      await sleep(20);
    }
    return false;
  }

  /** redis-server's own CPU time so far (user + system, all its threads), in microseconds. */
  async cpuMicros() {
    const info = await command(this.port, 'INFO cpu');
    const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
    return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
  }

  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop() {
    const child = this.child;
    const removeDir = () => fs.rmSync(this.dir, { recursive: true, force: true });
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(removeDir());
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(removeDir());
      });
      child.kill('SIGTERM');
    });
  }
}

module.exports = { RedisServer };
