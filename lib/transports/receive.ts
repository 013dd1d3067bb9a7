/**
 * The route behind every HTTP receiving transport: check the callback where
 * the transport needs one, open a response in the transport's format and
 * hand it to the session for the URL's session id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { noCache, sendText } from '../http';
import { bindingKey } from '../binding';
import type { SessionBinding } from '../options';
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
}

/** A route handler for one receiving transport. `sessionId` comes from the path. */
export function receive(format: HttpReceiverFormat, needsCallback: boolean, context: ReceiveContext) {
  return function receiveRoute(req: IncomingMessage, res: ServerResponse, sessionId: string): void {
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
    if (!context.registry.admits(sessionId, key)) {
      sendText(res, 404, 'Not found.');
      return;
    }
    const receiver = new HttpReceiver(res, format, callback, context.responseLimit);
    const session = context.registry.receive(sessionId, req, receiver, key);
    res.once('close', () => session.detach(receiver, !res.writableEnded));
  };
}
