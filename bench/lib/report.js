'use strict';
/** The results table (terminal and Markdown) and the targets with their ratios. */
const { median } = require('./stats');
const { SERVERS } = require('./server-process');

const COLUMNS = {
  echo: [
    ['cpuPerMsg', 'CPU µs/msg', 1],
    ['msgPerSec', 'msg/s', 0],
    ['p50', 'p50 ms', 2],
    ['p99', 'p99 ms', 2],
    ['rssMB', 'RSS MB', 0],
  ],
  idle: [
    ['rssPerConnKB', 'RSS KB/session', 2],
    ['heapPerConnKB', 'heap+external KB/session', 2],
    ['burstRssPerConnKB', 'RSS KB/session 0.5 s after opening', 2],
    ['rssMB', 'RSS MB', 0],
  ],
  broadcast: [
    ['lastMs', 'ms until the last has it', 1],
    ['syncMs', 'ms in broadcast()', 1],
    ['cpuMs', 'server CPU ms', 1],
    ['systemMs', 'of it system (kernel) ms', 1],
    ['clientCpuMs', 'load generator CPU ms', 1],
    ['rssMB', 'RSS MB', 0],
  ],
  // Summed over the server's processes; redis-server and the load generator beside them.
  clusterEcho: [
    ['msgPerSec', 'msg/s', 0],
    ['p50', 'p50 ms', 2],
    ['p99', 'p99 ms', 2],
    ['cpuPerMsg', 'server CPU µs/msg (all processes)', 1],
    ['redisCpuPerMsg', 'redis-server CPU µs/msg', 1],
    ['clientCpuPerMsg', 'load generator CPU µs/msg', 1],
    ['rssMB', 'RSS MB (all processes)', 0],
  ],
  clusterBroadcast: [
    ['lastMs', 'ms until the last has it', 1],
    ['syncMs', 'ms in broadcast() (first process)', 1],
    ['cpuMs', 'server CPU ms (all processes)', 1],
    ['redisCpuMs', 'redis-server CPU ms', 2],
    ['clientCpuMs', 'load generator CPU ms', 1],
    ['rssMB', 'RSS MB (all processes)', 0],
  ],
};

/**
 * What the issues ask, as ratios of medians from the same run: `server`
 * (default `ours`, in Connect) against `versus`.
 */
const TARGETS = [
  { scenario: 'ws64', metric: 'cpuPerMsg', versus: 'bare-ws', max: 1, what: 'websocket 64 B: CPU/msg ≤ 1x bare ws' },
  { scenario: 'ws4k', metric: 'cpuPerMsg', versus: 'bare-ws', max: 1.3, what: 'websocket 4 KB: CPU/msg ≤ 1.3x bare ws' },
  { scenario: 'xhrStreaming', metric: 'cpuPerMsg', versus: 'sockjs-node', max: 0.5, what: 'xhr-streaming (sockjs-client-like): CPU/msg ≤ 0.5x sockjs-node' },
  { scenario: 'xhrPolling', metric: 'cpuPerMsg', versus: 'sockjs-node', max: 0.5, what: 'xhr-polling (sockjs-client-like): CPU/msg ≤ 0.5x sockjs-node' },
  ...['ours-express', 'ours-express4'].flatMap((server) => {
    const host = server === 'ours-express' ? 'Express 5' : 'Express 4';
    return [
      { scenario: 'xhrStreaming', server, metric: 'cpuPerMsg', versus: 'sockjs-node', max: 1, what: `xhr-streaming (sockjs-client-like) in ${host}: CPU/msg ≤ 1x sockjs-node` },
      { scenario: 'xhrPolling', server, metric: 'cpuPerMsg', versus: 'sockjs-node', max: 1, what: `xhr-polling (sockjs-client-like) in ${host}: CPU/msg ≤ 1x sockjs-node` },
      { scenario: 'xhrStreaming1', server, metric: 'cpuPerMsg', versus: 'sockjs-node', max: 1.2, what: `xhr-streaming, one message per xhr_send, in ${host}: CPU/msg ≤ 1.2x sockjs-node` },
      { scenario: 'xhrPolling1', server, metric: 'cpuPerMsg', versus: 'sockjs-node', max: 1.2, what: `xhr-polling, one message per xhr_send, in ${host}: CPU/msg ≤ 1.2x sockjs-node` },
    ];
  }),
  { scenario: 'idle', metric: 'rssPerConnKB', versus: 'bare-ws', max: 1.25, what: 'idle session: RSS/session ≤ 1.25x bare ws' },
  { scenario: 'broadcast', metric: 'lastMs', versus: 'sockjs-node', max: 0.5, what: 'broadcast to 10 000: time ≤ 0.5x sockjs-node' },
  { scenario: 'ws64', server: 'ours-stats', metric: 'cpuPerMsg', versus: 'ours', max: 1.03, what: 'websocket 64 B: CPU/msg with metrics scraped ≤ 1.03x without' },
  { scenario: 'xhrStreaming', server: 'ours-stats', metric: 'cpuPerMsg', versus: 'ours', max: 1.03, what: 'xhr-streaming: CPU/msg with metrics scraped ≤ 1.03x without' },
];

