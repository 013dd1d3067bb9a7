/**
 * Handshakes on the wire: a raw HTTP request on a fresh socket (an upgrade
 * whose answer is read as it arrives, whatever it is), a plain request with
 * an exact set of headers, and the headers of a valid RFC 6455 upgrade.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/** What came back on the socket: the status line's code, headers (lower-case names) and body. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends a raw HTTP request on a fresh socket; resolves when the server closes it. */
export function rawRequest(port: number, method: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after 2000 ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, 2000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = (split < 0 ? text : text.slice(0, split)).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
      const body = split < 0 ? '' : text.slice(split + 4);
      resolve({ status, headers: parsed, body: parsed['transfer-encoding'] === 'chunked' ? dechunk(body) : body });
    });
    const head = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
    socket.write(head.join('\r\n') + '\r\n\r\n');
  });
}

/** The payload of a chunked body (chunk sizes in hex, each chunk then CRLF, up to the empty chunk); the specs' bodies are ASCII. */
function dechunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const end = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, end), 16);
    if (end < 0 || !(size > 0)) return out;
    out += body.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}

/** The headers of a valid RFC 6455 upgrade request. */
export function upgradeHeaders(): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
  };
}

/** A plain HTTP request (no upgrade) with an exact set of headers. */
export function plainRequest(url: string, method: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body }));
    });
    req.end();
  });
}

