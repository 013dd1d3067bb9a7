'use strict';
/**
 * sockjs-express echo at /echo, default options, from the compiled dist/
 * users run, mounted with `app.use('/echo', echo)` in a Connect app (the
 * lightest host it documents) or, with `--express`, in an Express 5 app
 * (`--express4`: Express 4). `--every-request` sets `middleware:
 * 'every-request'` (the app on every request, no direct path).
 * With `--redis <url>` it runs with `redisAdapter({ url, prefix: 'echo' })`
 * from dist/redis, loaded only then, as a user's process in a cluster does.
 * With `--metrics` it registers `collectMetrics()` (dist/metrics) on a
 * prom-client registry and renders the exposition once a second, as a
 * Prometheus scraping it would (more often than the usual 15 s).
 */
const http = require('node:http');
const { parseArgs } = require('node:util');
const connect = require('connect');
const { sockjs } = require('../..');
const { serve } = require('./control');

const { values: args } = parseArgs({
  options: {
    express: { type: 'boolean', default: false },
    express4: { type: 'boolean', default: false },
    'every-request': { type: 'boolean', default: false },
    redis: { type: 'string' },
    metrics: { type: 'boolean', default: false },
  },
});
const options = {
  ...(args.redis && { adapter: require('../../dist/redis').redisAdapter({ url: args.redis, prefix: 'echo' }) }),
  ...(args['every-request'] && { middleware: 'every-request' }),
};
const echo = sockjs(options, (session) => {
  session.on('data', (message) => session.send(message));
});
if (args.metrics) {
  const { Registry } = require('prom-client');
  const registry = new Registry();
  require('../../dist/metrics').collectMetrics(echo, { registry, handler: 'echo' });
  setInterval(() => void registry.metrics(), 1000).unref();
}
const app = args.express ? require('express')() : args.express4 ? require('express4')() : connect();
app.use('/echo', echo);
const server = http.createServer(app);
echo.attach(server);
// attach() above routes websocket handshakes through the app: no request is needed first.
serve(server, (message) => echo.broadcast(message));
