/**
 * Fuzzing with fast-check against a server in a child process
 * (spec/support/fuzz-server.ts): random paths, session ids, callbacks and
 * bodies over HTTP, random frames over SockJS and raw websockets, and raw
 * bytes after a websocket handshake (huge length claims included). The
 * server must stay alive, never let an error reach Express, answer every
 * request with a deliberate status and a text body within a few seconds (a
 * hang fails the property, so fast-check shrinks it like any other), and
 * close every websocket with a known code. It all runs twice: on one handler,
 * and on two handlers of one `memoryAdapter()` cluster taking requests in turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import WebSocket from 'ws';

const MAX_MESSAGE_SIZE = 4096;
/** Multiplies every numRuns, for a longer hunt outside `npm test` (FUZZ_SCALE=20 npx jest spec/fuzz.spec.ts). */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));
/** Statuses a deliberate answer may have (403 belongs to origin checks). */
const STATUSES = new Set([200, 204, 400, 403, 404, 405, 413, 500]);
/** A 500 is deliberate only with one of the protocol's texts. */
const PROTOCOL_500 = new Set(['Payload expected.', 'Broken JSON encoding.', '"callback" parameter required', 'invalid "callback" parameter']);
const TEXT_TYPES = /^(text\/plain|text\/html|text\/event-stream|application\/javascript|application\/json)\b/;
/** Close codes a websocket may end with: normal, protocol error, binary refused, bad UTF-8, too big, none given. */
const CLOSE_CODES = new Set([1000, 1002, 1003, 1005, 1007, 1009]);
/**
 * How long one request, upgrade or websocket may take before it counts as a
 * hang. Held polls end with the server's 500 ms heartbeat and streamed
 * responses are cut off at their headers, so anything this slow is stuck.
 */
const ANSWER_WITHIN_MS = 5000;

let child: ChildProcess;
let base = '';
let port = 0;
let stderr = '';

/** Starts the fuzz server; `memory`: two handlers on one in-memory cluster. */
async function startServer(memory: boolean): Promise<void> {
  stderr = '';
  const args = [String(MAX_MESSAGE_SIZE), ...(memory ? ['memory'] : [])];
  child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'support/fuzz-server.ts'), ...args], {
    cwd: path.join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fuzz server exited with ${code}: ${stderr}`)));
  });
  base = `http://127.0.0.1:${port}`;
}

async function stopServer(): Promise<void> {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
}

/** Rejects after {@link ANSWER_WITHIN_MS} with `what`, calling `cancel` first, unless `promise` settles before. */
function inTime<T>(promise: Promise<T>, what: string, cancel: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(new Error(`hang: ${what} not answered within ${ANSWER_WITHIN_MS} ms`));
    }, ANSWER_WITHIN_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Percent-encodes what a URL cannot carry raw, but leaves `%` alone so malformed escapes get through. */
