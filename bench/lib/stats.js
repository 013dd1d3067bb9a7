'use strict';
/** Small statistics: latency recording, percentiles, medians. */

/** Latencies in milliseconds, recorded only while `recording` is on. */
class Recorder {
  constructor() {
    this.recording = false;
    this.count = 0;
    this.latencies = [];
    this.errors = 0;
  }

  record(ms) {
    if (!this.recording) return;
    this.count++;
    this.latencies.push(ms);
  }
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values) {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();

module.exports = { Recorder, percentile, median, sleep, now };
