'use strict';
/**
 * The least a server can do to echo over xhr-polling and xhr-streaming: no
 * SockJS headers (CORS, caching), no timers, no limits, no validation. Not a
 * usable server, only the cost of the HTTP stack under it, for scale. The
 * session id and route are the last two path segments, so the same request
 * listener serves as a `node:http` server (`http-floor.js`) and as an
 * Express route (`express-floor.js`).
 */
const PRELUDE = 'h'.repeat(2048) + '\n';

/** A request listener `(req, res)` holding its own sessions by URL id. */
function floor() {
  /** Sessions by URL id: messages waiting and the open receiving response. */
  const sessions = new Map();

  function flush(session) {
    const res = session.res;
    if (!res || session.queue.length === 0) return;
    res.write('a' + JSON.stringify(session.queue) + '\n');
    session.queue = [];
    if (!session.streaming) {
      res.end();
      session.res = undefined;
    }
  }

  return (req, res) => {
    const parts = req.url.split('/');
    const name = parts[parts.length - 1];
    const id = parts[parts.length - 2];
    let session = sessions.get(id);
    if (name === 'xhr_send') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        session.queue.push(...JSON.parse(body));
        res.statusCode = 204;
        res.end();
        process.nextTick(flush, session);
      });
      return;
    }
    res.setHeader('Content-Type', 'application/javascript; charset=UTF-8');
    const streaming = name === 'xhr_streaming';
    if (streaming) res.write(PRELUDE);
    if (!session) {
      session = { queue: [], res: undefined, streaming };
      sessions.set(id, session);
      if (!streaming) return res.end('o\n');
      res.write('o\n');
    }
    session.res = res;
    flush(session);
  };
}

module.exports = { floor };