/** Ratios that are not targets but explain them: other hosts, the floor, other measures. */
const CONTEXT = [
  { scenario: 'xhrStreaming', server: 'ours-express-every', metric: 'cpuPerMsg', versus: 'sockjs-node', what: "xhr-streaming CPU/msg, sockjs-express in Express 5, middleware: 'every-request'" },
  { scenario: 'xhrStreaming', server: 'express-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-streaming CPU/msg, Express floor' },
  { scenario: 'xhrStreaming', server: 'http-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-streaming CPU/msg, node:http floor' },
  { scenario: 'xhrPolling', server: 'ours-express-every', metric: 'cpuPerMsg', versus: 'sockjs-node', what: "xhr-polling CPU/msg, sockjs-express in Express 5, middleware: 'every-request'" },
  { scenario: 'xhrPolling', server: 'express-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-polling CPU/msg, Express floor' },
  { scenario: 'xhrPolling', server: 'http-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-polling CPU/msg, node:http floor' },
  { scenario: 'xhrStreaming1', server: 'ours', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-streaming one message per xhr_send CPU/msg' },
  { scenario: 'xhrStreaming1', server: 'http-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-streaming one message per xhr_send CPU/msg, node:http floor' },
  { scenario: 'xhrStreaming1', server: 'express-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-streaming one message per xhr_send CPU/msg, Express floor' },
  { scenario: 'xhrStreaming1', server: 'ours-express-every', metric: 'cpuPerMsg', versus: 'sockjs-node', what: "xhr-streaming one message per xhr_send CPU/msg, in Express 5, middleware: 'every-request'" },
  { scenario: 'xhrPolling1', server: 'ours', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-polling one message per xhr_send CPU/msg' },
  { scenario: 'xhrPolling1', server: 'http-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-polling one message per xhr_send CPU/msg, node:http floor' },
  { scenario: 'xhrPolling1', server: 'express-floor', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'xhr-polling one message per xhr_send CPU/msg, Express floor' },
  { scenario: 'xhrPolling1', server: 'ours-express-every', metric: 'cpuPerMsg', versus: 'sockjs-node', what: "xhr-polling one message per xhr_send CPU/msg, in Express 5, middleware: 'every-request'" },
  { scenario: 'ws64', server: 'ours', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'websocket 64 B CPU/msg' },
  { scenario: 'ws4k', server: 'ours', metric: 'cpuPerMsg', versus: 'sockjs-node', what: 'websocket 4 KB CPU/msg' },
  { scenario: 'idle', server: 'ours', metric: 'heapPerConnKB', versus: 'bare-ws', what: 'idle session heap+external' },
  { scenario: 'broadcast', server: 'ours', metric: 'cpuMs', versus: 'sockjs-node', what: 'broadcast server CPU' },
  { scenario: 'broadcast', server: 'bare-ws', metric: 'lastMs', versus: 'sockjs-node', what: 'broadcast time, bare ws' },
  { scenario: 'broadcast', server: 'socket-floor', metric: 'lastMs', versus: 'sockjs-node', what: 'broadcast time, socket writes floor' },
  { scenario: 'idle', server: 'ours', metric: 'burstRssPerConnKB', versus: 'bare-ws', what: 'idle session RSS 0.5 s after opening' },
  ...['clusterWs', 'clusterXhrStreaming', 'clusterXhrPolling'].flatMap((scenario) => [
    { scenario, server: 'ours-redis', metric: 'msgPerSec', versus: 'ours', what: `${scenario} msg/s, adapter on 1 process` },
    { scenario, server: 'ours-redis-3', metric: 'msgPerSec', versus: 'ours-redis', what: `${scenario} msg/s, adapter on 3 processes` },
    { scenario, server: 'ours-redis', metric: 'cpuPerMsg', versus: 'ours', what: `${scenario} server CPU/msg, adapter on 1 process` },
    { scenario, server: 'ours-redis-3', metric: 'cpuPerMsg', versus: 'ours-redis', what: `${scenario} server CPU/msg, adapter on 3 processes` },
  ]),
  { scenario: 'clusterBroadcast', server: 'ours-redis', metric: 'lastMs', versus: 'ours', what: 'clusterBroadcast time, adapter on 1 process' },
  { scenario: 'clusterBroadcast', server: 'ours-redis-3', metric: 'lastMs', versus: 'ours-redis', what: 'clusterBroadcast time, adapter on 3 processes' },
];

function format(value, digits) {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Medians of every metric per scenario and server: `{ [scenario]: { [server]: { metric: value } } }`. */
function summarise(scenarios, rounds) {
  const out = {};
  for (const scenario of scenarios) {
    out[scenario.key] = {};
    for (const server of scenario.servers) {
      const runs = rounds[scenario.key]?.[server] ?? [];
      if (runs.length === 0) continue;
      const medians = { rounds: runs.length };
      for (const metric of Object.keys(runs[0])) medians[metric] = median(runs.map((run) => run[metric]));
      out[scenario.key][server] = medians;
    }
  }
  return out;
}

function targetLines(summary, keys) {
  return TARGETS.map((target) => ({ server: 'ours', ...target }))
    .filter((target) => keys.has(target.scenario) && summary[target.scenario]?.[target.server] && summary[target.scenario]?.[target.versus])
    .map((target) => {
      const ratio = summary[target.scenario][target.server][target.metric] / summary[target.scenario][target.versus][target.metric];
      return { ...target, ratio, pass: ratio <= target.max };
    });
}

/** The results as Markdown tables, one per scenario of `scenarios`, then their targets and ratios. */
function markdown(scenarios, summary) {
  const keys = new Set(scenarios.map((scenario) => scenario.key));
  const lines = [];
  for (const scenario of scenarios) {
    const rows = summary[scenario.key];
    if (!rows || Object.keys(rows).length === 0) continue;
    const columns = COLUMNS[scenario.kind];
    lines.push(`**${scenario.title}** (${scenario.detail})`, '');
    lines.push(`| server | ${columns.map((c) => c[1]).join(' | ')} | rounds |`);
    lines.push(`|---|${columns.map(() => '---:').join('|')}|---:|`);
    for (const [server, medians] of Object.entries(rows)) {
      const errors = medians.errors ? ` (${medians.errors} errors)` : '';
      const cells = columns.map(([metric, , digits]) => format(medians[metric], digits));
      lines.push(`| ${SERVERS[server].label}${errors} | ${cells.join(' | ')} | ${medians.rounds} |`);
    }
    lines.push('');
  }
  const targets = targetLines(summary, keys);
  if (targets.length > 0) {
    lines.push('**Targets** (ratio of medians, sockjs-express over the reference)', '');
    lines.push('| target | ratio | result |', '|---|---:|---|');
    for (const t of targets) {
      const verdict = t.pass ? 'pass' : `miss (${((t.ratio / t.max - 1) * 100).toFixed(0)}% over)`;
      lines.push(`| ${t.what} | ${t.ratio.toFixed(2)}x | ${verdict} |`);
    }
    lines.push('');
  }
  const context = CONTEXT.filter((c) => keys.has(c.scenario) && summary[c.scenario]?.[c.server] && summary[c.scenario]?.[c.versus]);
  if (context.length > 0) {
    lines.push('**For scale** (ratios of medians, not targets)', '');
    lines.push('| measure | ratio |', '|---|---:|');
    for (const c of context) {
      const ratio = summary[c.scenario][c.server][c.metric] / summary[c.scenario][c.versus][c.metric];
      lines.push(`| ${c.what} / ${SERVERS[c.versus].label} | ${ratio.toFixed(2)}x |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

module.exports = { summarise, markdown };
