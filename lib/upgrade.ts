/**
 * The http server's `'upgrade'` listener for one handler. It serves only the
 * websocket paths under the handler's mount paths and leaves every other
 * upgrade to the server's other listeners. Guard clauses answer bad upgrades
 * with the protocol's status before `ws` takes over.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';

const debug = createDebug('sockjs:upgrade');

/** Marks the listeners sockjs-express adds, and sockets one of them took. */
const kSockjsListener = Symbol('sockjs.listener');
const kClaimed = Symbol('sockjs.claimed');

type UpgradeListener = ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) & {
  [kSockjsListener]?: true;
};
type ClaimableSocket = Duplex & { [kClaimed]?: true };

/** Which websocket a path under the prefix names. */
export type WebsocketPath = { raw: true } | { raw: false; sessionId: string };

const FRAMED = /^\/[^/.]+\/([^/.]+)\/websocket$/;

/** Parses the part of a path under the prefix; `undefined` when it is no websocket path. */
export function websocketPath(rest: string): WebsocketPath | undefined {
  if (rest === '/websocket') return { raw: true };
  const match = FRAMED.exec(rest);
  return match ? { raw: false, sessionId: match[1] } : undefined;
}

/** Writes a plain HTTP answer on a socket that was never handed to `http`, then closes it. */
export function abortUpgrade(socket: Duplex, status: number, body = '', headers: Record<string, string> = {}): void {
  // Nobody else listens on this socket now; a reset must not become an uncaught error.
  socket.on('error', (error) => debug('socket error after refusing an upgrade: %s', error.message));
  if (socket.writable) {
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'Connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (body !== '') lines.push('Content-Type: text/plain; charset=UTF-8');
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    socket.end(lines.join('\r\n') + '\r\n\r\n' + body, () => socket.destroy());
    return;
  }
  socket.destroy();
}

export interface UpgradeRoute {
  /** The part of the URL's path under this handler's prefix, if it is under it. */
  match(url: string): string | undefined;
  /** Serves an upgrade whose path `match` accepted. */
  serve(req: IncomingMessage, socket: Duplex, head: Buffer, path: WebsocketPath): void;
}

/**
 * Adds the `'upgrade'` listener for `route` to `server`; returns the function
 * that removes it.
 */
export function listenForUpgrades(server: Server, route: UpgradeRoute): () => void {
  const listener: UpgradeListener = (req, socket: ClaimableSocket, head) => {
    const rest = route.match(req.url ?? '/');
    const path = rest === undefined ? undefined : websocketPath(rest);
    if (path === undefined || socket[kClaimed]) {
      refuseOrphan(server, listener, socket);
      return;
    }
    socket[kClaimed] = true;
    debug('upgrade %s %s', req.method, req.url);
    route.serve(req, socket, head, path);
  };
  listener[kSockjsListener] = true;
  server.on('upgrade', listener);
  return () => {
    server.off('upgrade', listener);
  };
}

/**
 * Node destroys an upgrade nobody listens for. When every listener is a
 * sockjs-express one and none took the socket, the last does the same, with
 * a 404, rather than leave the client hanging.
 */
function refuseOrphan(server: Server, listener: UpgradeListener, socket: ClaimableSocket): void {
  if (socket[kClaimed]) return;
  const listeners = server.listeners('upgrade') as UpgradeListener[];
  if (listeners[listeners.length - 1] !== listener) return;
  if (!listeners.every((l) => l[kSockjsListener])) return;
  abortUpgrade(socket, 404, 'Not found.');
}
