/**
 * `handler.close()` under load, in a child process: a few hundred sessions
 * over every transport each get the close frame, every in-flight response
 * ends, and the process exits by itself (its script never calls process.exit).
 */
import http from 'node:http';
import WebSocket from 'ws';
import { sessionPath } from './helpers';
import { runChild } from './support/child';

const SHUTDOWN_FRAME = 'c[1001,"Server shutting down"]';

/** One client session; `ended` resolves with everything it received once its connection ended. */
interface Client {
  readonly opened: Promise<void>;
  readonly ended: Promise<string>;
}

function websocketClient(base: string): Client {
  const ws = new WebSocket(`${base.replace('http', 'ws')}${sessionPath()}/websocket`);
  let text = '';
  let open: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    text += `${data.toString()}\n`;
    if (text.startsWith('o')) open();
  });
  const ended = new Promise<string>((resolve) => ws.once('close', () => resolve(text)));
  return { opened, ended };
}

/** A receiving HTTP request; for polling, a second one that stays open until the server answers. */
function httpClient(base: string, transport: string, method: 'GET' | 'POST', query = ''): Client {
  const session = `${base}${sessionPath()}`;
  const polling = transport === 'xhr' || transport === 'jsonp';
  let open: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const fetchOnce = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${session}/${transport}${query}`, { method, agent: false });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (!polling && text.includes('o')) open();
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.end();
    });
  const ended = polling
    ? fetchOnce().then((first) => {
        // The held poll is sent; the server counts it in before it closes (see `close <requests>`).
        const second = fetchOnce();
        open();
        return second.then((text) => first + text);
      })
    : fetchOnce();
  return { opened, ended };
}

describe('handler.close() under load', () => {
  it('closes every session over every transport and lets the process exit by itself', async () => {
    const child = runChild('close-under-load.ts');
    try {
      const port = Number((await child.line(/^port (\d+)$/))[1]);
      const base = `http://127.0.0.1:${port}/s`;
      const clients: Array<[string, Client]> = [];
      const add = (name: string, count: number, make: () => Client): void => {
        for (let i = 0; i < count; i++) clients.push([name, make()]);
      };
      add('websocket', 100, () => websocketClient(base));
      add('xhr_streaming', 50, () => httpClient(base, 'xhr_streaming', 'POST'));
      add('eventsource', 50, () => httpClient(base, 'eventsource', 'GET'));
      add('htmlfile', 25, () => httpClient(base, 'htmlfile', 'GET', '?c=cb'));
      add('xhr', 50, () => httpClient(base, 'xhr', 'POST'));
      add('jsonp', 25, () => httpClient(base, 'jsonp', 'GET', '?c=cb'));
      await Promise.all(clients.map(([, client]) => client.opened));

      // Every client has made one request (a websocket handshake is one: it goes through the
      // server's request listener), and the pollers a second, held one.
      const polls = clients.filter(([name]) => name === 'xhr' || name === 'jsonp').length;
      const requests = clients.length + polls;
      child.process.stdin?.write(`close ${requests}\n`);
      expect((await child.line(/^sessions \d+$/))[0]).toBe(`sessions ${clients.length}`);
      const received = await Promise.all(clients.map(([name, client]) => client.ended.then((text) => [name, text] as const)));
      for (const [name, text] of received) {
        expect([name, text.includes(SHUTDOWN_FRAME.replace(/"/g, name === 'jsonp' || name === 'htmlfile' ? '\\"' : '"'))]).toEqual([name, true]);
      }
      const { code, signal, stderr } = await child.exited;
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(child.stdout()).toMatch(/handler closed, sessions 0, upgrade listeners 0/);
      expect(child.stdout()).toMatch(/server closed/);
    } finally {
      child.process.kill();
    }
  }, 60_000);
});
