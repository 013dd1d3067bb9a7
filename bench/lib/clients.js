'use strict';
/**
 * The load generator's clients. They speak the SockJS wire protocol
 * directly (no sockjs-client): `ws` for the websocket transport, keep-alive
 * `http` requests for xhr-streaming, xhr-polling and xhr_send (either one
 * request per message, or batched the way sockjs-client sends). A bare client
 * speaks plain websocket messages to the bare `ws` server.
 *
 * Echo clients run a closed loop: every echoed message is timed against
 * the send it answers (messages on one session keep their order) and
 * replaced by a new send, so `inFlight` messages stay outstanding.
 *
 * A client's `target` is a port, or a function that returns the port for
 * each new connection or request: a websocket asks once, an HTTP session
 * asks for every xhr_send and every receiving request, so against a
 * cluster they land on the processes in turn, with no stickiness.
 */
const http = require('node:http');
const { randomBytes } = require('node:crypto');
const WebSocket = require('ws');
const { now } = require('./stats');

let agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** Drops every pooled connection (between servers). */
function resetAgent() {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
}

/** The port to use now: `target` itself, or what it returns. */
function portOf(target) {
  return typeof target === 'function' ? target() : target;
}

function sessionPath(prefix) {
  return `${prefix}/000/${randomBytes(8).toString('hex')}`;
}

/** Calls `onFrame` with every SockJS frame in a newline-separated stream. */
function lineSplitter(onFrame) {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) if (line !== '') onFrame(line);
  };
}

/** The messages in an `a[...]` frame, or null for any other frame. */
function messagesOf(frame) {
  return frame.charCodeAt(0) === 97 /* a */ ? JSON.parse(frame.slice(1)) : null;
}

/**
 * One echo session's bookkeeping: what was sent when, and what came back.
 * `transmit(message)` puts one message on the wire.
 */
class EchoLoop {
  constructor(payload, inFlight, recorder, transmit) {
    this.payload = payload;
    this.inFlight = inFlight;
    this.recorder = recorder;
    this.transmit = transmit;
    this.sentAt = [];
    this.running = false;
  }

  start() {
    this.running = true;
    for (let i = 0; i < this.inFlight; i++) this.send();
  }

  send() {
    this.sentAt.push(now());
    this.transmit(this.payload);
  }

  /** One SockJS frame: `a[...]` carries echoes; `c[...]` means the server closed the session, an error here. */
  frame(frame) {
    const messages = messagesOf(frame);
    if (messages) for (const message of messages) this.received(message);
    else if (frame.charCodeAt(0) === 99 /* c */) this.recorder.errors++;
  }

  received(message) {
    const at = now();
    if (message !== this.payload) this.recorder.errors++;
    this.recorder.record(at - this.sentAt.shift());
    if (this.running) this.send();
  }
}

/** Opens a websocket; resolves once it is open (and, for SockJS, once `o` arrived). */
function openWebsocket(url, sockjs, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.on('message', (data) => {
      const frame = data.toString();
      if (sockjs && frame === 'o') return resolve(ws);
      onFrame(frame);
    });
    if (!sockjs) ws.once('open', () => resolve(ws));
  });
}

