'use strict';
/** The limit: a bare `ws` echo, no SockJS framing, no sessions. */
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { serve } = require('./control');

const server = http.createServer();
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
serve(server, (message) => {
  for (const ws of wss.clients) ws.send(message);
  return wss.clients.size;
});
