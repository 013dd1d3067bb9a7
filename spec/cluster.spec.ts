/**
 * Scale-out on Redis (issue 6): three server processes on one redis-server, each
 * an echo at `/echo` on the Redis adapter (spec/support/cluster-node.ts), behind
 * nginx doing plain round-robin with no stickiness, so consecutive requests of one
 * session land on different processes. sockjs-client in Chromium, one transport
 * forced at a time, echoes through it; then one session per transport stays open
 * for broadcasts, the cluster's session listing, and the SIGKILL of one process.
 * The control routes are called on each process directly, not through nginx.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SockJSHandler } from '../lib';
import { runChild, type Child } from './support/child';
import { describeWithChromium, launchChromium } from './support/chromium';
import type { sockjsConnect } from './support/drive';
import { describeWithNginx, proxyTo, startNginx, type Proxy } from './support/nginx';
import { echoInPage, type PageGlobals } from './support/page';
import { pollUntil } from './support/poll';
import { describeWithRedis, startRedis, type Redis } from './support/redis';

/** How long the page, or the spec, waits for any one thing before it reports what it saw. */
const WAIT_MS = 30000;
jest.setTimeout(2 * WAIT_MS);
/** How the spec polls a process's state: every 100 ms, for up to `WAIT_MS`. */
const WAITING = { timeoutMs: WAIT_MS, intervalMs: 100 };

/**
 * Every transport sockjs-client 1.6 has in Chromium, and what the server calls the
 * transport of its sessions (the iframe ones carry the same receiving requests).
 */
const TRANSPORTS: readonly { name: string; server: string }[] = [
  { name: 'websocket', server: 'websocket' },
  { name: 'xhr-streaming', server: 'xhr-streaming' },
  { name: 'eventsource', server: 'eventsource' },
  { name: 'iframe-eventsource', server: 'eventsource' },
  { name: 'htmlfile', server: 'htmlfile' },
  { name: 'iframe-htmlfile', server: 'htmlfile' },
  { name: 'xhr-polling', server: 'xhr-polling' },
  { name: 'iframe-xhr-polling', server: 'xhr-polling' },
  { name: 'jsonp-polling', server: 'jsonp-polling' },
];

/** The transports whose receiving request is an htmlfile document in an iframe. */
const HTMLFILE = new Set(['htmlfile', 'iframe-htmlfile']);

/** A few dozen messages, non-ASCII and JSON-looking ones among them, each numbered. */
const SAMPLES = ['hello', 'héllo wörld', 'Привет', '日本語', '😀🎉', '"quoted" \\ back', '\u2028\u2029', '<b>bold</b>', 'a["frame"]', ''];
const MESSAGES = Array.from({ length: 36 }, (_, i) => `${i} ${SAMPLES[i % SAMPLES.length]}`);

/** One server process. */
interface ClusterNode {
  readonly child: Child;
  /** `http://127.0.0.1:<port>`, for its control routes. */
  readonly base: string;
  readonly port: number;
  /** Its `handler.node`. */
  readonly id: string;
}

/** An entry of `handler.clusterSessions()`, as the control route serves it (JSON). */
type Listed = Awaited<ReturnType<SockJSHandler['clusterSessions']>>[number];

async function startNode(redisUrl: string): Promise<ClusterNode> {
  const child = runChild('cluster-node.ts', [redisUrl, 'cluster-spec']);
  const [, port, id] = await child.line(/^listening (\d+) (\S+)$/);
  return { child, base: `http://127.0.0.1:${port}`, port: Number(port), id };
}

async function stopNode(node: ClusterNode): Promise<void> {
  node.child.process.kill('SIGTERM');
  await node.child.exited;
}

