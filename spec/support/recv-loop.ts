/**
 * The README's `recv()` loop in an async onSession, as written there, while a
 * client of the transport given as argument (`websocket` or `xhr`) sends one
 * message, reads its echo and leaves. Prints `echoed <message>`, `closed
 * <code>` when the session ends and `survived` a moment later, then exits 0;
 * an unhandled rejection would end the process with a stack trace instead.
 */
import request from 'supertest';
import { sockjs } from '../../lib';
import { listen, sessionPath, wsConnect } from '../helpers';

async function main(transport: string): Promise<void> {
  const handler = sockjs({ disconnectDelay: 200 }, async (session) => {
    session.once('close', (code) => {
      console.log(`closed ${code}`);
      setTimeout(() => {
        console.log('survived');
        void server.close().then(() => process.exit(0));
      }, 500);
    });
    for (;;) {
      const message = await session.recv();
      session.send(message);
    }
  });
  const server = await listen({ '/s': handler });
  const path = `/s${sessionPath()}`;
  if (transport === 'websocket') {
    const client = await wsConnect(`${server.base.replace('http', 'ws')}${path}/websocket`);
    await client.next();
    client.ws.send('["hi"]');
    console.log(`echoed ${JSON.parse((await client.next()).slice(1))[0]}`);
    client.ws.close();
  } else {
    await request(server.base).post(`${path}/xhr`);
    await request(server.base).post(`${path}/xhr_send`).send('["hi"]');
    const frame = (await request(server.base).post(`${path}/xhr`)).text;
    console.log(`echoed ${JSON.parse(frame.slice(1))[0]}`);
  }
}

void main(process.argv[2] ?? 'websocket');
