'use strict';
/**
 * What one idle websocket session holds in a server's heap, by kind of
 * object: heap snapshots of the server (after GC) before and after opening
 * `count` sessions, self sizes summed per kind, the difference divided by
 * `count`. The servers are the bench's own (bench/servers/), run as in the
 * `idle` scenario; the load generator is this process.
 *
 *   node bench/heap-per-session.js [--servers ours,bare-ws] [--count 2000] [--top 25]
 *
 * Needs `npm run build` first. The snapshots go to a temporary directory and
 * are removed afterwards.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { ServerProcess } = require('./lib/server-process');
const generator = require('./lib/clients');
const { sleep } = require('./lib/stats');

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: 'ours,bare-ws' },
    count: { type: 'string', default: '2000' },
    top: { type: 'string', default: '25' },
  },
});
/** Stops on a bad command line, saying why. */
function usage(message) {
  console.error(`heap-per-session: ${message}`);
  process.exit(2);
}
/** The servers whose clients are plain websocket clients or SockJS websocket clients at /echo. */
const WEBSOCKET_SERVERS = ['ours', 'ours-express', 'sockjs-node', 'bare-ws'];
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) usage(`--count must be a whole number of at least 1, got ${JSON.stringify(values.count)}`);
const top = Number(values.top);
if (!Number.isInteger(top) || top < 1) usage(`--top must be a whole number of at least 1, got ${JSON.stringify(values.top)}`);
const servers = values.servers.split(',');
const unknown = servers.filter((name) => !WEBSOCKET_SERVERS.includes(name));
if (unknown.length > 0) usage(`--servers: no ${unknown.join(', ')}; choose from ${WEBSOCKET_SERVERS.join(', ')}`);

/** Self size and count per kind of object (`type name`; strings, arrays and code pooled by type). */
function kinds(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const pooled = new Set(['string', 'concatenated string', 'sliced string', 'code', 'hidden', 'array', 'object shape', 'number']);
  const out = new Map();
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]];
    const kind = pooled.has(type) ? `(${type})` : `${type} ${snapshot.strings[nodes[i + nameAt]]}`;
    const entry = out.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    out.set(kind, entry);
  }
  return out;
}

async function measure(name, dir) {
  const server = await ServerProcess.start(name);
  try {
    const kind = name === 'bare-ws' ? 'bare' : 'sockjs';
    const open = () => generator.idleWebsocket(server.port, kind, () => {});
    // As in the idle scenario: warm the handshake path up first.
    const warm = [];
    for (let i = 0; i < 200; i++) warm.push(await open());
    warm.forEach((client) => client.close());
    await sleep(500);
    const before = (await server.request('heap-snapshot', { file: path.join(dir, `${name}-before.heapsnapshot`) })).file;
    const clients = [];
    for (let i = 0; i < count; i += 50) clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))));
    await sleep(500);
    const after = (await server.request('heap-snapshot', { file: path.join(dir, `${name}-after.heapsnapshot`) })).file;
    clients.forEach((client) => client.close());
    const [a, b] = [kinds(before), kinds(after)];
    const rows = [...b].map(([key, entry]) => {
      const old = a.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (entry.count - old.count) / count, bytes: (entry.bytes - old.bytes) / count };
    });
    return rows.sort((x, y) => y.bytes - x.bytes);
  } finally {
    await server.stop();
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heap-per-session-'));
  try {
    for (const name of servers) {
      const rows = await measure(name, dir);
      const total = rows.reduce((sum, row) => sum + row.bytes, 0);
      console.log(`\n${name}: ${total.toFixed(0)} B per session in ${count} idle websocket sessions (self sizes)`);
      console.log('   bytes  objects  kind');
      for (const row of rows.slice(0, top)) {
        if (Math.abs(row.bytes) < 1) continue;
        console.log(`${row.bytes.toFixed(0).padStart(8)} ${row.count.toFixed(2).padStart(8)}  ${row.key}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