function pathPart(text: string): string {
  let out = '';
  for (const char of text) {
    if (/^[A-Za-z0-9._~!$&'()*+,;=:@%-]$/.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '.', '..', '%', '%E0%A4%A', '%00', '\u2028', 'a.b'),
  fc.string({ minLength: 300, maxLength: 3000, unit: 'grapheme-ascii' }),
);
const ROUTES = ['xhr', 'xhr_send', 'xhr_streaming', 'eventsource', 'htmlfile', 'jsonp', 'jsonp_send', 'websocket', 'info', 'iframe.html', 'iframe-x.html', ''];
const route = fc.oneof(fc.constantFrom(...ROUTES), anyText);
const query = fc.option(
  fc.record({ callback: fc.oneof(anyText, fc.constantFrom('cb', 'a.b_c', 'x'.repeat(257))), extra: fc.option(anyText) }),
);
const urlPath = fc
  .tuple(
    fc.oneof(
      fc.tuple(anyText, anyText, route).map(([server, session, name]) => `/${pathPart(server)}/${pathPart(session)}/${pathPart(name)}`),
      fc.tuple(anyText, anyText, route, anyText).map((parts) => '/' + parts.map(pathPart).join('/')),
      route.map((name) => `/${pathPart(name)}`),
      fc.array(anyText, { maxLength: 6 }).map((parts) => '/' + parts.map(pathPart).join('/')),
    ),
    query,
  )
  .map(([p, q]) => (q ? `${p}?c=${pathPart(q.callback)}${q.extra === null ? '' : '&' + pathPart(q.extra)}` : p));

/** Words a server might mistake for something other than data: its own result names, JSON keywords, empty forms. */
const WORDS = ['aborted', 'too-large', 'ok', 'null', 'true', 'false', '0', '""', '[]', '{}', '[null]', '["aborted"]', 'd=', 'd', '__proto__', 'undefined'];
const word = fc.constantFrom(...WORDS);

const body = fc.oneof(
  word,
  fc.array(word, { minLength: 1, maxLength: 4 }).map((words) => words.join('')),
  fc.array(word, { maxLength: 4 }).map((words) => JSON.stringify(words)),
  word.map((w) => 'd=' + pathPart(w)),
  fc.array(fc.string({ unit: 'binary' })).map((messages) => JSON.stringify(messages)),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.array(fc.string({ unit: 'binary' })).map((messages) => 'd=' + pathPart(JSON.stringify(messages))),
  fc.string({ unit: 'binary' }).map((text) => 'd=' + pathPart(text)),
  fc.integer({ min: MAX_MESSAGE_SIZE - 20, max: MAX_MESSAGE_SIZE * 3 }).map((n) => `["${'x'.repeat(n)}"]`),
);
const contentType = fc.option(
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/json', 'multipart/form-data'),
);

interface Answer {
  status: number;
  type: string | undefined;
  text: string;
  /** The connection was reset before an answer arrived (allowed only for bodies past the limit). */
  reset?: boolean;
}

/**
 * Sends one request. Streamed (chunked) responses are cut off once their
 * headers arrived. Rejects when no answer came in time (see {@link inTime}).
 */
function send(method: string, url: string, payload?: string | Buffer, type?: string | null, chunked = false): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (type) headers['Content-Type'] = type;
  // A connection per request: a reset is then this request's own.
  const req = http.request(base + url, { method, agent: false, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve({ status: 0, type: undefined, text: '', reset: true }) : reject(error),
    );
    req.on('response', (res) => {
      const type = res.headers['content-type'];
      if (res.headers['transfer-encoding'] === 'chunked') {
        req.destroy();
        return resolve({ status: res.statusCode ?? 0, type, text: '<stream>' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type, text: Buffer.concat(chunks).toString() }));
    });
    if (payload !== undefined && chunked) {
      const bytes = Buffer.from(payload);
      req.write(bytes.subarray(0, bytes.length >> 1));
      req.end(bytes.subarray(bytes.length >> 1));
    } else req.end(payload);
  });
  return inTime(answer, `${method} ${url}`, () => req.destroy());
}

/**
 * Whether an answer is deliberate: a known status, a text type on any body, a
 * protocol text on a 500 (a `HEAD` answer has no body: its 500 must be plain text).
 */
function deliberate(answer: Answer, method = 'POST'): boolean {
  if (!STATUSES.has(answer.status)) return false;
  if (answer.status === 500 && method === 'HEAD') return (answer.type ?? '').startsWith('text/plain');
  if (answer.status === 500 && !PROTOCOL_500.has(answer.text)) return false;
  if (answer.text !== '' && !TEXT_TYPES.test(answer.type ?? '')) return false;
  return true;
}

let live = 0;

describe.each([
  ['on one handler', false],
  ['on two handlers of one memoryAdapter cluster', true],
])('fuzz %s', (_name, memory) => {
  beforeAll(() => startServer(memory), 60_000);
  afterAll(stopServer);

  afterEach(() => {
    // The server lived through it, and no error escaped to Express or the process.
    const faults = stderr.split('\n').filter((line) => line.startsWith('FAULT'));
    expect({ alive: child.exitCode === null && child.signalCode === null, faults, stderr }).toEqual({ alive: true, faults: [], stderr });
  });

  it('answers random methods, paths, session ids and callbacks with a deliberate status', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'HEAD'), urlPath, body, contentType, async (method, url, payload, type) => {
        const hasBody = method !== 'GET' && method !== 'HEAD';
        const answer = await send(method, '/fuzz' + url, hasBody ? payload : undefined, type);
        // A server may answer before reading a body and close the connection; the client then sees a reset.
        if (answer.reset) expect({ url, hasBody }).toEqual({ url, hasBody: true });
        else expect({ url, answer, deliberate: deliberate(answer, method) }).toEqual({ url, answer, deliberate: true });
      }),
      { numRuns: runs(400) },
    );
  }, 120_000 * Math.max(1, SCALE));

  it('answers random xhr_send and jsonp_send bodies on a live session with a deliberate status', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/xhr_send', '/jsonp_send'), body, contentType, fc.boolean(), async (route, payload, type, chunked) => {
        const session = `/000/live${live++}`;
        const opened = await send('POST', `/fuzz${session}/xhr`);
        expect(opened).toEqual({ status: 200, type: 'application/javascript; charset=UTF-8', text: 'o\n' });
        const answer = await send('POST', `/fuzz${session}${route}`, payload, type, chunked);
        const tooBig = Buffer.byteLength(payload) > MAX_MESSAGE_SIZE;
        if (answer.reset) expect({ reset: true, tooBig }).toEqual({ reset: true, tooBig: true });
        else expect({ answer, deliberate: deliberate(answer) }).toEqual({ answer, deliberate: true });
        if (tooBig && !answer.reset) expect(answer.status).toBe(413);
        statuses.add(answer.status);
      }),
      { numRuns: runs(300) },
    );
    // The bodies reached every answer: taken, refused as too large, refused as broken.
    expect([204, 200, 413, 500].filter((status) => !statuses.has(status))).toEqual([]);
  }, 120_000 * Math.max(1, SCALE));

  const frame = fc.oneof(
    fc.string({ unit: 'binary' }).map((text) => ({ kind: 'text' as const, data: text })),
    fc.array(fc.string({ unit: 'binary' })).map((messages) => ({ kind: 'text' as const, data: JSON.stringify(messages) })),
    fc.json().map((json) => ({ kind: 'text' as const, data: json })),
    fc.uint8Array({ maxLength: 100 }).map((bytes) => ({ kind: 'binary' as const, data: Buffer.from(bytes) })),
    fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => ({ kind: 'raw-text' as const, data: Buffer.from([0xff, ...bytes]) })),
    fc.array(fc.string({ unit: 'binary' }), { minLength: 2, maxLength: 4 }).map((parts) => ({ kind: 'fragments' as const, data: parts })),
    fc.integer({ min: MAX_MESSAGE_SIZE - 10, max: MAX_MESSAGE_SIZE * 2 }).map((n) => ({ kind: 'text' as const, data: `["${'y'.repeat(n)}"]` })),
  );

  it('closes SockJS and raw websockets fed random frames with a known code', async () => {
    const codes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(frame, { maxLength: 6 }), async (raw, frames) => {
        const url = raw ? `ws://127.0.0.1:${port}/fuzz/websocket` : `ws://127.0.0.1:${port}/fuzz/000/ws${live++}/websocket`;
        const ws = new WebSocket(url);
        ws.on('error', () => undefined);
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        const opened = new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
        });
        await inTime(opened, `the handshake of ${url}`, () => ws.terminate());
        for (const f of frames) {
          if (ws.readyState !== WebSocket.OPEN) break;
          if (f.kind === 'binary') ws.send(f.data, { binary: true });
          else if (f.kind === 'raw-text') ws.send(f.data, { binary: false });
          else if (f.kind === 'fragments') f.data.forEach((part, i) => ws.send(part, { fin: i === f.data.length - 1 }));
          else ws.send(f.data);
        }
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        const code = await inTime(closed, `the close of ${url}`, () => ws.terminate());
        expect({ frames, code, known: CLOSE_CODES.has(code) }).toEqual({ frames, code, known: true });
        codes.add(code);
      }),
      { numRuns: runs(150) },
    );
    // The frames reached every refusal: broken JSON, binary, bad UTF-8, too big.
    expect([1000, 1002, 1003, 1007, 1009].filter((code) => !codes.has(code))).toEqual([]);
  }, 120_000 * Math.max(1, SCALE));

  /** A frame header that claims `length` bytes of payload (masked, as from a client), then a little payload. */
  const header = fc
    .tuple(fc.integer({ min: 0, max: 15 }), fc.boolean(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 16 }))
    .map(([opcode, fin, length, payload]) => {
      const head = Buffer.alloc(14);
      head[0] = (fin ? 0x80 : 0) | opcode;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(length, 2);
      return Buffer.concat([head, Buffer.from(payload)]);
    });

  it('closes a websocket fed raw bytes or huge length claims after the handshake', async () => {
    const codes = new Set<number | undefined>();
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.oneof(header, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes))),
        async (raw, bytes) => {
          const target = raw ? '/fuzz/websocket' : `/fuzz/000/raw${live++}/websocket`;
          const { status, closeCode } = await rawWebsocket({ target }, bytes);
          expect(status).toBe(101);
          expect({ bytes: bytes.toString('hex'), closeCode, known: closeCode === undefined || CLOSE_CODES.has(closeCode) }).toEqual({
            bytes: bytes.toString('hex'),
            closeCode,
            known: true,
          });
          codes.add(closeCode);
        },
      ),
      { numRuns: runs(150) },
    );
    // Length claims past maxMessageSize were refused with 1009, garbage with 1002.
    expect([1002, 1009].filter((code) => !codes.has(code))).toEqual([]);
  }, 120_000 * Math.max(1, SCALE));

  it('answers upgrades to random paths, with random methods and Upgrade headers, with a deliberate status', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT'),
        fc.oneof(urlPath.map((p) => '/fuzz' + p), urlPath, fc.constantFrom('/fuzz/websocket', '/fuzz/0/0/websocket')),
        fc.oneof(fc.constantFrom('websocket', 'WebSocket', 'h2c', ''), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })),
        async (method, target, upgrade) => {
          const { status } = await rawWebsocket({ target, method, upgrade }, Buffer.alloc(0));
          // An empty Upgrade header makes a plain request, which may get any deliberate status.
          expect({ target, method, upgrade, status, known: status === 101 || STATUSES.has(status) }).toEqual({
            target,
            method,
            upgrade,
            status,
            known: true,
          });
          statuses.add(status);
        },
      ),
      { numRuns: runs(200) },
    );
    expect([101, 400, 404, 405].filter((status) => !statuses.has(status))).toEqual([]);
  }, 120_000 * Math.max(1, SCALE));
});

