/**
 * The README's nginx recipe for several processes, as written: its `nginx` blocks
 * (the proxy and the server-id hash) run in a real nginx in front of two server
 * processes' worth of handlers, and sockjs-client in Node goes through it. Polling
 * and streaming sessions span many requests, so an echo only completes when every
 * request of a session reached the process that holds it.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sockjs, type SockJSHandler } from '../lib';
import { listen, type Running } from './helpers';
import { sockjsEcho, type SockJSClass } from './support/drive';
import { makeConsumer, readmeTsBlock, waitForGreeting, type Consumer } from './support/consumer';
import { describeWithNginx, freePort, startNginx, type Proxy } from './support/nginx';
import { describeWithRedis, startRedis, type Redis } from './support/redis';

// The package ships no types; its Node entry is the constructor.
const SockJS = require('sockjs-client') as SockJSClass;

const WAIT_MS = 20000;
/** Sessions per transport; with two backends all 3 × 12 landing on one is a 2^-35 chance. */
const SESSIONS = 12;
const TRANSPORTS = ['xhr-polling', 'xhr-streaming', 'websocket'];
jest.setTimeout(TRANSPORTS.length * SESSIONS * WAIT_MS);

/** The `nginx` code blocks of the README's Deployment section, in order. */
function readmeNginxBlocks(): string[] {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Deployment'), readme.indexOf('## Migrating'));
  return [...section.matchAll(/```nginx\n([\s\S]*?)```/g)].map((match) => match[1]);
}

/** `text` with `from` replaced by `to`; throws when the README no longer says `from`. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`README recipe no longer contains ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

/** The README's proxy block listening on `port` and passing to the `sockjs` upstream. */
function proxySite(proxyBlock: string, port: number): string {
  const site = substitute(proxyBlock.replace('# in the http block\n', ''), 'listen 80;', `listen 127.0.0.1:${port};`);
  // "Then use `proxy_pass http://sockjs;` in the `location` above."
  return substitute(site, 'proxy_pass http://127.0.0.1:8081;', 'proxy_pass http://sockjs;');
}

/** An upstream block of the README with its servers (8081, 8082, ...) on `ports`. */
function upstreamTo(block: string, ports: number[]): string {
  return ports.reduce((text, port, i) => substitute(text, `server 127.0.0.1:${8081 + i};`, `server 127.0.0.1:${port};`), block);
}

/** A backend: an echo at /echo that counts the sessions it opened. */
function backend(): { handler: SockJSHandler; opened: () => number } {
  let opened = 0;
  const handler = sockjs({}, (session) => {
    opened++;
    session.on('data', (message) => session.send(message));
  });
  return { handler, opened: () => opened };
}

describeWithNginx('README recipe: nginx hashing the server id over two processes', () => {
  const backends = [backend(), backend()];
  let servers: Running[] = [];
  let proxy: Proxy;

  beforeAll(async () => {
    servers = await Promise.all(backends.map(({ handler }) => listen({ '/echo': handler })));
    const [proxyBlock, stickyBlock] = readmeNginxBlocks();
    proxy = await startNginx((port) => `${proxySite(proxyBlock, port)}\n${upstreamTo(stickyBlock, servers.map((s) => s.port))}`);
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all(servers.map((server) => server.close()));
  });

  it.each(TRANSPORTS)('every %s session echoes through nginx, whichever process it lands on', async (name) => {
    for (let i = 0; i < SESSIONS; i++) {
      const outcome = await sockjsEcho(SockJS, `${proxy.base}/echo`, name, ['one', 'two', 'three'], WAIT_MS);
      expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
    }
  });

  it('spreads sessions over both processes', () => {
    const opened = backends.map(({ opened }) => opened());
    expect(opened[0] + opened[1]).toBe(TRANSPORTS.length * SESSIONS);
    expect(Math.min(...opened)).toBeGreaterThan(0);
  });
});

describeWithRedis('README recipe: the Redis adapter over three processes behind nginx round-robin', () => {
  describeWithNginx('as written', () => {
    let redis: Redis;
    let consumer: Consumer;
    let proxy: Proxy;
    const processes: ChildProcess[] = [];

    beforeAll(async () => {
      redis = await startRedis();
      consumer = makeConsumer();
      const source = substitute(readmeTsBlock('### Several processes without stickiness'), "'redis://127.0.0.1:6379'", `'${redis.url}'`);
      const ports = [await freePort(), await freePort(), await freePort()];
      for (const port of ports) processes.push(consumer.run(`node${port}.ts`, source, { PORT: String(port) }));
      await Promise.all(ports.map((port, i) => waitForGreeting(`http://127.0.0.1:${port}/echo`, processes[i])));
      const [proxyBlock, , roundRobinBlock] = readmeNginxBlocks();
      expect(roundRobinBlock).not.toMatch(/hash|sticky|ip_hash/);
      proxy = await startNginx((port) => `${proxySite(proxyBlock, port)}\n${upstreamTo(roundRobinBlock, ports)}`);
    });
    afterAll(async () => {
      await proxy?.stop();
      for (const child of processes) child.kill('SIGKILL');
      consumer?.remove();
      await redis?.stop();
    });

    // Round-robin sends a session's requests to every process in turn: without the adapter
    // a polling or streaming session fails at its second request (checked by removing it).
    it.each(['xhr-polling', 'xhr-streaming', 'eventsource', 'websocket'])('every %s session echoes', async (name) => {
      for (let i = 0; i < 6; i++) {
        const outcome = await sockjsEcho(SockJS, `${proxy.base}/echo`, name, ['one', 'two', '\u00e9\u2028'], WAIT_MS);
        expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
      }
    });

    it('stops a process on SIGTERM as the recipe says, and the others carry on', async () => {
      const [first] = processes;
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
      first.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const name of ['xhr-polling', 'websocket']) {
        const outcome = await sockjsEcho(SockJS, `${proxy.base}/echo`, name, ['after'], WAIT_MS);
        expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
      }
    });
  });
});
