/**
 * CORS for the XHR transports and `/info`, through the `cors` middleware.
 * The protocol wants the request's origin reflected with credentials (the
 * literal `null` for `null`), and `*` without credentials when there is no
 * `Origin`. `origin` fixes the value. Which origins get this far at all is
 * the origin policy's call (`lib/origin.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import { PREFLIGHT_MAX_AGE } from './http';
import type { ResolvedOptions } from './options';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** The `cors` middleware for routes answering `methods` (e.g. `'OPTIONS, POST'`). */
export function corsFor(methods: string, options: Pick<ResolvedOptions, 'origin'>): Middleware {
  // Three fixed configurations, built once: an options delegate would build
  // option objects on every request of every XHR transport.
  const base = { methods, maxAge: PREFLIGHT_MAX_AGE };
  const anyOrigin: Middleware = cors({ ...base, origin: '*', credentials: false });
  const reflected: Middleware = cors({ ...base, origin: true, credentials: true });
  const fixed: Middleware | undefined = options.origin ? cors({ ...base, origin: options.origin, credentials: true }) : undefined;
  return (req, res, next) => (fixed ?? (req.headers.origin ? reflected : anyOrigin))(req, res, next);
}
