/**
 * The package's errors: every one it throws or rejects with is a
 * `SockJSError` with a `SOCKJS_ERR_*` code, and the README's errors table
 * lists each class with its code.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as api from '../lib';
import {
  ClusterUnavailableError,
  HandlerClosedError,
  InvalidArgumentError,
  InvalidOptionError,
  RootMountError,
  SessionNotOpenError,
  SockJSError,
  TransportError,
  sockjs,
  type Session,
  type SessionHandler,
} from '../lib';
import { echo, mountAtS, sessionPath, terminateClients, wsConnect, type Endpoint } from './helpers';

const running: Endpoint[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((endpoint) => endpoint.server.close()));
});

/** What `action` throws (synchronously) or rejects with. */
async function failureOf(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('did not fail');
}

async function openWebsocketSession(): Promise<{ endpoint: Endpoint; session: Session }> {
  const endpoint = await mountAtS(echo());
  running.push(endpoint);
  const opened = endpoint.nextSession();
  const client = await wsConnect(`${endpoint.url.replace('http', 'ws')}${sessionPath()}/websocket`);
  await client.next();
  return { endpoint, session: await opened };
}

describe('errors', () => {
  it.each<[string, (context: { endpoint: Endpoint; session: Session }) => unknown, string]>([
    ['session.send() of a number', ({ session }) => session.send(42 as unknown as string), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['session.close() with code 1001', ({ session }) => session.close(1001), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['session.close() with a reason over 123 bytes', ({ session }) => session.close(3000, 'x'.repeat(124)), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['handler.broadcast() of a number', ({ endpoint }) => endpoint.handler.broadcast(42 as unknown as string), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['handler.send() of a number', ({ endpoint }) => endpoint.handler.send('id', 42 as unknown as string), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['sockjs() with a callback that is not a function', () => sockjs({}, 'x' as unknown as SessionHandler), 'SOCKJS_ERR_INVALID_ARGUMENT'],
    ['sockjs() with an unknown option', () => sockjs({ heartbeat: 1 } as never), 'SOCKJS_ERR_INVALID_OPTION'],
    ['handler.attach() of the app rather than its server', ({ endpoint }) => endpoint.handler.attach(endpoint.server.app as never), 'SOCKJS_ERR_INVALID_ARGUMENT'],
  ])('%s fails with a SockJSError with code %s', async (_what, action, code) => {
    const context = await openWebsocketSession();
    const error = await failureOf(() => action(context));
    expect(error).toBeInstanceOf(SockJSError);
    expect(error).toMatchObject({ code });
  });

  it('refuses attach() on a closed handler with a HandlerClosedError', async () => {
    const handler = sockjs();
    await handler.close();
    const error = await failureOf(() => handler.attach(http.createServer()));
    expect(error).toBeInstanceOf(HandlerClosedError);
    expect(error).toMatchObject({ code: 'SOCKJS_ERR_HANDLER_CLOSED', name: 'HandlerClosedError' });
  });

  it('makes InvalidOptionError a SockJSError, keeping its name and code', () => {
    const error = new InvalidOptionError('x');
    expect(error).toBeInstanceOf(SockJSError);
    expect(error).toMatchObject({ name: 'InvalidOptionError', code: 'SOCKJS_ERR_INVALID_OPTION' });
  });

  it("lists every exported error class with its code in the README's errors table", () => {
    const instances: SockJSError[] = [
      new SessionNotOpenError(),
      new TransportError(new Error('x')),
      new ClusterUnavailableError('x'),
      new InvalidOptionError('x'),
      new InvalidArgumentError('x'),
      new HandlerClosedError('x'),
      new RootMountError(),
    ];
    const exported = Object.values(api).filter((value) => typeof value === 'function' && value.prototype instanceof SockJSError);
    expect(new Set(exported)).toEqual(new Set(instances.map((error) => error.constructor)));
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('\n### Errors\n'), readme.indexOf('\n### Errors in your code\n'));
    const codes: Record<string, string> = {};
    for (const match of table.matchAll(/^\| `(\w+)` \| `(SOCKJS_ERR_\w+)` \|/gm)) codes[match[1]] = match[2];
    expect(codes).toEqual(Object.fromEntries(instances.map((error) => [error.name, error.code])));
  });
});
