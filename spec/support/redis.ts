/**
 * A real Redis for the cluster specs: Debian's /usr/bin/redis-server in the
 * foreground on a free 127.0.0.1 port, no persistence, its working directory in
 * a temporary directory. Where it is absent the specs skip with a one-line
 * reason, unless SOCKJS_REQUIRE_SYSTEM=1 (set by .ci/run), in which case they fail.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx';
import { pollUntil } from './poll';
import { describeRequiring } from './requires';

/** The server binary; `REDIS_SERVER_PATH` overrides Debian's. */
export const redisServerPath = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

/** Why the Redis specs cannot run here, or `undefined` when they can. */
export function redisMissing(): string | undefined {
  return existsSync(redisServerPath) ? undefined : `${redisServerPath} not found (apt-get install redis-server)`;
}

/** `describe` for a block that needs redis-server (see {@link describeRequiring}). */
export function describeWithRedis(name: string, body: () => void): void {
  describeRequiring(name, redisMissing(), body);
}

/** A running redis-server. */
export interface Redis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Sends an inline `PING` to `port`: whether `+PONG` came back. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/** Starts redis-server in `dir` on `port`; rejects (server stopped) if it does not come up and answer PING. */
async function launch(dir: string, port: number): Promise<Redis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  const child = spawn(redisServerPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Its own log line first: should another process have taken the port, that one might answer PING.
  const ready = async (): Promise<boolean> => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode})`);
    return output.includes('Ready to accept connections') && (await pong(port));
  };
  try {
    await pollUntil(`redis-server answering PING on ${port}`, ready, { timeoutMs: 10000, intervalMs: 50 });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts redis-server on 127.0.0.1 with no persistence (`--save "" --appendonly no`).
 * The port is `port`, or one picked free just before; should another process take it first, the
 * server fails to listen and is started again on another (three tries).
 */
export async function startRedis(port?: number): Promise<Redis> {
  const dir = await mkdtemp(join(tmpdir(), 'sockjs-redis-'));
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(dir, port ?? (await freePort()));
    } catch (error) {
      if (attempt === 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