async function control<T>(node: ClusterNode, path: string, body?: string): Promise<T> {
  const res = await fetch(`${node.base}/control/${path}`, body === undefined ? {} : { method: 'POST', body });
  if (res.status !== 200) throw new Error(`${path} on ${node.id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** `clusterSessions()` as `node` answers it, sorted by id. */
async function listed(node: ClusterNode): Promise<Listed[]> {
  const sessions = await control<Listed[]>(node, 'sessions');
  return sessions.sort((a, b) => a.id.localeCompare(b.id));
}

/** Session-route requests `node` has served so far, all routes together. */
async function served(node: ClusterNode): Promise<number> {
  const counts = await control<Record<string, number>>(node, 'requests');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** What the page's globals offer besides {@link PageGlobals}: the driver's connect, and the session it holds. */
interface ClusterGlobals extends PageGlobals {
  sockjsConnect: typeof sockjsConnect;
  held?: ReturnType<typeof sockjsConnect>;
}

/** A session held open in a page of its own, and its `session.id` on the server. */
interface Held {
  name: string;
  /** The server's name for its transport. */
  server: string;
  context: BrowserContext;
  page: Page;
  id: string;
}

/** The held session as the page sees it. */
interface HeldState {
  opened: boolean;
  transport: string | null;
  received: string[];
  close: { code: number; reason: string } | null;
}

function heldState(page: Page): Promise<HeldState> {
  return page.evaluate(() => {
    const held = (globalThis as unknown as ClusterGlobals).held;
    if (held === undefined) throw new Error('no session held');
    const { opened, transport, received, close } = held;
    return { opened, transport, received, close };
  });
}

/** Opens a session in the page that stays open, and waits for it to open (or close). */
async function hold(page: Page, url: string, transport: string): Promise<HeldState> {
  await page.evaluate(
    ([url, transport]) => {
      const g = globalThis as unknown as ClusterGlobals;
      g.held = g.sockjsConnect(g.SockJS, url, transport);
    },
    [url, transport] as const,
  );
  return settled(page);
}

/**
 * Waits until the held session is open and has received `message` (when given),
 * or has closed, or `WAIT_MS` passed; resolves with its state either way.
 */
async function settled(page: Page, message?: string): Promise<HeldState> {
  await page
    .waitForFunction(
      (message) => {
        const held = (globalThis as unknown as ClusterGlobals).held;
        if (held === undefined || held.close !== null) return true;
        return held.opened && (message === null || held.received.includes(message));
      },
      message ?? null,
      { polling: 50, timeout: WAIT_MS },
    )
    .catch(() => undefined);
  return heldState(page);
}

/** Waits until the held session has closed, or `WAIT_MS` passed. */
async function closed(page: Page): Promise<HeldState> {
  await page
    .waitForFunction(() => (globalThis as unknown as ClusterGlobals).held?.close !== null, undefined, { polling: 50, timeout: WAIT_MS })
    .catch(() => undefined);
  return heldState(page);
}

/** How the held session ended, in the spec's words: 1006 is sockjs-client's network close. */
function closing({ close }: HeldState): string {
  if (close === null) return 'still open';
  return close.code === 1006 ? 'network close' : `${close.code} ${close.reason}`;
}

function sendHeld(page: Page, message: string): Promise<void> {
  return page.evaluate((message) => (globalThis as unknown as ClusterGlobals).held?.sock.send(message), message);
}

async function openPage(browser: Browser, base: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${base}/`);
  if (response?.status() !== 200) throw new Error(`driver page: ${response?.status()}`);
  return { context, page };
}

