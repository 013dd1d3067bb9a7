/**
 * sockjs-client 1.6 in headless Chromium against the test server's endpoints,
 * one transport forced at a time, in three placements: page and server on one
 * origin, page on another origin, and the server behind nginx.
 */
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testEndpoints } from '../demo/test-server';
import { listen, type Running } from './helpers';
import { describeWithChromium, launchChromium } from './support/chromium';
import { nginxMissing, startNginx } from './support/nginx';
import type { Outcome } from './support/drive';
import { echoInPage, pageRoutes, type PageGlobals } from './support/page';
import { describeRequiring } from './support/requires';

/** How long the page waits for any one exchange before it reports a timeout. */
const WAIT_MS = 30000;
jest.setTimeout(4 * WAIT_MS);

/** Every transport sockjs-client 1.6 has in Chromium, by its name. */
const TRANSPORTS: readonly { name: string; sameOriginOnly?: true }[] = [
  { name: 'websocket' },
  { name: 'xhr-streaming' },
  { name: 'eventsource' },
  { name: 'iframe-eventsource' },
  // sockjs-client enables htmlfile only when the page shares the server's origin.
  { name: 'htmlfile', sameOriginOnly: true },
  { name: 'iframe-htmlfile' },
  { name: 'xhr-polling' },
  { name: 'iframe-xhr-polling' },
  { name: 'jsonp-polling' },
];

/** Where the page is and where it finds the server. */
interface Placed {
  /** Origin the driver page is loaded from. */
  readonly page: string;
  /** Origin sockjs-client connects to (the test server's endpoints are under it). */
  readonly server: string;
  stop(): Promise<void>;
}

/** The test server's endpoints and the driver page on one app, on 127.0.0.1:0. */
async function startServer(): Promise<Running> {
  const app = express();
  app.use(pageRoutes());
  return listen(testEndpoints({ sockjsUrl: '/sockjs.min.js' }), app);
}

/** Runs `stops` in order, each even if an earlier one failed. */
async function stopAll(...stops: (() => Promise<void>)[]): Promise<void> {
  const results = [];
  for (const stop of stops) results.push(await stop().then(() => undefined, (error: unknown) => error));
  const failure = results.find((error) => error !== undefined);
  if (failure !== undefined) throw failure;
}

const PLACEMENTS: readonly {
  name: string;
  sameOrigin: boolean;
  /** The proxy whose `Server` header the page and endpoints must come with. */
  servedBy?: string;
  missing?: () => string | undefined;
  start(): Promise<Placed>;
}[] = [
  {
    name: 'page and server on one origin',
    sameOrigin: true,
    async start() {
      const server = await startServer();
      return { page: server.base, server: server.base, stop: () => server.close() };
    },
  },
  {
    name: 'page on another origin (another port)',
    sameOrigin: false,
    async start() {
      const server = await startServer();
      const pages = await listen({}, express().use(pageRoutes()));
      return { page: pages.base, server: server.base, stop: () => stopAll(() => pages.close(), () => server.close()) };
    },
  },
  {
    name: 'server behind nginx',
    sameOrigin: true,
    servedBy: 'nginx',
    missing: nginxMissing,
    async start() {
      const server = await startServer();
      const proxy = await startNginx(server.port).catch(async (error: unknown) => {
        await server.close();
        throw error;
      });
      return { page: proxy.base, server: proxy.base, stop: () => stopAll(() => proxy.stop(), () => server.close()) };
    },
  },
];

/** Opens in the page and waits for the close event. */
function untilClosed(page: Page, url: string, transport: string): Promise<Outcome> {
  return page.evaluate(
    ([url, transport, ms]) => {
      const g = globalThis as unknown as PageGlobals;
      return g.sockjsOpenUntilClosed(g.SockJS, url, transport, ms);
    },
    [url, transport, WAIT_MS] as const,
  );
}

