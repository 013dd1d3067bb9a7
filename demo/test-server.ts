/**
 * The conformance test server: the endpoints the SockJS protocol suite and
 * sockjs-client's own tests expect, on 127.0.0.1:$PORT (default 8081).
 *
 *   npm run test-server
 */
import express from 'express';
import type { Server } from 'node:http';
import { sockjs, type Options, type SockJSHandler, type TransportName } from '../lib';

/** Every transport but websocket. */
const WITHOUT_WEBSOCKET: TransportName[] = ['xhr-streaming', 'xhr-polling', 'eventsource', 'htmlfile', 'jsonp-polling'];

/**
 * Every endpoint of the test server, by prefix. `common` options apply to each
 * endpoint (the browser specs set `sockjsUrl` to a locally served client).
 */
export function testEndpoints(common: Options = {}): Record<string, SockJSHandler> {
  const echo = (handler: SockJSHandler): SockJSHandler =>
    handler.on('connection', (session) => session.on('data', (message) => session.send(message)));

  const broadcast = sockjs(common, (session) => {
    session.on('data', (message) => broadcast.broadcast(message));
  });

  return {
    '/echo': echo(sockjs({ ...common, responseLimit: 4096, rawWebsocket: true })),
    '/disabled_websocket_echo': echo(sockjs({ ...common, transports: WITHOUT_WEBSOCKET })),
    '/cookie_needed_echo': echo(sockjs({ ...common, jsessionid: true })),
    '/close': sockjs({ ...common, rawWebsocket: true }, (session) => session.close(3000, 'Go away!')),
    '/ticker': sockjs(common, (session) => {
      const tick = setInterval(() => session.send('tick!'), 1000);
      session.on('close', () => clearInterval(tick));
    }),
    '/amplify': sockjs(common, (session) => {
      // "n" comes back as 2^n x's, for 0 < n < 19; anything else counts as 1.
      session.on('data', (message) => {
        const n = Math.floor(Number(message));
        session.send('x'.repeat(2 ** (n > 0 && n < 19 ? n : 1)));
      });
    }),
    '/broadcast': broadcast,
  };
}

/** Builds the app, mounts every endpoint and starts listening. */
export function startTestServer(port: number, host = '127.0.0.1'): Promise<{ server: Server; close(): Promise<void> }> {
  const app = express();
  const endpoints = testEndpoints();
  for (const [prefix, handler] of Object.entries(endpoints)) app.use(prefix, handler);
  return new Promise((resolve) => {
    const server = app.listen(port, host, () => {
      for (const handler of Object.values(endpoints)) handler.attach(server);
      resolve({
        server,
        async close() {
          await Promise.all(Object.values(endpoints).map((handler) => handler.close()));
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 8081);
  void startTestServer(port).then(({ server }) => {
    const address = server.address();
    const where = typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address);
    console.log(`SockJS test server on http://${where} (/echo, /close, /disabled_websocket_echo, /cookie_needed_echo, /ticker, /amplify, /broadcast)`);
  });
}