function websocketUrl(target, kind) {
  const port = portOf(target);
  return kind === 'bare' ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}${sessionPath('/echo')}/websocket`;
}

/** A websocket echo client: SockJS frames (`["m"]` out, `a[...]` back) or bare messages. */
async function websocketEcho(target, kind, payload, inFlight, recorder) {
  const sockjs = kind !== 'bare';
  const encoded = sockjs ? JSON.stringify([payload]) : payload;
  let loop;
  const ws = await openWebsocket(websocketUrl(target, kind), sockjs, (frame) => {
    if (!sockjs) return loop.received(frame);
    loop.frame(frame);
  });
  loop = new EchoLoop(payload, inFlight, recorder, () => ws.send(encoded));
  return { start: () => loop.start(), stop: () => (loop.running = false), close: () => ws.terminate() };
}

/** A POST through the keep-alive agent; resolves with the status, streams the body to `onData`. */
function post(target, path, body, onData) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: portOf(target), path, method: 'POST', agent, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', onData ?? (() => {}));
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends one message with `xhr_send`. */
function xhrSend(target, base, encoded, recorder) {
  post(target, `${base}/xhr_send`, encoded).then(
    (status) => status === 204 || recorder.errors++,
    () => recorder.errors++,
  );
}

/**
 * Sends the way sockjs-client's BufferedSender does: at most one `xhr_send`
 * in flight; messages sent meanwhile wait and go out together as one JSON
 * array in the next; after each `xhr_send` completes it waits 25 ms before
 * sending what has gathered (sockjs-client's `sendScheduleWait`).
 */
class BufferedSender {
  constructor(target, base, recorder) {
    this.url = `${base}/xhr_send`;
    this.target = target;
    this.recorder = recorder;
    this.waiting = [];
    this.busy = false;
  }

  /** Queues one message, already JSON-quoted. */
  send(quoted) {
    this.waiting.push(quoted);
    if (!this.busy) this.schedule();
  }

  schedule() {
    if (this.waiting.length === 0) return;
    const payload = `[${this.waiting.join(',')}]`;
    this.waiting = [];
    this.busy = true;
    const done = (ok) => {
      if (!ok) this.recorder.errors++;
      setTimeout(() => {
        this.busy = false;
        this.schedule();
      }, 25);
    };
    post(this.target, this.url, payload).then((status) => done(status === 204), () => done(false));
  }
}

/**
 * An HTTP echo session: sends through xhr_send; `receive(base, onFrame,
 * closed)` keeps a receiving request open and resolves once it ends.
 * `batched`: send like sockjs-client (see BufferedSender); otherwise every
 * message is its own `xhr_send`, sent at once.
 */
function httpEcho(receive, { batched }) {
  return (target, _kind, payload, inFlight, recorder) => {
    const base = sessionPath('/echo');
    let transmit;
    if (batched) {
      const sender = new BufferedSender(target, base, recorder);
      const quoted = JSON.stringify(payload);
      transmit = () => sender.send(quoted);
    } else {
      const encoded = JSON.stringify([payload]);
      transmit = () => xhrSend(target, base, encoded, recorder);
    }
    const loop = new EchoLoop(payload, inFlight, recorder, transmit);
    let closed = false;
    return new Promise((resolve, reject) => {
      const client = { start: () => loop.start(), stop: () => (loop.running = false), close: () => (closed = true) };
      const onFrame = (frame) => {
        if (frame === 'o') return resolve(client);
        loop.frame(frame);
      };
      const next = () => closed || receive(target, base, onFrame).then(next, reject);
      next();
    });
  };
}

/** xhr-streaming: one streaming response at a time, reopened when the server ends it at `responseLimit`. */
const streamingReceive = (target, base, onFrame) => post(target, `${base}/xhr_streaming`, '', lineSplitter(onFrame));

/** xhr-polling: one poll at a time, each answered with one frame. */
async function pollingReceive(target, base, onFrame) {
  let body = '';
  await post(target, `${base}/xhr`, '', (chunk) => (body += chunk));
  onFrame(body.trimEnd());
}

const xhrStreamingEcho = httpEcho(streamingReceive, { batched: false });
const xhrPollingEcho = httpEcho(pollingReceive, { batched: false });
const xhrStreamingClientEcho = httpEcho(streamingReceive, { batched: true });
const xhrPollingClientEcho = httpEcho(pollingReceive, { batched: true });

/**
 * An idle websocket session that counts what arrives. `onMessage(frame)`
 * is called with every frame after `o` (or every message, for bare).
 */
async function idleWebsocket(target, kind, onMessage) {
  const ws = await openWebsocket(websocketUrl(target, kind), kind !== 'bare', onMessage);
  return { close: () => ws.terminate() };
}

module.exports = {
  websocketEcho,
  xhrStreamingEcho,
  xhrPollingEcho,
  xhrStreamingClientEcho,
  xhrPollingClientEcho,
  idleWebsocket,
  resetAgent,
};
