/**
 * The route behind every HTTP receiving transport: check the callback where
 * the transport needs one, open a response in the transport's format and
 * hand it to the session for the URL's session id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noCache, sendText } from '../http';
import { bindingKey } from '../binding';
import type { SessionBinding } from '../options';
import type { Ownership } from '../adapter';
import type { Cluster } from '../cluster';
import { SERVER_GONE } from '../cluster/relay';
import { closeFrame } from '../framing';
import type { Registry } from '../registry';
import { HttpReceiver, type HttpReceiverFormat } from './http-receiver';

/** Callback names allowed for jsonp and htmlfile: a dotted JavaScript path. */
const CALLBACK = /^[a-zA-Z0-9_.]{1,256}$/;

/** The `c` query parameter, checked; or the protocol's error text. */
export function readCallback(req: IncomingMessage): { callback: string } | { error: string } {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const callback = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get('c');
  if (callback === null || callback === '') return { error: '"callback" parameter required' };
  if (!CALLBACK.test(callback)) return { error: 'invalid "callback" parameter' };
  return { callback };
}

export interface ReceiveContext {
  readonly registry: Registry;
  readonly responseLimit: number;
  readonly sessionBinding: SessionBinding;
  /** With an adapter: where sessions of other processes are found. */
  readonly cluster?: Cluster;
}

/** A route handler for one receiving transport. `sessionId` comes from the path. */
export function receive(format: HttpReceiverFormat, needsCallback: boolean, context: ReceiveContext) {
  /**
   * `appContext` is what the `context` option made of this request, given when
   * no session with this id lives here yet (the request may open one).
   */
  return function receiveRoute(req: IncomingMessage, res: ServerResponse, sessionId: string, appContext?: unknown): void {
    let callback = '';
    if (needsCallback) {
      const checked = readCallback(req);
      if ('error' in checked) {
        sendText(res, 500, checked.error);
        return;
      }
      callback = checked.callback;
    }
    noCache(res);
    const key = bindingKey(context.sessionBinding, req, res);
    const cluster = context.cluster;
    if (cluster && !context.registry.has(sessionId)) {
      const remembered = cluster.rememberedOwner(sessionId);
      const lookUp = (): void => void receiveInCluster(cluster, req, res, sessionId, key, callback, appContext);
      if (remembered === undefined) lookUp();
      else cluster.relay(remembered, sessionId, key, format, callback, context.responseLimit, res, lookUp);
      return;
    }
    const check = cluster?.checkCarrier(context.registry.find(sessionId, key));
    if (check) void check.then(() => receiveHere(req, res, sessionId, key, callback, appContext));
    else receiveHere(req, res, sessionId, key, callback, appContext);
  };

  /** Attaches the response to the session here, opening it when new. */
  function receiveHere(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
    key: string | undefined,
    callback: string,
    appContext: unknown,
  ): void {
    if (!context.registry.admits(sessionId, key)) {
      sendText(res, 404, 'Not found.');
      return;
    }
    const receiver = new HttpReceiver(res, format, callback, context.responseLimit);
    const session = context.registry.receive(sessionId, req, receiver, key, appContext);
    // The client may have gone while the cluster was asked.
    if (res.destroyed) session.detach(receiver, true);
    else res.once('close', () => session.detach(receiver, !res.writableEnded));
  }

  /**
   * A session not here: claim the URL id, or relay the owner's frames, or
   * answer with the close frame of a session whose process is gone.
   */
  async function receiveInCluster(
    cluster: Cluster,
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
    key: string | undefined,
    callback: string,
    appContext: unknown,
  ): Promise<void> {
    let owner: Ownership;
    try {
      owner = await cluster.claim(sessionId);
    } catch {
      sendText(res, 503, 'Cluster unavailable.');
      return;
    }
    if (owner.kind === 'node' && owner.node !== cluster.node) {
      cluster.relay(owner.node, sessionId, key, format, callback, context.responseLimit, res);
    } else if (owner.kind === 'gone') {
      const receiver = new HttpReceiver(res, format, callback, context.responseLimit);
      receiver.write(closeFrame(SERVER_GONE.code, SERVER_GONE.reason));
      receiver.end();
    } else {
      receiveHere(req, res, sessionId, key, callback, appContext);
    }
  }
}
