/**
 * The conformance test server (demo/test-server.ts, `npm run test-server`):
 * every endpoint does what the protocol suite and sockjs-client's own tests
 * expect of it.
 */
import request from 'supertest';
import { startTestServer } from '../demo/test-server';
import { sessionPath, terminateClients, wsConnect } from './helpers';

let server: Awaited<ReturnType<typeof startTestServer>>;
let base: string;
let ws: string;

beforeAll(async () => {
  server = await startTestServer(0);
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  base = `http://127.0.0.1:${port}`;
  ws = `ws://127.0.0.1:${port}`;
});

afterEach(() => terminateClients());
afterAll(() => server.close());

/** Opens a framed websocket session under `prefix` and returns the client after `o`. */
async function open(prefix: string) {
  const client = await wsConnect(`${ws}${prefix}${sessionPath()}/websocket`);
  expect(await client.next()).toBe('o');
  return client;
}

describe('test server', () => {
  it('binds 127.0.0.1 only', () => {
    const address = server.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
  });

  it('/echo echoes, streams up to 4096 bytes per response and serves a raw websocket', async () => {
    const client = await open('/echo');
    client.ws.send('["hello"]');
    expect(await client.next()).toBe('a["hello"]');

    const raw = await wsConnect(`${ws}/echo/websocket`);
    raw.ws.send('plain');
    expect(await raw.next()).toBe('plain');

    const session = `${base}/echo${sessionPath()}`;
    const big = 'x'.repeat(5000);
    expect((await request(session).post('/xhr')).text).toBe('o\n');
    expect((await request(session).post('/xhr_send').send(JSON.stringify([big]))).status).toBe(204);
    const streamed = await request(session).post('/xhr_streaming');
    // One frame over the 4096-byte limit, then the response ended.
    expect(streamed.text).toBe('h'.repeat(2048) + '\n' + `a["${big}"]\n`);
  });

  it('/close closes every session with 3000 "Go away!"', async () => {
    const client = await open('/close');
    expect(await client.next()).toBe('c[3000,"Go away!"]');
    const raw = await wsConnect(`${ws}/close/websocket`);
    expect(await raw.closed).toEqual({ code: 3000, reason: 'Go away!' });
  });

  it('/disabled_websocket_echo says websocket: false and refuses websockets', async () => {
    const info = await request(base).get('/disabled_websocket_echo/info');
    expect(info.body).toMatchObject({ websocket: false, cookie_needed: false });
    await expect(wsConnect(`${ws}/disabled_websocket_echo${sessionPath()}/websocket`)).rejects.toThrow(/404/);
  });

  it('/cookie_needed_echo says cookie_needed: true and sets JSESSIONID', async () => {
    const info = await request(base).get('/cookie_needed_echo/info');
    expect(info.body).toMatchObject({ websocket: true, cookie_needed: true });
    const res = await request(`${base}/cookie_needed_echo${sessionPath()}`).post('/xhr');
    expect(res.headers['set-cookie']).toEqual(['JSESSIONID=dummy; Path=/']);
  });

  it('/amplify answers n with 2^n x characters (1 outside 1..18)', async () => {
    const client = await open('/amplify');
    client.ws.send('["3"]');
    expect(await client.next()).toBe('a["xxxxxxxx"]');
    client.ws.send('["40"]');
    expect(await client.next()).toBe('a["xx"]');
  });

  it('/broadcast sends every message to every session', async () => {
    const [a, b] = [await open('/broadcast'), await open('/broadcast')];
    a.ws.send('["to all"]');
    expect(await a.next()).toBe('a["to all"]');
    expect(await b.next()).toBe('a["to all"]');
  });

  it('/ticker sends tick! every second', async () => {
    const client = await open('/ticker');
    expect(await client.next(3000)).toBe('a["tick!"]');
  });
});
