'use strict';
/**
 * The floor for the HTTP transports: the least a `node:http` server can do
 * to echo over xhr-polling and xhr-streaming. No SockJS headers (CORS,
 * caching), no timers, no limits, no validation: not a usable server, only
 * the cost of Node's HTTP stack under the same load, for scale.
 */
const http = require('node:http');
const { serve } = require('./control');

const PRELUDE = 'h'.repeat(2048) + '\n';
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

const server = http.createServer((req, res) => {
  const [, , , id, name] = req.url.split('/');
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
});
serve(server, () => 0);
