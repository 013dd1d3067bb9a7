/**
 * The server spec/fuzz.spec.ts throws random input at, in a child process of
 * its own so that a crash shows as a dead process. An echo handler at `/fuzz`
 * with every transport, the raw websocket, a short heartbeat (so a poll that
 * finds a live session ends soon) and the `maxMessageSize` given as argument.
 * With `memory` as second argument, `/fuzz` is two such handlers on one
 * `memoryAdapter()` cluster, taking requests in turn as a round-robin load
 * balancer would, so an HTTP session's requests land on both processes.
 * Prints `port <n>` once listening. Anything that reaches Express's error
 * handler, and any uncaught exception or unhandled rejection, is written to
 * stderr as a line starting with `FAULT`; uncaught ones end the process.
 *
 *   node -r ts-node/register/transpile-only spec/support/fuzz-server.ts <maxMessageSize> [memory]
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import { memoryAdapter, type Options } from '../../lib';
import { echo } from '../helpers';

/** The status the server answers when an error escaped to Express: outside every status the fuzz accepts. */
const ESCAPED_ERROR_STATUS = 599;

const fault = (what: string, error: unknown): void => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`FAULT ${what}: ${text.replace(/\n/g, '\n  ')}\n`);
};

process.on('uncaughtException', (error) => {
  fault('uncaughtException', error);
  process.exit(70);
});
process.on('unhandledRejection', (error) => {
  fault('unhandledRejection', error);
  process.exit(70);
});

const options: Options = { rawWebsocket: true, heartbeatDelay: 500, maxMessageSize: Number(process.argv[2]) };
const cluster = process.argv[3] === 'memory' ? memoryAdapter() : undefined;
const handlers = cluster ? [echo({ ...options, adapter: cluster }), echo({ ...options, adapter: cluster })] : [echo(options)];
let turn = 0;
const app = express();
app.use('/fuzz', (req, res, next) => handlers[turn++ % handlers.length](req, res, next));
app.use((_req: Request, res: Response) => {
  res.status(404).type('text/plain').send('Not under /fuzz.');
});
app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
  void next;
  fault('express error handler', error);
  res.status(ESCAPED_ERROR_STATUS).type('text/plain').send('escaped');
});

const server = app.listen(0, '127.0.0.1', () => {
  for (const handler of handlers) handler.attach(server);
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
