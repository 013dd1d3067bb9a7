/**
 * One process of the cluster spec (run with `runChild`; args: Redis URL, prefix):
 * an echo endpoint at `/echo` on the Redis adapter, the browser specs' driver
 * page, and control routes the spec calls on this process directly:
 *
 * - `POST /control/broadcast` (text body): `handler.broadcast(body)`, answers `{"count":n}`
 * - `GET /control/sessions`: `handler.clusterSessions()` as JSON
 * - `GET /control/node`: `handler.node`
 * - `GET /control/requests`: how many requests (websocket handshakes included, which
 *   pass through the app's middleware) this process served per session route (`xhr`, `xhr_send`, `websocket`, ...), as JSON
 *
 * Prints `listening <port> <node>` once it accepts connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { sockjs } from '../../lib';
import { redisAdapter } from '../../lib/redis';
import { pageRoutes } from './page';

const [url, prefix] = process.argv.slice(2);
if (!url || !prefix) throw new Error('usage: cluster-node.ts <redis url> <prefix>');

const handler = sockjs(
  // A heartbeat would end a held poll and move it to another process; the spec wants it to stay put.
  { adapter: redisAdapter({ url, prefix }), sockjsUrl: '/sockjs.min.js', heartbeatDelay: 60000 },
  (session) => session.on('data', (message) => session.send(message)),
);

/** Requests per session route: the last segment of `/echo/<server>/<session>/<route>`. */
const served: Record<string, number> = {};
const SESSION_ROUTE = /^\/echo\/[^/.]+\/[^/.]+\/([a-z_]+)(?:\?|$)/;
function count(req: http.IncomingMessage): void {
  const route = SESSION_ROUTE.exec(req.url ?? '')?.[1];
  if (route !== undefined) served[route] = (served[route] ?? 0) + 1;
}

const app = express();
app.use((req, _res, next) => {
  count(req);
  next();
});
app.use(pageRoutes());
app.use('/echo', handler);
app.post('/control/broadcast', express.text({ type: () => true }), (req, res) => {
  res.json({ count: handler.broadcast(String(req.body)) });
});
app.get('/control/sessions', async (_req, res) => {
  res.json(await handler.clusterSessions());
});
app.get('/control/node', (_req, res) => res.type('text').send(handler.node));
app.get('/control/requests', (_req, res) => res.json(served));

const server = http.createServer(app);
// Websocket handshakes pass through the app too, and are counted there.
handler.attach(server);
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port} ${handler.node}`);
});
