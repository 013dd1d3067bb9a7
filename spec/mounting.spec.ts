/**
 * The handler outside a plain `app.use`: under Connect, as a plain `http`
 * request listener, and in a nested Express app. In each it serves HTTP
 * transports and websockets.
 */
import connect from 'connect';
import express from 'express';
import http, { type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { SockJSHandler } from '../lib';
import { echo, sessionPath, terminateClients, wsConnect } from './helpers';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  terminateClients();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(listener: RequestListener, handler: SockJSHandler): Promise<{ base: string; ws: string; server: Server }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, server };
}

/** Greeting, an xhr-polling round trip, then a websocket echo under `prefix`. */
async function expectServed(base: string, ws: string, prefix: string): Promise<void> {
  expect((await request(base).get(prefix)).text).toBe('Welcome to SockJS!\n');
  const session = `${base}${prefix}${sessionPath()}`;
  expect((await request(session).post('/xhr')).text).toBe('o\n');
  expect((await request(session).post('/xhr_send').send('["polled"]')).status).toBe(204);
  expect((await request(session).post('/xhr')).text).toBe('a["polled"]\n');

  const client = await wsConnect(`${ws}${prefix}${sessionPath()}/websocket`);
  expect(await client.next()).toBe('o');
  client.ws.send('["socket"]');
  expect(await client.next()).toBe('a["socket"]');
}

describe('mounting', () => {
  it('works under Connect', async () => {
    const handler = echo();
    const app = connect();
    app.use('/echo', handler);
    const { base, ws } = await serve(app, handler);
    await expectServed(base, ws, '/echo');
  });

  it('works as a plain http request listener at the root', async () => {
    const handler = echo();
    const { base, ws } = await serve(handler, handler);
    await expectServed(base, ws, '');
  });

  it('works in an Express app mounted in another, attached before any request', async () => {
    const handler = echo();
    const inner = express();
    inner.use('/echo', handler);
    const outer = express();
    outer.use('/v1', inner);
    const { base, ws, server } = await serve(outer, handler);
    handler.attach(server);
    const client = await wsConnect(`${ws}/v1/echo${sessionPath()}/websocket`);
    expect(await client.next()).toBe('o');
    await expectServed(base, ws, '/v1/echo');
  });

  it('passes paths that are not SockJS routes on to the next middleware', async () => {
    const handler = echo({ root: true });
    const app = express();
    app.use(handler);
    app.get('/hello', (_req, res) => res.send('from the app'));
    const { base } = await serve(app, handler);
    expect((await request(base).get('/hello')).text).toBe('from the app');
    expect((await request(base).get('/')).text).toBe('Welcome to SockJS!\n');
  });
});