describeWithRedis('three processes on Redis', () => {
  describeWithNginx('behind nginx round-robin, no stickiness', () => {
    describeWithChromium('sockjs-client in Chromium', () => {
      let redis: Redis | undefined;
      let nodes: ClusterNode[] = [];
      let proxy: Proxy | undefined;
      let browser: Browser | undefined;
      /** The endpoint as sockjs-client sees it: through nginx, on the page's origin. */
      let url: string;

      beforeAll(async () => {
        redis = await startRedis();
        const started = await Promise.allSettled([0, 1, 2].map(() => startNode((redis as Redis).url)));
        nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        const failed = started.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        if (new Set(nodes.map((node) => node.id)).size !== nodes.length) throw new Error('two processes share a node id');
        proxy = await startNginx(proxyTo(nodes.map((node) => node.port)));
        url = `${proxy.base}/echo`;
        browser = await launchChromium();
      }, 4 * WAIT_MS);

      afterAll(async () => {
        await browser?.close();
        await proxy?.stop();
        await Promise.all(nodes.map(stopNode));
        await redis?.stop();
      });

      describe('echo', () => {
        for (const { name } of TRANSPORTS) {
          // One websocket session is one request; three show where upgrades land.
          const sessions = name === 'websocket' ? 3 : 1;
          it(`${name}: ${sessions > 1 ? 'sessions echo' : 'a session echoes'} ${MESSAGES.length} messages in order, once each, with requests served by more than one process`, async () => {
            const { context, page } = await openPage(browser as Browser, (proxy as Proxy).base);
            try {
              const before = await Promise.all(nodes.map(served));
              for (let i = 0; i < sessions; i++) {
                const outcome = await echoInPage(page, url, name, WAIT_MS, MESSAGES);
                expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
              }
              const after = await Promise.all(nodes.map(served));
              const requests = after.map((count, i) => count - before[i]);
              expect({ requests, processes: requests.filter((n) => n > 0).length > 1 }).toEqual({ requests, processes: true });
            } finally {
              await context.close();
            }
          });
        }

        it('every process stops listing the echo sessions within the disconnect delay once their clients left', async () => {
          for (const node of nodes) {
            let last: Listed[] = [];
            const noSession = async (): Promise<boolean> => (last = await listed(node)).length === 0;
            await pollUntil(`${node.id} listing no session`, noSession, { ...WAITING, lastSeen: () => last });
          }
        });
      });

      describe('one session per transport held open', () => {
        const held: Held[] = [];

        beforeAll(async () => {
          let seen: Listed[] = [];
          // One at a time: the session that appears in the listing is the one just opened.
          for (const { name, server } of TRANSPORTS) {
            const { context, page } = await openPage(browser as Browser, (proxy as Proxy).base);
            held.push({ name, server, context, page, id: '' });
            const known = new Set((await listed(nodes[0])).map((session) => session.id));
            const state = await hold(page, url, name);
            if (!state.opened || state.close !== null) throw new Error(`${name} did not open: ${JSON.stringify(state)}`);
            const newlyListed = async (): Promise<Listed[] | undefined> => {
              seen = (await listed(nodes[0])).filter((session) => !known.has(session.id));
              return seen.length > 0 ? seen : undefined;
            };
            const fresh = await pollUntil(`${name}'s session listed`, newlyListed, { ...WAITING, lastSeen: () => seen });
            if (fresh.length !== 1) throw new Error(`${name}: more than one new session listed: ${JSON.stringify(fresh)}`);
            held[held.length - 1].id = fresh[0].id;
          }
        }, TRANSPORTS.length * 2 * WAIT_MS);

        afterAll(async () => {
          for (const { context } of held) await context.close();
        });

        it('clusterSessions() on every process lists exactly the open sessions, with transport and owner, owners on more than one process', async () => {
          const nodeIds = nodes.map((node) => node.id);
          for (const node of nodes) {
            const sessions = await listed(node);
            expect(sessions.map(({ id, transport }) => ({ id, transport }))).toEqual(
              held.map(({ id, server }) => ({ id, transport: server })).sort((a, b) => a.id.localeCompare(b.id)),
            );
            for (const session of sessions) {
              expect(nodeIds).toContain(session.node);
              expect(session.id.startsWith(`${session.node}/`)).toBe(true);
            }
            expect(new Set(sessions.map((session) => session.node)).size).toBeGreaterThan(1);
          }
        });

        it('a broadcast from any process reaches every session on every transport, once each, in order', async () => {
          const owners = await listed(nodes[0]);
          const sent: string[] = [];
          for (const [i, node] of nodes.entries()) {
            const message = `broadcast ${i} from ${node.id} ✓`;
            sent.push(message);
            const { count } = await control<{ count: number }>(node, 'broadcast', message);
            expect({ from: node.id, count }).toEqual({ from: node.id, count: owners.filter((s) => s.node === node.id).length });
            for (const { name, page } of held) {
              const state = await settled(page, message);
              expect({ name, close: state.close, received: state.received }).toEqual({ name, close: null, received: sent });
            }
          }
        });

        it('SIGKILL of one process closes the sessions it owned, the ones it carried close or carry on, the rest still echo and get broadcasts, and the survivors list only the live ones', async () => {
          // Receiving requests settle after the broadcasts: wait until two listings a second apart agree.
          let sessions: Listed[] = [];
          await pollUntil('a settled listing', async () => {
            const previous = JSON.stringify(sessions);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            sessions = (await listed(nodes[0])).filter((session) => held.some(({ id }) => id === session.id));
            return sessions.length === held.length && JSON.stringify(sessions) === previous;
          }, WAITING);
          const record = new Map(sessions.map((session) => [session.id, session]));
          const entry = (id: string): Listed => record.get(id) as Listed;
          const owns = (node: ClusterNode, { id }: Held): boolean => entry(id).node === node.id;
          const carries = (node: ClusterNode, { id }: Held): boolean => entry(id).node !== node.id && entry(id).via === node.id;
          // The victim: the process whose death shows the most kinds of loss (sessions it owns with the
          // receiving request on it, or relayed by another process; other owners' sessions it relays),
          // then the one leaving the most sessions untouched.
          const kinds = (node: ClusterNode): number =>
            [
              held.some((h) => owns(node, h) && entry(h.id).via === undefined),
              held.some((h) => owns(node, h) && entry(h.id).via !== undefined),
              held.some((h) => carries(node, h)),
            ].filter(Boolean).length;
          const untouched = (node: ClusterNode): number => held.filter((h) => !owns(node, h) && !carries(node, h)).length;
          const rank = (node: ClusterNode): number => kinds(node) * (held.length + 1) + untouched(node);
          const victim = nodes.filter((node) => held.some((h) => owns(node, h))).sort((a, b) => rank(b) - rank(a))[0];
          const survivors = nodes.filter((node) => node !== victim);
          const owned = held.filter((h) => owns(victim, h));
          const carried = held.filter((h) => carries(victim, h));
          const untouchedSessions = held.filter((h) => !owns(victim, h) && !carries(victim, h));
          expect({ owned: owned.length > 0, untouched: untouchedSessions.length > 0 }).toEqual({ owned: true, untouched: true });
          // Chromium never finishes an htmlfile document whose connection drops mid-body (no `load`,
          // so sockjs-client is not told): such a client learns of the loss only when it next sends.
          const unaware = [...owned, ...carried].filter(
            (h) => HTMLFILE.has(h.name) && (carries(victim, h) || entry(h.id).via === undefined),
          );
          const after = `after ${victim.id} died ✓`;
          const probe = (h: Held): string => `${h.name} ${after}`;

          victim.child.process.kill('SIGKILL');
          await victim.child.exited;

          for (const h of owned.filter((h) => !unaware.includes(h))) {
            const how = closing(await closed(h.page));
            const allowed = h.name === 'websocket' ? /^network close$/ : /^(network close|1001 Server gone)$/;
            expect({ name: h.name, session: entry(h.id), how }).toEqual({ name: h.name, session: entry(h.id), how: expect.stringMatching(allowed) });
          }
          // A receiving request cut with its carrier: sockjs-client reports a network close, unless
          // nginx passed the request (a GET that got no response header yet) on to a survivor.
          const live = [...untouchedSessions];
          for (const h of carried.filter((h) => !unaware.includes(h))) {
            await sendHeld(h.page, probe(h));
            const state = await settled(h.page, probe(h));
            const how = state.close === null && state.received.includes(probe(h)) ? 'echoes' : closing(state);
            const allowed = /^(network close|echoes)$/;
            expect({ name: h.name, session: entry(h.id), how }).toEqual({ name: h.name, session: entry(h.id), how: expect.stringMatching(allowed) });
            if (how === 'echoes') live.push(h);
          }
          for (const h of untouchedSessions) {
            await sendHeld(h.page, probe(h));
            const state = await settled(h.page, probe(h));
            const echoed = state.received.includes(probe(h));
            expect({ name: h.name, close: state.close, echoed }).toEqual({ name: h.name, close: null, echoed: true });
          }
          await control(survivors[0], 'broadcast', after);
          for (const h of live) {
            const state = await settled(h.page, after);
            const got = state.received.filter((m) => m === after).length;
            expect({ name: h.name, close: state.close, got }).toEqual({ name: h.name, close: null, got: 1 });
          }

          // The dead process's sessions go within the disconnect delay, and so do the closed ones it carried.
          const expected = live.map(({ id }) => id).sort((a, b) => a.localeCompare(b));
          for (const survivor of survivors) {
            let last: Listed[] = [];
            const onlyLive = async (): Promise<boolean> => (last = await listed(survivor)).map((s) => s.id).join() === expected.join();
            await pollUntil(`${survivor.id} listing only the live sessions`, onlyLive, { ...WAITING, lastSeen: () => last });
          }
          for (const h of unaware) {
            await sendHeld(h.page, probe(h));
            const state = await closed(h.page);
            const echoed = state.received.includes(probe(h));
            const ending = { name: h.name, session: entry(h.id), how: closing(state), echoed };
            expect(ending).toEqual({ name: h.name, session: entry(h.id), how: 'network close', echoed: false });
          }
        }, 4 * WAIT_MS);
      });
    });
  });
});
