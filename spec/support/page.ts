/**
 * The page the browser specs load: sockjs-client's browser build, the shared
 * message set and the driver (spec/support/drive.ts) as page globals.
 */
import express from 'express';
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
