/**
 * A server whose session has no 'error' listener meets a websocket client
 * that sends invalid UTF-8 (`ws` reports it as an error). Prints `closed
 * <code>` when the session closed and `survived` a moment later; an uncaught
 * 'error' would end the process with a stack trace instead.
 */
import { sockjs } from '../../lib';
import { listen, sessionPath, wsConnect } from '../helpers';

async function main(): Promise<void> {
  const handler = sockjs((session) => {
    session.on('close', (code) => {
      console.log(`closed ${code} listeners=${session.listenerCount('error')}`);
      setTimeout(() => {
        console.log('survived');
        void server.close();
      }, 100);
    });
  });
  const server = await listen({ '/s': handler });
  const client = await wsConnect(`${server.base.replace('http', 'ws')}/s${sessionPath()}/websocket`);
  client.ws.send(Buffer.from([0x22, 0xff, 0x22]), { binary: false });
}

void main();
