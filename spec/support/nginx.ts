/**
 * A real nginx reverse proxy in front of a test server: Debian's /usr/sbin/nginx,
 * started in the foreground with a generated config in a temporary directory
 * (pid, logs and temp paths there too), passing websocket upgrades and not
 * buffering responses, as a SockJS deployment needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll';
import { describeRequiring } from './requires';

/** The nginx binary; `NGINX_PATH` overrides Debian's. */
export const nginxPath = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

/** Why the proxy specs cannot run here, or `undefined` when they can. */
export function nginxMissing(): string | undefined {
  return existsSync(nginxPath) ? undefined : `${nginxPath} not found (apt-get install nginx)`;
}

/** `describe` for a block that needs nginx (see {@link describeRequiring}). */
export function describeWithNginx(name: string, body: () => void): void {
  describeRequiring(name, nginxMissing(), body);
}

/** A running nginx. */
export interface Proxy {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Stops nginx (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (nginx and redis-server cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * What nginx serves, given the port it listens on: the `http` block's own directives
 * (maps, upstreams, servers). The temp paths and logs around it are {@link config}'s.
 */
export type Site = (port: number) => string;

/**
 * A plain reverse proxy, as a SockJS deployment needs it, to `127.0.0.1:<port>`,
 * or to several such ports in turn (nginx's default round-robin, no stickiness).
 */
export function proxyTo(upstream: number | readonly number[]): Site {
  const servers = [upstream].flat().map((port) => `server 127.0.0.1:${port};`);
  return (port) => `
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }
  upstream sockjs_upstream {
    ${servers.join('\n    ')}
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 2m;
    location / {
      proxy_pass http://sockjs_upstream;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
    }
  }
`;
}

function config(dir: string, site: string): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs` or when nginx exits. */
async function accepting(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  await pollUntil(
    `nginx accepting on ${port}`,
    () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
      return new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** Starts nginx with its files in `dir` on `port`; rejects (nginx stopped) if it does not come up. */
async function launch(dir: string, port: number, site: Site): Promise<Proxy> {
  await writeFile(join(dir, 'nginx.conf'), config(dir, site(port)));
  const child = spawn(nginxPath, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await accepting(port, child, 10000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    throw new Error(`${(error as Error).message}\n${stderr}${log}`);
  }
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts nginx on 127.0.0.1 proxying every request to `127.0.0.1:<upstream>`, or
 * serving the given {@link Site}. The port is picked free just before; should another
 * process take it first, nginx fails to listen and is started again on another
 * (three tries).
 */
export async function startNginx(upstream: number | Site): Promise<Proxy> {
  const site = typeof upstream === 'number' ? proxyTo(upstream) : upstream;
  const dir = await mkdtemp(join(tmpdir(), 'sockjs-nginx-'));
  // Started as root, nginx runs its workers as nobody; they need to reach the temp paths.
  await chmod(dir, 0o755);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(dir, await freePort(), site);
    } catch (error) {
      if (attempt === 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
