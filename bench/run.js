'use strict';
/**
 * The benchmark runner: `npm run bench` at the top level.
 *
 *   node bench/run.js [--rounds 3] [--duration 3] [--warmup 1]
 *                     [--only ws64,ws4k,xhrStreaming,xhrPolling,xhrStreaming1,xhrPolling1,idle,broadcast,
 *                             clusterWs,clusterXhrStreaming,clusterXhrPolling,clusterBroadcast]
 *                     [--servers ours,ours-express,ours-express4,ours-express-every,ours-stats,sockjs-node,bare-ws,
 *                                http-floor,express-floor,socket-floor,ours-redis,ours-redis-3]
 *                     [--profile] [--no-write]
 *
 * This process is the load generator; each server runs alone in a child
 * process on 127.0.0.1, started fresh for every scenario and round. The
 * cluster scenarios (`--only cluster` selects them all) start one or three
 * processes of a server, and with the Redis adapter a fresh redis-server for
 * them; they write their own section of RESULTS.md. A section is written
 * only by a whole run of it (every scenario, every server, 3 rounds or more);
 * a partial one prints its tables and leaves the file alone. Rounds
 * alternate the servers (and rotate their order) because the machine is
 * shared and noisy; the table shows medians over rounds. `--profile` runs
 * the servers under `node --cpu-prof` (profiles in bench/profiles/).
 */
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const HERE = __dirname;
if (!fs.existsSync(path.join(HERE, 'node_modules', 'sockjs'))) {
  console.log('installing bench dependencies (npm ci in bench/)');
  execSync('npm ci --no-audit --no-fund', { cwd: HERE, stdio: 'inherit' });
}

const { ServerProcess, SERVERS } = require('./lib/server-process');
const { Cluster } = require('./lib/cluster');
const { RedisServer } = require('./lib/redis-server');
const { SCENARIOS } = require('./lib/scenarios');
const { summarise, markdown } = require('./lib/report');
const { resetAgent } = require('./lib/clients');
const { sleep } = require('./lib/stats');
const { cli } = require('./lib/cli');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    servers: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

/** Open files this process may hold; the broadcast scenario needs one per session. */
function fileLimit() {
  try {
    const limit = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return limit === 'unlimited' ? Infinity : Number(limit);
  } catch {
    return 1024;
  }
}

const options = cli('bench');
const settings = {
  rounds: options.number('rounds', args.rounds, 1, true),
  duration: options.number('duration', args.duration, 0.1),
  warmup: options.number('warmup', args.warmup, 0),
  maxConnections: fileLimit() - 200,
};
const only = options.names('only', args.only, [...SCENARIOS.map((s) => s.key), 'cluster']);
const servers = options.names('servers', args.servers, Object.keys(SERVERS)).filter((server) => {
  if (!SERVERS[server].redis || RedisServer.available()) return true;
  console.warn(`no /usr/bin/redis-server: ${server} is left out`);
  return false;
});
const scenarios = SCENARIOS.filter((s) => only.includes(s.key) || only.includes(s.section))
  .map((s) => ({ ...s, servers: s.servers.filter((server) => servers.includes(server)) }))
  .filter((s) => s.servers.length > 0);
if (scenarios.length === 0) options.usage('none of those scenarios runs on those servers');
const profileDir = args.profile ? path.join(HERE, 'profiles') : undefined;

async function main() {
  const started = new Date();
  const rounds = {};
  if (settings.maxConnections < 10_000) {
    console.warn(`ulimit -n allows ${settings.maxConnections + 200} files: broadcast uses ${settings.maxConnections} sessions`);
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const scenario of scenarios) {
      // Rotate the order each round so no server always goes first.
      const order = scenario.servers.map((_, i, list) => list[(i + round) % list.length]);
      for (const name of order) {
        const host = scenario.section === 'cluster' ? Cluster : ServerProcess;
        const server = await host.start(name, { profileDir });
        let outcome;
        try {
          outcome = await scenario.run(server, name, settings);
        } finally {
          await server.stop();
          outcome?.close();
          resetAgent();
        }
        ((rounds[scenario.key] ??= {})[name] ??= []).push(outcome.result);
        console.log(`round ${round + 1} ${scenario.key} ${name}: ${JSON.stringify(outcome.result, roundNumbers)}`);
        await sleep(300);
      }
    }
  }
  const summary = summarise(scenarios, rounds);
  for (const [name, section] of Object.entries(SECTIONS)) {
    const inSection = scenarios.filter((s) => (s.section ?? 'main') === name);
    if (inSection.length === 0) continue;
    const table = markdown(inSection, summary);
    console.log('\n' + table);
    if (args['no-write'] || args.profile) continue;
    const partial = partialRun(name, inSection);
    if (partial) console.log(`\nRESULTS.md keeps its ${name} tables: ${partial}`);
    else writeResults(section, table, started);
  }
}

/**
 * Why this run's tables for section `name` may not replace the ones in
 * RESULTS.md, or `undefined` when they may: the file keeps whole runs only,
 * every scenario of the section on every one of its servers, over at least
 * three rounds (medians of fewer are not worth keeping).
 */
function partialRun(name, ran) {
  if (settings.rounds < 3) return `${settings.rounds} round${settings.rounds === 1 ? '' : 's'}, fewer than 3`;
  for (const scenario of SCENARIOS.filter((s) => (s.section ?? 'main') === name)) {
    const run = ran.find((s) => s.key === scenario.key);
    if (!run) return `${scenario.key} did not run`;
    const missing = scenario.servers.filter((server) => !run.servers.includes(server));
    if (missing.length > 0) return `${scenario.key} ran without ${missing.join(', ')}`;
  }
  return undefined;
}

function roundNumbers(_key, value) {
  return typeof value === 'number' ? Math.round(value * 100) / 100 : value;
}

/**
 * The generated blocks of RESULTS.md: each section of scenarios has its
 * own markers, so a run of one section leaves the other's tables alone.
 */
const SECTIONS = {
  main: { marker: 'results', note: () => [] },
  cluster: {
    marker: 'cluster-results',
    note: (cores) => [
      `All of it shares these ${cores} cores: the server's processes (three in the 3-process rows), its ` +
        'redis-server and the load generator (this process). CPU columns add up the server processes; ' +
        "redis-server's CPU is read from its own `INFO cpu`.",
    ],
  },
};

/** Replaces one section's generated part of bench/RESULTS.md, keeping the notes around it. */
function writeResults(section, table, started) {
  const START = `<!-- ${section.marker}:start -->`;
  const END = `<!-- ${section.marker}:end -->`;
  const file = path.join(HERE, 'RESULTS.md');
  const cpus = os.cpus();
  const argv = process.argv.slice(2).join(' ');
  const block = [
    START,
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} with \`npm run bench${argv ? ` -- ${argv}` : ''}\` ` +
      `(${settings.rounds} rounds, ${settings.duration} s measured after ${settings.warmup} s warm-up per echo run).`,
    `Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, ${os.type()} ${os.release()}, load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    ...section.note(cpus.length),
    '',
    table,
    END,
  ].join('\n');
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  const next = from < 0 || to < 0 ? `${current}\n${block}\n` : current.slice(0, from) + block + current.slice(to + END.length);
  fs.writeFileSync(file, next);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
