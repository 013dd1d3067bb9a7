/**
 * The demo: a chat room in the browser, over sockjs-client and sockjs-express.
 *
 *   npm start          # then open http://127.0.0.1:8080/
 *
 * PORT and HOST come from the environment (defaults 8080 and 127.0.0.1; PORT=0 picks
 * a free port). The page is demo/public/; the chat room is demo/chat.ts, at /chat.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chatRoom } from './chat';
import { sockjsClientFile, sockjsClientPath } from './sockjs-client';

/** A running demo server. */
export interface Demo {
  readonly server: Server;
  /** `http://host:port/`, the page's address. */
  readonly url: string;
  /** Closes every chat session, then the server. */
  close(): Promise<void>;
}

/** Serves the page, sockjs-client and the chat room on `host:port`. */
export function startDemo(port: number, host = '127.0.0.1'): Promise<Demo> {
  const app = express();
  const room = chatRoom();
  app.use('/chat', room);
  app.get(sockjsClientPath, (_req, res) => res.sendFile(sockjsClientFile));
  app.use(express.static(path.join(__dirname, 'public')));

  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      room.attach(server);
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://${host}:${bound}/`,
        async close() {
          await room.close();
          server.closeAllConnections();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

if (require.main === module) {
  void startDemo(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1').then((demo) => {
    console.log(`sockjs-express demo: a chat room on ${demo.url} (SockJS endpoint /chat)`);
    const stop = (): void => {
      void demo.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, (error: Error) => {
    console.error(`sockjs-express demo: ${error.message}`);
    process.exit(1);
  });
}
