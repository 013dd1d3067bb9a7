/**
 * `GET <prefix>/iframe[-version].html`: the page sockjs-client loads in a
 * hidden iframe for transports that cannot cross origins. It loads the client
 * from `sockjsUrl`, is cacheable for a year and answers `If-None-Match`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { cacheForAYear } from '../http';

/** Paths of the iframe page: `/iframe.html` and `/iframe-<version>.html`. */
export const IFRAME_PATH = /^\/iframe(?:-[0-9a-z._-]*)?\.html$/;

function page(sockjsUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="${sockjsUrl}"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`;
}

export function iframe(sockjsUrl: string) {
  const body = page(sockjsUrl);
  const etag = '"' + createHash('sha256').update(body).digest('base64url').slice(0, 27) + '"';
  return function iframeRoute(req: IncomingMessage, res: ServerResponse): void {
    cacheForAYear(res);
    res.setHeader('ETag', etag);
    const match = req.headers['if-none-match'];
    if (match !== undefined && match.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=UTF-8');
    res.end(body);
  };
}
