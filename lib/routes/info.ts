/**
 * `GET <prefix>/info`: what the server supports, and a fresh random number
 * for clients without a good entropy source. sockjs-client calls it first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomInt } from 'node:crypto';
import { noCache } from '../http';

/** The body of `/info`, as the protocol defines it. */
export interface Info {
  websocket: boolean;
  cookie_needed: boolean;
  origins: string[];
  entropy: number;
}

export function info(websocket: boolean, cookieNeeded: boolean) {
  return function infoRoute(_req: IncomingMessage, res: ServerResponse): void {
    const body: Info = {
      websocket,
      cookie_needed: cookieNeeded,
      origins: ['*:*'],
      entropy: randomInt(0, 2 ** 32),
    };
    noCache(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=UTF-8');
    res.end(JSON.stringify(body));
  };
}
