/**
 * The sending routes: `xhr_send` (a JSON array of strings in the body) and
 * `jsonp_send` (the same in a form field `d`, or the raw body). Bodies are
 * read up to `maxMessageSize` and parsed once; the messages go to the session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseMessages } from '../framing';
import { bodyReadBefore, noCache, readBody, refuseBody, sendText, type BodyFailure } from '../http';
import { bindingKey } from '../binding';
import type { SessionBinding } from '../options';
import { ClusterUnavailableError } from '../errors';
import type { Locator, Registry, RemoteSession } from '../registry';
import { MESSAGE_TOO_BIG, type Session } from '../session';

export interface SendContext {
  readonly registry: Registry;
  /** Where a session is: the registry itself, or with an adapter the cluster. */
  readonly locator: Locator;
  readonly maxMessageSize: number;
  readonly sessionBinding: SessionBinding;
}

/** The session a send is for: here, or in another process. */
type Target = Pick<RemoteSession, 'refuse'> & {
  /** Hands the messages over; resolves whether the session took them. */
  deliver(messages: string[]): boolean | Promise<boolean>;
};

/** The session here, if it is open. */
function localTarget(session: Session | undefined): Target | undefined {
  if (session?.state !== 'open') return undefined;
  return {
    deliver(messages) {
      session.deliver(messages);
      return true;
    },
    refuse: (code, reason) => session.refuse(code, reason),
  };
}

/** How a sending transport finds the payload in a body and answers success. */
interface SendFormat {
  payload(body: string, req: IncomingMessage): string;
  /**
   * The payload in what a body parser in front of the handler made of the
   * body (`req.body`), or `undefined` when that cannot say what was sent.
   */
  parsedPayload(parsed: unknown, req: IncomingMessage): string | undefined;
  ok(res: ServerResponse): void;
}

/**
 * The parsed bodies that say what was sent whatever the transport: text
 * (`express.text()`), bytes (`express.raw()`) or a JSON array (`express.json()`).
 */
function parsedText(parsed: unknown): string | undefined {
  if (typeof parsed === 'string') return parsed;
  if (Buffer.isBuffer(parsed)) return parsed.toString('utf8');
  if (Array.isArray(parsed)) return JSON.stringify(parsed);
  return undefined;
}

const xhrSendFormat: SendFormat = {
  payload: (body) => body,
  parsedPayload: parsedText,
  ok(res) {
    res.statusCode = 204;
    res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
    res.end();
  },
};

const jsonpSendFormat: SendFormat = {
  payload(body, req) {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return body;
    return new URLSearchParams(body).get('d') ?? '';
  },
  parsedPayload(parsed, req) {
    if (Array.isArray(parsed)) return JSON.stringify(parsed);
    const text = parsedText(parsed);
    if (text !== undefined) return this.payload(text, req);
    // A form (`express.urlencoded()`): the field `d`.
    if (typeof parsed === 'object' && parsed !== null && 'd' in parsed && typeof parsed.d === 'string') return parsed.d;
    return undefined;
  },
  ok(res) {
    sendText(res, 200, 'ok');
  },
};

/** The answer when middleware read the body and left something that does not say what was sent. */
const PARSED_ELSEWHERE = 'Payload already read by other middleware.';

type PayloadResult =
  | { readonly ok: true; readonly payload: string }
  | { readonly ok: false; readonly reason: BodyFailure | 'unusable' };

/**
 * The payload of a send: read from the request (up to `limit` bytes), or
 * taken from what a body parser in front of the handler made of the body.
 */
async function readPayload(req: IncomingMessage, format: SendFormat, limit: number): Promise<PayloadResult> {
  const before = bodyReadBefore(req);
  if (before === undefined) {
    const read = await readBody(req, limit);
    return read.ok ? { ok: true, payload: format.payload(read.body, req) } : read;
  }
  const payload = format.parsedPayload(before.parsed, req);
  if (payload === undefined) return { ok: false, reason: 'unusable' };
  if (Buffer.byteLength(payload) > limit) return { ok: false, reason: 'too-large' };
  return { ok: true, payload };
}

function sender(format: SendFormat, context: SendContext) {
  return async function sendRoute(req: IncomingMessage, res: ServerResponse, sessionId: string): Promise<void> {
    noCache(res);
    const key = bindingKey(context.sessionBinding, req, res);
    const where = await context.locator.locate(sessionId, key, false);
    if (where.kind === 'unavailable') {
      sendText(res, 503, 'Cluster unavailable.');
      return;
    }
    const target =
      where.kind === 'here' ? localTarget(context.registry.find(sessionId, key)) : where.kind === 'elsewhere' ? where.session : undefined;
    if (target === undefined) {
      sendText(res, 404, 'Not found.');
      return;
    }
    const read = await readPayload(req, format, context.maxMessageSize);
    if (!read.ok && read.reason === 'aborted') return;
    if (!read.ok && read.reason === 'unusable') {
      sendText(res, 500, PARSED_ELSEWHERE);
      return;
    }
    if (!read.ok) {
      // A jsonp client never sees this status: closing the session tells every
      // client, on its next receiving request, that its message was not taken.
      target.refuse(MESSAGE_TOO_BIG.code, MESSAGE_TOO_BIG.reason);
      refuseBody(req, res, 413, 'Payload too large.');
      return;
    }
    const payload = read.payload;
    if (payload === '') {
      sendText(res, 500, 'Payload expected.');
      return;
    }
    const messages = parseMessages(payload);
    if (messages === null) {
      sendText(res, 500, 'Broken JSON encoding.');
      return;
    }
    let taken: boolean;
    try {
      taken = await target.deliver(messages);
    } catch (error) {
      if (!(error instanceof ClusterUnavailableError)) throw error;
      sendText(res, 503, 'Cluster unavailable.');
      return;
    }
    if (taken) format.ok(res);
    else sendText(res, 404, 'Not found.');
  };
}

/** `POST <session>/xhr_send`: answers `204`. */
export const xhrSend = (context: SendContext) => sender(xhrSendFormat, context);
/** `POST <session>/jsonp_send`: answers `200 ok` (some browsers mishandle 204). */
export const jsonpSend = (context: SendContext) => sender(jsonpSendFormat, context);
