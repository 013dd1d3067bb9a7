'use strict';
/**
 * The IPC side every benchmark server shares: it reports its port when
 * listening and answers the runner's requests for its own CPU time and
 * memory, a garbage collection, a heap snapshot, a broadcast, or an exit
 * (which lets `--cpu-prof` write its profile).
 */

const v8 = require('node:v8');

let connections = 0;
let requests = 0;

/** Resident bytes of one V8 heap space. */
function space(name) {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.physical_space_size ?? 0;
}

function snapshot() {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    systemMicros: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    newSpace: space('new_space'),
    oldSpace: space('old_space'),
    connections,
    requests,
  };
}

function collect() {
  if (typeof global.gc !== 'function') return;
  for (let i = 0; i < 3; i++) global.gc();
}

/**
 * @param {import('node:http').Server} server listening (or about to)
 * @param {(message: string) => number} broadcast sends `message` to every connection
 * @param {(port: number) => Promise<void>} [prepare] runs before the server reports ready
 */
function serve(server, broadcast, prepare = async () => {}) {
  server.on('connection', () => connections++);
  // Counted in `emit`, not by a 'request' listener: sockjs-express's direct path
  // takes an open session's requests before the request listeners see them.
  // Called after `attach()`, this wrapper sees every request first.
  const emit = server.emit;
  server.emit = function (event, ...args) {
    if (event === 'request') requests++;
    return emit.call(this, event, ...args);
  };
  server.listen(0, '127.0.0.1', async () => {
    const { port } = server.address();
    await prepare(port);
    process.send({ type: 'ready', port });
  });
  process.on('message', (request) => {
    const reply = (body) => process.send({ id: request.id, ...body });
    switch (request.cmd) {
      case 'stats':
        return reply(snapshot());
      case 'gc':
        collect();
        return reply(snapshot());
      case 'heap-snapshot':
        collect();
        return reply({ file: v8.writeHeapSnapshot(request.file) });
      case 'broadcast': {
        const start = process.hrtime.bigint();
        const count = broadcast(request.message);
        return reply({ count, syncMs: Number(process.hrtime.bigint() - start) / 1e6 });
      }
      case 'exit':
        return process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

module.exports = { serve };
