/**
 * A small SockJS wire client for the soak and leak specs: it speaks every
 * transport the way sockjs-client does (one receiving request at a time,
 * re-opened whenever a polling or streaming response ends, sends one at a
 * time) and reports the messages and the close frame it read.
 */
import http from 'node:http';
import WebSocket from 'ws';

/** Every way a client can reach a handler. */
export type WireTransport =
  | 'websocket'
  | 'raw-websocket'
  | 'xhr-polling'
  | 'xhr-streaming'
  | 'eventsource'
  | 'htmlfile'
  | 'jsonp-polling';

export const WIRE_TRANSPORTS: readonly WireTransport[] = [
  'websocket',
  'raw-websocket',
  'xhr-polling',
  'xhr-streaming',
  'eventsource',
  'htmlfile',
  'jsonp-polling',
];

export interface WireHandlers {
  /** A message from the server. */
  message?(message: string): void;
}

/** How a client session ended: the close frame (or websocket close) it read, or `aborted`. */
export type WireEnd = { code: number; reason: string } | 'aborted';

export interface WireSession {
  /** Resolves once the session is open (open frame read, or raw websocket open). */
  readonly opened: Promise<void>;
  /** Resolves when the session ended for the client. */
  readonly ended: Promise<WireEnd>;
  /** Sends messages in one frame or request; resolves once the server took them. Sends run one at a time. */
  send(messages: readonly string[]): Promise<void>;
  /** What sockjs-client's close() does: a websocket closes, an HTTP receiving request is aborted. */
  close(): void;
  /**
   * Cuts everything off: a websocket's TCP socket is destroyed; an HTTP client
   * destroys its receiving request and an `xhr_send` halfway through its body.
   */
  abort(): void;
  /** Stops re-opening the receiving request (HTTP); the session then times out. A websocket is cut off. */
  leave(): void;
}

/** Where the receiving requests go, and how their bodies split into SockJS frames. */
interface HttpReceiving {
  path: string;
  method: 'GET' | 'POST';
  /** Takes every complete frame off the front of `buffer`; returns what is left. */
  frames(buffer: string, frame: (frame: string) => void): string;
}

const CALLBACK = 'cb';

/** Splits on `separator`, passing each complete piece through `map`. */
function split(separator: string, map: (piece: string) => string) {
  return (buffer: string, frame: (frame: string) => void): string => {
    let at: number;
    while ((at = buffer.indexOf(separator)) >= 0) {
      const piece = map(buffer.slice(0, at));
      buffer = buffer.slice(at + separator.length);
      if (piece !== '') frame(piece);
    }
    return buffer;
  };
}

/** Reads the string literal of each script call matched by `pattern`. */
function scripts(pattern: RegExp) {
  return (buffer: string, frame: (frame: string) => void): string => {
    let rest = 0;
    for (const match of buffer.matchAll(pattern)) {
      frame(JSON.parse(match[1]) as string);
      rest = (match.index ?? 0) + match[0].length;
    }
    return buffer.slice(rest);
  };
}

