'use strict';
/**
 * Summarises a `.cpuprofile` (from `node bench/run.js --profile`): the
 * functions with the most self time, and self time per package or file.
 *
 *   node bench/profile-summary.js bench/profiles/CPU.*.cpuprofile [--top 20]
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '20' } }, allowPositionals: true });

/** Where a frame's code lives: a package name, a file of ours, or node's internals. */
function origin(url) {
  if (url === '') return '(native/VM)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 13).split('/').slice(0, url[modules + 13] === '@' ? 2 : 1).join('/');
  if (url.startsWith('node:')) return url;
  return path.relative(process.cwd(), url.replace(/^file:\/\//, ''));
}

function summarise(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byOrigin = new Map();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const name = `${functionName || '(anonymous)'} ${origin(url)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byOrigin.set(origin(url), (byOrigin.get(origin(url)) ?? 0) + micros);
  }
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(values.top))
      .map(([name, micros]) => `  ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  console.log('self time by function:', '\n' + top(byFunction).join('\n'));
  console.log('self time by package/file:', '\n' + top(byOrigin).join('\n'));
}

for (const file of positionals) summarise(file);