/**
 * Upgrades by hand, writes `bytes`, half-closes, and reads what the server
 * sent until it closed the connection: the handshake status and the code of
 * its close frame, if it sent one.
 */
function rawWebsocket(
  { target, method = 'GET', upgrade = 'websocket' }: { target: string; method?: string; upgrade?: string },
  bytes: Buffer,
): Promise<{ status: number; closeCode: number | undefined }> {
  const socket = net.connect(port, '127.0.0.1');
  const answer = new Promise<{ status: number; closeCode: number | undefined }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let upgraded = false;
    const statusOf = (all: Buffer): number => Number(/^HTTP\/1\.1 (\d+)/.exec(all.toString('latin1'))?.[1]);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (upgraded || !all.includes('\r\n\r\n')) return;
      upgraded = true;
      if (statusOf(all) === 101) return void socket.end(bytes);
      // Not upgraded: a plain answer on a connection that may stay open.
      resolve({ status: statusOf(all), closeCode: undefined });
      socket.destroy();
    });
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no handshake answer: ${all.toString()}`));
      resolve({ status: statusOf(all), closeCode: closeCodeIn(all.subarray(end + 4)) });
    });
    socket.write(
      `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  return inTime(answer, `${method} ${target} upgrading to ${JSON.stringify(upgrade)}`, () => socket.destroy());
}

/** The code of the first close frame among the server's (unmasked) frames. */
function closeCodeIn(frames: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at] & 0x0f;
    let length = frames[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = frames.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(frames.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8) return length >= 2 ? frames.readUInt16BE(start) : 1005;
    at = start + length;
  }
  return undefined;
}
