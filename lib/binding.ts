/**
 * Session binding (`sessionBinding`): what ties the follow-up HTTP requests
 * of a session to its first one. The key is the remote address, or the
 * `JSESSIONID` cookie (the request's as cookie-parser read it, else the one
 * this response sets).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionBinding } from './options';

/** Cookies as cookie-parser leaves them on the request. */
type ParsedRequest = IncomingMessage & { cookies?: Record<string, unknown> };

/** The `JSESSIONID` value a response sets (the `jsessionid` option ran first), decoded. */
function jsessionidSet(res: ServerResponse): string | undefined {
  const header = res.getHeader('set-cookie');
  const values = typeof header === 'string' ? [header] : Array.isArray(header) ? header : [];
  const cookie = values.find((value) => value.startsWith('JSESSIONID='));
  if (cookie === undefined) return undefined;
  const raw = cookie.slice('JSESSIONID='.length).split(';', 1)[0];
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The binding key of a request; `undefined` when sessions are not bound.
 * With `'cookie'` the request went through cookie-parser.
 */
export function bindingKey(binding: SessionBinding, req: IncomingMessage, res: ServerResponse): string | undefined {
  if (binding === false) return undefined;
  if (binding === 'address') return req.socket.remoteAddress ?? '';
  const sent = (req as ParsedRequest).cookies?.JSESSIONID;
  return typeof sent === 'string' ? sent : (jsessionidSet(res) ?? '');
}

/**
 * The `jsessionid: true` behaviour: reflect the client's `JSESSIONID` cookie
 * (parsed by cookie-parser) or set a dummy one, always with `Path=/`.
 */
export function setJsessionidCookie(req: IncomingMessage, res: ServerResponse): void {
  const sent = (req as ParsedRequest).cookies?.JSESSIONID;
  const value = typeof sent === 'string' && sent !== '' ? sent : 'dummy';
  res.appendHeader('Set-Cookie', `JSESSIONID=${encodeURIComponent(value)}; Path=/`);
}
