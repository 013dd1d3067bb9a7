'use strict';
/**
 * sockjs-node 0.3.24 echo at /echo with default options, except `log`: its
 * default writes a console line per HTTP request, which would measure the
 * terminal rather than sockjs-node.
 */
const http = require('node:http');
const sockjs = require('sockjs');
const { serve } = require('./control');

const connections = new Set();
const echo = sockjs.createServer({ log: () => {} });
echo.on('connection', (conn) => {
  connections.add(conn);
  conn.on('data', (message) => conn.write(message));
  conn.on('close', () => connections.delete(conn));
});
const server = http.createServer();
echo.installHandlers(server, { prefix: '/echo' });
serve(server, (message) => {
  for (const conn of connections) conn.write(message);
  return connections.size;
});
