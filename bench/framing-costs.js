'use strict';
/**
 * What a SockJS websocket echo pays per 4 KB message that a bare `ws` echo
 * does not, step by step, in this Node: the steps the websocket transport
 * takes between `ws` handing it a text frame and handing `ws` the reply.
 * Each step runs on its own, in a loop, on the bench's payload (`x` × 4096,
 * sent the way the load generator sends it: `["…"]`). It prints nanoseconds
 * per message; bench/RESULTS.md compares their sum with the gap between the
 * two servers in the 4 KB echo rows.
 *
 *   node bench/framing-costs.js [--size 4096] [--batch 8]
 *
 * Needs `npm run build` first (it calls the compiled dist/framing.js).
 */
const { parseArgs } = require('node:util');
const { cli } = require('./lib/cli');

const { values } = parseArgs({
  options: { size: { type: 'string', default: '4096' }, batch: { type: 'string', default: '8' } },
});
const options = cli('framing-costs');
const size = options.number('size', values.size, 1, true);
const batch = options.number('batch', values.batch, 1, true);
options.needBuild();
const { messageFrame, parseMessages } = require('../dist/framing');

/** What arrives from the client: one message, JSON-encoded in an array, as UTF-8 bytes. */
const received = Buffer.from(JSON.stringify(['x'.repeat(size)]));
const text = received.toString('utf8');
const message = parseMessages(text)[0];
/** What goes back: `batch` messages (the in-flight ones) in one `a[...]` frame. */
const queue = Array.from({ length: batch }, () => parseMessages(received.toString('utf8'))[0]);
const frame = messageFrame(queue, true);

/** Nanoseconds per call of `step`, best of 5 runs of `loops` calls (the least disturbed). */
function time(step, loops) {
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < loops; i++) sink += step();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / loops);
  }
  if (sink === -1) console.log('');
  return best;
}

const steps = [
  ['decode the frame (UTF-8 bytes to string)', () => received.toString('utf8').length, 1],
  ['parse it (JSON.parse, check strings)', () => parseMessages(text).length, 1],
  ['count its UTF-8 bytes (maxQueuedBytes)', () => Buffer.byteLength(message), 1],
  [`encode the a[...] frame of ${batch} (JSON.stringify), per message`, () => messageFrame(queue, true).length, batch],
  [`copy that frame to bytes (Latin-1), per message`, () => Buffer.from(frame, 'latin1').length, batch],
];

console.log(`Node ${process.version}, ${size} B messages, ${batch} per frame`);
let total = 0;
for (const [name, step, perCall] of steps) {
  const ns = time(step, 20_000) / perCall;
  total += ns;
  console.log(`${ns.toFixed(0).padStart(7)} ns  ${name}`);
}
console.log(`${total.toFixed(0).padStart(7)} ns  in all, per message`);

// Not a step: what a hand-made check for "nothing to escape" would cost, the
// test a fast path around JSON.stringify would need before it could skip it.
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const check = time(() => (NEEDS_ESCAPE.test(message) ? 1 : 0), 20_000);
console.log(`${check.toFixed(0).padStart(7)} ns  (for comparison, not a step) search one message for characters JSON escapes, ${NEEDS_ESCAPE}`);
