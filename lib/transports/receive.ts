/**
 * The route behind every HTTP receiving transport: check the callback where
 * the transport needs one, open a response in the transport's format and
 * hand it to the session for the URL's session id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noCache, sendText } from '../http';
import { bindingKey } from '../binding';
import type { SessionBinding } from '../options';
import { closeFrame } from '../framing';
import { SERVER_GONE, type Locator, type Registry, type RelayedResponse, type Whereabouts } from '../registry';
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
  /** Where a session is: the registry itself, or with an adapter the cluster. */
  readonly locator: Locator;
  readonly responseLimit: number;
  readonly sessionBinding: SessionBinding;
}

/**
 * A route handler for one receiving transport. `sessionId` comes from the
 * path. Returns a promise when it had to wait for the cluster; an error
 * other than the cluster's unavailability rejects it, or, when it comes
 * from asking again later (see `RelayedResponse.missing`), goes to `next`.
 * `appContext` is what the `context` option made of the request, given when
 * no session with this id lives here yet (the request may open one).
 * `mayOpen` false (the direct path, which skipped the app) refuses with
 * `404` rather than open a session for an id that no longer lives here.
 */
export function receive(format: HttpReceiverFormat, needsCallback: boolean, context: ReceiveContext) {
  const { registry, locator, responseLimit } = context;

  return function receiveRoute(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
    next: (error: unknown) => void,
    appContext?: unknown,
    mayOpen = true,
  ): Promise<void> | undefined {
    let callback = '';
    if (needsCallback) {
      const checked = readCallback(req);
      if ('error' in checked) {
        sendText(res, 500, checked.error);
        return undefined;
      }
      callback = checked.callback;
    }
    noCache(res);
    const key = bindingKey(context.sessionBinding, req, res);
    /** Asks where the session is, and serves the response there. */
    const locate = (): Promise<void> | undefined => {
      const where = locator.locate(sessionId, key, true);
      if (!(where instanceof Promise)) return serve(where);
      return where.then(serve);
    };
    const serve = (where: Whereabouts): undefined => {
      switch (where.kind) {
        case 'here':
          receiveHere(req, res, sessionId, key, callback, appContext, mayOpen);
          break;
        case 'elsewhere':
          where.session.receive(relayed(res, callback, () => void locate()?.catch(next)));
          break;
        case 'gone': {
          const receiver = new HttpReceiver(res, format, callback, responseLimit);
          receiver.write(closeFrame(SERVER_GONE.code, SERVER_GONE.reason));
          receiver.end();
          break;
        }
        case 'unavailable':
          sendText(res, 503, 'Cluster unavailable.');
          break;
      }
      return undefined;
    };
    return locate();
  };

  /** Attaches the response to the session here, opening it when new. */
  function receiveHere(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
    key: string | undefined,
    callback: string,
    appContext: unknown,
    mayOpen: boolean,
  ): void {
    if (!registry.admits(sessionId, key) || (!mayOpen && !registry.has(sessionId))) {
      sendText(res, 404, 'Not found.');
      return;
    }
    const receiver = new HttpReceiver(res, format, callback, responseLimit);
    const session = registry.receive(sessionId, req, receiver, key, appContext);
    // The client may have gone while the cluster was asked.
    if (res.destroyed) session.detach(receiver, true);
    else res.once('close', () => session.detach(receiver, !res.writableEnded));
  }

  /** The response as another process's session writes to it; `again` asks where the session is anew. */
  function relayed(res: ServerResponse, callback: string, again: () => void): RelayedResponse {
    return {
      res,
      format,
      callback,
      responseLimit,
      open: () => new HttpReceiver(res, format, callback, responseLimit),
      missing: again,
    };
  }
}
