/**
 * The page the browser specs load: sockjs-client's browser build, the shared
 * message set and the harness (spec/support/page/harness.js) that drives them.
 */
import express from 'express';
import { join } from 'node:path';
import { sockjsClientFile } from './chromium';
import { firstDifference, messageSetSource } from './messages';

const dir = join(__dirname, 'page');

/** The message set and its comparison, as a script for the page. */
const messagesScript =
  `window.sockjsMessages = ${messageSetSource};\n` +
  `window.sockjsFirstDifference = ${firstDifference.toString()};\n`;

/**
 * Routes serving the harness page at `/`, and `/sockjs.min.js` (also what the
 * iframe transports load through `sockjsUrl`), `/messages.js`, `/harness.js`.
 */
export function pageRoutes(): express.Router {
  const router = express.Router();
  router.get('/', (_req, res) => res.sendFile(join(dir, 'index.html')));
  router.get('/harness.js', (_req, res) => res.sendFile(join(dir, 'harness.js')));
  router.get('/sockjs.min.js', (_req, res) => res.sendFile(sockjsClientFile));
  router.get('/messages.js', (_req, res) => res.type('js').send(messagesScript));
  return router;
}
