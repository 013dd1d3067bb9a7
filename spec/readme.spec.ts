/**
 * The README's usage example and its express-session recipe, run as written from a separate directory that
 * imports `sockjs-express` as a package (through package.json `exports`, the
 * built `dist/` and its declarations, type-checked), only with a free port in
 * place of 8081.
 */
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { makeConsumer, readmeTsBlock, waitForGreeting, type Consumer } from './support/consumer';
import { rawRequest, upgradeHeaders } from './support/handshake';
import { freePort } from './support/nginx';

describe('README usage example', () => {
  let consumer: Consumer;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    consumer = makeConsumer();
  });

  afterEach(() => {
    child?.kill();
    child = undefined;
  });

  afterAll(() => consumer.remove());

  it('serves SockJS over HTTP and websocket when run as written', async () => {
    const port = await freePort();
    const source = readmeTsBlock('## Usage').replace('8081', String(port));
    expect(source).toContain("from 'sockjs-express'");
    child = consumer.run('example.ts', source);

    expect(await waitForGreeting(`http://127.0.0.1:${port}/echo`, child)).toBe('Welcome to SockJS!\n');

    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo/000/readme/websocket`);
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        frames.push(data.toString());
        if (frames.length === 1) ws.send('["hi"]');
        if (frames.length === 2) resolve();
      });
    });
    ws.close();
    expect(frames).toEqual(['o', 'a["hi"]']);
  });

  it('runs the express-session recipe as written: no websocket without a login, and the session knows who logged in', async () => {
    const port = await freePort();
    const source = readmeTsBlock('A whole app with a login through express-session').replace('8082', String(port));
    child = consumer.run('login.ts', source);
    expect(await waitForGreeting(`http://127.0.0.1:${port}/chat`, child)).toBe('Log in first.');

    const refused = await rawRequest(port, 'GET', '/chat/000/anon/websocket', upgradeHeaders());
    expect([refused.status, refused.body]).toEqual([401, 'Log in first.']);

    const login = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', body: new URLSearchParams({ name: 'ada' }) });
    expect(await login.text()).toBe('logged in as ada');
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/000/ada/websocket`, { headers: { Cookie: cookie } });
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        frames.push(data.toString());
        if (frames.length === 2) resolve();
      });
    });
    ws.close();
    expect(frames).toEqual(['o', 'a["welcome, ada"]']);
  });

  it('runs the memoryAdapter example to completion, its assertions holding', async () => {
    const source = readmeTsBlock('### Testing several processes in one');
    expect(source).toContain('memoryAdapter()');
    child = consumer.run('memory.ts', source);
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
    expect({ code, stderr: stderr.join('') }).toEqual({ code: 0, stderr: '' });
  }, 60_000);
});