const RECEIVING: Record<Exclude<WireTransport, 'websocket' | 'raw-websocket'>, HttpReceiving> = {
  'xhr-polling': { path: '/xhr', method: 'POST', frames: split('\n', (line) => line) },
  // The 2 KiB prelude is a line of `h`s: a heartbeat as far as the client cares.
  'xhr-streaming': { path: '/xhr_streaming', method: 'POST', frames: split('\n', (line) => line) },
  eventsource: { path: '/eventsource', method: 'GET', frames: split('\r\n\r\n', (e) => e.replace(/^(\r\n)?data: /, '')) },
  htmlfile: {
    path: `/htmlfile?c=${CALLBACK}`,
    method: 'GET',
    frames: scripts(/<script>\np\(("(?:[^"\\]|\\.)*")\);\n<\/script>\r\n/g),
  },
  'jsonp-polling': {
    path: `/jsonp?c=${CALLBACK}`,
    method: 'GET',
    frames: scripts(/\/\*\*\/cb\(("(?:[^"\\]|\\.)*")\);\r\n/g),
  },
};

let counter = 0;

/**
 * Opens a session on the handler at `url` (e.g. `http://127.0.0.1:1234/echo`)
 * over `transport`. HTTP requests go through `agent`.
 */
export function openWire(url: string, transport: WireTransport, handlers: WireHandlers, agent: http.Agent): WireSession {
  const sessionUrl = `${url}/000/w${process.pid}x${(counter++).toString(36)}`;
  let markOpen!: () => void;
  let failOpen!: (error: Error) => void;
  let markEnded!: (end: WireEnd) => void;
  const opened = new Promise<void>((resolve, reject) => {
    markOpen = resolve;
    failOpen = reject;
  });
  opened.catch(() => undefined);
  const ended = new Promise<WireEnd>((resolve) => (markEnded = resolve));
  let done = false;
  let isOpen = false;
  const finish = (end: WireEnd): void => {
    if (done) return;
    done = true;
    if (!isOpen) failOpen(new Error(`${transport} session ended before it opened: ${JSON.stringify(end)}`));
    markEnded(end);
  };

  /** Handles one SockJS frame. */
  const frame = (text: string): void => {
    if (done) return;
    const kind = text[0];
    if (kind === 'o') {
      // A second open frame means the server forgot the session and made a new one.
      if (isOpen) finish({ code: 0, reason: 'second open frame' });
      isOpen = true;
      markOpen();
    } else if (kind === 'a') for (const message of JSON.parse(text.slice(1)) as string[]) handlers.message?.(message);
    else if (kind === 'c') {
      const [code, reason] = JSON.parse(text.slice(1)) as [number, string];
      finish({ code, reason });
    }
  };

  if (transport === 'websocket' || transport === 'raw-websocket') {
    const raw = transport === 'raw-websocket';
    const ws = new WebSocket(raw ? `${url.replace(/^http/, 'ws')}/websocket` : `${sessionUrl.replace(/^http/, 'ws')}/websocket`);
    ws.on('error', () => undefined);
    ws.on('open', () => {
      if (!raw) return;
      isOpen = true;
      markOpen();
    });
    ws.on('message', (data) => (raw ? handlers.message?.(data.toString()) : frame(data.toString())));
    ws.on('close', (code, reason) => finish({ code, reason: reason.toString() }));
    let sending = Promise.resolve();
    const cut = (): void => {
      ws.terminate();
      finish('aborted');
    };
    return {
      opened,
      ended,
      send(messages) {
        sending = sending.then(
          () =>
            new Promise<void>((resolve, reject) => {
              const payloads = raw ? messages : [JSON.stringify(messages)];
              let left = payloads.length;
              if (left === 0) resolve();
              for (const payload of payloads) ws.send(payload, (error) => (error ? reject(error) : --left === 0 && resolve()));
            }),
        );
        return sending;
      },
      close: () => ws.close(1000),
      abort: cut,
      leave: cut,
    };
  }

  const receiving = RECEIVING[transport];
  let current: http.ClientRequest | undefined;
  let stopped = false;

  /** One receiving request; resolves when its response is over. */
  const poll = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.request(sessionUrl + receiving.path, { method: receiving.method, agent });
      current = req;
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => (buffer = receiving.frames(buffer + chunk, frame)));
        res.on('end', resolve);
        res.on('close', resolve);
      });
      req.end();
    });

  void (async () => {
    while (!done && !stopped) await poll();
    current = undefined;
  })();

  const post = (path: string, body: string, type: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request(sessionUrl + path, { method: 'POST', agent, headers: { 'Content-Type': type } });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.end(body);
    });

  let sending = Promise.resolve();
  const leave = (): void => {
    stopped = true;
    finish('aborted');
  };
  return {
    opened,
    ended,
    send(messages) {
      const json = JSON.stringify(messages);
      sending = sending.then(async () => {
        const status =
          transport === 'jsonp-polling'
            ? await post('/jsonp_send', 'd=' + encodeURIComponent(json), 'application/x-www-form-urlencoded')
            : await post('/xhr_send', json, 'text/plain');
        if (status !== 204 && status !== 200) throw new Error(`send answered ${status}`);
      });
      return sending;
    },
    close() {
      leave();
      current?.destroy();
    },
    abort() {
      leave();
      const receivingRequest = current;
      const path = transport === 'jsonp-polling' ? '/jsonp_send' : '/xhr_send';
      const req = http.request(sessionUrl + path, { method: 'POST', agent: false, headers: { 'Content-Length': '100' } });
      req.on('error', () => undefined);
      req.write('["half', () =>
        setImmediate(() => {
          req.destroy();
          receivingRequest?.destroy();
        }),
      );
    },
    leave,
  };
}
