/**
 * Websocket handshakes through the app. An http server hands upgrades to its
 * `'upgrade'` listeners, not to its request listener, so middleware never
 * sees them. One gate per server (shared by every handler attached to it)
 * takes the upgrades whose path ends like a SockJS websocket path and runs
 * each through the server's request listeners (the app) as a GET, with a
 * response that writes on the upgrade's socket:
 *
 * - middleware that answers (401, 403, 429, a redirect, an error handler's
 *   5xx) answers the handshake, with `Connection: close`, never a `101`;
 * - a handler's websocket route that the request reaches takes the socket
 *   back ({@link takeUpgrade}) and hands it to `ws`;
 * - a request that nobody takes gets the app's own `404`.
 *
 * Every other upgrade is left to the server's other listeners.
 */
import { STATUS_CODES, ServerResponse, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { reachedHandler, type Counters } from './stats';

const debug = createDebug('sockjs:upgrade');

/** The gate of a server, and the upgrade a request carries through the app. */
const kGate = Symbol('sockjs.upgradeGate');
const kUpgrade = Symbol('sockjs.upgrade');
/** Marks the `'upgrade'` listeners of gates, and sockets a gate took. */
const kGateListener = Symbol('sockjs.gateListener');
const kClaimed = Symbol('sockjs.claimed');

type UpgradeListener = ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) & { [kGateListener]?: true };
type ClaimableSocket = Duplex & { [kClaimed]?: true };
type GatedServer = Server & { [kGate]?: Gate };

/** An upgrade on its way through the app. */
interface PendingUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly res: ServerResponse;
  /** Closes the socket once the app has answered. */
  readonly answered: () => void;
}
type UpgradingRequest = IncomingMessage & { [kUpgrade]?: PendingUpgrade };

/** The websockets one attached handler serves, which decide what the gate takes. */
export interface UpgradeInterest {
  /** `<prefix>/<server_id>/<session_id>/websocket` */
  readonly framed: boolean;
  /** `<prefix>/websocket` */
  readonly raw: boolean;
  /** Counts the handshakes the app answered before they reached the handler. */
  readonly counters?: Counters;
}

/** A path ending in `/<server_id>/<session_id>/websocket`: both ids non-empty, without dots. */
const FRAMED = /\/[^/.]+\/[^/.]+\/websocket$/;
const RAW = /\/websocket$/;

function pathnameOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** The upgrade listener of one server and the handlers that share it. */
class Gate {
  readonly #server: Server;
  readonly #interests = new Set<UpgradeInterest>();
  readonly #listener: UpgradeListener;

  constructor(server: Server) {
    this.#server = server;
    this.#listener = (req, socket, head) => this.#upgrade(req, socket, head);
    this.#listener[kGateListener] = true;
    server.on('upgrade', this.#listener);
  }

  add(interest: UpgradeInterest): void {
    this.#interests.add(interest);
  }

  /** Forgets `interest`; the last one out removes the listener. */
  remove(interest: UpgradeInterest): void {
    this.#interests.delete(interest);
    if (this.#interests.size > 0) return;
    this.#server.off('upgrade', this.#listener);
    delete (this.#server as GatedServer)[kGate];
  }

  /** The first handler's interest in an upgrade to `url`, if it is one of ours: its path ends like a websocket path a handler serves. */
  #takes(url: string): UpgradeInterest | undefined {
    const path = pathnameOf(url);
    for (const interest of this.#interests) {
      if (interest.framed && FRAMED.test(path)) return interest;
      if (interest.raw && RAW.test(path)) return interest;
    }
    return undefined;
  }

  #upgrade(req: IncomingMessage, socket: ClaimableSocket, head: Buffer): void {
    if (socket[kClaimed]) return;
    const interest = this.#takes(req.url ?? '/');
    if (interest === undefined) {
      this.#refuseOrphan(socket);
      return;
    }
    socket[kClaimed] = true;
    debug('upgrade %s %s through the app', req.method, req.url);
    if (this.#server.listenerCount('request') === 0) {
      abortUpgrade(socket, 404, 'Not found.');
      return;
    }
    const res = new ServerResponse(req);
    // The handshake's answer is the connection's last: nothing follows it but a websocket.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    const answered = (): void => {
      if (!reachedHandler(res)) interest.counters?.refusedByMiddleware(res.statusCode);
      res.detachSocket(socket as Socket);
      socket.end(() => socket.destroy());
    };
    res.once('finish', answered);
    socket.on('error', onSocketError);
    (req as UpgradingRequest)[kUpgrade] = { socket, head, res, answered };
    this.#server.emit('request', req, res);
  }

  /**
   * Node destroys an upgrade nobody listens for. When every listener is a
   * gate and none took the socket, answer `404` rather than leave the client
   * hanging (a server has one gate, so this is the only one).
   */
  #refuseOrphan(socket: ClaimableSocket): void {
    const listeners = this.#server.listeners('upgrade') as UpgradeListener[];
    if (!listeners.every((listener) => listener[kGateListener])) return;
    abortUpgrade(socket, 404, 'Not found.');
  }
}

function onSocketError(this: Duplex, error: Error): void {
  debug('socket error during a handshake: %s', error.message);
}

/**
 * Routes the websocket upgrades that `interest` describes on `server`
 * through the server's request listeners. Returns the function that stops.
 */
export function gateUpgrades(server: Server, interest: UpgradeInterest): () => void {
  const gated = server as GatedServer;
  const gate = (gated[kGate] ??= new Gate(server));
  gate.add(interest);
  return () => gate.remove(interest);
}

/** Whether `req` is an upgrade on its way through the app (its socket not taken yet). */
export function isUpgrade(req: IncomingMessage): boolean {
  return (req as UpgradingRequest)[kUpgrade] !== undefined;
}

/** The socket and first bytes of an upgrade, and the headers middleware set for its answer. */
export interface TakenUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** Headers middleware set on the response (cookies, for example), for the `101`. */
  readonly headers: OutgoingHttpHeaders;
}

/**
 * Takes the socket of an upgrade that reached a handler back from its
 * response, which then writes nothing. `undefined` for a plain request, or
 * when the client has gone already.
 */
export function takeUpgrade(req: IncomingMessage): TakenUpgrade | undefined {
  const pending = (req as UpgradingRequest)[kUpgrade];
  if (pending === undefined) return undefined;
  delete (req as UpgradingRequest)[kUpgrade];
  const { socket, head, res, answered } = pending;
  if (res.headersSent || socket.destroyed) return undefined;
  res.detachSocket(socket as Socket);
  res.off('finish', answered);
  socket.off('error', onSocketError);
  return { socket, head, headers: res.getHeaders() };
}

/** Writes a plain HTTP answer on a socket that was never handed to `http`, then closes it. */
export function abortUpgrade(socket: Duplex, status: number, body = '', headers: Record<string, string> = {}): void {
  // Nobody else listens on this socket now; a reset must not become an uncaught error.
  socket.on('error', onSocketError);
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
