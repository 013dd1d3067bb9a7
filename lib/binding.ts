/**
 * Session binding (`sessionBinding`): what ties the follow-up HTTP requests
 * of a session to its first one. The key is the remote address, or the raw
 * `JSESSIONID` cookie value (the request's, else the one this response sets).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionBinding } from './options';

const JSESSIONID = /(?:^|;)\s*JSESSIONID=([^;]*)/;

function jsessionidOf(header: string | readonly string[] | number | undefined): string | undefined {
  const values = typeof header === 'string' ? [header] : Array.isArray(header) ? header : [];
  for (const value of values) {
    const match = JSESSIONID.exec(value);
    if (match) return match[1].trim();
  }
  return undefined;
}

/** The binding key of a request; `undefined` when sessions are not bound. */
export function bindingKey(binding: SessionBinding, req: IncomingMessage, res: ServerResponse): string | undefined {
  if (binding === false) return undefined;
  if (binding === 'address') return req.socket.remoteAddress ?? '';
  return jsessionidOf(req.headers.cookie) ?? jsessionidOf(res.getHeader('set-cookie')) ?? '';
}
