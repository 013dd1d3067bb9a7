/**
 * A server whose 'data' listener throws, and no 'error' listener on the
 * handler; a client of the transport given as argument (`xhr_send` or
 * `websocket`) sends the message that makes it throw. Prints `session open`
 * once the session opened. The error should end the process as an uncaught
 * exception; if the process is still alive 5 s later it prints `survived`
 * and exits 0.
 */
import request from 'supertest';
import { sockjs } from '../../lib';
import { listen, sessionPath, wsConnect } from '../helpers';

async function main(transport: string): Promise<void> {
  const handler = sockjs((session) => {
    console.log('session open');
    session.on('data', () => {
      throw new Error('boom from a data listener');
    });
  });
  const server = await listen({ '/s': handler });
  setTimeout(() => {
    console.log('survived');
    void server.close().then(() => process.exit(0));
  }, 5000).unref();
  const path = `/s${sessionPath()}`;
  if (transport === 'websocket') {
    const client = await wsConnect(`${server.base.replace('http', 'ws')}${path}/websocket`);
    await client.next();
    client.ws.send('["x"]');
  } else {
    await request(server.base).post(`${path}/xhr`);
    await request(server.base).post(`${path}/xhr_send`).send('["x"]');
  }
  await new Promise((resolve) => setTimeout(resolve, 10_000));
}

void main(process.argv[2] ?? 'websocket');
