/**
 * The page the browser specs load: sockjs-client's browser build, the shared
 * message set and the driver (spec/support/drive.ts) as page globals.
 */
import express from 'express';
import type { Page } from 'playwright-core';
import { sockjsClientFile } from './chromium';
import { driverFunctions, type Outcome } from './drive';
import { messageSetSource } from './messages';

const html = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>sockjs-express browser specs</title>
    <link rel="icon" href="data:,">
    <script src="/sockjs.min.js"></script>
    <script src="/driver.js"></script>
  </head>
  <body></body>
</html>
`;

/** The driver's functions as top-level declarations, and the message set. */
const driverScript =
  driverFunctions.map((fn) => fn.toString()).join('\n') + `\nvar sockjsMessages = ${messageSetSource};\n`;

/** What the page's globals offer to `page.evaluate`. */
export interface PageGlobals {
  /** sockjs-client's `SockJS`; typed loosely, it is only passed on. */
  SockJS: never;
  sockjsMessages: string[];
  sockjsEcho(SockJS: never, url: string, transport: string, messages: readonly string[], ms: number): Promise<Outcome>;
  sockjsOpenUntilClosed(SockJS: never, url: string, transport: string, ms: number): Promise<Outcome>;
  /** Set by any message that ran as script. */
  sockjsPwned?: number;
}

/**
 * Echoes `messages` (by default the page's whole message set) in `page`
 * over a fresh session of `transport`, waiting up to `waitMs`; see sockjsEcho.
 */
export function echoInPage(page: Page, url: string, transport: string, waitMs: number, messages?: readonly string[]): Promise<Outcome> {
  return page.evaluate(
    ([url, transport, messages, ms]) => {
      const g = globalThis as unknown as PageGlobals;
      return g.sockjsEcho(g.SockJS, url, transport, messages ?? g.sockjsMessages, ms);
    },
    [url, transport, messages, waitMs] as const,
  );
}

/**
 * Routes serving the page at `/`, `/sockjs.min.js` (also what the iframe
 * transports load through `sockjsUrl`) and `/driver.js`.
 */
export function pageRoutes(): express.Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.type('html').send(html));
  router.get('/sockjs.min.js', (_req, res) => res.sendFile(sockjsClientFile));
  router.get('/driver.js', (_req, res) => res.type('js').send(driverScript));
  return router;
}