/** A plain browser WebSocket to a fresh session under `url`: `'open'` or `'refused'`. */
function upgrade(page: Page, url: string): Promise<string> {
  return page.evaluate(
    ([url, ms]) =>
      new Promise<string>((resolve) => {
        type Ws = { onopen: () => void; onerror: () => void; onclose: () => void; close(): void };
        const WebSocket = (globalThis as unknown as { WebSocket: new (url: string) => Ws }).WebSocket;
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/000/${Math.random().toString(36).slice(2)}/websocket`);
        const timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms);
        ws.onopen = () => {
          clearTimeout(timer);
          ws.close();
          resolve('open');
        };
        ws.onerror = ws.onclose = () => {
          clearTimeout(timer);
          resolve('refused');
        };
      }),
    [url, WAIT_MS] as const,
  );
}

/** Short messages for the endpoints that only need to show they work. */
const FEW = ['a', 'b c', '\u00e9\ud83d\ude00'];

describeWithChromium('sockjs-client in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  for (const placement of PLACEMENTS) {
    describeRequiring(placement.name, placement.missing?.(), () => {
      let placed: Placed;
      beforeAll(async () => {
        placed = await placement.start();
      });
      afterAll(() => placed?.stop());

      const servedBy = placement.servedBy;
      if (servedBy) {
        it(`serves the page and the endpoints through ${servedBy}`, async () => {
          for (const url of [`${placed.page}/`, `${placed.server}/echo/info`]) {
            const res = await fetch(url);
            await res.text();
            expect(res.headers.get('server')).toMatch(new RegExp(`^${servedBy}/`));
          }
        });
      }

      for (const transport of TRANSPORTS) {
        const name = transport.name;
        const offered = placement.sameOrigin || !transport.sameOriginOnly;

        describe(name, () => {
          let context: BrowserContext;
          let page: Page;
          let dialogs: string[];
          beforeAll(async () => {
            context = await browser.newContext();
            page = await context.newPage();
            dialogs = [];
            page.on('dialog', (dialog) => {
              dialogs.push(dialog.message());
              void dialog.dismiss();
            });
            const response = await page.goto(`${placed.page}/`);
            expect(response?.status()).toBe(200);
          });
          afterAll(() => context?.close());

          if (!offered) {
            it('is not offered by sockjs-client to a page on another origin', async () => {
              const outcome = await untilClosed(page, `${placed.server}/echo`, name);
              expect(outcome).toMatchObject({ opened: false, close: { code: 2000, reason: 'All transports failed' } });
            });
            return;
          }

          it(`opens with ${name} and echoes every message unchanged and in order, running none as script`, async () => {
            const outcome = await echoInPage(page, `${placed.server}/echo`, name, WAIT_MS);
            const pwned = await page.evaluate(() => (globalThis as unknown as PageGlobals).sockjsPwned);
            expect({ ...outcome, pwned, dialogs }).toMatchObject({
              opened: true,
              transport: name,
              error: undefined,
              difference: undefined,
              pwned: undefined,
              dialogs: [],
            });
          });

          it('receives the code and reason of a close the server starts', async () => {
            const outcome = await untilClosed(page, `${placed.server}/close`, name);
            expect(outcome).toMatchObject({ opened: true, transport: name, close: { code: 3000, reason: 'Go away!' } });
          });

          if (name === 'websocket') {
            it('is refused where websocket is disabled, and the server refuses the upgrade too', async () => {
              const outcome = await untilClosed(page, `${placed.server}/disabled_websocket_echo`, name);
              expect(outcome).toMatchObject({ opened: false, close: { code: 2000, reason: 'All transports failed' } });
              expect(await upgrade(page, `${placed.server}/disabled_websocket_echo`)).toBe('refused');
              expect(await upgrade(page, `${placed.server}/echo`)).toBe('open');
            });
          } else {
            it('works where websocket is disabled', async () => {
              const outcome = await echoInPage(page, `${placed.server}/disabled_websocket_echo`, name, WAIT_MS, FEW);
              expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
            });
          }

          // The JSESSIONID cookie rides on HTTP session responses; a websocket handshake sets none.
          const cookieSet = name !== 'websocket';
          it(`works against the JSESSIONID endpoint${cookieSet ? ', which sets the cookie' : ''}`, async () => {
            const outcome = await echoInPage(page, `${placed.server}/cookie_needed_echo`, name, WAIT_MS, FEW);
            expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
            if (cookieSet) {
              const cookies = await context.cookies(placed.server);
              expect(cookies).toContainEqual(expect.objectContaining({ name: 'JSESSIONID', value: 'dummy' }));
            }
          });
        });
      }
    });
  }
});
