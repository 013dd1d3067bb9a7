/**
 * The origin policy (`allowedOrigins`): which browser pages may use the
 * endpoint. A page is known by the request's `Origin`; for the routes
 * browsers load cross-origin without one (script tags for jsonp, frames for
 * htmlfile and the iframe page) by its `Referer`. Requests naming the
 * server's own host pass (the iframe transports run there), and so do
 * requests with neither header, which no browser page can make on those routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OriginPolicy } from './options';

/** Why a request was refused, as the `403` body says it. */
export const ORIGIN_REFUSED = 'Origin not allowed.';
export const REFERER_REQUIRED = 'Origin or Referer required.';

/** The origin of a URL (`Referer`), or `undefined` when it is not one. */
function originOfUrl(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** Whether `origin` names the host the request was sent to. */
function isOwnHost(origin: string, req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

/**
 * The page behind a request: its `Origin`, else (when `byReferer`) the
 * origin of its `Referer`; `undefined` when it names none.
 */
export function pageOrigin(req: IncomingMessage, byReferer: boolean): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) return origin;
  const referer = req.headers.referer;
  return byReferer && referer !== undefined ? originOfUrl(referer) : undefined;
}

/**
 * Judges a request: `undefined` when it may go on, else the text of its `403`.
 * `byReferer` marks routes a page can load without an `Origin`; there a
 * request naming no page at all is refused.
 */
export function refusal(policy: OriginPolicy | undefined, req: IncomingMessage, byReferer: boolean): string | undefined {
  if (!policy) return undefined;
  const origin = pageOrigin(req, byReferer);
  if (origin === undefined) return byReferer ? REFERER_REQUIRED : undefined;
  if (isOwnHost(origin, req) || policy(origin, req)) return undefined;
  return ORIGIN_REFUSED;
}

/**
 * Limits who may frame the iframe page to the page that asked for it (and
 * the server's own origin): CSP `frame-ancestors`. Call after {@link refusal} passed.
 */
export function restrictFraming(req: IncomingMessage, res: ServerResponse): void {
  const origin = pageOrigin(req, true);
  const ancestors = origin === undefined || origin === 'null' || isOwnHost(origin, req) ? "'self'" : `'self' ${origin}`;
  res.setHeader('Content-Security-Policy', `frame-ancestors ${ancestors}`);
  res.setHeader('Vary', 'Origin, Referer');
}

/** A policy from a list of origins and patterns (`allowedOrigins`); comparisons ignore case. */
export function originMatcher(list: readonly string[]): OriginPolicy {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of list) {
    const lower = entry.toLowerCase();
    if (!lower.includes('*')) {
      exact.add(lower);
      continue;
    }
    const source = lower
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/^([^:]+:\/\/)\*\\\./, '$1[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.')
      .replace(/:\*$/, '(?::\\d{1,5})?');
    patterns.push(new RegExp(`^${source}$`));
  }
  return (origin) => {
    const lower = origin.toLowerCase();
    return exact.has(lower) || patterns.some((pattern) => pattern.test(lower));
  };
}
