/**
 * A server for the `handler.close()` spec: prints `port <n>`, then on the line
 * `close <requests>` from stdin waits until that many HTTP requests have reached
 * it (so every held poll is attached, none still in the listen queue), prints
 * `sessions <n>`, calls `handler.close()` and `server.close()`, and is then
 * expected to exit by itself (no process.exit).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { sockjs } from '../../lib';

const handler = sockjs({ heartbeatDelay: 1000 }, (session) => session.on('data', (m) => session.send(m)));
const app = express();
app.use('/s', handler);
const server = http.createServer(app);
handler.attach(server);
let requests = 0;
// Counted in `emit`, after attach(): a held poll of an open session takes the direct
// path, which the server's 'request' listeners never see.
const emit = server.emit;
server.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'request') requests++;
  return Reflect.apply(emit, this, [event, ...args]) as boolean;
} as typeof server.emit;
server.listen(0, '127.0.0.1', () => console.log(`port ${(server.address() as AddressInfo).port}`));

process.stdin.setEncoding('utf8');
process.stdin.on('data', async (text: string) => {
  const match = /^close (\d+)/.exec(text);
  if (!match) return;
  process.stdin.destroy();
  while (requests < Number(match[1])) await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(`sessions ${handler.sessions.size}`);
  void handler.close().then(() => {
    console.log(`handler closed, sessions ${handler.sessions.size}, upgrade listeners ${server.listenerCount('upgrade')}`);
  });
  server.close(() => console.log('server closed'));
});
