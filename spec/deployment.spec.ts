/**
 * The README's nginx recipe for several processes, as written: its `nginx` blocks
 * (the proxy and the server-id hash) run in a real nginx in front of two server
 * processes' worth of handlers, and sockjs-client in Node goes through it. Polling
 * and streaming sessions span many requests, so an echo only completes when every
 * request of a session reached the process that holds it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sockjs, type SockJSHandler } from '../lib';
import { listen, type Running } from './helpers';
import { sockjsEcho, type SockJSClass } from './support/drive';
import { describeWithNginx, startNginx, type Proxy } from './support/nginx';

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
    proxy = await startNginx((port) => {
      let site = proxyBlock.replace('# in the http block\n', '');
      site = substitute(site, 'listen 80;', `listen 127.0.0.1:${port};`);
      // "Then use `proxy_pass http://sockjs;` in the `location` above."
      site = substitute(site, 'proxy_pass http://127.0.0.1:8081;', 'proxy_pass http://sockjs;');
      let upstream = substitute(stickyBlock, 'server 127.0.0.1:8081;', `server 127.0.0.1:${servers[0].port};`);
      upstream = substitute(upstream, 'server 127.0.0.1:8082;', `server 127.0.0.1:${servers[1].port};`);
      return `${site}\n${upstream}`;
    });
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
