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
const { clientKind, openMany } = require('./lib/scenarios');
const { sleep } = require('./lib/stats');
const { cli } = require('./lib/cli');

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: 'ours,bare-ws' },
    count: { type: 'string', default: '2000' },
    top: { type: 'string', default: '25' },
  },
});
const options = cli('heap-per-session');
/** The servers that hold websocket sessions. */
const WEBSOCKET_SERVERS = ['ours', 'ours-express', 'sockjs-node', 'bare-ws'];
const servers = options.names('servers', values.servers, WEBSOCKET_SERVERS);
const count = options.number('count', values.count, 1, true);
const top = options.number('top', values.top, 1, true);
options.needBuild();

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
    const open = () => generator.idleWebsocket(server.port, clientKind(name), () => {});
    // As in the idle scenario: warm the handshake path up first.
    for (const warm of await openMany(200, 20, open)) warm.close();
    await sleep(500);
    const before = (await server.request('heap-snapshot', { file: path.join(dir, `${name}-before.heapsnapshot`) })).file;
    const clients = await openMany(count, 50, open);
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
