'use strict';
/**
 * The limit: a bare `ws` echo, no SockJS framing, no sessions.
 *
 * With `--socket-writes` its broadcast is the floor under any websocket
 * server's: it builds one websocket frame and writes those same bytes
 * straight to every connection's socket, past `ws.send`, so all that is left
 * is one `socket.write` (one system call) per connection. Only the broadcast
 * scenario runs it that way.
 */
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { serve } = require('./control');

const socketWrites = process.argv.includes('--socket-writes');
const server = http.createServer();
const wss = new WebSocketServer({ server });
const sockets = new Map();
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  if (socketWrites) {
    sockets.set(ws, req.socket);
    ws.on('close', () => sockets.delete(ws));
  }
});

/** An unmasked, final text frame (RFC 6455, 5.2) carrying `message`, for payloads under 64 KiB. */
function textFrame(message) {
  const payload = Buffer.from(message);
  if (payload.length >= 2 ** 16) throw new RangeError('the floor server frames payloads under 64 KiB only');
  const header = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

serve(server, (message) => {
  if (socketWrites) {
    const frame = textFrame(message);
    for (const socket of sockets.values()) socket.write(frame);
    return sockets.size;
  }
  for (const ws of wss.clients) ws.send(message);
  return wss.clients.size;
});
