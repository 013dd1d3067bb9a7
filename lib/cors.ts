/**
 * CORS for the XHR transports and `/info`, through the `cors` middleware.
 * The protocol wants the request's origin reflected with credentials (the
 * literal `null` for `null`), and `*` without credentials when there is no
 * `Origin`. `origin` fixes the value. Which origins get this far at all is
 * the origin policy's call (`lib/origin.ts`).
 */
import type { IncomingMessage } from 'node:http';
import cors, { type CorsOptions } from 'cors';
import { PREFLIGHT_MAX_AGE } from './http';
import type { ResolvedOptions } from './options';

/** The `cors` middleware for routes answering `methods` (e.g. `'OPTIONS, POST'`). */
export function corsFor(methods: string, options: Pick<ResolvedOptions, 'origin'>) {
  const base: CorsOptions = { methods, maxAge: PREFLIGHT_MAX_AGE };
  return cors((req: IncomingMessage, callback: (error: Error | null, options?: CorsOptions) => void) => {
    const origin = options.origin || req.headers.origin;
    if (!origin) {
      callback(null, { ...base, origin: '*', credentials: false });
      return;
    }
    callback(null, { ...base, origin, credentials: true });
  });
}
